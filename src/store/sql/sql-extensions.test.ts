import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { sql } from "kysely";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { type Actor, StoreConflict } from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { allowAudit, refuseAudit } from "./testing-audit.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const cred = (num: string, realm = "acme.test") => makeCredentials(num, realm, `pw-${num}-secret`);
const system: Actor = { kind: "system", id: "store" };

async function insertRingGroup(t: TestContext, tenant: string, name: string, members: string): Promise<void> {
  await t.ctx.db
    .insertInto("ring_groups")
    .values({
      tenant,
      name,
      members,
      strategy: "sequential",
      timeout: 60,
      member_timeout: 20,
      fallback: '{"type":"voicemail","number":"101"}',
      created_at: "2026-01-05T08:00:00.000Z",
    })
    .execute();
}

const membersOf = async (t: TestContext, tenant: string, name: string) =>
  (
    await t.ctx.db
      .selectFrom("ring_groups")
      .select("members")
      .where("tenant", "=", tenant)
      .where("name", "=", name)
      .executeTakeFirstOrThrow()
  ).members;

for (const engine of TEST_ENGINES) {
  describe(`sql extensions on ${engine.name}`, () => {
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

    test("create, get, list (short numbers first), conflicts", async () => {
      assert.deepEqual(await extensions.get("acme", "101"), {
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
      await extensions.create({
        tenant: "acme",
        number: "20",
        displayName: "Bob",
        language: "de",
        ringTimeoutSeconds: 45,
        credentials: cred("20"),
      });
      await extensions.create({
        tenant: "acme",
        number: "100",
        displayName: "Desk",
        credentials: cred("100"),
      });
      assert.deepEqual(
        (await extensions.list("acme")).map((x) => [x.number, x.language, x.ringTimeoutSeconds]),
        [
          ["20", "de", 45],
          ["100", undefined, 30],
          ["101", undefined, 30],
        ],
      );
      await assert.rejects(
        extensions.create({ tenant: "acme", number: "101", displayName: "X", credentials: cred("101") }),
        (e: Error) =>
          e instanceof StoreConflict && /extension 101 already exists in tenant acme/.test(e.message),
      );
      await assert.rejects(
        extensions.create({ tenant: "ghost", number: "101", displayName: "X", credentials: cred("101") }),
        (e: Error) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
      );
      // The same number in another tenant is fine.
      await tenants.create({ name: "bistro", domain: "bistro.test" });
      await extensions.create({
        tenant: "bistro",
        number: "101",
        displayName: "Y",
        credentials: cred("101"),
      });
      assert.equal(await extensions.get("acme", "999"), undefined);
      assert.deepEqual(await extensions.list("nope"), []);
    });

    test("update and delete; bindings go with their extension", async () => {
      const newCred = makeCredentials("101", "acme.test", "another-password");
      const u = await extensions.update("acme", "101", {
        displayName: "Alice B.",
        language: "en",
        ringTimeoutSeconds: 60,
        credentials: newCred,
        mwiUnsolicited: true,
      });
      assert.equal(u?.displayName, "Alice B.");
      assert.equal(u?.language, "en");
      assert.equal(u?.ringTimeoutSeconds, 60);
      assert.equal(u?.mwiUnsolicited, true);
      assert.deepEqual(u?.credentials, newCred);
      const cleared = await extensions.update("acme", "101", { language: null });
      assert.equal(cleared?.language, undefined);
      assert.equal(cleared?.displayName, "Alice B.");
      assert.deepEqual(await extensions.get("acme", "101"), cleared);
      assert.equal(await extensions.update("acme", "999", { displayName: "x" }), undefined);
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
      assert.equal(await extensions.delete("acme", "101"), true);
      assert.equal(await extensions.delete("acme", "101"), false);
      assert.equal(await extensions.delete("acme", "999"), false);
      assert.deepEqual(await t.ctx.db.selectFrom("bindings").selectAll().execute(), []);
    });

    test("no-answer time, call waiting, max calls, caller id; defaults and patches", async () => {
      const e = await extensions.create({
        tenant: "acme",
        number: "102",
        displayName: "Bob",
        credentials: cred("102"),
        noAnswerSeconds: 15,
        callWaiting: true,
        maxCalls: 4,
        callerId: "+41215550102",
      });
      assert.deepEqual(await extensions.get("acme", "102"), e);
      assert.deepEqual(
        [e.noAnswerSeconds, e.callWaiting, e.maxCalls, e.callerId],
        [15, true, 4, "+41215550102"],
      );
      const u = await extensions.update("acme", "102", {
        callWaiting: false,
        maxCalls: 1,
        noAnswerSeconds: 40,
      });
      assert.deepEqual(
        [u?.callWaiting, u?.maxCalls, u?.noAnswerSeconds, u?.callerId],
        [false, 1, 40, "+41215550102"],
      );
      const cleared = await extensions.update("acme", "102", { callerId: null });
      assert.equal(cleared?.callerId, undefined);
      assert.equal("callerId" in (cleared ?? {}), false);
      assert.deepEqual(await extensions.get("acme", "102"), cleared);
      const set = await extensions.update("acme", "101", { callerId: "+41215550100" });
      assert.equal(set?.callerId, "+41215550100");
      assert.equal(set?.displayName, "Alice");
    });

    test("pickup group: the default group (undefined), set, cleared by null", async () => {
      const alice = await extensions.get("acme", "101");
      assert.equal(alice?.pickupGroup, undefined);
      assert.equal("pickupGroup" in (alice ?? {}), false);
      const e = await extensions.create({
        tenant: "acme",
        number: "102",
        displayName: "Bob",
        credentials: cred("102"),
        pickupGroup: "sales",
      });
      assert.equal(e.pickupGroup, "sales");
      assert.deepEqual(await extensions.get("acme", "102"), e);
      assert.equal(
        (await extensions.update("acme", "101", { pickupGroup: "support" }))?.pickupGroup,
        "support",
      );
      const untouched = await extensions.update("acme", "101", { displayName: "Alice B." });
      assert.equal(untouched?.pickupGroup, "support", "a patch without it keeps the group");
      const cleared = await extensions.update("acme", "101", { pickupGroup: null });
      assert.equal(cleared?.pickupGroup, undefined);
      assert.equal("pickupGroup" in (cleared ?? {}), false);
      assert.deepEqual(await extensions.get("acme", "101"), cleared);
    });

    // PostgreSQL has no triggers for this, and the SQLite ones are dropped
    // here: what is checked is the store's own work, on both engines.
    describe("delete, without the database's help", () => {
      beforeEach(async () => {
        if (t.ctx.engine === "sqlite") {
          await sql`DROP TRIGGER IF EXISTS extensions_clear_operator`.execute(t.ctx.db);
          await sql`DROP TRIGGER IF EXISTS extensions_leave_company_codes`.execute(t.ctx.db);
        }
        await extensions.create({
          tenant: "acme",
          number: "102",
          displayName: "Bob",
          credentials: cred("102"),
        });
        await extensions.create({
          tenant: "acme",
          number: "103",
          displayName: "Carol",
          credentials: cred("103"),
        });
      });

      test("deleting the operator's extension clears the operator, and only then", async () => {
        await tenants.create({ name: "bistro", domain: "bistro.test" });
        await extensions.create({
          tenant: "bistro",
          number: "101",
          displayName: "B",
          credentials: cred("101"),
        });
        await tenants.update("acme", { operator: "101" });
        await tenants.update("bistro", { operator: "101" });
        await extensions.delete("acme", "102");
        assert.equal((await tenants.get("acme"))?.operator, "101");
        await extensions.delete("acme", "101");
        assert.equal((await tenants.get("acme"))?.operator, undefined);
        assert.equal((await tenants.get("bistro"))?.operator, "101", "another tenant's operator stays");
      });

      test("a listed extension that is deleted leaves the code list; the list stays a restriction", async () => {
        await tenants.update("acme", { companyCodes: { extensions: ["102", "101"], pinHash: "scrypt$1$2" } });
        await extensions.delete("acme", "103");
        assert.deepEqual((await tenants.get("acme"))?.companyCodes, {
          extensions: ["102", "101"],
          pinHash: "scrypt$1$2",
        });
        await extensions.delete("acme", "101");
        assert.deepEqual((await tenants.get("acme"))?.companyCodes, {
          extensions: ["102"],
          pinHash: "scrypt$1$2",
        });
        await extensions.delete("acme", "102");
        assert.deepEqual((await tenants.get("acme"))?.companyCodes, {
          extensions: [],
          pinHash: "scrypt$1$2",
        });
        // No list (everyone) stays everyone.
        await tenants.update("acme", { companyCodes: {} });
        await extensions.create({
          tenant: "acme",
          number: "104",
          displayName: "D",
          credentials: cred("104"),
        });
        await extensions.delete("acme", "104");
        assert.deepEqual((await tenants.get("acme"))?.companyCodes, {});
      });

      test("a damaged code access column blocks no deletion and stays as it was", async () => {
        await t.ctx.db
          .updateTable("tenants")
          .set({ company_codes: "not json" })
          .where("name", "=", "acme")
          .execute();
        assert.equal(await extensions.delete("acme", "101"), true);
        const row = await t.ctx.db.selectFrom("tenants").select("company_codes").executeTakeFirstOrThrow();
        assert.equal(row.company_codes, "not json");
        assert.deepEqual((await tenants.get("acme"))?.companyCodes, { extensions: [] });
      });

      test("a deleted extension leaves every ring group in the same transaction, audited with a system actor", async () => {
        await insertRingGroup(t, "acme", "shop", '["101","102","103"]');
        await insertRingGroup(t, "acme", "desk", '["102"]');
        await insertRingGroup(t, "acme", "back", '["103"]');
        assert.equal(await extensions.delete("acme", "102"), true);
        assert.deepEqual(JSON.parse(await membersOf(t, "acme", "shop")), ["101", "103"]);
        assert.deepEqual(JSON.parse(await membersOf(t, "acme", "desk")), []);
        assert.deepEqual(JSON.parse(await membersOf(t, "acme", "back")), ["103"]);
        const events = await audit.list("acme");
        assert.deepEqual(
          events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
          [
            [
              "ringgroup.update",
              "shop",
              system,
              {
                members: ["101", "102", "103"],
                strategy: "sequential",
                timeout: 60,
                memberTimeout: 20,
                fallback: { type: "voicemail", number: "101" },
              },
              {
                members: ["101", "103"],
                strategy: "sequential",
                timeout: 60,
                memberTimeout: 20,
                fallback: { type: "voicemail", number: "101" },
              },
            ],
            [
              "ringgroup.update",
              "desk",
              system,
              {
                members: ["102"],
                strategy: "sequential",
                timeout: 60,
                memberTimeout: 20,
                fallback: { type: "voicemail", number: "101" },
              },
              {
                members: [],
                strategy: "sequential",
                timeout: 60,
                memberTimeout: 20,
                fallback: { type: "voicemail", number: "101" },
              },
            ],
          ],
          "newest first",
        );
        assert.equal(await extensions.delete("acme", "102"), false, "already gone");
        assert.equal((await audit.list("acme")).length, 2, "a second delete writes nothing");
      });

      test("another tenant's groups keep their members; a damaged member list blocks no deletion", async () => {
        await tenants.create({ name: "bistro", domain: "bistro.test" });
        await extensions.create({
          tenant: "bistro",
          number: "101",
          displayName: "B",
          credentials: cred("101"),
        });
        await insertRingGroup(t, "bistro", "kitchen", '["101"]');
        await insertRingGroup(t, "acme", "shop", "not json");
        assert.equal(await extensions.delete("acme", "101"), true);
        assert.deepEqual(JSON.parse(await membersOf(t, "bistro", "kitchen")), ["101"]);
        assert.equal(await membersOf(t, "acme", "shop"), "not json");
        assert.deepEqual(await audit.list("acme"), []);
        assert.deepEqual(await audit.list("bistro"), []);
      });

      test("all of it or nothing: a failing step keeps the extension", async () => {
        await insertRingGroup(t, "acme", "shop", '["101"]');
        await tenants.update("acme", { operator: "101", companyCodes: { extensions: ["101"] } });
        const before = (await audit.list("acme")).length;
        await refuseAudit(t);
        try {
          await assert.rejects(extensions.delete("acme", "101"), /audit refused/);
        } finally {
          await allowAudit(t);
        }
        assert.equal((await extensions.get("acme", "101"))?.number, "101");
        const acme = await tenants.get("acme");
        assert.deepEqual([acme?.operator, acme?.companyCodes], ["101", { extensions: ["101"] }]);
        assert.deepEqual(JSON.parse(await membersOf(t, "acme", "shop")), ["101"]);
        assert.equal((await audit.list("acme")).length, before);
      });
    });
  });
}
