// Console users through the API: who may make whom, what a list shows, and
// how passwords are refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_TOKEN,
  addUser,
  call,
  GOOD_PASSWORD,
  loggedIn,
  login,
  OTHER_GOOD_PASSWORD,
  type Session,
  seedCompanies,
  type TestApi,
  testApi,
} from "./testing.ts";

describe("console users", () => {
  let t: TestApi;
  let boss: Session;
  let anna: Session;
  before(async () => {
    t = await testApi();
    await seedCompanies(t.app);
    await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
    await addUser(t.app, { username: "anna", role: "user", tenant: "acme", extension: "101" });
    await addUser(t.app, { username: "chef", role: "admin", tenant: "bistro" });
    boss = await loggedIn(t.app, "boss");
    anna = await loggedIn(t.app, "anna");
  });
  after(() => t.close());

  test("the provider's first user, made with the admin token, logs in; never a hash in an answer", async () => {
    const made = await call(t.app, "POST", "/api/v1/users", {
      token: ADMIN_TOKEN,
      body: { username: "Root", password: GOOD_PASSWORD, role: "provider" },
    });
    assert.equal(made.status, 201, made.raw);
    assert.deepEqual(made.body, {
      username: "root",
      role: "provider",
      tenant: null,
      extension: null,
      language: null,
      createdAt: made.body.createdAt,
    });
    const root = await loggedIn(t.app, "root");
    const list = await call(t.app, "GET", "/api/v1/users", { session: root });
    assert.deepEqual(
      list.body.map((u: { username: string }) => u.username),
      ["anna", "boss", "chef", "root"],
    );
    assert.ok(!list.raw.includes("argon2"));
    const acme = await call(t.app, "GET", "/api/v1/users?tenant=acme", { session: root });
    assert.deepEqual(
      acme.body.map((u: { username: string }) => u.username),
      ["anna", "boss"],
    );
  });

  test("an admin makes admins and users of its own company only, never a provider", async () => {
    const mk = (body: Record<string, unknown>) =>
      call(t.app, "POST", "/api/v1/users", { session: boss, body: { password: GOOD_PASSWORD, ...body } });
    const user = await mk({ username: "bob", role: "user", extension: "102" });
    assert.equal(user.status, 201, user.raw);
    assert.equal(user.body.tenant, "acme", "its own tenant by default");
    assert.equal((await mk({ username: "deputy", role: "admin", tenant: "acme" })).status, 201);
    const provider = await mk({ username: "evil", role: "provider" });
    assert.equal(provider.status, 403);
    assert.match(provider.body.error.message, /only the provider creates provider users/);
    const elsewhere = await mk({ username: "spy", role: "admin", tenant: "bistro" });
    assert.equal(elsewhere.status, 403, elsewhere.raw);
    const taken = await mk({ username: "BOB", role: "user", extension: "101" });
    assert.equal(taken.status, 409);
    assert.equal((await mk({ username: "x1", role: "user", extension: "199" })).status, 404);
    assert.equal((await mk({ username: "x2", role: "user" })).status, 400);
    assert.equal((await mk({ username: "x3", role: "admin", extension: "101" })).status, 400);
    assert.equal((await mk({ username: "bad name", role: "admin" })).status, 400);
    // The audit of its company names who made them.
    const audit = await call(t.app, "GET", "/api/v1/tenants/acme/audit?limit=5", { session: boss });
    const made = audit.body.find(
      (e: { action: string; subject: string }) => e.action === "user.create" && e.subject === "bob",
    );
    assert.deepEqual(made.actor, { kind: "user", id: "boss" });
    // The admin's list: its company's users only; another tenant's: 403.
    const list = await call(t.app, "GET", "/api/v1/users", { session: boss });
    assert.deepEqual(
      list.body.map((u: { username: string }) => u.username),
      ["anna", "bob", "boss", "deputy"],
    );
    assert.equal((await call(t.app, "GET", "/api/v1/users?tenant=bistro", { session: boss })).status, 403);
  });

  test("a user manages nobody, but changes its own language and password", async () => {
    assert.equal((await call(t.app, "GET", "/api/v1/users", { session: anna })).status, 403);
    assert.equal(
      (
        await call(t.app, "POST", "/api/v1/users", {
          session: anna,
          body: { username: "z", password: GOOD_PASSWORD, role: "user", extension: "101" },
        })
      ).status,
      403,
    );
    const lang = await call(t.app, "PATCH", "/api/v1/users/anna", {
      session: anna,
      body: { language: "en" },
    });
    assert.equal(lang.status, 200, lang.raw);
    assert.equal(lang.body.language, "en");
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: anna })).body.user.language, "en");
    assert.equal(
      (await call(t.app, "PATCH", "/api/v1/users/boss", { session: anna, body: { language: "en" } })).status,
      404,
      "another user is out of sight",
    );
    assert.equal((await call(t.app, "DELETE", "/api/v1/users/anna", { session: anna })).status, 403);
  });

  test("another company's users are answered 404, like unknown ones", async () => {
    for (const [method, body] of [
      ["PATCH", { language: "fr" }],
      ["DELETE", undefined],
    ] as const) {
      const r = await call(t.app, method, "/api/v1/users/chef", { session: boss, body });
      assert.equal(r.status, 404, r.raw);
      assert.equal(r.body.error.message, "user chef does not exist");
      assert.equal((await call(t.app, method, "/api/v1/users/nobody", { session: boss, body })).status, 404);
    }
    assert.equal((await login(t.app, "chef", GOOD_PASSWORD)).answer.status, 200, "chef is untouched");
  });

  test("weak passwords are refused with the reason, never the password", async () => {
    for (const [password, reason] of [
      ["short", /fewer than 10 characters/],
      ["password1234", /too common/],
      ["acmeacmeacme", /too guessable/],
    ] as const) {
      const r = await call(t.app, "POST", "/api/v1/users", {
        token: ADMIN_TOKEN,
        body: { username: "weak", password, role: "admin", tenant: "acme" },
      });
      assert.equal(r.status, 400, r.raw);
      assert.match(r.body.error.message, reason);
      assert.ok(!r.raw.includes(password) || password === "short", "the password is not echoed");
    }
    const patch = await call(t.app, "PATCH", "/api/v1/users/boss", {
      session: boss,
      body: { password: "qwertyuiop", currentPassword: GOOD_PASSWORD },
    });
    assert.equal(patch.status, 400);
    assert.equal((await login(t.app, "boss", GOOD_PASSWORD)).answer.status, 200, "unchanged");
  });

  test("an admin resets its user's password and deletes it; the provider deletes anyone", async () => {
    await addUser(t.app, { username: "temp", role: "user", tenant: "acme", extension: "102" });
    const reset = await call(t.app, "PATCH", "/api/v1/users/temp", {
      session: boss,
      body: { password: OTHER_GOOD_PASSWORD },
    });
    assert.equal(reset.status, 200, reset.raw);
    assert.equal((await login(t.app, "temp", OTHER_GOOD_PASSWORD)).answer.status, 200);
    assert.equal((await call(t.app, "DELETE", "/api/v1/users/temp", { session: boss })).status, 204);
    assert.equal((await login(t.app, "temp", OTHER_GOOD_PASSWORD)).answer.status, 401);
    assert.equal((await call(t.app, "DELETE", "/api/v1/users/chef", { token: ADMIN_TOKEN })).status, 204);
  });

  test("deleting an extension deletes its user; deleting a tenant its users", async () => {
    await call(t.app, "POST", "/api/v1/tenants/bistro/extensions", {
      token: ADMIN_TOKEN,
      body: { number: "202", password: "correct-horse-battery", displayName: "Phone 202" },
    });
    await addUser(t.app, { username: "waiter", role: "user", tenant: "bistro", extension: "202" });
    const s = await loggedIn(t.app, "waiter");
    assert.equal(
      (await call(t.app, "DELETE", "/api/v1/tenants/bistro/extensions/202", { token: ADMIN_TOKEN })).status,
      204,
    );
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: s })).status, 401);
    assert.equal((await login(t.app, "waiter", GOOD_PASSWORD)).answer.status, 401);
  });
});
