import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import {
  type Actor,
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  StoreConflict,
} from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlFeatureCodes } from "./sql-feature-codes.ts";
import { SqlForwarding } from "./sql-forwarding.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { allowAudit, refuseAudit } from "./testing-audit.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const cred = (num: string, realm = "acme.test") => makeCredentials(num, realm, `pw-${num}-secret`);
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

async function insertTrunk(t: TestContext, name: string): Promise<void> {
  await t.ctx.db
    .insertInto("trunks")
    .values({
      name,
      host: `${name}.example`,
      port: 5060,
      transport: "udp",
      username: null,
      password: null,
      register: 0,
      number_format: "e164",
      inbound_addresses: "[]",
      is_default: 0,
      created_at: "2026-01-05T08:00:00.000Z",
    })
    .execute();
}

for (const engine of TEST_ENGINES) {
  describe(`sql tenants on ${engine.name}`, () => {
    let t: TestContext;
    let tenants: SqlTenants;
    let extensions: SqlExtensions;
    let audit: SqlAudit;
    beforeEach(async () => {
      t = await engine.open(clock);
      tenants = new SqlTenants(t.ctx);
      extensions = new SqlExtensions(t.ctx);
      audit = new SqlAudit(t.ctx);
      await tenants.create({ name: "acme", domain: "acme.test" });
      await extensions.create({
        tenant: "acme",
        number: "101",
        displayName: "Alice",
        credentials: cred("101"),
      });
    });
    afterEach(() => t.close());

    test("a NUL from the network (RFC 4475 escnull) finds nothing, on either engine", async () => {
      assert.equal(await tenants.getByDomain("acme\u0000.test"), undefined);
      assert.equal(await tenants.get("ac\u0000me"), undefined);
      assert.equal(await extensions.get("acme", "10\u00001"), undefined);
    });

    test("create with defaults, get, getByDomain (case-insensitive), list", async () => {
      assert.deepEqual(await tenants.get("acme"), {
        name: "acme",
        domain: "acme.test",
        language: "fr",
        timezone: "Europe/Zurich",
        country: "CH",
        features: DEFAULT_FEATURES,
        policy: DEFAULT_DIALLING_POLICY,
        waitingSeconds: 30,
        maxCalls: 20,
        requireEncryption: false,
        companyCodes: {},
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      const b = await tenants.create({
        name: "bistro",
        domain: "Bistro.Test",
        language: "de",
        timezone: "Europe/Berlin",
        country: "DE",
      });
      assert.equal(b.language, "de");
      assert.deepEqual(await tenants.get("bistro"), b);
      assert.equal((await tenants.getByDomain("ACME.Test"))?.name, "acme");
      assert.equal((await tenants.getByDomain("bistro.test"))?.name, "bistro", "whatever case was stored");
      assert.equal((await tenants.getByDomain("bistro.test"))?.domain, "Bistro.Test", "kept as written");
      assert.equal(await tenants.getByDomain("nope.test"), undefined);
      assert.equal(await tenants.get("nope"), undefined);
      assert.deepEqual(
        (await tenants.list()).map((x) => x.name),
        ["acme", "bistro"],
      );
    });

    test("conflicts on name and on domain, in any case", async () => {
      await assert.rejects(tenants.create({ name: "acme", domain: "x.test" }), (e: Error) => {
        assert.ok(e instanceof StoreConflict);
        assert.match(e.message, /tenant acme already exists/);
        return true;
      });
      await assert.rejects(tenants.create({ name: "other", domain: "Acme.Test" }), (e: Error) => {
        assert.ok(e instanceof StoreConflict);
        assert.match(e.message, /domain Acme.Test is already used by another tenant/);
        return true;
      });
      assert.equal(await tenants.get("other"), undefined);
      await tenants.create({ name: "other", domain: "other.test" });
      await assert.rejects(tenants.update("other", { domain: "ACME.test" }), (e: Error) => {
        assert.ok(e instanceof StoreConflict);
        assert.match(e.message, /domain ACME.test is already used by another tenant/);
        return true;
      });
      assert.equal((await tenants.get("other"))?.domain, "other.test");
      // A tenant may change the case of its own domain.
      assert.equal((await tenants.update("other", { domain: "Other.Test" }))?.domain, "Other.Test");
    });

    test("update patches fields and features, keeps the rest", async () => {
      const u = await tenants.update("acme", {
        domain: "acme2.test",
        language: "it",
        features: { voicemail: true, schedules: true },
      });
      assert.equal(u?.domain, "acme2.test");
      assert.equal(u?.language, "it");
      assert.equal(u?.timezone, "Europe/Zurich");
      assert.deepEqual(u?.features, { ...DEFAULT_FEATURES, voicemail: true, schedules: true });
      const again = await tenants.update("acme", { features: { schedules: false } });
      assert.deepEqual(again?.features, { ...DEFAULT_FEATURES, voicemail: true });
      assert.deepEqual(await tenants.get("acme"), again);
      assert.equal(await tenants.update("nope", { language: "de" }), undefined);
      // The extension's credentials keep the realm they were computed in.
      assert.equal((await extensions.get("acme", "101"))?.credentials.realm, "acme.test");
    });

    test("delete cascades to extensions, bindings, forwarding, feature codes, numbers, audit", async () => {
      const forwarding = new SqlForwarding(t.ctx);
      const featureCodes = new SqlFeatureCodes(t.ctx);
      await t.ctx.db
        .insertInto("bindings")
        .values({
          tenant: "acme",
          extension: "101",
          contact: "sip:101@192.0.2.10:5060",
          call_id: "abc@192.0.2.10",
          cseq: 1,
          expires_at: clock.now() + 3600_000,
          transport: "UDP",
          address: "192.0.2.10",
          port: 5060,
          user_agent: null,
        })
        .execute();
      await forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "+41791231212" }, api);
      await featureCodes.set("acme", "voicemail.access", "*98");
      await t.ctx.db
        .insertInto("numbers")
        .values({ tenant: "acme", number: "+41215550100", destination: '{"type":"hangup"}', created_at: "x" })
        .execute();
      assert.equal(await tenants.delete("acme"), true);
      assert.equal(await tenants.delete("acme"), false);
      assert.deepEqual(await extensions.list("acme"), []);
      assert.deepEqual(await t.ctx.db.selectFrom("bindings").selectAll().execute(), []);
      assert.deepEqual(await forwarding.list("acme", "101"), []);
      assert.deepEqual(await t.ctx.db.selectFrom("numbers").selectAll().execute(), []);
      // Recreated under the same name, it starts clean.
      await tenants.create({ name: "acme", domain: "acme.test" });
      assert.deepEqual(await featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
      assert.deepEqual(await audit.list("acme"), []);
    });

    test("policy patches merge, are audited with the actor; features too", async () => {
      const u = await tenants.update("acme", { policy: { international: true, maxExternalCalls: 10 } }, api);
      assert.deepEqual(u?.policy, { ...DEFAULT_DIALLING_POLICY, international: true, maxExternalCalls: 10 });
      const again = await tenants.update("acme", { policy: { international: false, sharedCost: true } }, api);
      assert.deepEqual(again?.policy, { ...DEFAULT_DIALLING_POLICY, sharedCost: true, maxExternalCalls: 10 });
      await tenants.update("acme", { policy: { sharedCost: true } }, api); // no change: no event
      await tenants.update("acme", { features: { voicemail: true } }, { kind: "cli", id: "root" });
      await tenants.update("acme", { language: "de" }, api); // a setting of its own: its own event
      await tenants.update("acme", { features: { schedules: true } }); // no actor: the store's own
      const events = await audit.list("acme");
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor.kind]),
        [
          ["features.update", "features", "system"],
          ["tenant.update", "language", "api"],
          ["features.update", "features", "cli"],
          ["policy.update", "policy", "api"],
          ["policy.update", "policy", "api"],
        ],
      );
      assert.deepEqual([events[1].old, events[1].new], ["fr", "de"]);
      assert.deepEqual(events[4].old, DEFAULT_DIALLING_POLICY);
      assert.deepEqual(events[4].new, u?.policy);
      assert.deepEqual(events[3].old, u?.policy);
      assert.deepEqual(events[2].old, DEFAULT_FEATURES);
      assert.deepEqual(events[2].new, { ...DEFAULT_FEATURES, voicemail: true });
      await assert.rejects(tenants.update("acme", { policy: { maxExternalCalls: -1 } }, api), RangeError);
      await assert.rejects(tenants.update("acme", { policy: { maxExternalCalls: 1.5 } }, api), RangeError);
      assert.equal((await tenants.get("acme"))?.policy.maxExternalCalls, 10);
    });

    test("a missing policy key reads as its default; a damaged column as the defaults", async () => {
      await tenants.create({ name: "old", domain: "old.test" });
      await t.ctx.db
        .updateTable("tenants")
        .set({ policy: '{"international":true}' })
        .where("name", "=", "acme")
        .execute();
      await t.ctx.db.updateTable("tenants").set({ policy: "not json" }).where("name", "=", "old").execute();
      assert.deepEqual((await tenants.get("acme"))?.policy, {
        ...DEFAULT_DIALLING_POLICY,
        international: true,
      });
      assert.deepEqual((await tenants.get("old"))?.policy, DEFAULT_DIALLING_POLICY);
    });

    test("a trunk of their own, by name; unknown trunk is a conflict, null returns to the default", async () => {
      await assert.rejects(
        tenants.update("acme", { trunk: "nope" }),
        (e: Error) => e instanceof StoreConflict && /trunk nope does not exist/.test(e.message),
      );
      await assert.rejects(
        tenants.create({ name: "b", domain: "b.test", trunk: "nope" }),
        (e: Error) => e instanceof StoreConflict && /trunk nope does not exist/.test(e.message),
      );
      assert.equal(await tenants.get("b"), undefined);
      await insertTrunk(t, "carrier");
      await insertTrunk(t, "backup");
      assert.equal((await tenants.update("acme", { trunk: "backup" }))?.trunk, "backup");
      assert.equal((await tenants.get("acme"))?.trunk, "backup");
      const b = await tenants.create({ name: "b", domain: "b.test", trunk: "backup" });
      assert.equal(b.trunk, "backup");
      assert.equal((await tenants.update("acme", { language: "de" }))?.trunk, "backup", "kept");
      const back = await tenants.update("acme", { trunk: null });
      assert.equal(back?.trunk, undefined);
      assert.equal("trunk" in (back ?? {}), false);
      assert.equal((await tenants.get("acme"))?.trunk, undefined);
    });

    test("waiting time and company code access; patched, validated, audited as tenant.update", async () => {
      await extensions.create({
        tenant: "acme",
        number: "102",
        displayName: "Bob",
        credentials: cred("102"),
      });
      const pinHash = "scrypt$00ff$abcdef";
      const u = await tenants.update(
        "acme",
        { waitingSeconds: 45, companyCodes: { extensions: ["101", "102", "101"], pinHash } },
        api,
      );
      assert.equal(u?.waitingSeconds, 45);
      assert.deepEqual(u?.companyCodes, { extensions: ["101", "102"], pinHash }, "listed once");
      assert.deepEqual(await tenants.get("acme"), u);
      // companyCodes replaces the whole rule: no list is everyone again, the PIN goes too.
      await tenants.update("acme", { companyCodes: {} }, phone);
      await tenants.update("acme", { waitingSeconds: 45, companyCodes: {} }, api); // no change
      await tenants.update("acme", { companyCodes: { pinHash: "scrypt$01$02" } });
      assert.deepEqual((await tenants.get("acme"))?.companyCodes, { pinHash: "scrypt$01$02" });
      const events = (await audit.list("acme")).reverse();
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

    test("encryption required of the company's phones: off by default, set and cleared, audited", async () => {
      assert.equal((await tenants.get("acme"))?.requireEncryption, false);
      assert.equal((await tenants.update("acme", { requireEncryption: true }, api))?.requireEncryption, true);
      assert.equal((await tenants.get("acme"))?.requireEncryption, true);
      await tenants.update("acme", { requireEncryption: true }, api); // no change, no event
      await tenants.update("acme", { requireEncryption: false }, phone);
      const events = (await audit.list("acme")).reverse();
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
        [
          ["tenant.update", "requireEncryption", api, false, true],
          ["tenant.update", "requireEncryption", phone, true, false],
        ],
      );
    });

    test("bad waiting time or code access is refused and changes nothing", async () => {
      const before = await tenants.get("acme");
      for (const waitingSeconds of [0, -5, 2.5]) {
        await assert.rejects(tenants.update("acme", { waitingSeconds }), RangeError);
      }
      await assert.rejects(
        tenants.update("acme", { companyCodes: { extensions: "101" as unknown as string[] } }),
        RangeError,
      );
      await assert.rejects(tenants.update("acme", { companyCodes: { pinHash: "" } }), RangeError);
      await assert.rejects(
        tenants.update("acme", { waitingSeconds: 20, companyCodes: { extensions: ["101", "555"] } }),
        (e: Error) => e instanceof StoreConflict && /555 is not an extension of tenant acme/.test(e.message),
      );
      await assert.rejects(
        tenants.update("acme", { companyCodes: { extensions: ["555", "556"] } }),
        /company codes: 555, 556 are not extensions of tenant acme/,
      );
      assert.deepEqual(await tenants.get("acme"), before);
      assert.deepEqual(await audit.list("acme"), []);
    });

    test("a damaged code access column reads as nobody, not as everyone", async () => {
      await t.ctx.db
        .updateTable("tenants")
        .set({ company_codes: "not json" })
        .where("name", "=", "acme")
        .execute();
      assert.deepEqual((await tenants.get("acme"))?.companyCodes, { extensions: [] });
      await t.ctx.db
        .updateTable("tenants")
        .set({ company_codes: '{"extensions":"101"}' })
        .where("name", "=", "acme")
        .execute();
      assert.deepEqual((await tenants.get("acme"))?.companyCodes, { extensions: [] });
      assert.equal(await extensions.delete("acme", "101"), true, "the damage blocks no deletion");
    });

    test("operator: none by default; set to an extension, cleared with null; unknown extension refused", async () => {
      assert.equal((await tenants.get("acme"))?.operator, undefined);
      assert.equal((await tenants.update("acme", { operator: "101" }))?.operator, "101");
      assert.equal((await tenants.get("acme"))?.operator, "101");
      await assert.rejects(
        tenants.update("acme", { operator: "999" }),
        (e: Error) =>
          e instanceof StoreConflict && /operator 999 is not an extension of tenant acme/.test(e.message),
      );
      assert.equal((await tenants.get("acme"))?.operator, "101", "a refused change changes nothing");
      const cleared = await tenants.update("acme", { operator: null });
      assert.equal(cleared?.operator, undefined);
      assert.ok(!("operator" in (cleared ?? {})));
    });

    test("a failed audit write rolls the change back", async () => {
      await refuseAudit(t);
      try {
        await assert.rejects(
          tenants.update("acme", { policy: { international: true } }, api),
          /audit refused/,
        );
        assert.equal((await tenants.get("acme"))?.policy.international, false);
      } finally {
        await allowAudit(t);
      }
      assert.equal(
        (await tenants.update("acme", { policy: { international: true } }, api))?.policy.international,
        true,
      );
    });
  });
}
