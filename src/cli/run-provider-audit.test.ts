// The CLI's changes that belong to no company (trunks, companies, provider
// users) land in the provider's audit log, named with the system user who ran
// the command, as its changes of a company do in the company's log.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openStore } from "../store/sql/open-store.ts";
import { FakeClock } from "../util/clock.ts";
import { type CliIo, EXIT_OK, runCli } from "./run.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-cli-audit-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("trunk, tenant and provider user commands are in the provider's log, named cli/<user>", async () => {
  const dataDir = join(root, "d");
  const errors: string[] = [];
  const io: CliIo = {
    env: { VPBX_DATA_DIR: dataDir, USER: "ops" },
    out: () => undefined,
    err: (l) => errors.push(l),
    clock: new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0)),
  };
  for (const args of [
    [
      "trunk",
      "add",
      "carrier",
      "sip.carrier.example",
      "--username",
      "acct",
      "--password",
      "carrier-secret-pw",
    ],
    ["tenant", "add", "acme", "acme.test"],
    ["user", "add", "root", "--provider", "--password", "Quokka-juggles-7-plums!"],
    ["user", "remove", "root"],
    ["tenant", "remove", "acme"],
    ["trunk", "remove", "carrier"],
  ]) {
    assert.equal(await runCli(args, io), EXIT_OK, `${args.join(" ")}: ${errors.join("\n")}`);
  }
  const store = await openStore({ dataDir });
  try {
    const events = await store.audit.listProvider();
    assert.deepEqual(
      events.map((e) => `${e.action} ${e.subject} ${e.actor.kind}:${e.actor.id}`),
      [
        "trunk.delete carrier cli:ops",
        "tenant.delete acme cli:ops",
        "user.delete root cli:ops",
        "user.create root cli:ops",
        "tenant.create acme cli:ops",
        "trunk.create carrier cli:ops",
      ],
    );
    const text = JSON.stringify(events);
    assert.ok(!text.includes("carrier-secret-pw") && !text.includes("argon2"), "no password, no hash");
  } finally {
    await store.close();
  }
});
