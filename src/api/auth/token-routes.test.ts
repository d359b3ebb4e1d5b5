// A company's API tokens through the API.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_TOKEN,
  addUser,
  call,
  loggedIn,
  type Session,
  seedCompanies,
  type TestApi,
  testApi,
} from "./testing.ts";

describe("API tokens of a company", () => {
  let t: TestApi;
  let boss: Session;
  before(async () => {
    t = await testApi();
    await seedCompanies(t.app);
    await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
    boss = await loggedIn(t.app, "boss");
  });
  after(() => t.close());

  test("an admin makes one: the token is in the 201 only; the list shows the rest and its last use", async () => {
    const made = await call(t.app, "POST", "/api/v1/tenants/acme/tokens", {
      session: boss,
      body: { description: "CRM sync" },
    });
    assert.equal(made.status, 201, made.raw);
    const { token, id } = made.body;
    assert.match(token, new RegExp(`^vpbx_${id}_[A-Za-z0-9_-]{43}$`));
    assert.deepEqual(
      { ...made.body, token: undefined, createdAt: undefined },
      {
        id,
        role: "admin",
        extension: null,
        description: "CRM sync",
        createdBy: "boss",
        createdAt: undefined,
        lastUsedAt: null,
        token: undefined,
      },
    );
    t.clock.tick(1000);
    assert.equal((await call(t.app, "GET", "/api/v1/tenants/acme/extensions", { token })).status, 200);
    const list = await call(t.app, "GET", "/api/v1/tenants/acme/tokens", { session: boss });
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0].id, id);
    assert.equal(list.body[0].lastUsedAt, new Date(t.clock.now()).toISOString());
    assert.ok(!list.raw.includes(token.slice(18)), "never the secret");
    const audit = await call(t.app, "GET", "/api/v1/tenants/acme/audit?limit=1", { token: ADMIN_TOKEN });
    assert.deepEqual(
      [audit.body[0].action, audit.body[0].subject, audit.body[0].actor],
      ["token.create", id, { kind: "user", id: "boss" }],
    );
  });

  test("a user token names an existing extension; an admin token none", async () => {
    const mk = (body: unknown) =>
      call(t.app, "POST", "/api/v1/tenants/acme/tokens", { token: ADMIN_TOKEN, body });
    const user = await mk({ role: "user", extension: "101" });
    assert.equal(user.status, 201, user.raw);
    assert.equal(user.body.extension, "101");
    assert.equal(user.body.createdBy, "admin");
    assert.equal((await mk({ role: "user" })).status, 400);
    assert.equal((await mk({ role: "admin", extension: "101" })).status, 400);
    assert.equal((await mk({ role: "user", extension: "199" })).status, 404);
    assert.equal((await mk({ role: "provider" })).status, 400);
    // A user token cannot make tokens (tenant scope).
    assert.equal(
      (await call(t.app, "POST", "/api/v1/tenants/acme/tokens", { token: user.body.token, body: {} })).status,
      403,
    );
  });

  test("revoking: 204, then 404; another tenant's token is not reachable", async () => {
    const other = await call(t.app, "POST", "/api/v1/tenants/bistro/tokens", {
      token: ADMIN_TOKEN,
      body: {},
    });
    assert.equal(other.status, 201);
    assert.equal(
      (await call(t.app, "DELETE", `/api/v1/tenants/acme/tokens/${other.body.id}`, { token: ADMIN_TOKEN }))
        .status,
      404,
      "a bistro token is not acme's to revoke",
    );
    assert.equal(
      (await call(t.app, "DELETE", `/api/v1/tenants/bistro/tokens/${other.body.id}`, { session: boss }))
        .status,
      403,
    );
    const mine = await call(t.app, "POST", "/api/v1/tenants/acme/tokens", { session: boss, body: {} });
    assert.equal(
      (await call(t.app, "DELETE", `/api/v1/tenants/acme/tokens/${mine.body.id}`, { session: boss })).status,
      204,
    );
    assert.equal(
      (await call(t.app, "DELETE", `/api/v1/tenants/acme/tokens/${mine.body.id}`, { session: boss })).status,
      404,
    );
    assert.equal((await call(t.app, "GET", "/api/v1/tenants/acme", { token: mine.body.token })).status, 401);
  });
});
