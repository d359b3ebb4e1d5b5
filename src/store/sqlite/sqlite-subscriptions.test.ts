import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { type Store, StoreConflict, type StoredSubscription } from "../types.ts";
import { MIGRATIONS, migrate } from "./migrations.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-subs-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);
const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

function subscription(over: Partial<StoredSubscription> = {}): StoredSubscription {
  return {
    id: "s1",
    tenant: "acme",
    extension: "101",
    package: "dialog",
    resource: "102",
    callId: "blf-1@192.0.2.10",
    localTag: "ours1",
    remoteTag: "theirs1",
    localUri: "<sip:102@acme.test>",
    remoteUri: '"Alice" <sip:101@acme.test>',
    remoteTarget: "sip:101@192.0.2.10:5062",
    routeSet: [],
    localContact: "<sip:192.0.2.1:5060>",
    localSeq: 17,
    remoteSeq: 1,
    version: 0,
    source: { transport: "UDP", address: "192.0.2.10", port: 5062 },
    expiresAt: clock.now() + 3600_000,
    ...over,
  };
}

describe("sqlite subscriptions", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = freshDir();
    store = openSqliteStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    for (const [tenant, number] of [
      ["acme", "101"],
      ["acme", "102"],
      ["bistro", "101"],
    ]) {
      await store.extensions.create({
        tenant,
        number,
        displayName: `User ${number}`,
        credentials: makeCredentials(number, `${tenant}.test`, `pw-${number}-secret`),
      });
    }
  });
  afterEach(() => store.close());

  test("save, list per tenant and all, survive reopening (every field, the event id and route set)", async () => {
    const a = subscription({
      eventId: "blf-7",
      routeSet: ["<sip:proxy.acme.test;lr>", "<sip:192.0.2.99;lr>"],
    });
    const b = subscription({ id: "s2", package: "message-summary", resource: "101", callId: "mwi-1" });
    const c = subscription({
      id: "s3",
      tenant: "bistro",
      source: { transport: "TCP", address: "198.51.100.4", port: 40000 },
    });
    await store.subscriptions.save(a);
    await store.subscriptions.save(b);
    await store.subscriptions.save(c);
    assert.deepEqual(await store.subscriptions.list("acme"), [a, b]);
    assert.deepEqual(await store.subscriptions.list("bistro"), [c]);
    assert.equal((await store.subscriptions.list()).length, 3);
    assert.equal("eventId" in (await store.subscriptions.list("acme"))[1], false);
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.subscriptions.list("acme"), [a, b]);
    assert.deepEqual(await store.subscriptions.list("bistro"), [c]);
  });

  test("a refresh replaces the row; noteSent keeps our CSeq and the version; remove", async () => {
    await store.subscriptions.save(subscription());
    const refreshed = subscription({
      expiresAt: clock.now() + 7200_000,
      remoteSeq: 2,
      remoteTarget: "sip:101@192.0.2.10:5070",
    });
    await store.subscriptions.save(refreshed);
    await store.subscriptions.noteSent("s1", 19, 3);
    assert.deepEqual(await store.subscriptions.list("acme"), [{ ...refreshed, localSeq: 19, version: 3 }]);
    await store.subscriptions.noteSent("gone", 1, 1);
    await store.subscriptions.remove("s1");
    await store.subscriptions.remove("s1");
    assert.deepEqual(await store.subscriptions.list(), []);
  });

  test("purgeExpired drops what ran out, keeps the rest", async () => {
    await store.subscriptions.save(subscription({ id: "old", expiresAt: clock.now() - 1 }));
    await store.subscriptions.save(subscription({ id: "now", expiresAt: clock.now() }));
    await store.subscriptions.save(subscription({ id: "live", expiresAt: clock.now() + 1 }));
    assert.equal(await store.subscriptions.purgeExpired(clock.now()), 2);
    assert.deepEqual(
      (await store.subscriptions.list()).map((s) => s.id),
      ["live"],
    );
  });

  test("a subscription of an unknown extension is a StoreConflict; deleting the extension or tenant takes its subscriptions", async () => {
    await assert.rejects(store.subscriptions.save(subscription({ extension: "999" })), StoreConflict);
    await store.subscriptions.save(subscription());
    await store.subscriptions.save(subscription({ id: "s2", extension: "102" }));
    await store.subscriptions.save(subscription({ id: "s3", tenant: "bistro" }));
    await store.extensions.delete("acme", "101");
    assert.deepEqual(
      (await store.subscriptions.list()).map((s) => s.id),
      ["s2", "s3"],
    );
    await store.tenants.delete("bistro");
    assert.deepEqual(
      (await store.subscriptions.list()).map((s) => s.id),
      ["s2"],
    );
  });

  test("an unreadable route set reads as empty, with a warning", async () => {
    await store.subscriptions.save(subscription());
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
    db.prepare("UPDATE subscriptions SET route_set = 'not json' WHERE id = 's1'").run();
    db.close();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      store = openSqliteStore({ dataDir: dir, clock });
      assert.deepEqual((await store.subscriptions.list())[0].routeSet, []);
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(
        warnings.some((w) => w.includes("route set")),
        warnings.join("; "),
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  test("extensions: mwiUnsolicited defaults off, is set on create and by a patch, survives reopening", async () => {
    assert.equal((await store.extensions.get("acme", "101"))?.mwiUnsolicited, false);
    const e = await store.extensions.create({
      tenant: "acme",
      number: "103",
      displayName: "Carol",
      credentials: makeCredentials("103", "acme.test", "pw-103-secret"),
      mwiUnsolicited: true,
    });
    assert.equal(e.mwiUnsolicited, true);
    assert.equal(
      (await store.extensions.update("acme", "101", { mwiUnsolicited: true }))?.mwiUnsolicited,
      true,
    );
    assert.equal((await store.extensions.update("acme", "103", { displayName: "C" }))?.mwiUnsolicited, true);
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.equal((await store.extensions.get("acme", "101"))?.mwiUnsolicited, true);
    assert.equal((await store.extensions.get("acme", "103"))?.mwiUnsolicited, true);
    assert.equal((await store.extensions.get("acme", "102"))?.mwiUnsolicited, false);
  });
});

describe("migration 3", () => {
  test("version 2 data upgrades: extensions take mwiUnsolicited off, the subscriptions table starts empty", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      migrate(db, MIGRATIONS.slice(0, 2));
      db.prepare(
        `INSERT INTO tenants (name, domain, language, timezone, country, features, created_at)
         VALUES ('acme', 'acme.test', 'fr', 'Europe/Zurich', 'CH', '{}', '2025-01-01T00:00:00.000Z')`,
      ).run();
      const c = makeCredentials("101", "acme.test", "pw-101-secret");
      db.prepare(
        `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
         VALUES ('acme', '101', 'Alice', NULL, 30, ?, ?, ?, '2025-01-01T00:00:00.000Z')`,
      ).run(c.realm, c.ha1Md5, c.ha1Sha256);
    } finally {
      db.close();
    }
    const store = openSqliteStore({ dataDir: dir, clock });
    try {
      assert.equal((await store.extensions.get("acme", "101"))?.mwiUnsolicited, false);
      assert.deepEqual(await store.subscriptions.list(), []);
      await store.subscriptions.save(subscription({ resource: "101" }));
      assert.equal((await store.subscriptions.list("acme")).length, 1);
    } finally {
      await store.close();
    }
  });
});
