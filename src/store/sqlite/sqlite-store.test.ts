import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import {
  type Binding,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  type Store,
  StoreConflict,
} from "../types.ts";
import { MIGRATIONS, migrate } from "./migrations.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const cred = (num: string, realm = "acme.test") => makeCredentials(num, realm, `pw-${num}-secret`);

function binding(over: Partial<Binding> = {}): Binding {
  return {
    tenant: "acme",
    extension: "101",
    contact: "sip:101@192.0.2.10:5060",
    callId: "abc@192.0.2.10",
    cseq: 1,
    expiresAt: clock.now() + 3600_000,
    source: { transport: "UDP", address: "192.0.2.10", port: 5060 },
    userAgent: "Yealink T46",
    ...over,
  };
}

describe("sqlite store", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = freshDir();
    store = openSqliteStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.extensions.create({
      tenant: "acme",
      number: "101",
      displayName: "Alice",
      credentials: cred("101"),
    });
  });

  test("tenants: create with defaults, get, getByDomain (case-insensitive), list", async () => {
    const t = await store.tenants.get("acme");
    assert.deepEqual(t, {
      name: "acme",
      domain: "acme.test",
      language: "fr",
      timezone: "Europe/Zurich",
      country: "CH",
      features: DEFAULT_FEATURES,
      createdAt: "2026-01-05T08:00:00.000Z",
    });
    const b = await store.tenants.create({
      name: "bistro",
      domain: "bistro.test",
      language: "de",
      timezone: "Europe/Berlin",
      country: "DE",
    });
    assert.equal(b.language, "de");
    assert.equal((await store.tenants.getByDomain("ACME.Test"))?.name, "acme");
    assert.equal(await store.tenants.getByDomain("nope.test"), undefined);
    assert.equal(await store.tenants.get("nope"), undefined);
    assert.deepEqual(
      (await store.tenants.list()).map((x) => x.name),
      ["acme", "bistro"],
    );
  });

  test("tenants: conflicts on name and on domain", async () => {
    await assert.rejects(store.tenants.create({ name: "acme", domain: "x.test" }), (e: Error) => {
      assert.ok(e instanceof StoreConflict);
      assert.match(e.message, /tenant acme already exists/);
      return true;
    });
    await assert.rejects(
      store.tenants.create({ name: "other", domain: "Acme.Test" }),
      /domain .* already used/,
    );
    await store.tenants.create({ name: "other", domain: "other.test" });
    await assert.rejects(store.tenants.update("other", { domain: "acme.test" }), StoreConflict);
  });

  test("tenants: update patches fields and features, keeps the rest", async () => {
    const t = await store.tenants.update("acme", {
      domain: "acme2.test",
      language: "it",
      features: { voicemail: true, schedules: true },
    });
    assert.equal(t?.domain, "acme2.test");
    assert.equal(t?.language, "it");
    assert.equal(t?.timezone, "Europe/Zurich");
    assert.deepEqual(t?.features, { ...DEFAULT_FEATURES, voicemail: true, schedules: true });
    const again = await store.tenants.update("acme", { features: { schedules: false } });
    assert.deepEqual(again?.features, { ...DEFAULT_FEATURES, voicemail: true });
    assert.deepEqual(await store.tenants.get("acme"), again);
    assert.equal(await store.tenants.update("nope", { language: "de" }), undefined);
    // The extension's credentials keep the realm they were computed in.
    assert.equal((await store.extensions.get("acme", "101"))?.credentials.realm, "acme.test");
  });

  test("tenants: delete cascades to extensions, bindings, forwarding, feature codes", async () => {
    await store.bindings.upsert(binding());
    await store.forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "+41791231212" });
    await store.featureCodes.set("acme", "voicemail.access", "*98");
    assert.equal(await store.tenants.delete("acme"), true);
    assert.equal(await store.tenants.delete("acme"), false);
    assert.deepEqual(await store.extensions.list("acme"), []);
    assert.deepEqual(await store.bindings.listAll(), []);
    assert.deepEqual(await store.forwarding.list("acme", "101"), []);
    // Recreated under the same name, it starts clean.
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    assert.deepEqual(await store.featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
  });

  test("extensions: create, get, list, conflicts", async () => {
    const e = await store.extensions.get("acme", "101");
    assert.deepEqual(e, {
      tenant: "acme",
      number: "101",
      displayName: "Alice",
      ringTimeoutSeconds: 30,
      credentials: cred("101"),
      createdAt: "2026-01-05T08:00:00.000Z",
    });
    await store.extensions.create({
      tenant: "acme",
      number: "20",
      displayName: "Bob",
      language: "de",
      ringTimeoutSeconds: 45,
      credentials: cred("20"),
    });
    assert.deepEqual(
      (await store.extensions.list("acme")).map((x) => [x.number, x.language, x.ringTimeoutSeconds]),
      [
        ["20", "de", 45],
        ["101", undefined, 30],
      ],
    );
    await assert.rejects(
      store.extensions.create({ tenant: "acme", number: "101", displayName: "X", credentials: cred("101") }),
      /extension 101 already exists in tenant acme/,
    );
    await assert.rejects(
      store.extensions.create({ tenant: "ghost", number: "101", displayName: "X", credentials: cred("101") }),
      (e: Error) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
    );
    // The same number in another tenant is fine.
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    await store.extensions.create({
      tenant: "bistro",
      number: "101",
      displayName: "Y",
      credentials: cred("101"),
    });
    assert.equal(await store.extensions.get("acme", "999"), undefined);
  });

  test("extensions: update and delete", async () => {
    const newCred = makeCredentials("101", "acme.test", "another-password");
    const u = await store.extensions.update("acme", "101", {
      displayName: "Alice B.",
      language: "en",
      ringTimeoutSeconds: 60,
      credentials: newCred,
    });
    assert.equal(u?.displayName, "Alice B.");
    assert.equal(u?.language, "en");
    assert.equal(u?.ringTimeoutSeconds, 60);
    assert.deepEqual(u?.credentials, newCred);
    const cleared = await store.extensions.update("acme", "101", { language: null });
    assert.equal(cleared?.language, undefined);
    assert.equal(cleared?.displayName, "Alice B.");
    assert.deepEqual(await store.extensions.get("acme", "101"), cleared);
    assert.equal(await store.extensions.update("acme", "999", { displayName: "x" }), undefined);
    await store.bindings.upsert(binding());
    assert.equal(await store.extensions.delete("acme", "101"), true);
    assert.equal(await store.extensions.delete("acme", "101"), false);
    assert.deepEqual(await store.bindings.list("acme"), [], "bindings go with their extension");
  });

  test("bindings: upsert replaces by contact, list, remove, removeAll, purge", async () => {
    await store.extensions.create({
      tenant: "acme",
      number: "102",
      displayName: "Bob",
      credentials: cred("102"),
    });
    await store.bindings.upsert(binding());
    await store.bindings.upsert(binding({ cseq: 2, expiresAt: clock.now() + 60_000, userAgent: undefined }));
    const one = await store.bindings.list("acme", "101");
    assert.equal(one.length, 1);
    assert.equal(one[0].cseq, 2);
    assert.equal(one[0].userAgent, undefined);
    assert.deepEqual(one[0].source, { transport: "UDP", address: "192.0.2.10", port: 5060 });
    await store.bindings.upsert(binding({ contact: "sip:101@192.0.2.11", expiresAt: clock.now() + 10_000 }));
    await store.bindings.upsert(
      binding({
        extension: "102",
        contact: "sip:102@[2001:db8::1]:5070",
        source: { transport: "TCP", address: "2001:db8::1", port: 5070 },
      }),
    );
    assert.equal((await store.bindings.list("acme")).length, 3);
    assert.equal((await store.bindings.list("acme", "101")).length, 2);
    assert.equal((await store.bindings.listAll()).length, 3);

    // Expired ones stay listed until purged; purge takes expiresAt <= now.
    assert.equal(await store.bindings.purgeExpired(clock.now() + 10_000), 1);
    assert.deepEqual(
      (await store.bindings.list("acme", "101")).map((b) => b.contact),
      ["sip:101@192.0.2.10:5060"],
    );
    await store.bindings.remove("acme", "101", "sip:101@192.0.2.10:5060");
    assert.deepEqual(await store.bindings.list("acme", "101"), []);
    await store.bindings.upsert(binding());
    await store.bindings.removeAll("acme", "101");
    assert.deepEqual(
      (await store.bindings.listAll()).map((b) => b.extension),
      ["102"],
    );
    await assert.rejects(store.bindings.upsert(binding({ extension: "555" })), StoreConflict);
  });

  test("forwarding: set replaces per kind, clear one or all", async () => {
    await store.forwarding.set({
      tenant: "acme",
      extension: "101",
      kind: "unconditional",
      target: "+41791231212",
    });
    await store.forwarding.set({ tenant: "acme", extension: "101", kind: "unconditional", target: "102" });
    await store.forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "+41220000000" });
    assert.deepEqual(await store.forwarding.list("acme", "101"), [
      { tenant: "acme", extension: "101", kind: "busy", target: "+41220000000" },
      { tenant: "acme", extension: "101", kind: "unconditional", target: "102" },
    ]);
    await store.forwarding.clear("acme", "101", "busy");
    assert.deepEqual(
      (await store.forwarding.list("acme", "101")).map((f) => f.kind),
      ["unconditional"],
    );
    await store.forwarding.clear("acme", "101");
    assert.deepEqual(await store.forwarding.list("acme", "101"), []);
    await assert.rejects(
      store.forwarding.set({ tenant: "acme", extension: "999", kind: "busy", target: "101" }),
      StoreConflict,
    );
  });

  test("feature codes: defaults, override, clashes, reset", async () => {
    assert.deepEqual(await store.featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
    await store.featureCodes.set("acme", "voicemail.access", "*98");
    const table = await store.featureCodes.list("acme");
    assert.equal(table.find((c) => c.action === "voicemail.access")?.code, "*98");
    assert.equal(table.length, DEFAULT_FEATURE_CODES.length);
    // Same code as another action.
    await assert.rejects(
      store.featureCodes.set("acme", "schedule.next", "*72"),
      /already used by forwarding/,
    );
    // Prefix clashes both ways.
    await assert.rejects(store.featureCodes.set("acme", "schedule.next", "*7"), /prefix/);
    await assert.rejects(store.featureCodes.set("acme", "schedule.next", "*9812"), /prefix/);
    // Re-setting an action's own code, or a code freed by an override, is fine.
    await store.featureCodes.set("acme", "voicemail.access", "*98");
    await store.featureCodes.set("acme", "schedule.next", "*97");
    await store.featureCodes.set("acme", "callflow.toggle", "*1234");
    await assert.rejects(store.featureCodes.set("acme", "schedule.next", "*12345"), RangeError);
    await assert.rejects(store.featureCodes.set("acme", "schedule.next", "97"), RangeError);
    await assert.rejects(store.featureCodes.set("ghost", "schedule.next", "*55"), StoreConflict);
    // Other tenants keep the defaults.
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    assert.deepEqual(await store.featureCodes.list("bistro"), DEFAULT_FEATURE_CODES);
    await store.featureCodes.reset("acme");
    assert.deepEqual(await store.featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
  });

  test("everything survives close and re-open", async () => {
    await store.tenants.update("acme", { features: { announcements: true } });
    await store.extensions.update("acme", "101", { language: "it" });
    await store.bindings.upsert(binding());
    await store.forwarding.set({
      tenant: "acme",
      extension: "101",
      kind: "unreachable",
      target: "+41791231212",
    });
    await store.featureCodes.set("acme", "announcement.vacation", "*39");
    const before = {
      tenants: await store.tenants.list(),
      extensions: await store.extensions.list("acme"),
      bindings: await store.bindings.listAll(),
      forwarding: await store.forwarding.list("acme", "101"),
      codes: await store.featureCodes.list("acme"),
    };
    await store.close();
    await store.close(); // idempotent
    const reopened = openSqliteStore({ dataDir: dir, clock });
    try {
      assert.deepEqual(
        {
          tenants: await reopened.tenants.list(),
          extensions: await reopened.extensions.list("acme"),
          bindings: await reopened.bindings.listAll(),
          forwarding: await reopened.forwarding.list("acme", "101"),
          codes: await reopened.featureCodes.list("acme"),
        },
        before,
      );
      assert.equal(before.tenants[0].features.announcements, true);
    } finally {
      await reopened.close();
    }
  });
});

