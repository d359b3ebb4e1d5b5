import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import {
  type Actor,
  type AnnouncementKind,
  type Binding,
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  type DestinationSpec,
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
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

function announce(announcement: AnnouncementKind, next: unknown): DestinationSpec {
  return { type: "announcement", announcement, then: next as DestinationSpec };
}

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
      policy: DEFAULT_DIALLING_POLICY,
      waitingSeconds: 30,
      companyCodes: {},
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
    await store.forwarding.set(
      { tenant: "acme", extension: "101", kind: "busy", target: "+41791231212" },
      api,
    );
    await store.featureCodes.set("acme", "voicemail.access", "*98");
    await store.numbers.add({ tenant: "acme", number: "+41215550100", destination: { type: "hangup" } });
    assert.equal(await store.tenants.delete("acme"), true);
    assert.equal(await store.tenants.delete("acme"), false);
    assert.deepEqual(await store.extensions.list("acme"), []);
    assert.deepEqual(await store.bindings.listAll(), []);
    assert.deepEqual(await store.forwarding.list("acme", "101"), []);
    assert.deepEqual(await store.numbers.listAll(), []);
    // Recreated under the same name, it starts clean.
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    assert.deepEqual(await store.featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
    assert.deepEqual(await store.audit.list("acme"), []);
  });

  test("extensions: create, get, list, conflicts", async () => {
    const e = await store.extensions.get("acme", "101");
    assert.deepEqual(e, {
      tenant: "acme",
      number: "101",
      displayName: "Alice",
      ringTimeoutSeconds: 30,
      noAnswerSeconds: 20,
      callWaiting: false,
      maxCalls: 2,
      mwiUnsolicited: false,
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
    await store.forwarding.set(
      { tenant: "acme", extension: "101", kind: "unconditional", target: "+41791231212" },
      api,
    );
    await store.forwarding.set(
      { tenant: "acme", extension: "101", kind: "unconditional", target: "102" },
      api,
    );
    await store.forwarding.set(
      { tenant: "acme", extension: "101", kind: "busy", target: "+41220000000" },
      api,
    );
    await store.forwarding.set({ tenant: "acme", extension: "101", kind: "noAnswer", target: "103" }, api);
    assert.deepEqual(await store.forwarding.list("acme", "101"), [
      { tenant: "acme", extension: "101", kind: "busy", target: "+41220000000" },
      { tenant: "acme", extension: "101", kind: "noAnswer", target: "103" },
      { tenant: "acme", extension: "101", kind: "unconditional", target: "102" },
    ]);
    await store.forwarding.clear("acme", "101", "busy", api);
    assert.deepEqual(
      (await store.forwarding.list("acme", "101")).map((f) => f.kind),
      ["noAnswer", "unconditional"],
    );
    await store.forwarding.clear("acme", "101", undefined, api);
    assert.deepEqual(await store.forwarding.list("acme", "101"), []);
    await assert.rejects(
      store.forwarding.set({ tenant: "acme", extension: "999", kind: "busy", target: "101" }, api),
      StoreConflict,
    );
  });

  test("forwarding: every change is audited old → new with its actor; no change, no event", async () => {
    // A clock of its own, moved on without disturbing the other tests' times.
    const local = new FakeClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock: local });
    const rule = { tenant: "acme", extension: "101", kind: "unconditional" as const };
    await store.forwarding.set({ ...rule, target: "+41791231212" }, phone);
    local.tick(1000);
    await store.forwarding.set({ ...rule, target: "102" }, api);
    await store.forwarding.set({ ...rule, target: "102" }, api); // the same: nothing
    await store.forwarding.set({ ...rule, kind: "noAnswer", target: "+41220000000" }, api);
    await store.forwarding.clear("acme", "101", "busy", api); // nothing set: nothing written
    await store.forwarding.clear("acme", "101", undefined, phone);
    await store.forwarding.clear("acme", "101", undefined, phone); // again: nothing
    const events = await store.audit.list("acme");
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.old, e.new, e.actor.kind]),
      [
        ["forwarding.clear", "101/unconditional", "102", null, "phone"],
        ["forwarding.clear", "101/noAnswer", "+41220000000", null, "phone"],
        ["forwarding.set", "101/noAnswer", null, "+41220000000", "api"],
        ["forwarding.set", "101/unconditional", "+41791231212", "102", "api"],
        ["forwarding.set", "101/unconditional", null, "+41791231212", "phone"],
      ],
      "newest first",
    );
    const first = events[events.length - 1];
    assert.deepEqual(first.actor, phone, "the phone's source address is kept");
    assert.equal(first.tenant, "acme");
    assert.equal(first.at, "2026-06-01T12:00:00.000Z");
    assert.equal(events[0].at, "2026-06-01T12:00:01.000Z");
    assert.ok(events[0].id > events[1].id);
    // A refused write (unknown extension) leaves no event either.
    await assert.rejects(
      store.forwarding.set({ tenant: "acme", extension: "999", kind: "busy", target: "101" }, api),
      StoreConflict,
    );
    assert.equal((await store.audit.list("acme")).length, events.length);
  });

  test("forwarding: the write and its audit row commit together or not at all", async () => {
    const rule = { tenant: "acme", extension: "101", kind: "busy" as const };
    await store.forwarding.set({ ...rule, target: "+41791231212" }, api);
    // Make every audit insert fail from another connection, as a full disk would.
    const raw = new Database(join(dir, "vpbx.sqlite"));
    raw.exec(
      "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
    );
    try {
      await assert.rejects(store.forwarding.set({ ...rule, target: "102" }, api), /audit refused/);
      await assert.rejects(store.forwarding.clear("acme", "101", undefined, api), /audit refused/);
      assert.deepEqual(
        (await store.forwarding.list("acme", "101")).map((f) => f.target),
        ["+41791231212"],
        "neither the change nor the clear happened without its record",
      );
      await assert.rejects(
        store.tenants.update("acme", { policy: { international: true } }, api),
        /audit refused/,
      );
      assert.equal((await store.tenants.get("acme"))?.policy.international, false);
    } finally {
      raw.exec("DROP TRIGGER audit_refuses");
      raw.close();
    }
    await store.forwarding.set({ ...rule, target: "102" }, api);
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(
      (await store.forwarding.list("acme", "101")).map((f) => f.target),
      ["102"],
    );
    assert.deepEqual(
      (await store.audit.list("acme")).map((e) => [e.action, e.old, e.new]),
      [
        ["forwarding.set", "+41791231212", "102"],
        ["forwarding.set", null, "+41791231212"],
      ],
    );
  });

  test("tenants: policy patches merge, are audited with the actor; features too", async () => {
    const t = await store.tenants.update(
      "acme",
      { policy: { international: true, maxExternalCalls: 10 } },
      api,
    );
    assert.deepEqual(t?.policy, { ...DEFAULT_DIALLING_POLICY, international: true, maxExternalCalls: 10 });
    const again = await store.tenants.update(
      "acme",
      { policy: { international: false, sharedCost: true } },
      api,
    );
    assert.deepEqual(again?.policy, { ...DEFAULT_DIALLING_POLICY, sharedCost: true, maxExternalCalls: 10 });
    await store.tenants.update("acme", { policy: { sharedCost: true } }, api); // no change: no event
    await store.tenants.update("acme", { features: { voicemail: true } }, { kind: "cli", id: "root" });
    await store.tenants.update("acme", { language: "de" }, api); // neither policy nor features: no event
    await store.tenants.update("acme", { features: { schedules: true } }); // no actor: the store's own
    const events = await store.audit.list("acme");
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.actor.kind]),
      [
        ["features.update", "features", "system"],
        ["features.update", "features", "cli"],
        ["policy.update", "policy", "api"],
        ["policy.update", "policy", "api"],
      ],
    );
    assert.deepEqual(events[3].old, DEFAULT_DIALLING_POLICY);
    assert.deepEqual(events[3].new, t?.policy);
    assert.deepEqual(events[2].old, t?.policy);
    assert.deepEqual(events[1].old, DEFAULT_FEATURES);
    assert.deepEqual(events[1].new, { ...DEFAULT_FEATURES, voicemail: true });
    await assert.rejects(store.tenants.update("acme", { policy: { maxExternalCalls: -1 } }, api), RangeError);
    await assert.rejects(
      store.tenants.update("acme", { policy: { maxExternalCalls: 1.5 } }, api),
      RangeError,
    );
    assert.equal((await store.tenants.get("acme"))?.policy.maxExternalCalls, 10);
  });

  test("tenants: a missing policy key reads as its default; a damaged column as the defaults", async () => {
    await store.tenants.create({ name: "old", domain: "old.test" });
    const raw = new Database(join(dir, "vpbx.sqlite"));
    try {
      raw.prepare("UPDATE tenants SET policy = ? WHERE name = 'acme'").run('{"international":true}');
      raw.prepare("UPDATE tenants SET policy = 'not json' WHERE name = 'old'").run();
    } finally {
      raw.close();
    }
    assert.deepEqual((await store.tenants.get("acme"))?.policy, {
      ...DEFAULT_DIALLING_POLICY,
      international: true,
    });
    assert.deepEqual((await store.tenants.get("old"))?.policy, DEFAULT_DIALLING_POLICY);
  });

  test("tenants: a trunk of their own, by name; unknown trunk is a conflict, null returns to the default", async () => {
    await assert.rejects(
      store.tenants.update("acme", { trunk: "nope" }),
      (e: Error) => e instanceof StoreConflict && /trunk nope does not exist/.test(e.message),
    );
    await assert.rejects(
      store.tenants.create({ name: "b", domain: "b.test", trunk: "nope" }),
      /trunk nope does not exist/,
    );
    assert.equal(await store.tenants.get("b"), undefined);
    await store.trunks.create({ name: "carrier", host: "sip.carrier.example" });
    await store.trunks.create({ name: "backup", host: "192.0.2.50" });
    assert.equal((await store.tenants.update("acme", { trunk: "backup" }))?.trunk, "backup");
    assert.equal((await store.tenants.get("acme"))?.trunk, "backup");
    const b = await store.tenants.create({ name: "b", domain: "b.test", trunk: "backup" });
    assert.equal(b.trunk, "backup");
    assert.equal((await store.tenants.update("acme", { language: "de" }))?.trunk, "backup", "kept");
    const back = await store.tenants.update("acme", { trunk: null });
    assert.equal(back?.trunk, undefined);
    assert.equal("trunk" in (back ?? {}), false);
    assert.equal((await store.tenants.get("acme"))?.trunk, undefined);
  });

  test("extensions: no-answer time, call waiting, max calls, caller id; defaults and patches", async () => {
    const e = await store.extensions.create({
      tenant: "acme",
      number: "102",
      displayName: "Bob",
      credentials: cred("102"),
      noAnswerSeconds: 15,
      callWaiting: true,
      maxCalls: 4,
      callerId: "+41215550102",
    });
    assert.deepEqual(await store.extensions.get("acme", "102"), e);
    assert.equal(e.noAnswerSeconds, 15);
    assert.equal(e.callWaiting, true);
    assert.equal(e.maxCalls, 4);
    assert.equal(e.callerId, "+41215550102");
    const u = await store.extensions.update("acme", "102", {
      callWaiting: false,
      maxCalls: 1,
      noAnswerSeconds: 40,
    });
    assert.deepEqual(
      [u?.callWaiting, u?.maxCalls, u?.noAnswerSeconds, u?.callerId],
      [false, 1, 40, "+41215550102"],
    );
    const cleared = await store.extensions.update("acme", "102", { callerId: null });
    assert.equal(cleared?.callerId, undefined);
    assert.equal("callerId" in (cleared ?? {}), false);
    assert.deepEqual(await store.extensions.get("acme", "102"), cleared);
    const set = await store.extensions.update("acme", "101", { callerId: "+41215550100" });
    assert.equal(set?.callerId, "+41215550100");
    assert.equal(set?.displayName, "Alice");
  });

  test("extensions: pickup group; the default group (undefined), set, cleared by null, survives re-open", async () => {
    const alice = await store.extensions.get("acme", "101");
    assert.equal(alice?.pickupGroup, undefined);
    assert.equal("pickupGroup" in (alice ?? {}), false);
    const e = await store.extensions.create({
      tenant: "acme",
      number: "102",
      displayName: "Bob",
      credentials: cred("102"),
      pickupGroup: "sales",
    });
    assert.equal(e.pickupGroup, "sales");
    assert.deepEqual(await store.extensions.get("acme", "102"), e);
    const moved = await store.extensions.update("acme", "101", { pickupGroup: "support" });
    assert.equal(moved?.pickupGroup, "support");
    const untouched = await store.extensions.update("acme", "101", { displayName: "Alice B." });
    assert.equal(untouched?.pickupGroup, "support", "a patch without it keeps the group");
    const cleared = await store.extensions.update("acme", "101", { pickupGroup: null });
    assert.equal(cleared?.pickupGroup, undefined);
    assert.equal("pickupGroup" in (cleared ?? {}), false);
    assert.deepEqual(await store.extensions.get("acme", "101"), cleared);
    await store.close();
    const reopened = openSqliteStore({ dataDir: dir, clock });
    try {
      assert.equal((await reopened.extensions.get("acme", "102"))?.pickupGroup, "sales");
      assert.equal((await reopened.extensions.get("acme", "101"))?.pickupGroup, undefined);
    } finally {
      await reopened.close();
    }
  });

  test("trunks: defaults, the first is the default, isDefault moves it, list in creation order", async () => {
    const first = await store.trunks.create({ name: "carrier", host: "sip.carrier.example" });
    assert.deepEqual(first, {
      name: "carrier",
      host: "sip.carrier.example",
      port: 5060,
      transport: "udp",
      register: false,
      numberFormat: "e164",
      inboundAddresses: [],
      isDefault: true,
      createdAt: "2026-01-05T08:00:00.000Z",
    });
    assert.deepEqual(await store.trunks.get("carrier"), first);
    const second = await store.trunks.create({
      name: "backup",
      host: "192.0.2.50",
      port: 5080,
      transport: "tcp",
      username: "acme-trunk",
      password: "s3cret",
      register: true,
      numberFormat: "national",
      inboundAddresses: ["203.0.113.7", "203.0.113.8"],
      isDefault: false,
    });
    assert.equal(second.isDefault, false);
    assert.deepEqual(await store.trunks.get("backup"), second);
    await store.trunks.create({ name: "alpha", host: "alpha.example" });
    assert.deepEqual(
      (await store.trunks.list()).map((t) => [t.name, t.isDefault]),
      [
        ["carrier", true],
        ["backup", false],
        ["alpha", false],
      ],
      "creation order, not alphabetical",
    );
    // A new trunk that asks to be the default takes it over.
    await store.trunks.create({ name: "new-default", host: "nd.example", isDefault: true });
    assert.deepEqual(
      (await store.trunks.list()).filter((t) => t.isDefault).map((t) => t.name),
      ["new-default"],
    );
    const moved = await store.trunks.update("backup", { isDefault: true });
    assert.equal(moved?.isDefault, true);
    assert.deepEqual(
      (await store.trunks.list()).filter((t) => t.isDefault).map((t) => t.name),
      ["backup"],
    );
    await assert.rejects(store.trunks.update("backup", { isDefault: false }), StoreConflict);
    assert.equal((await store.trunks.update("alpha", { isDefault: false }))?.isDefault, false, "no-op");
    await assert.rejects(
      store.trunks.create({ name: "carrier", host: "x.example" }),
      /trunk carrier already exists/,
    );
    assert.equal(await store.trunks.get("nope"), undefined);
    assert.equal(await store.trunks.update("nope", { port: 5061 }), undefined);
  });

  test("trunks: update patches fields; null removes username and password", async () => {
    await store.trunks.create({ name: "carrier", host: "sip.carrier.example", username: "u", password: "p" });
    const u = await store.trunks.update("carrier", {
      host: "sip2.carrier.example",
      port: 5070,
      transport: "tcp",
      register: true,
      numberFormat: "national",
      inboundAddresses: ["198.51.100.1"],
    });
    assert.deepEqual(
      { ...u, createdAt: undefined },
      {
        name: "carrier",
        host: "sip2.carrier.example",
        port: 5070,
        transport: "tcp",
        username: "u",
        password: "p",
        register: true,
        numberFormat: "national",
        inboundAddresses: ["198.51.100.1"],
        isDefault: true,
        createdAt: undefined,
      },
    );
    const noAuth = await store.trunks.update("carrier", { username: null, password: null });
    assert.equal(noAuth?.username, undefined);
    assert.equal(noAuth?.password, undefined);
    assert.deepEqual(await store.trunks.get("carrier"), noAuth);
    assert.equal((await store.trunks.update("carrier", { password: "new" }))?.password, "new");
  });

  test("trunks: delete; a named trunk cannot go; the oldest remaining becomes the default", async () => {
    await store.trunks.create({ name: "one", host: "one.example" });
    await store.trunks.create({ name: "two", host: "two.example" });
    await store.trunks.create({ name: "three", host: "three.example" });
    await store.tenants.update("acme", { trunk: "two" });
    await store.tenants.create({ name: "bistro", domain: "bistro.test", trunk: "two" });
    await assert.rejects(
      store.trunks.delete("two"),
      (e: Error) => e instanceof StoreConflict && /used by tenants acme, bistro/.test(e.message),
    );
    assert.ok(await store.trunks.get("two"), "still there");
    assert.equal(await store.trunks.delete("one"), true);
    assert.deepEqual(
      (await store.trunks.list()).map((t) => [t.name, t.isDefault]),
      [
        ["two", true],
        ["three", false],
      ],
    );
    assert.equal(await store.trunks.delete("three"), true, "not the default: the default stays");
    assert.equal((await store.trunks.get("two"))?.isDefault, true);
    assert.equal(await store.trunks.delete("one"), false);
    await store.tenants.update("acme", { trunk: null });
    await store.tenants.delete("bistro");
    assert.equal(await store.trunks.delete("two"), true, "free once no tenant names it");
    assert.deepEqual(await store.trunks.list(), []);
    const again = await store.trunks.create({ name: "fresh", host: "fresh.example", isDefault: false });
    assert.equal(again.isDefault, true, "the only trunk is the default");
  });

  test("numbers: add, list in order (main first), find, listAll, unique across tenants, delete", async () => {
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    const main = await store.numbers.add({
      tenant: "acme",
      number: "+41215550100",
      destination: { type: "extension", number: "101" },
    });
    assert.deepEqual(main, {
      tenant: "acme",
      number: "+41215550100",
      destination: { type: "extension", number: "101" },
      createdAt: "2026-01-05T08:00:00.000Z",
    });
    await store.numbers.add({ tenant: "bistro", number: "+41445550000", destination: { type: "hangup" } });
    await store.numbers.add({
      tenant: "acme",
      number: "+41215550000",
      destination: { type: "external", number: "+41791231212" },
    });
    assert.deepEqual(
      (await store.numbers.list("acme")).map((x) => x.number),
      ["+41215550100", "+41215550000"],
      "the order they were added, not sorted",
    );
    assert.deepEqual((await store.numbers.find("+41215550000"))?.destination, {
      type: "external",
      number: "+41791231212",
    });
    assert.equal((await store.numbers.find("+41445550000"))?.tenant, "bistro");
    assert.equal(await store.numbers.find("+41000000000"), undefined);
    assert.deepEqual(
      (await store.numbers.listAll()).map((x) => `${x.tenant} ${x.number}`),
      ["acme +41215550100", "bistro +41445550000", "acme +41215550000"],
    );
    await assert.rejects(
      store.numbers.add({ tenant: "bistro", number: "+41215550100", destination: { type: "hangup" } }),
      (e: Error) =>
        e instanceof StoreConflict && /\+41215550100 already belongs to tenant acme/.test(e.message),
    );
    await assert.rejects(
      store.numbers.add({ tenant: "ghost", number: "+41215559999", destination: { type: "hangup" } }),
      (e: Error) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
    );
    assert.equal(await store.numbers.delete("bistro", "+41215550100"), false, "not bistro's");
    assert.equal(await store.numbers.delete("acme", "+41215550100"), true);
    assert.equal(await store.numbers.delete("acme", "+41215550100"), false);
    assert.deepEqual(
      (await store.numbers.list("acme")).map((x) => x.number),
      ["+41215550000"],
      "the next one is now the main number",
    );
  });

  test("audit: append, newest first, limit, per tenant, unknown tenant", async () => {
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    for (let i = 0; i < 5; i++) {
      await store.audit.append({
        tenant: "acme",
        actor: api,
        action: "test",
        subject: `s${i}`,
        old: i,
        new: { i },
      });
    }
    await store.audit.append({
      tenant: "bistro",
      actor: api,
      action: "test",
      subject: "b",
      old: null,
      new: null,
    });
    const all = await store.audit.list("acme");
    assert.deepEqual(
      all.map((e) => e.subject),
      ["s4", "s3", "s2", "s1", "s0"],
    );
    assert.deepEqual(all[0].new, { i: 4 });
    assert.equal(all[0].old, 4);
    assert.deepEqual(
      (await store.audit.list("acme", { limit: 2 })).map((e) => e.subject),
      ["s4", "s3"],
    );
    assert.deepEqual(
      (await store.audit.list("bistro")).map((e) => e.subject),
      ["b"],
    );
    await assert.rejects(store.audit.list("acme", { limit: 0 }), RangeError);
    await assert.rejects(
      store.audit.append({ tenant: "ghost", actor: api, action: "x", subject: "y", old: null, new: null }),
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

  test("tenants: waiting time and company code access; patched, validated, audited as tenant.update", async () => {
    await store.extensions.create({
      tenant: "acme",
      number: "102",
      displayName: "Bob",
      credentials: cred("102"),
    });
    const pinHash = "scrypt$00ff$abcdef";
    const t = await store.tenants.update(
      "acme",
      { waitingSeconds: 45, companyCodes: { extensions: ["101", "102"], pinHash } },
      api,
    );
    assert.equal(t?.waitingSeconds, 45);
    assert.deepEqual(t?.companyCodes, { extensions: ["101", "102"], pinHash });
    assert.deepEqual(await store.tenants.get("acme"), t);
    // companyCodes replaces the whole rule: no list is everyone again, the PIN goes too.
    await store.tenants.update("acme", { companyCodes: {} }, phone);
    await store.tenants.update("acme", { waitingSeconds: 45, companyCodes: {} }, api); // no change
    await store.tenants.update("acme", { companyCodes: { pinHash: "scrypt$01$02" } });
    assert.deepEqual((await store.tenants.get("acme"))?.companyCodes, { pinHash: "scrypt$01$02" });
    const events = (await store.audit.list("acme")).reverse();
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
      [
        ["tenant.update", "waitingSeconds", api, 30, 45],
        [
          "tenant.update",
          "companyCodes",
          api,
          { extensions: null, hasPin: false },
          { extensions: ["101", "102"], hasPin: true, pinChanged: true },
        ],
        [
          "tenant.update",
          "companyCodes",
          phone,
          { extensions: ["101", "102"], hasPin: true },
          { extensions: null, hasPin: false, pinChanged: true },
        ],
        [
          "tenant.update",
          "companyCodes",
          { kind: "system", id: "store" },
          { extensions: null, hasPin: false },
          { extensions: null, hasPin: true, pinChanged: true },
        ],
      ],
    );
    assert.ok(!JSON.stringify(events).includes("scrypt"), "never a PIN hash in the audit log");
  });

  test("tenants: bad waiting time or code access is refused and changes nothing", async () => {
    const before = await store.tenants.get("acme");
    for (const waitingSeconds of [0, -5, 2.5]) {
      await assert.rejects(store.tenants.update("acme", { waitingSeconds }), RangeError);
    }
    await assert.rejects(
      store.tenants.update("acme", { companyCodes: { extensions: "101" as unknown as string[] } }),
      RangeError,
    );
    await assert.rejects(store.tenants.update("acme", { companyCodes: { pinHash: "" } }), RangeError);
    await assert.rejects(
      store.tenants.update("acme", { waitingSeconds: 20, companyCodes: { extensions: ["101", "555"] } }),
      (e: Error) => e instanceof StoreConflict && /555 is not an extension of tenant acme/.test(e.message),
    );
    assert.deepEqual(await store.tenants.get("acme"), before);
    assert.deepEqual(await store.audit.list("acme"), []);
  });

  test("tenants: a listed extension that is deleted leaves the code list; the list stays a restriction", async () => {
    await store.extensions.create({
      tenant: "acme",
      number: "102",
      displayName: "Bob",
      credentials: cred("102"),
    });
    await store.tenants.update("acme", {
      companyCodes: { extensions: ["102", "101"], pinHash: "scrypt$1$2" },
    });
    await store.extensions.delete("acme", "101");
    assert.deepEqual((await store.tenants.get("acme"))?.companyCodes, {
      extensions: ["102"],
      pinHash: "scrypt$1$2",
    });
    await store.extensions.delete("acme", "102");
    assert.deepEqual((await store.tenants.get("acme"))?.companyCodes, {
      extensions: [],
      pinHash: "scrypt$1$2",
    });
  });

  test("tenants: a damaged code access column reads as nobody, not as everyone", async () => {
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      db.prepare("UPDATE tenants SET company_codes = 'not json' WHERE name = 'acme'").run();
    } finally {
      db.close();
    }
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual((await store.tenants.get("acme"))?.companyCodes, { extensions: [] });
    assert.equal(await store.extensions.delete("acme", "101"), true, "the damage blocks no deletion");
  });

  test("numbers: every destination type reads back, announcements nested", async () => {
    const destinations: DestinationSpec[] = [
      { type: "extension", number: "101" },
      { type: "external", number: "+41791231212" },
      { type: "voicemail", number: "101" },
      { type: "ring-group", name: "shop" },
      announce("welcome", { type: "inbound-flow" }),
      announce("closed", announce("vacation", { type: "voicemail", number: "101" })),
      { type: "inbound-flow" },
      { type: "hangup" },
    ];
    for (const [i, destination] of destinations.entries()) {
      await store.numbers.add({ tenant: "acme", number: `+4121555010${i}`, destination });
    }
    assert.deepEqual(
      (await store.numbers.list("acme")).map((x) => x.destination),
      destinations,
    );
  });

  test("numbers: a destination that cannot be read hangs up, deeper than the limit too", async () => {
    const stored = [
      { type: "teleport" },
      { type: "ring-group" },
      announce("jingle" as AnnouncementKind, { type: "hangup" }),
      // A lost `then` still says the announcement.
      { type: "announcement", announcement: "closed" },
      // Depth 4: the fourth level reads as hangup (MAX_DESTINATION_DEPTH = 3).
      announce("welcome", announce("waiting", announce("closed", { type: "extension", number: "101" }))),
    ];
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      stored.forEach((d, i) => {
        db.prepare(
          "INSERT INTO numbers (tenant, number, destination, created_at) VALUES ('acme', ?, ?, '2026-01-05')",
        ).run(`+4121555020${i}`, JSON.stringify(d));
      });
    } finally {
      db.close();
    }
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(
      (await store.numbers.list("acme")).map((x) => x.destination),
      [
        { type: "hangup" },
        { type: "hangup" },
        { type: "hangup" },
        announce("closed", { type: "hangup" }),
        announce("welcome", announce("waiting", announce("closed", { type: "hangup" }))),
      ],
    );
  });

  test("everything survives close and re-open", async () => {
    await store.tenants.update("acme", { features: { announcements: true } });
    await store.extensions.update("acme", "101", { language: "it" });
    await store.bindings.upsert(binding());
    await store.forwarding.set(
      { tenant: "acme", extension: "101", kind: "unreachable", target: "+41791231212" },
      api,
    );
    await store.featureCodes.set("acme", "announcement.vacation", "*39");
    await store.trunks.create({ name: "carrier", host: "sip.carrier.example", password: "carrier-pw" });
    await store.tenants.update("acme", { trunk: "carrier", policy: { premiumRate: true } }, api);
    await store.extensions.update("acme", "101", { callWaiting: true, callerId: "+41215550100" });
    await store.numbers.add({
      tenant: "acme",
      number: "+41215550100",
      destination: { type: "extension", number: "101" },
    });
    const before = {
      tenants: await store.tenants.list(),
      extensions: await store.extensions.list("acme"),
      bindings: await store.bindings.listAll(),
      forwarding: await store.forwarding.list("acme", "101"),
      codes: await store.featureCodes.list("acme"),
      trunks: await store.trunks.list(),
      numbers: await store.numbers.listAll(),
      audit: await store.audit.list("acme"),
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
          trunks: await reopened.trunks.list(),
          numbers: await reopened.numbers.listAll(),
          audit: await reopened.audit.list("acme"),
        },
        before,
      );
      assert.equal(before.tenants[0].features.announcements, true);
      assert.equal(before.tenants[0].trunk, "carrier");
      assert.equal(before.tenants[0].policy.premiumRate, true);
      assert.equal(before.extensions[0].callerId, "+41215550100");
      assert.equal(before.trunks[0].password, "carrier-pw");
      assert.equal(before.audit.length, 3);
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

  test("version 1 data upgrades: extensions take the defaults, tenants the default policy", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      migrate(db, MIGRATIONS.slice(0, 1));
      db.prepare(
        `INSERT INTO tenants (name, domain, language, timezone, country, features, created_at)
         VALUES ('acme', 'acme.test', 'fr', 'Europe/Zurich', 'CH', '{"voicemail":true}', '2025-01-01T00:00:00.000Z')`,
      ).run();
      const c = cred("101");
      db.prepare(
        `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
         VALUES ('acme', '101', 'Alice', NULL, 30, ?, ?, ?, '2025-01-01T00:00:00.000Z')`,
      ).run(c.realm, c.ha1Md5, c.ha1Sha256);
      db.prepare(
        "INSERT INTO forwarding (tenant, extension, kind, target) VALUES ('acme', '101', 'busy', '102')",
      ).run();
    } finally {
      db.close();
    }
    const store = openSqliteStore({ dataDir: dir, clock });
    try {
      const t = await store.tenants.get("acme");
      assert.deepEqual(t?.policy, DEFAULT_DIALLING_POLICY);
      assert.equal(t?.features.voicemail, true);
      assert.equal(t?.trunk, undefined);
      const e = await store.extensions.get("acme", "101");
      assert.deepEqual(
        [e?.noAnswerSeconds, e?.callWaiting, e?.maxCalls, e?.callerId],
        [20, false, 2, undefined],
      );
      assert.deepEqual(await store.forwarding.list("acme", "101"), [
        { tenant: "acme", extension: "101", kind: "busy", target: "102" },
      ]);
      await store.forwarding.set({ tenant: "acme", extension: "101", kind: "noAnswer", target: "102" }, api);
      assert.equal((await store.audit.list("acme")).length, 1);
    } finally {
      await store.close();
    }
  });

  test("version 3 data upgrades: extensions are in the default pickup group", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      migrate(db, MIGRATIONS.slice(0, 3));
      db.prepare(
        `INSERT INTO tenants (name, domain, language, timezone, country, features, created_at)
         VALUES ('acme', 'acme.test', 'fr', 'Europe/Zurich', 'CH', '{}', '2025-01-01T00:00:00.000Z')`,
      ).run();
      const c = cred("101");
      db.prepare(
        `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
         VALUES ('acme', '101', 'Alice', NULL, 30, ?, ?, ?, '2025-01-01T00:00:00.000Z')`,
      ).run(c.realm, c.ha1Md5, c.ha1Sha256);
    } finally {
      db.close();
    }
    const store = openSqliteStore({ dataDir: dir, clock });
    try {
      const e = await store.extensions.get("acme", "101");
      assert.equal(e?.pickupGroup, undefined);
      assert.equal(e?.displayName, "Alice");
      assert.equal(
        (await store.extensions.update("acme", "101", { pickupGroup: "sales" }))?.pickupGroup,
        "sales",
      );
    } finally {
      await store.close();
    }
  });

  test("version 5 data upgrades: rows kept, tenants take the waiting time and open code access, new tables work", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, "vpbx.sqlite"));
    const c = cred("101");
    try {
      migrate(db, MIGRATIONS.slice(0, 5));
      db.exec(`
        INSERT INTO tenants (name, domain, language, timezone, country, features, policy, operator, created_at)
        VALUES ('acme', 'acme.test', 'de', 'Europe/Zurich', 'CH', '{"schedules":true}', '{"international":true}',
          '101', '2025-01-01T00:00:00.000Z');
        INSERT INTO numbers (tenant, number, destination, created_at)
        VALUES ('acme', '+41215550100', '{"type":"voicemail","number":"101"}', '2025-01-01T00:00:00.000Z');
        INSERT INTO audit (tenant, at, actor, action, subject, old, new)
        VALUES ('acme', '2025-01-01T00:00:00.000Z', '{"kind":"api","id":"admin"}', 'policy.update', 'policy', '{}', '{}');
      `);
      db.prepare(
        `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
         VALUES ('acme', '101', 'Alice', NULL, 30, ?, ?, ?, '2025-01-01T00:00:00.000Z')`,
      ).run(c.realm, c.ha1Md5, c.ha1Sha256);
      db.exec(`
        INSERT INTO mailboxes (tenant, mailbox, enabled) VALUES ('acme', '101', 1);
        INSERT INTO voicemail_messages (id, tenant, mailbox, folder, caller_number, received_at, duration_ms)
        VALUES ('m1', 'acme', '101', 'new', '+41791231212', '2025-01-02T00:00:00.000Z', 4200);
      `);
    } finally {
      db.close();
    }
    const store = openSqliteStore({ dataDir: dir, clock });
    try {
      const t = await store.tenants.get("acme");
      assert.deepEqual(
        [t?.language, t?.features.schedules, t?.policy.international, t?.operator, t?.createdAt],
        ["de", true, true, "101", "2025-01-01T00:00:00.000Z"],
      );
      assert.equal(t?.waitingSeconds, 30);
      assert.deepEqual(t?.companyCodes, {});
      assert.equal((await store.extensions.get("acme", "101"))?.displayName, "Alice");
      assert.deepEqual(
        (await store.numbers.list("acme")).map((x) => x.destination),
        [{ type: "voicemail", number: "101" }],
      );
      assert.equal((await store.voicemail.settings("acme", "101"))?.enabled, true);
      assert.deepEqual(
        (await store.voicemail.listMessages("acme", "101")).map((m) => m.id),
        ["m1"],
      );
      assert.equal((await store.audit.list("acme")).length, 1);
      // The new tables and columns work on the upgraded file.
      await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] });
      await store.companyFlow.setCallFlow("acme", { state: "b", states: { a: {}, b: {} } }, api);
      await store.companyAudio.set({ tenant: "acme", kind: "welcome", source: "upload", durationMs: 1 }, api);
      await store.tenants.update("acme", { waitingSeconds: 20, companyCodes: { extensions: ["101"] } }, api);
      assert.equal((await store.tenants.get("acme"))?.waitingSeconds, 20);
      assert.equal((await store.audit.list("acme")).length, 6);
    } finally {
      await store.close();
    }
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
      await s.extensions.create({ tenant: "acme", number: "101", displayName: "A",
        credentials: { realm: "acme.test", ha1Md5: "x", ha1Sha256: "y" } });
      await s.forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "+41791231212" },
        { kind: "phone", id: "101" });
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
      assert.equal((await store.forwarding.list("acme", "101"))[0]?.target, "+41791231212");
      assert.deepEqual(
        (await store.audit.list("acme")).map((e) => [e.action, e.subject]),
        [
          ["forwarding.set", "101/busy"],
          ["features.update", "features"],
        ],
      );
    } finally {
      await store.close();
    }
  });
});
