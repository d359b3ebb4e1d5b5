import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { pino } from "pino";
import { ConfigError, loadConfig } from "../../config.ts";
import type { Logger } from "../../util/log.ts";
import { openStore } from "./open-store.ts";
import { SecretBox } from "./secret-box.ts";
import { loadSecretKey, SECRET_KEY_FILE } from "./secret-key.ts";

function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("the secret key", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-key-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("VPBX_SECRET_KEY: hex or base64; a wrong one is refused without being echoed; not with a key file too", () => {
    const key = randomBytes(32);
    assert.deepEqual(loadConfig({ VPBX_SECRET_KEY: key.toString("hex") }).secretKey, key);
    assert.deepEqual(loadConfig({ VPBX_SECRET_KEY: key.toString("base64") }).secretKey, key);
    const plain = loadConfig({ VPBX_DATA_DIR: dir });
    assert.equal(plain.secretKey, undefined);
    assert.equal(plain.secretKeyFile, undefined);
    assert.equal(
      loadConfig({ VPBX_SECRET_KEY_FILE: "keys/vpbx.key" }).secretKeyFile,
      join(process.cwd(), "keys/vpbx.key"),
    );
    assert.throws(
      () => loadConfig({ VPBX_SECRET_KEY: "hunter2-not-a-key" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /VPBX_SECRET_KEY is not a key: expected 64 hex characters or the base64 of 32 bytes/.test(
          err.message,
        ) &&
        !err.message.includes("hunter2"),
    );
    assert.throws(
      () => loadConfig({ VPBX_SECRET_KEY: key.toString("hex"), VPBX_SECRET_KEY_FILE: "/etc/vpbx/key" }),
      /VPBX_SECRET_KEY and VPBX_SECRET_KEY_FILE are both set/,
    );
  });

  test("from VPBX_SECRET_KEY: no file is written", async () => {
    const key = randomBytes(32);
    const { log, lines } = captureLog();
    assert.deepEqual(await loadSecretKey({ dataDir: dir, secretKey: key }, log), key);
    assert.throws(() => statSync(join(dir, SECRET_KEY_FILE)), /ENOENT/);
    assert.equal(lines[0]?.fingerprint, new SecretBox(key).fingerprint);
  });

  test("the default key file: generated on the first start (0600, whatever the umask), the same one after", async () => {
    const dataDir = join(dir, "data");
    const { log, lines } = captureLog();
    const before = process.umask(0o000);
    let key: Buffer;
    try {
      key = await loadSecretKey({ dataDir }, log);
    } finally {
      process.umask(before);
    }
    const path = join(dataDir, SECRET_KEY_FILE);
    assert.equal(mode(path), 0o600);
    assert.equal(mode(dataDir), 0o700);
    assert.equal(readFileSync(path, "utf8"), `${key.toString("hex")}\n`);
    const generated = lines.find((l) => l.level === 40);
    assert.match(
      String(generated?.msg),
      /a new secret key was generated in .*secret\.key: back it up apart from the database/,
    );
    assert.deepEqual(await loadSecretKey({ dataDir }, log), key);
    // openStore without a key uses that same file.
    const store = await openStore({ dataDir });
    await store.close();
    await (await openStore({ dataDir, secretKey: key })).close();

    // A loose key file of the data directory is tightened, with a warning.
    chmodSync(path, 0o644);
    const again = captureLog();
    assert.deepEqual(await loadSecretKey({ dataDir }, again.log), key);
    assert.equal(mode(path), 0o600);
    assert.ok(again.lines.some((l) => l.level === 40 && l.was === "0644"));
  });

  test("VPBX_SECRET_KEY_FILE elsewhere: read (base64 too); a loose one is reported, not changed; a bad one is named, not echoed", async () => {
    const key = randomBytes(32);
    const path = join(dir, "vpbx.key");
    writeFileSync(path, `${key.toString("base64")}\n`, { mode: 0o644 });
    chmodSync(path, 0o644);
    const { log, lines } = captureLog();
    assert.deepEqual(await loadSecretKey({ dataDir: join(dir, "data"), secretKeyFile: path }, log), key);
    assert.equal(mode(path), 0o644);
    const warning = lines.find((l) => l.level === 40);
    assert.equal(warning?.fix, `chmod 600 ${path}`);

    writeFileSync(path, "s3cret-typo\n");
    await assert.rejects(
      loadSecretKey({ dataDir: dir, secretKeyFile: path }, log),
      (err: unknown) =>
        err instanceof Error &&
        err.message.includes(`the secret key file ${path} does not hold a key`) &&
        !err.message.includes("s3cret"),
    );
    await assert.rejects(
      loadSecretKey({ dataDir: dir, secretKeyFile: join(dir, "no-such-folder", "key") }, log),
      /cannot create the secret key file .*no-such-folder/,
    );
  });
});
