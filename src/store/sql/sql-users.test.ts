import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, StoreConflict } from "../types.ts";
import { SqlApiTokens } from "./sql-api-tokens.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlSessions } from "./sql-sessions.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlUsers } from "./sql-users.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { allowAudit, refuseAudit } from "./testing-audit.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const alice: Actor = { kind: "user", id: "alice" };
const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

for (const engine of TEST_ENGINES) {
  describe(`sql users on ${engine.name}`, () => {
    let t: TestContext;
    let users: SqlUsers;
    let audit: SqlAudit;
    beforeEach(async () => {
      t = await engine.open(new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0)));
      users = new SqlUsers(t.ctx);
      audit = new SqlAudit(t.ctx);
      await insertTenant(t.ctx.db, "acme");
      await insertTenant(t.ctx.db, "bistro");
      await insertExtension(t.ctx.db, "acme", "101");
      await insertExtension(t.ctx.db, "acme", "102");
    });
    afterEach(() => t.close());

    test("create, get (any case), list all or of a tenant, usernames unique", async () => {
      const root = await users.create({ username: "Root", passwordHash: HASH, role: "provider" });
      assert.deepEqual(root, {
        username: "root",
        passwordHash: HASH,
        role: "provider",
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      await users.create({ username: "boss@acme", passwordHash: HASH, role: "admin", tenant: "acme" }, alice);
      await users.create({
        username: "anna",
        passwordHash: HASH,
        role: "user",
        tenant: "acme",
        extension: "101",
        language: "de",
      });
      await users.create({ username: "chef", passwordHash: HASH, role: "admin", tenant: "bistro" });
      assert.deepEqual(await users.get("ROOT"), root);
      assert.equal((await users.get("anna"))?.extension, "101");
      assert.equal((await users.get("anna"))?.language, "de");
      assert.equal(await users.get("nobody"), undefined);
      assert.deepEqual(
        (await users.list()).map((u) => u.username),
        ["anna", "boss@acme", "chef", "root"],
      );
      assert.deepEqual(
        (await users.list("acme")).map((u) => `${u.username} ${u.role}`),
        ["anna user", "boss@acme admin"],
      );
      await assert.rejects(
        users.create({ username: "ANNA", passwordHash: HASH, role: "admin", tenant: "bistro" }),
        (e: unknown) => e instanceof StoreConflict && /user anna already exists/.test(e.message),
      );
    });

    test("the tenant and a user's extension must exist; a role's shape is kept", async () => {
      await assert.rejects(
        users.create({ username: "x", passwordHash: HASH, role: "admin", tenant: "ghost" }),
        (e: unknown) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
      );
      await assert.rejects(
        users.create({ username: "x", passwordHash: HASH, role: "user", tenant: "acme", extension: "199" }),
        (e: unknown) =>
          e instanceof StoreConflict && /extension 199 does not exist in tenant acme/.test(e.message),
      );
      await assert.rejects(
        users.create({ username: "x", passwordHash: HASH, role: "user", tenant: "acme" }),
        RangeError,
      );
      await assert.rejects(
        users.create({ username: "x", passwordHash: HASH, role: "provider", tenant: "acme" }),
        RangeError,
      );
      await assert.rejects(
        users.create({ username: "x", passwordHash: HASH, role: "admin", tenant: "acme", extension: "101" }),
        RangeError,
      );
      assert.deepEqual(await users.list(), [], "nothing was created");
    });

    test("update the hash and the language; audited without the hash", async () => {
      await users.create({
        username: "anna",
        passwordHash: HASH,
        role: "user",
        tenant: "acme",
        extension: "101",
      });
      const after = await users.update("Anna", { passwordHash: "$argon2id$new", language: "it" }, alice);
      assert.equal(after?.passwordHash, "$argon2id$new");
      assert.equal(after?.language, "it");
      assert.equal((await users.update("anna", { language: null }))?.language, undefined);
      assert.equal(await users.update("nobody", { language: "fr" }), undefined);
      const events = await audit.list("acme");
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor.kind]),
        [
          ["user.update", "anna", "system"],
          ["user.update", "anna", "user"],
          ["user.create", "anna", "system"],
        ],
      );
      assert.deepEqual(events[1].new, { password: "(changed)", language: "it" });
      assert.ok(!JSON.stringify(events).includes("argon2"), "never a hash in the audit log");
    });

    test("delete takes the user's sessions; audited; provider users in the provider's log only", async () => {
      const sessions = new SqlSessions(t.ctx);
      await users.create({ username: "boss", passwordHash: HASH, role: "admin", tenant: "acme" });
      await users.create({ username: "root", passwordHash: HASH, role: "provider" });
      for (const [id, who] of [
        ["s1", "boss"],
        ["s2", "boss"],
        ["s3", "root"],
      ]) {
        await sessions.create({
          idHash: id,
          username: who,
          csrfToken: "c",
          createdAt: 0,
          expiresAt: 1e15,
          lastSeenAt: 0,
        });
      }
      assert.equal(await users.delete("BOSS", alice), true);
      assert.equal(await users.delete("boss"), false);
      assert.equal(await sessions.get("s1"), undefined);
      assert.equal(await sessions.get("s2"), undefined);
      assert.ok(await sessions.get("s3"), "another user's session stays");
      assert.equal(await users.delete("root"), true);
      assert.deepEqual(
        (await audit.list("acme")).map((e) => `${e.action} ${e.subject} ${e.actor.id}`),
        ["user.delete boss alice", "user.create boss store"],
      );
      assert.deepEqual(await audit.list("bistro"), []);
      assert.deepEqual(
        (await audit.listProvider()).map((e) => `${e.action} ${e.subject} ${e.actor.id}`),
        ["user.delete root store", "user.create root store"],
      );
    });

    test("a change whose audit event fails is not made", async () => {
      await refuseAudit(t);
      await assert.rejects(
        users.create({ username: "boss", passwordHash: HASH, role: "admin", tenant: "acme" }),
      );
      await allowAudit(t);
      assert.equal(await users.get("boss"), undefined);
      await users.create({ username: "boss", passwordHash: HASH, role: "admin", tenant: "acme" });
      await refuseAudit(t);
      await assert.rejects(users.delete("boss"));
      await allowAudit(t);
      assert.ok(await users.get("boss"));
    });

    test("deleting an extension or a tenant removes its users, their sessions and its API tokens", async () => {
      const sessions = new SqlSessions(t.ctx);
      const tokens = new SqlApiTokens(t.ctx);
      const tenants = new SqlTenants(t.ctx);
      const extensions = new SqlExtensions(t.ctx);
      await users.create({ username: "boss", passwordHash: HASH, role: "admin", tenant: "acme" });
      await users.create({
        username: "anna",
        passwordHash: HASH,
        role: "user",
        tenant: "acme",
        extension: "101",
      });
      await users.create({
        username: "bob",
        passwordHash: HASH,
        role: "user",
        tenant: "acme",
        extension: "102",
      });
      await users.create({ username: "chef", passwordHash: HASH, role: "admin", tenant: "bistro" });
      await users.create({ username: "root", passwordHash: HASH, role: "provider" });
      for (const who of ["boss", "anna", "bob", "chef", "root"]) {
        await sessions.create({
          idHash: `s-${who}`,
          username: who,
          csrfToken: "c",
          createdAt: 0,
          expiresAt: 1e15,
          lastSeenAt: 0,
        });
      }
      const token = (id: string, tenant: string, extension?: string) =>
        tokens.create({
          id,
          secretHash: "h",
          role: extension === undefined ? "admin" : "user",
          tenant,
          ...(extension === undefined ? {} : { extension }),
          description: id,
          createdBy: "admin",
        });
      await token("tokacmeadmin", "acme");
      await token("tokacme101xx", "acme", "101");
      await token("tokacme102xx", "acme", "102");
      await token("tokbistroxxx", "bistro");

      assert.equal(await extensions.delete("acme", "101"), true);
      assert.equal(await users.get("anna"), undefined);
      assert.equal(await sessions.get("s-anna"), undefined);
      assert.equal(await tokens.get("tokacme101xx"), undefined);
      assert.ok(await users.get("bob"), "the other extension's user stays");
      assert.ok(await tokens.get("tokacme102xx"));
      assert.ok(await tokens.get("tokacmeadmin"));

      assert.equal(await tenants.delete("acme"), true);
      assert.deepEqual(
        (await users.list()).map((u) => u.username),
        ["chef", "root"],
      );
      assert.equal(await sessions.get("s-boss"), undefined);
      assert.equal(await sessions.get("s-bob"), undefined);
      assert.ok(await sessions.get("s-chef"));
      assert.ok(await sessions.get("s-root"));
      assert.deepEqual(await tokens.list("acme"), []);
      assert.equal((await tokens.list("bistro")).length, 1);
      assert.equal(await tenants.delete("acme"), false);

      // A new company of the same name starts without the old logins.
      await insertTenant(t.ctx.db, "acme");
      assert.deepEqual(await users.list("acme"), []);
    });
  });
}
