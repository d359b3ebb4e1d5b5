// Logging in and out of the console through the API (Fastify inject), over
// the real store on a fake clock: the answers, the cookie, the CSRF token,
// the expiry, and the lockout of password guessing.
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
  seedCompanies,
  sessionCookie,
  type TestApi,
  testApi,
} from "./testing.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("console login", () => {
  let t: TestApi;
  before(async () => {
    t = await testApi();
    await seedCompanies(t.app);
    await addUser(t.app, { username: "Boss@Acme", role: "admin", tenant: "acme" });
    await addUser(t.app, {
      username: "anna",
      role: "user",
      tenant: "acme",
      extension: "101",
      language: "fr",
    });
    await addUser(t.app, { username: "root", role: "provider" });
  });
  after(() => t.close());

  test("a good login: 200 with the user and a CSRF token, and the session cookie with its flags", async () => {
    const { answer } = await login(t.app, "BOSS@acme", GOOD_PASSWORD);
    assert.equal(answer.status, 200, answer.raw);
    assert.deepEqual(answer.body.user, {
      username: "boss@acme",
      role: "admin",
      tenant: "acme",
      extension: null,
      language: "de",
    });
    assert.match(answer.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    const set = String(answer.headers["set-cookie"]);
    assert.match(set, /^vpbx_session=[A-Za-z0-9_-]{43}; /);
    for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"]) {
      assert.ok(set.split("; ").includes(flag), `${flag} in ${set}`);
    }
    assert.ok(!set.includes("Secure"), "plain HTTP: not Secure (the browser would drop it)");
    const token = sessionCookie(answer) ?? "";
    const stored = await t.store.sessions.get(token);
    assert.equal(stored, undefined, "the store does not know the token itself, only its hash");
  });

  test("the language: the user's own, else the tenant's, else null (a provider)", async () => {
    assert.equal((await login(t.app, "anna", GOOD_PASSWORD)).answer.body.user.language, "fr");
    assert.equal((await login(t.app, "root", GOOD_PASSWORD)).answer.body.user.language, null);
    const s = await loggedIn(t.app, "anna");
    const me = await call(t.app, "GET", "/api/v1/session", { session: s });
    assert.equal(me.status, 200, me.raw);
    assert.deepEqual(me.body, {
      user: { username: "anna", role: "user", tenant: "acme", extension: "101", language: "fr" },
      csrfToken: s.csrf,
    });
  });

  test("wrong password and unknown user are answered alike, with no cookie", async () => {
    const wrong = await login(t.app, "boss@acme", OTHER_GOOD_PASSWORD, "198.51.100.1");
    const unknown = await login(t.app, "nobody", GOOD_PASSWORD, "198.51.100.1");
    const malformed = await login(t.app, "no such name!", GOOD_PASSWORD, "198.51.100.1");
    for (const r of [wrong, unknown, malformed]) {
      assert.equal(r.answer.status, 401, r.answer.raw);
      assert.equal(r.answer.headers["set-cookie"], undefined);
    }
    assert.deepEqual(wrong.answer.body, unknown.answer.body);
    assert.deepEqual(wrong.answer.body, malformed.answer.body);
    assert.deepEqual(wrong.answer.body, {
      error: { code: "unauthorized", message: "wrong username or password" },
    });
  });

  test("GET /api/v1/session without a session is 401; with a bearer token too (no console session)", async () => {
    const none = await call(t.app, "GET", "/api/v1/session");
    assert.equal(none.status, 401);
    assert.equal(none.headers["www-authenticate"], 'Bearer realm="vpbx"');
    assert.equal((await call(t.app, "GET", "/api/v1/session", { token: ADMIN_TOKEN })).status, 401);
    const forged = await call(t.app, "GET", "/api/v1/session", {
      session: { cookie: "A".repeat(43), csrf: "x" },
    });
    assert.equal(forged.status, 401);
    assert.match(
      String(forged.headers["set-cookie"]),
      /^vpbx_session=; .*Max-Age=0/,
      "the browser forgets it",
    );
  });

  test("CSRF: a change with the cookie needs the session's token; reading does not; a bearer never", async () => {
    const s = await loggedIn(t.app, "boss@acme");
    const url = "/api/v1/tenants/acme/extensions/101/forwarding";
    const put = { unconditional: "102" };
    for (const csrf of [null, "", "wrong-token", `${s.csrf}x`]) {
      const r = await call(t.app, "PUT", url, { session: s, csrf, body: put });
      assert.equal(r.status, 403, `csrf ${csrf}: ${r.raw}`);
      assert.equal(r.body.error.message, "missing or wrong CSRF token");
    }
    assert.equal((await call(t.app, "GET", url, { session: s })).body.unconditional, null, "nothing changed");
    const ok = await call(t.app, "PUT", url, { session: s, body: put });
    assert.equal(ok.status, 200, ok.raw);
    assert.equal(ok.body.unconditional, "102");
    // Another session's token is not this one's.
    const other = await loggedIn(t.app, "boss@acme");
    assert.equal((await call(t.app, "PUT", url, { session: s, csrf: other.csrf, body: put })).status, 403);
    // The audit names the user.
    const audit = await call(t.app, "GET", "/api/v1/tenants/acme/audit?limit=1", { token: ADMIN_TOKEN });
    assert.deepEqual(audit.body[0].actor, { kind: "user", id: "boss@acme" });
    // A bearer request carries no cookie a browser could add: no CSRF token needed.
    const bearer = await call(t.app, "PUT", url, { token: ADMIN_TOKEN, body: { unconditional: null } });
    assert.equal(bearer.status, 200, bearer.raw);
  });

  test("logout: the session ends, the cookie is cleared; a logout needs the CSRF token", async () => {
    const s = await loggedIn(t.app, "anna");
    assert.equal((await call(t.app, "DELETE", "/api/v1/session", { session: s, csrf: null })).status, 403);
    const out = await call(t.app, "DELETE", "/api/v1/session", { session: s });
    assert.equal(out.status, 204, out.raw);
    assert.match(String(out.headers["set-cookie"]), /^vpbx_session=; .*Max-Age=0/);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: s })).status, 401);
    assert.equal(
      (await call(t.app, "GET", "/api/v1/tenants/acme/extensions/101/forwarding", { session: s })).status,
      401,
    );
  });

  test("expiry: 2 hours without a request, or 12 hours after the login, on the clock", async () => {
    const s = await loggedIn(t.app, "anna");
    const me = () => call(t.app, "GET", "/api/v1/session", { session: s });
    t.clock.tick(2 * HOUR - MINUTE);
    assert.equal((await me()).status, 200, "1 h 59 idle: still on, and this request counts");
    t.clock.tick(2 * HOUR - MINUTE);
    assert.equal((await me()).status, 200);
    t.clock.tick(2 * HOUR);
    assert.equal((await me()).status, 401, "2 h idle: over");

    const busy = await loggedIn(t.app, "anna");
    for (let h = 1; h < 12; h++) {
      t.clock.tick(HOUR);
      assert.equal((await call(t.app, "GET", "/api/v1/session", { session: busy })).status, 200, `${h} h`);
    }
    t.clock.tick(HOUR);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: busy })).status, 401, "12 h: over");
  });

  test("a new password ends the user's other sessions, not the one that changed it", async () => {
    await addUser(t.app, { username: "bob", role: "user", tenant: "acme", extension: "102" });
    const here = await loggedIn(t.app, "bob");
    const there = await loggedIn(t.app, "bob");
    const refused = await call(t.app, "PATCH", "/api/v1/users/bob", {
      session: here,
      body: { password: OTHER_GOOD_PASSWORD },
    });
    assert.equal(refused.status, 400, "one's own password change asks the current one");
    const wrong = await call(t.app, "PATCH", "/api/v1/users/bob", {
      session: here,
      body: { password: OTHER_GOOD_PASSWORD, currentPassword: "not-it" },
    });
    assert.equal(wrong.status, 403);
    const ok = await call(t.app, "PATCH", "/api/v1/users/bob", {
      session: here,
      body: { password: OTHER_GOOD_PASSWORD, currentPassword: GOOD_PASSWORD },
    });
    assert.equal(ok.status, 200, ok.raw);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: here })).status, 200);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: there })).status, 401);
    assert.equal((await login(t.app, "bob", GOOD_PASSWORD)).answer.status, 401);
    assert.equal((await login(t.app, "bob", OTHER_GOOD_PASSWORD)).answer.status, 200);
    // The provider resets it: every session of bob ends.
    const reset = await call(t.app, "PATCH", "/api/v1/users/bob", {
      token: ADMIN_TOKEN,
      body: { password: GOOD_PASSWORD },
    });
    assert.equal(reset.status, 200, reset.raw);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: here })).status, 401);
  });

  test("a deleted user's sessions end", async () => {
    await addUser(t.app, { username: "carl", role: "admin", tenant: "acme" });
    const s = await loggedIn(t.app, "carl");
    assert.equal((await call(t.app, "DELETE", "/api/v1/users/carl", { token: ADMIN_TOKEN })).status, 204);
    assert.equal((await call(t.app, "GET", "/api/v1/session", { session: s })).status, 401);
  });
});

