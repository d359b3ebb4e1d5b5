// Tenant isolation through the API: every route of the route table (read
// from the OpenAPI document, so a route added later is covered too) called
// by principals out of its scope, with API tokens and with sessions.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_TOKEN,
  addToken,
  addUser,
  call,
  loggedIn,
  type Method,
  type Session,
  seedCompanies,
  type TestApi,
  testApi,
} from "./testing.ts";

interface Op {
  method: Method;
  path: string;
  access: string;
}

/** A URL for an OpenAPI path with these parameters. */
function urlOf(path: string, params: Record<string, string>): string {
  return path.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });
}

const FILLERS = {
  id: "AAAAAAAAAAAA",
  kind: "welcome",
  group: "shop",
  action: "voicemail.access",
  username: "someone",
};

describe("access control on every route", () => {
  let t: TestApi;
  let ops: Op[];
  let acmeAdminToken: string;
  let acme101Token: string;
  let bistroAdminToken: string;
  let acmeAdmin: Session;
  let anna: Session;
  before(async () => {
    t = await testApi();
    await seedCompanies(t.app);
    await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
    await addUser(t.app, { username: "anna", role: "user", tenant: "acme", extension: "101" });
    acmeAdminToken = await addToken(t.app, "acme", { description: "CRM" });
    acme101Token = await addToken(t.app, "acme", { role: "user", extension: "101" });
    bistroAdminToken = await addToken(t.app, "bistro");
    acmeAdmin = await loggedIn(t.app, "boss");
    anna = await loggedIn(t.app, "anna");
    const doc = (await call(t.app, "GET", "/api/v1/openapi.json")).body;
    ops = [];
    for (const [path, methods] of Object.entries(
      doc.paths as Record<string, Record<string, { "x-vpbx-access": string }>>,
    )) {
      for (const [method, op] of Object.entries(methods)) {
        ops.push({ method: method.toUpperCase() as Method, path, access: op["x-vpbx-access"] });
      }
    }
  });
  after(() => t.close());

  const bodyFor = (method: Method) => (method === "GET" || method === "DELETE" ? undefined : {});

  test("every route declares its scope", () => {
    const scopes = new Set(["public", "authenticated", "provider", "tenant", "extension"]);
    for (const op of ops) assert.ok(scopes.has(op.access), `${op.method} ${op.path}: ${op.access}`);
    assert.ok(ops.filter((o) => o.access === "tenant").length >= 30);
    assert.ok(ops.filter((o) => o.access === "extension").length >= 10);
  });

  test("an admin of acme gets 403 on every tenant and extension route of bistro (token and session)", async () => {
    const params = { ...FILLERS, name: "bistro", number: "201" };
    const theirs = ops.filter((o) => o.access === "tenant" || o.access === "extension");
    for (const [i, op] of theirs.entries()) {
      const url = urlOf(op.path, params);
      const byToken = await call(t.app, op.method, url, {
        token: acmeAdminToken,
        body: bodyFor(op.method),
        from: `10.1.0.${i % 250}`,
      });
      assert.equal(byToken.status, 403, `token ${op.method} ${url}: ${byToken.raw}`);
      assert.equal(byToken.body.error.code, "forbidden");
      assert.match(byToken.body.error.message, /tenant bistro/, "names the scope");
      assert.match(byToken.body.error.message, /you are an administrator of tenant acme/);
      const bySession = await call(t.app, op.method, url, { session: acmeAdmin, body: bodyFor(op.method) });
      assert.equal(bySession.status, 403, `session ${op.method} ${url}: ${bySession.raw}`);
    }
    // And nothing of bistro changed or leaked: bistro's own token still sees its one extension.
    const own = await call(t.app, "GET", "/api/v1/tenants/bistro/extensions", { token: bistroAdminToken });
    assert.equal(own.status, 200, own.raw);
    assert.deepEqual(
      own.body.map((e: { number: string }) => e.number),
      ["201"],
    );
  });

  test("provider-only routes refuse an admin and a user", async () => {
    const providers = ops.filter((o) => o.access === "provider");
    assert.ok(providers.length >= 12, `${providers.length} provider routes`);
    for (const op of providers) {
      const url = urlOf(op.path, { ...FILLERS, name: "acme", number: "+41215550100" });
      for (const token of [acmeAdminToken, acme101Token]) {
        const r = await call(t.app, op.method, url, { token, body: bodyFor(op.method) });
        assert.equal(r.status, 403, `${op.method} ${url}: ${r.raw}`);
        assert.match(r.body.error.message, /the provider only/);
      }
      const s = await call(t.app, op.method, url, { session: acmeAdmin, body: bodyFor(op.method) });
      assert.equal(s.status, 403, `session ${op.method} ${url}`);
    }
    for (const [method, url] of [
      ["POST", "/api/v1/tenants"],
      ["DELETE", "/api/v1/tenants/acme"],
      ["PATCH", "/api/v1/tenants/acme/features"],
      ["PATCH", "/api/v1/tenants/acme/policy"],
      ["POST", "/api/v1/tenants/acme/numbers"],
      ["GET", "/api/v1/trunks"],
      ["GET", "/api/v1/calls"],
    ] as [Method, string][]) {
      assert.ok(
        providers.some((o) => o.method === method && urlOf(o.path, { ...FILLERS, name: "acme" }) === url),
        `${method} ${url} is the provider's`,
      );
    }
  });

  test("the user of 101 reads and sets its own forwarding, not 102's, and no company route", async () => {
    for (const auth of [{ token: acme101Token }, { session: anna }]) {
      const mine = "/api/v1/tenants/acme/extensions/101/forwarding";
      const got = await call(t.app, "GET", mine, auth);
      assert.equal(got.status, 200, got.raw);
      const set = await call(t.app, "PUT", mine, { ...auth, body: { busy: "102" } });
      assert.equal(set.status, 200, set.raw);
      assert.equal(set.body.busy, "102");
      assert.equal((await call(t.app, "GET", "/api/v1/tenants/acme/extensions/101", auth)).status, 200);
      const theirs = await call(t.app, "GET", "/api/v1/tenants/acme/extensions/102/forwarding", auth);
      assert.equal(theirs.status, 403, theirs.raw);
      assert.match(theirs.body.error.message, /the user of extension 101 of tenant acme/);
      assert.equal(
        (await call(t.app, "PUT", "/api/v1/tenants/acme/extensions/102/forwarding", { ...auth, body: {} }))
          .status,
        403,
      );
    }
    // Every tenant route of its own company, and every extension route of 102, is refused.
    for (const op of ops.filter((o) => o.access === "tenant" || o.access === "extension")) {
      const url = urlOf(op.path, { ...FILLERS, name: "acme", number: "102" });
      const r = await call(t.app, op.method, url, { token: acme101Token, body: bodyFor(op.method) });
      assert.equal(r.status, 403, `${op.method} ${url}: ${r.raw}`);
    }
    // The audit names the token.
    const audit = await call(t.app, "GET", "/api/v1/tenants/acme/audit?limit=20", { token: ADMIN_TOKEN });
    const id = acme101Token.slice(5, 17);
    assert.ok(
      audit.body.some(
        (e: { actor: { kind: string; id: string } }) =>
          e.actor.kind === "api" && e.actor.id === `token:${id}`,
      ),
      "a change made with the token is audited as token:<id>",
    );
  });

  test("API tokens: accepted on their tenant, 403 on another, 401 once revoked or wrong", async () => {
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/acme/extensions", { token: acmeAdminToken })).status,
      200,
    );
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/bistro/extensions", { token: acmeAdminToken })).status,
      403,
    );
    const listed = await call(t.app, "GET", "/api/v1/tenants", { token: acmeAdminToken });
    assert.deepEqual(
      listed.body.map((x: { name: string }) => x.name),
      ["acme"],
      "an admin lists its own tenant only",
    );
    const all = await call(t.app, "GET", "/api/v1/tenants", { token: ADMIN_TOKEN });
    assert.deepEqual(
      all.body.map((x: { name: string }) => x.name),
      ["acme", "bistro"],
    );
    const throwaway = await addToken(t.app, "acme");
    assert.equal((await call(t.app, "GET", "/api/v1/tenants/acme", { token: throwaway })).status, 200);
    const id = throwaway.slice(5, 17);
    const revoked = await call(t.app, "DELETE", `/api/v1/tenants/acme/tokens/${id}`, {
      token: acmeAdminToken,
    });
    assert.equal(revoked.status, 204, revoked.raw);
    const gone = await call(t.app, "GET", "/api/v1/tenants/acme", { token: throwaway, from: "10.9.9.9" });
    assert.equal(gone.status, 401);
    assert.equal(gone.headers["www-authenticate"], 'Bearer realm="vpbx"');
    const tampered = `${acmeAdminToken.slice(0, -1)}${acmeAdminToken.endsWith("A") ? "B" : "A"}`;
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/acme", { token: tampered, from: "10.9.9.9" })).status,
      401,
    );
  });

  test("wrong API tokens count with wrong admin tokens: 429 after 10, even for a good one", async () => {
    const from = "10.7.7.7";
    for (let i = 0; i < 9; i++) {
      const guess = `vpbx_AAAAAAAAAAA${i}_${"x".repeat(43)}`;
      assert.equal((await call(t.app, "GET", "/api/v1/tenants/acme", { token: guess, from })).status, 401);
    }
    const tenth = await call(t.app, "GET", "/api/v1/tenants/acme", { token: "vpbx_nope", from });
    assert.equal(tenth.status, 429);
    assert.ok(Number(tenth.headers["retry-after"]) > 0);
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/acme", { token: acmeAdminToken, from })).status,
      429,
    );
  });

  test("tenant PATCH: an admin changes its own settings, not the provider's (403 naming the field)", async () => {
    const ok = await call(t.app, "PATCH", "/api/v1/tenants/acme", {
      token: acmeAdminToken,
      body: { language: "fr", waitingSeconds: 40 },
    });
    assert.equal(ok.status, 200, ok.raw);
    assert.equal(ok.body.language, "fr");
    for (const field of [
      { domain: "evil.test" },
      { maxCalls: 99 },
      { requireEncryption: true },
      { trunk: null },
    ]) {
      const r = await call(t.app, "PATCH", "/api/v1/tenants/acme", {
        session: acmeAdmin,
        body: { language: "it", ...field },
      });
      assert.equal(r.status, 403, r.raw);
      assert.match(r.body.error.message, new RegExp(`only the provider may change ${Object.keys(field)[0]}`));
    }
    const t2 = await call(t.app, "GET", "/api/v1/tenants/acme", { token: ADMIN_TOKEN });
    assert.equal(t2.body.language, "fr", "a refused patch changes nothing");
    assert.equal(t2.body.domain, "acme.test");
    assert.equal(
      (await call(t.app, "PATCH", "/api/v1/tenants/acme", { token: ADMIN_TOKEN, body: { maxCalls: 30 } }))
        .status,
      200,
    );
  });

  test("a tenant's calls in progress: its own only", async () => {
    const started = "2026-03-02T09:00:00.000Z";
    t.calls.push(
      {
        id: "c1",
        tenant: "acme",
        from: "101",
        to: "102",
        state: "answered",
        startedAt: started,
        callIds: ["a"],
      },
      {
        id: "c2",
        tenant: "bistro",
        from: "201",
        to: "+41791231212",
        state: "ringing",
        startedAt: started,
        callIds: [],
      },
    );
    try {
      const mine = await call(t.app, "GET", "/api/v1/tenants/acme/calls", { session: acmeAdmin });
      assert.equal(mine.status, 200, mine.raw);
      assert.deepEqual(
        mine.body.map((c: { id: string }) => c.id),
        ["c1"],
      );
      assert.equal(
        (await call(t.app, "GET", "/api/v1/tenants/bistro/calls", { session: acmeAdmin })).status,
        403,
      );
      assert.equal((await call(t.app, "GET", "/api/v1/calls", { token: ADMIN_TOKEN })).body.length, 2);
      assert.equal(
        (await call(t.app, "GET", "/api/v1/tenants/ghost/calls", { token: ADMIN_TOKEN })).status,
        404,
      );
    } finally {
      t.calls.length = 0;
    }
  });

  test("nothing presented: 401 on the API; the console's paths and public routes ask nothing", async () => {
    const r = await call(t.app, "GET", "/api/v1/tenants/acme/extensions");
    assert.equal(r.status, 401);
    assert.equal(r.headers["www-authenticate"], 'Bearer realm="vpbx"');
    assert.equal((await call(t.app, "GET", "/health")).status, 200);
    assert.equal((await call(t.app, "GET", "/api/v1/openapi.json")).status, 200);
    // Not the API: no 401 (the console's files, served by their own hook, or a 404).
    assert.notEqual((await call(t.app, "POST", "/anything")).status, 401);
    assert.notEqual((await call(t.app, "GET", "/")).status, 401);
  });

  test("the OpenAPI document names each route's scope and both schemes", async () => {
    const doc = (await call(t.app, "GET", "/api/v1/openapi.json")).body;
    assert.equal(doc.components.securitySchemes.cookieAuth.in, "cookie");
    assert.equal(doc.components.securitySchemes.cookieAuth.name, "vpbx_session");
    assert.deepEqual(doc.security, [{ bearerAuth: [] }, { cookieAuth: [] }]);
    const fwd = doc.paths["/api/v1/tenants/{name}/extensions/{number}/forwarding"].put;
    assert.equal(fwd["x-vpbx-access"], "extension");
    assert.match(fwd.description, /^Access: extension/);
    assert.ok(fwd.responses["403"]);
    assert.deepEqual(doc.paths["/api/v1/session"].post.security, []);
    assert.equal(doc.paths["/api/v1/tenants"].post["x-vpbx-access"], "provider");
  });
});