describe("migrations", () => {
  test("from empty to latest, WAL, foreign keys; re-open is idempotent", async () => {
    const dir = freshDir();
    const store = openSqliteStore({ dataDir: dir });
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(migrate(db), MIGRATIONS.length, "nothing left to do");
    } finally {
      db.close();
    }
    const again = openSqliteStore({ dataDir: dir });
    await again.tenants.create({ name: "x", domain: "x.test" });
    await again.close();
  });

  test("a later migration applies on top; a failing one rolls back whole", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const extra = [
        ...MIGRATIONS,
        {
          version: MIGRATIONS.length + 1,
          description: "test table",
          up: (d: Database.Database) => d.exec("CREATE TABLE later (x INTEGER)"),
        },
      ];
      assert.equal(migrate(db, extra), MIGRATIONS.length);
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length + 1);
      const broken = [
        ...extra,
        {
          version: extra.length + 1,
          description: "half done",
          up: (d: Database.Database) => {
            d.exec("CREATE TABLE half (x INTEGER)");
            d.exec("THIS IS NOT SQL");
          },
        },
      ];
      assert.throws(() => migrate(db, broken));
      assert.equal(db.pragma("user_version", { simple: true }), extra.length);
      const half = db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get();
      assert.equal(half, undefined);
    } finally {
      db.close();
    }
  });

  test("a database newer than this code is refused with a clear message", () => {
    const db = new Database(":memory:");
    try {
      db.pragma("user_version = 999");
      assert.throws(() => migrate(db), /schema version 999 is newer/);
    } finally {
      db.close();
    }
  });
});

describe("crash safety", () => {
  test("what was committed survives a killed process (SIGKILL, no close)", async () => {
    const dir = freshDir();
    const module = new URL("./sqlite-store.ts", import.meta.url).href;
    const script = `
      import { openSqliteStore } from ${JSON.stringify(module)};
      const s = openSqliteStore({ dataDir: ${JSON.stringify(dir)} });
      await s.tenants.create({ name: "acme", domain: "acme.test" });
      await s.tenants.update("acme", { features: { voicemail: true } });
      await s.featureCodes.set("acme", "voicemail.access", "*98");
      process.kill(process.pid, "SIGKILL");
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    const store = openSqliteStore({ dataDir: dir });
    try {
      assert.equal((await store.tenants.get("acme"))?.features.voicemail, true);
      assert.equal(
        (await store.featureCodes.list("acme")).find((c) => c.action === "voicemail.access")?.code,
        "*98",
      );
    } finally {
      await store.close();
    }
  });
});
