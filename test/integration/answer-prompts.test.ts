// What a call says first is ready before the PBX takes calls: a feature
// code's confirmation and the reasons a call fails are synthesised at start
// for the languages the companies use, so that the first caller does not
// hear seconds of silence while a prompt is being made.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Config } from "../../src/config.ts";
import { startVpbx } from "../../src/main.ts";
import { openStore } from "../../src/store/sql/open-store.ts";
import { createLogger } from "../../src/util/log.ts";

test("the answer prompts of the companies' languages are in the cache when start() returns", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "vpbx-warm-"));
  const cacheDir = await mkdtemp(join(tmpdir(), "vpbx-warm-cache-"));
  const store = await openStore({ dataDir });
  await store.tenants.create({ name: "acme", domain: "acme.test", language: "it" });
  await store.close();
  const base = 20000 + 2 * Math.floor(Math.random() * 15000);
  const config: Config = {
    dataDir,
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1",
    sipPort: 0,
    httpPort: 0,
    rtpPorts: { min: base, max: base + 19 },
    adminToken: "test-admin-token-0123456789abcdef",
    logLevel: "silent",
    mediaTimeoutSeconds: 60,
    digestAlgorithms: ["MD5"],
    smtpFrom: "vpbx@test.invalid",
    // Shared cores during the tests: no call refused for the machine's load.
    overloadDelayMs: 0,
  };
  const vpbx = await startVpbx(config, {
    log: createLogger("silent"),
    warmPrompts: false,
    promptCacheDir: cacheDir,
  });
  try {
    const files = await readdir(join(cacheDir, "prompts", "it"));
    // 18 answer prompts and the 12 keypad fragments, in Italian only.
    assert.ok(files.length >= 25, `only ${files.length} prompts ready`);
    const languages = await readdir(join(cacheDir, "prompts"));
    assert.deepEqual(languages, ["it"]);
  } finally {
    await vpbx.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  }
});
