import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, StoreConflict } from "../types.ts";
import { SqlApiTokens } from "./sql-api-tokens.ts";
import { SqlAudit } from "./sql-audit.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { allowAudit, refuseAudit } from "./testing-audit.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const boss: Actor = { kind: "user", id: "boss" };

for (const engine of TEST_ENGINES) {
  describe(`sql API tokens on ${engine.name}`, () => {
    let t: TestContext;
    let clock: FakeClock;
    let tokens: SqlApiTokens;
    let audit: SqlAudit;
    beforeEach(async () => {
      clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
      t = await engine.open(clock);
      tokens = new SqlApiTokens(t.ctx);
      audit = new SqlAudit(t.ctx);
      await insertTenant(t.ctx.db, "acme");
      await insertTenant(t.ctx.db, "bistro");
      await insertExtension(t.ctx.db, "acme", "101");
    });
    afterEach(() => t.close());

    test("create, get, list of a tenant (oldest first), touch, delete in its own tenant only; audited", async () => {
      const admin = await tokens.create(
        {
          id: "AAAAAAAAAAAA",
          secretHash: "h1",
          role: "admin",
          tenant: "acme",
          description: "CRM",
          createdBy: "boss",
        },
        boss,
      );
      assert.deepEqual(admin, {
        id: "AAAAAAAAAAAA",
        secretHash: "h1",
        role: "admin",
        tenant: "acme",
        description: "CRM",
        createdBy: "boss",
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      clock.tick(1000);
      await tokens.create({
        id: "BBBBBBBBBBBB",
        secretHash: "h2",
        role: "user",
        tenant: "acme",
        extension: "101",
        description: "desk",
        createdBy: "admin",
      });
      await tokens.create({
        id: "CCCCCCCCCCCC",
        secretHash: "h3",
        role: "admin",
        tenant: "bistro",
        description: "",
        createdBy: "admin",
      });
      assert.deepEqual(await tokens.get("AAAAAAAAAAAA"), admin);
      assert.equal((await tokens.get("BBBBBBBBBBBB"))?.extension, "101");
      assert.deepEqual(
        (await tokens.list("acme")).map((x) => x.id),
        ["AAAAAAAAAAAA", "BBBBBBBBBBBB"],
      );
      await tokens.touch("AAAAAAAAAAAA", 1234567);
      assert.equal((await tokens.get("AAAAAAAAAAAA"))?.lastUsedAt, 1234567);
      assert.equal(await tokens.delete("bistro", "AAAAAAAAAAAA"), false, "not through another tenant");
      assert.equal(await tokens.delete("acme", "AAAAAAAAAAAA", boss), true);
      assert.equal(await tokens.get("AAAAAAAAAAAA"), undefined);
      const events = await audit.list("acme");
      assert.deepEqual(
        events.map((e) => `${e.action} ${e.subject} ${e.actor.id}`),
        [
          "token.delete AAAAAAAAAAAA boss",
          "token.create BBBBBBBBBBBB store",
          "token.create AAAAAAAAAAAA boss",
        ],
      );
      assert.ok(!JSON.stringify(events).includes("h1"), "never the secret's hash");
    });

    test("the tenant and a user token's extension must exist; ids unique; audit failure changes nothing", async () => {
      const base = { secretHash: "h", description: "", createdBy: "admin" };
      await assert.rejects(
        tokens.create({ ...base, id: "x1", role: "admin", tenant: "ghost" }),
        (e: unknown) => e instanceof StoreConflict && /tenant ghost/.test(e.message),
      );
      await assert.rejects(
        tokens.create({ ...base, id: "x2", role: "user", tenant: "acme", extension: "199" }),
        (e: unknown) => e instanceof StoreConflict && /extension 199/.test(e.message),
      );
      await assert.rejects(tokens.create({ ...base, id: "x3", role: "user", tenant: "acme" }), RangeError);
      await tokens.create({ ...base, id: "x4", role: "admin", tenant: "acme" });
      await assert.rejects(
        tokens.create({ ...base, id: "x4", role: "admin", tenant: "bistro" }),
        (e: unknown) => e instanceof StoreConflict && /already exists/.test(e.message),
      );
      await refuseAudit(t);
      await assert.rejects(tokens.create({ ...base, id: "x5", role: "admin", tenant: "acme" }));
      await assert.rejects(tokens.delete("acme", "x4"));
      await allowAudit(t);
      assert.equal(await tokens.get("x5"), undefined);
      assert.ok(await tokens.get("x4"));
    });
  });
}
