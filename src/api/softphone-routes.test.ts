// The softphone's credentials: the extension's own user, its company's
// administrators and the provider get them; nobody else; the HA1 is the
// one the registrar checks digests against; 503 without SIP over WebSocket.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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
} from "./auth/testing.ts";
import { webSocketUrl } from "./softphone-routes.ts";

const URL_101 = "/api/v1/tenants/acme/extensions/101/webrtc";
/** What seedCompanies gives every extension. */
const SIP_PASSWORD = "correct-horse-battery";

describe("GET /api/v1/tenants/:name/extensions/:number/webrtc", () => {
  let t: TestApi;
  let anna: Session;
  let boss: Session;
  let chef: Session;

  before(async () => {
    t = await testApi({
      deps: { sipWebSocket: { onConnection: () => undefined, maxMessageBytes: 65_536 } },
    });
    await seedCompanies(t.app);
    await addUser(t.app, { username: "anna", role: "user", tenant: "acme", extension: "101" });
    await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
    await addUser(t.app, { username: "chef", role: "admin", tenant: "bistro" });
    anna = await loggedIn(t.app, "anna");
    boss = await loggedIn(t.app, "boss");
    chef = await loggedIn(t.app, "chef");
  });
  after(async () => {
    await t.close();
  });

  test("the extension's user gets what JsSIP registers with: the WebSocket of this host, its URI and HA1", async () => {
    const r = await call(t.app, "GET", URL_101, { session: anna });
    assert.equal(r.status, 200, r.raw);
    const ha1 = createHash("md5").update(`101:acme.test:${SIP_PASSWORD}`).digest("hex");
    assert.deepEqual(r.body, {
      wsUrl: "ws://localhost:80/sip",
      uri: "sip:101@acme.test",
      authorizationUser: "101",
      realm: "acme.test",
      ha1,
      displayName: "Phone 101",
    });
    assert.equal(r.headers["cache-control"], "no-store");
    assert.ok(!r.raw.includes(SIP_PASSWORD), "never the password");
  });

  test("the host as the browser named it", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: URL_101,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, host: "pbx.example.ch:8080" },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(JSON.parse(res.body).wsUrl, "ws://pbx.example.ch:8080/sip");
    assert.equal(webSocketUrl({ protocol: "https", host: "pbx.example.ch" }), "wss://pbx.example.ch/sip");
  });

  test("its company's administrator and the provider may read it; another user or company may not", async () => {
    assert.equal((await call(t.app, "GET", URL_101, { session: boss })).status, 200);
    assert.equal((await call(t.app, "GET", URL_101, { token: ADMIN_TOKEN })).status, 200);
    const other = await call(t.app, "GET", "/api/v1/tenants/acme/extensions/102/webrtc", { session: anna });
    assert.equal(other.status, 403);
    assert.ok(!other.raw.includes("ha1"));
    assert.equal((await call(t.app, "GET", URL_101, { session: chef })).status, 403);
    assert.equal((await call(t.app, "GET", URL_101)).status, 401);
  });

  test("an unknown extension or tenant: 404", async () => {
    const missing = await call(t.app, "GET", "/api/v1/tenants/acme/extensions/109/webrtc", { session: boss });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /extension 109/);
    const tenant = await call(t.app, "GET", "/api/v1/tenants/nobody/extensions/101/webrtc", {
      token: ADMIN_TOKEN,
    });
    assert.equal(tenant.status, 404);
  });
});

test("without SIP over WebSocket: 503 saying so", async () => {
  const t = await testApi();
  try {
    await seedCompanies(t.app);
    const r = await call(t.app, "GET", URL_101, { token: ADMIN_TOKEN });
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, "unavailable");
    assert.match(r.body.error.message, /SIP over WebSocket/);
  } finally {
    await t.close();
  }
});
