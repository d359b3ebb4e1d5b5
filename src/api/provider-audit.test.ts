// The provider's own audit log through the API (GET /api/v1/audit): trunks,
// companies and provider users changed with the admin token or a provider
// user's session are named with who did it, never with a password; only the
// provider reads it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_TOKEN,
  addToken,
  addUser,
  call,
  GOOD_PASSWORD,
  loggedIn,
  OTHER_GOOD_PASSWORD,
  type Session,
  seedCompanies,
  type TestApi,
  testApi,
} from "./auth/testing.ts";

const TRUNK_PASSWORD = "carrier-account-secret-7731";
const NEW_TRUNK_PASSWORD = "carrier-account-secret-9902";

interface Event {
  at: string;
  actor: { kind: string; id: string };
  action: string;
  subject: string;
  old: Record<string, unknown> | null;
  new: Record<string, unknown> | null;
}

const ADMIN = { kind: "api", id: "admin" };
const ROOT = { kind: "user", id: "root" };

describe("the provider's audit log", () => {
  let t: TestApi;
  let root: Session;
  let boss: Session;
  let acmeToken: string;
  before(async () => {
    t = await testApi();
    await seedCompanies(t.app);
    await addUser(t.app, { username: "root", role: "provider" });
    await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
    root = await loggedIn(t.app, "root");
    boss = await loggedIn(t.app, "boss");
    acmeToken = await addToken(t.app, "acme", { description: "CRM" });
  });
  after(() => t.close());

  const read = async (query = ""): Promise<{ events: Event[]; raw: string }> => {
    const r = await call(t.app, "GET", `/api/v1/audit${query}`, { token: ADMIN_TOKEN });
    assert.equal(r.status, 200, r.raw);
    return { events: r.body as Event[], raw: r.raw };
  };

  /** Creates, changes and deletes one trunk as `auth`; returns its three events, newest first. */
  async function trunkLife(name: string, auth: { token: string } | { session: Session }): Promise<Event[]> {
    const made = await call(t.app, "POST", "/api/v1/trunks", {
      ...auth,
      body: { name, host: `${name}.example`, username: "acct", password: TRUNK_PASSWORD },
    });
    assert.equal(made.status, 201, made.raw);
    const changed = await call(t.app, "PATCH", `/api/v1/trunks/${name}`, {
      ...auth,
      body: { port: 5080, password: NEW_TRUNK_PASSWORD },
    });
    assert.equal(changed.status, 200, changed.raw);
    const gone = await call(t.app, "DELETE", `/api/v1/trunks/${name}`, auth);
    assert.equal(gone.status, 204, gone.raw);
    const { events, raw } = await read();
    assert.ok(!raw.includes(TRUNK_PASSWORD) && !raw.includes(NEW_TRUNK_PASSWORD), "no password anywhere");
    return events.filter((e) => e.subject === name);
  }

  test("a trunk created, changed and deleted with the admin token: three events named api/admin", async () => {
    const events = await trunkLife("carrier", { token: ADMIN_TOKEN });
    assert.deepEqual(
      events.map((e) => [e.action, e.actor]),
      [
        ["trunk.delete", ADMIN],
        ["trunk.update", ADMIN],
        ["trunk.create", ADMIN],
      ],
    );
    assert.deepEqual(Object.keys(events[0]), ["at", "actor", "action", "subject", "old", "new"]);
    const [deleted, changed, created] = events;
    assert.equal(created.old, null);
    assert.equal(created.new?.hasPassword, true);
    assert.equal(created.new?.host, "carrier.example");
    assert.deepEqual(
      [changed.old?.port, changed.new?.port, changed.new?.passwordChanged],
      [5060, 5080, true],
    );
    assert.equal(deleted.new, null);
    assert.equal(deleted.old?.port, 5080);
  });

  test("the same with a provider user's session: named user/root", async () => {
    const events = await trunkLife("backup", { session: root });
    assert.deepEqual(
      events.map((e) => `${e.action} ${e.actor.kind}:${e.actor.id}`),
      ["trunk.delete user:root", "trunk.update user:root", "trunk.create user:root"],
    );
  });

  test("a company created and deleted leaves tenant.create and tenant.delete, though its own log is gone", async () => {
    const made = await call(t.app, "POST", "/api/v1/tenants", {
      session: root,
      body: { name: "globex", domain: "globex.test", language: "en" },
    });
    assert.equal(made.status, 201, made.raw);
    const gone = await call(t.app, "DELETE", "/api/v1/tenants/globex", { token: ADMIN_TOKEN });
    assert.equal(gone.status, 204, gone.raw);
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/globex/audit", { token: ADMIN_TOKEN })).status,
      404,
    );
    const events = (await read()).events.filter((e) => e.subject === "globex");
    assert.deepEqual(
      events.map((e) => [e.action, e.actor]),
      [
        ["tenant.delete", ADMIN],
        ["tenant.create", ROOT],
      ],
    );
    assert.equal(events[0].old?.domain, "globex.test");
    assert.equal(events[1].new?.language, "en");
    // A refused deletion (no such company) leaves nothing.
    assert.equal((await call(t.app, "DELETE", "/api/v1/tenants/globex", { session: root })).status, 404);
    assert.equal((await read()).events.filter((e) => e.subject === "globex").length, 2);
  });

  test("provider users: made, password changed, deleted; never the hash", async () => {
    await addUser(t.app, { username: "ops", role: "provider" });
    const changed = await call(t.app, "PATCH", "/api/v1/users/ops", {
      session: root,
      body: { password: OTHER_GOOD_PASSWORD },
    });
    assert.equal(changed.status, 200, changed.raw);
    assert.equal((await call(t.app, "DELETE", "/api/v1/users/ops", { session: root })).status, 204);
    const { events, raw } = await read();
    assert.ok(!raw.includes("argon2") && !raw.includes(GOOD_PASSWORD) && !raw.includes(OTHER_GOOD_PASSWORD));
    assert.deepEqual(
      events
        .filter((e) => e.subject === "ops")
        .map((e) => [e.action, `${e.actor.kind}:${e.actor.id}`, e.old, e.new]),
      [
        ["user.delete", "user:root", { role: "provider", extension: null, language: null }, null],
        ["user.update", "user:root", { password: "(set)" }, { password: "(changed)" }],
        ["user.create", "api:admin", null, { role: "provider", extension: null, language: null }],
      ],
    );
    // A company's users stay in the company's log.
    assert.ok(!events.some((e) => e.subject === "boss"));
  });

  test("newest first, ?limit= checked as for a company's log", async () => {
    const all = (await read()).events;
    assert.ok(all.length >= 10, `${all.length} events`);
    assert.deepEqual(
      all.map((e) => e.at),
      [...all.map((e) => e.at)].sort().reverse(),
    );
    assert.deepEqual((await read("?limit=2")).events, all.slice(0, 2));
    for (const limit of ["0", "1001", "abc", "-1", "2.5"]) {
      const r = await call(t.app, "GET", `/api/v1/audit?limit=${limit}`, { token: ADMIN_TOKEN });
      assert.equal(r.status, 400, `limit ${limit}: ${r.raw}`);
      assert.match(r.body.error.message, /limit/);
    }
  });

  test("a company's administrator and its tokens get 403; with no credentials 401", async () => {
    for (const auth of [{ session: boss }, { token: acmeToken }]) {
      const r = await call(t.app, "GET", "/api/v1/audit", auth);
      assert.equal(r.status, 403, r.raw);
      assert.equal(r.body.error.code, "forbidden");
    }
    assert.equal((await call(t.app, "GET", "/api/v1/audit")).status, 401);
    assert.equal((await call(t.app, "GET", "/api/v1/audit", { session: root })).status, 200);
  });

  test("documented in the OpenAPI document as the provider's", async () => {
    const doc = (await call(t.app, "GET", "/api/v1/openapi.json")).body;
    const op = doc.paths["/api/v1/audit"]?.get;
    assert.ok(op, "GET /api/v1/audit is documented");
    assert.equal(op["x-vpbx-access"], "provider");
    assert.deepEqual(
      op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
      ["query:limit"],
    );
    assert.ok(op.responses["200"] && op.responses["403"]);
  });
});