describe("login lockout (the phones' rules)", () => {
  test("10 wrong passwords a minute from one source: 429 with Retry-After, even with the right password; growing blocks; a restart keeps them", async () => {
    let t = await testApi();
    try {
      await seedCompanies(t.app);
      await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
      const from = "203.0.113.7";
      for (let i = 0; i < 9; i++) {
        assert.equal((await login(t.app, "boss", `guess-${i}-Xq`, from)).answer.status, 401);
      }
      const tenth = await login(t.app, "boss", "guess-9-Xq", from);
      assert.equal(tenth.answer.status, 429, tenth.answer.raw);
      assert.equal(tenth.answer.headers["retry-after"], "600", "a first block: 10 minutes");
      assert.equal(tenth.answer.body.error.code, "too_many_requests");

      const right = await login(t.app, "boss", GOOD_PASSWORD, from);
      assert.equal(right.answer.status, 429, "the right password learns nothing while blocked");
      assert.equal(right.session, undefined);
      // The same /64 is the same source.
      const v6 = "2001:db8:5:6::1";
      for (let i = 0; i < 10; i++) await login(t.app, "x", `g-${i}`, `2001:db8:5:6::${i + 1}`);
      assert.equal((await login(t.app, "boss", GOOD_PASSWORD, v6)).answer.status, 429);
      assert.equal((await login(t.app, "boss", GOOD_PASSWORD, "2001:db8:5:7::1")).answer.status, 200);
      // Another address logs in: the username is not blocked.
      assert.equal((await login(t.app, "boss", GOOD_PASSWORD, "203.0.113.8")).answer.status, 200);

      // A restart (a new store object on the same database) forgives nothing.
      t = await t.restart();
      t.clock.tick(5 * MINUTE);
      const afterRestart = await login(t.app, "boss", GOOD_PASSWORD, from);
      assert.equal(afterRestart.answer.status, 429);
      assert.equal(afterRestart.answer.headers["retry-after"], "300");

      t.clock.tick(5 * MINUTE);
      assert.equal((await login(t.app, "boss", GOOD_PASSWORD, from)).answer.status, 200, "the block ended");
      // A second offence: four times longer.
      for (let i = 0; i < 9; i++) await login(t.app, "boss", `again-${i}-Xq`, from);
      const second = await login(t.app, "boss", "again-9-Xq", from);
      assert.equal(second.answer.status, 429);
      assert.equal(second.answer.headers["retry-after"], "2400");
    } finally {
      await t.close();
    }
  });

  test("30 wrong passwords an hour for one username from many sources block the username; known or not, alike", async () => {
    const t = await testApi();
    try {
      await seedCompanies(t.app);
      await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
      for (const name of ["boss", "ghost"]) {
        for (let i = 0; i < 30; i++) {
          const r = await login(t.app, name, `guess-${i}-Xq`, `198.51.100.${i + 1}`);
          assert.equal(r.answer.status, i < 29 ? 401 : 429, `${name} ${i}`);
          t.clock.tick(MINUTE);
        }
        const fresh = await login(t.app, name, GOOD_PASSWORD, "192.0.2.200");
        assert.equal(fresh.answer.status, 429, `${name}: blocked from a new address too`);
      }
    } finally {
      await t.close();
    }
  });
});

describe("the cookie over HTTPS", () => {
  test("is Secure", async () => {
    const t = await testApi({ deps: { https: {} } });
    try {
      await seedCompanies(t.app);
      await addUser(t.app, { username: "boss", role: "admin", tenant: "acme" });
      const { answer } = await login(t.app, "boss", GOOD_PASSWORD);
      assert.equal(answer.status, 200, answer.raw);
      assert.ok(String(answer.headers["set-cookie"]).split("; ").includes("Secure"));
    } finally {
      await t.close();
    }
  });
});
