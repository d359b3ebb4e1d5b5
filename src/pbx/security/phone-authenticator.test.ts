import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { NonceManager } from "../../sip/auth/nonce-manager.ts";
import { getHeaders, type SipResponse } from "../../sip/message/index.ts";
import { FakeClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { authorize, PHONE, request, seededStore } from "../registrar/sip-phone.test-helper.ts";
import { AuthRateLimiter } from "./auth-rate-limiter.ts";
import { formatSource, PhoneAuthenticator } from "./phone-authenticator.ts";

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

async function setup(limits: { maxFailures?: number; algorithms?: Array<"MD5" | "SHA-256"> } = {}) {
  const clock = new FakeClock();
  const store = await seededStore();
  const nonces = new NonceManager({ clock, lifetimeMs: 300_000 });
  const { log, lines } = capturingLogger();
  const limiter = new AuthRateLimiter({ clock, log, maxFailures: limits.maxFailures ?? 10 });
  const auth = new PhoneAuthenticator({ store, nonces, clock, log, limiter, algorithms: limits.algorithms });
  return { clock, store, nonces, lines, limiter, auth };
}

test("a provider can lead with SHA-256, or offer it alone", async () => {
  for (const algorithms of [["SHA-256", "MD5"], ["SHA-256"]] as const) {
    const { auth } = await setup({ algorithms: [...algorithms] });
    const result = await auth.authenticate(request(), PHONE, "www");
    assert.ok(!result.ok);
    const offered = getHeaders(result.response, "WWW-Authenticate").map(
      (c) => /algorithm=([\w-]+)/.exec(c)?.[1],
    );
    assert.deepEqual(offered, algorithms);
  }
});

/** What the server adds to a response (headers copied from the request left out), with the nonce blanked. */
function added(res: SipResponse): string[] {
  const copied = new Set(["Via", "From", "To", "Call-ID", "CSeq"]);
  return [
    `${res.status} ${res.reason}`,
    ...res.headers
      .filter((h) => !copied.has(h.name))
      .map((h) => `${h.name}: ${h.value.replace(/nonce="[^"]*"/, 'nonce="N"')}`),
  ];
}

test("a REGISTER without credentials gets two challenges, MD5 first by default, and is not a failure", async () => {
  const { auth, lines } = await setup();
  const result = await auth.authenticate(request(), PHONE, "www");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.response.status, 401);
  const challenges = getHeaders(result.response, "WWW-Authenticate");
  assert.equal(challenges.length, 2);
  assert.match(challenges[0], /^Digest realm="acme.test", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
  assert.match(challenges[1], /algorithm=SHA-256/);
  assert.equal(challenges[0].match(/nonce="([^"]+)"/)?.[1], challenges[1].match(/nonce="([^"]+)"/)?.[1]);
  assert.match(getHeaders(result.response, "To")[0], /;tag=[0-9a-f]+$/);
  assert.equal(lines.length, 0);
});

test("the right password authenticates with SHA-256 and with MD5", async () => {
  const { auth } = await setup();
  for (const algorithm of ["SHA-256", "MD5"] as const) {
    const req = request();
    const first = await auth.authenticate(req, PHONE, "www");
    assert.ok(!first.ok);
    const result = await auth.authenticate(
      authorize(req, first.response, { password: "secret101", algorithm }),
      PHONE,
      "www",
    );
    assert.ok(result.ok, algorithm);
    assert.equal(result.tenant.name, "acme");
    assert.equal(result.extension.number, "101");
  }
});

test("an INVITE is challenged with 407 and Proxy-Authenticate, and answered with Proxy-Authorization", async () => {
  const { auth } = await setup();
  const req = request({ method: "INVITE", uri: "sip:102@acme.test", to: "sip:102@acme.test" });
  const first = await auth.authenticate(req, PHONE, "proxy");
  assert.ok(!first.ok);
  assert.equal(first.response.status, 407);
  assert.equal(getHeaders(first.response, "Proxy-Authenticate").length, 2);
  // Credentials in the wrong header do not count.
  const wrongHeader = authorize(req, first.response, { password: "secret101", header: "Authorization" });
  assert.equal((await auth.authenticate(wrongHeader, PHONE, "proxy")).ok, false);
  const second = await auth.authenticate(req, PHONE, "proxy");
  assert.ok(!second.ok);
  const ok = await auth.authenticate(
    authorize(req, second.response, { password: "secret101" }),
    PHONE,
    "proxy",
  );
  assert.ok(ok.ok);
});

test("unknown domain, unknown user and wrong password look the same from outside, and are logged", async () => {
  const { auth, lines } = await setup();
  const attempt = async (user: string, domain: string, password: string) => {
    const req = request({ from: `sip:${user}@${domain}`, uri: `sip:${domain}` });
    const first = await auth.authenticate(req, PHONE, "www");
    assert.ok(!first.ok);
    const second = await auth.authenticate(authorize(req, first.response, { user, password }), PHONE, "www");
    assert.ok(!second.ok);
    return { first: first.response, second: second.response };
  };
  const wrongPassword = await attempt("101", "acme.test", "guess");
  const unknownUser = await attempt("999", "acme.test", "guess");
  const unknownDomain = await attempt("101", "nowhere.test", "guess");
  const base = added(wrongPassword.second);
  assert.equal(base[0], "401 Unauthorized");
  assert.equal(base.length, 3);
  assert.deepEqual(added(unknownUser.second), base);
  assert.deepEqual(added(wrongPassword.first), base);
  // An unknown domain is challenged in its own name, in the same form.
  assert.deepEqual(
    added(unknownDomain.second),
    base.map((h) => h.replace('realm="acme.test"', 'realm="nowhere.test"')),
  );
  assert.deepEqual(added(unknownDomain.first), added(unknownDomain.second));
  for (const r of [wrongPassword, unknownUser, unknownDomain]) {
    assert.match(getHeaders(r.second, "To")[0], /;tag=[0-9a-f]+$/);
    assert.deepEqual(
      r.second.headers.map((h) => h.name),
      ["Via", "From", "To", "Call-ID", "CSeq", "WWW-Authenticate", "WWW-Authenticate"],
    );
  }

  const failures = lines.filter((l) => l.msg === "sip auth failed");
  assert.deepEqual(
    failures.map((l) => [l.source, l.domain, l.user, l.method, l.reason, l.level]),
    [
      ["udp:192.0.2.10:5062", "acme.test", "101", "REGISTER", "wrong password", 40],
      ["udp:192.0.2.10:5062", "acme.test", "999", "REGISTER", "unknown user", 40],
      ["udp:192.0.2.10:5062", "nowhere.test", "101", "REGISTER", "unknown domain", 40],
    ],
  );
  // The reason is for the log only.
  for (const r of [wrongPassword, unknownUser, unknownDomain]) {
    assert.equal(r.second.reason, "Unauthorized");
    assert.doesNotMatch(r.second.headers.map((h) => h.value).join("\n"), /password|unknown/i);
  }
});

test("credentials of one user cannot be used for another, nor with a different digest uri", async () => {
  const { auth, lines } = await setup();
  const req = request({ from: "sip:102@acme.test" });
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  const asOther = await auth.authenticate(
    authorize(req, first.response, { user: "101", password: "secret101" }),
    PHONE,
    "www",
  );
  assert.ok(!asOther.ok);
  assert.equal(asOther.response.status, 401);

  const own = request();
  const c = await auth.authenticate(own, PHONE, "www");
  assert.ok(!c.ok);
  const otherUri = authorize(own, c.response, { password: "secret101", uri: "sip:127.0.0.1:5060" });
  assert.equal((await auth.authenticate(otherUri, PHONE, "www")).ok, false);
  // The same URI written with a different host case and parameters is the same target.
  const sameTarget = authorize(own, c.response, {
    password: "secret101",
    uri: "sip:ACME.test;transport=udp",
  });
  assert.equal((await auth.authenticate(sameTarget, PHONE, "www")).ok, true);
  assert.deepEqual(
    lines.filter((l) => l.msg === "sip auth failed").map((l) => l.reason),
    ["username mismatch", "digest uri does not match request uri"],
  );
});

test("a replayed nonce-count is refused with a fresh challenge; a higher count is accepted", async () => {
  const { auth, lines } = await setup();
  const req = request();
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  const signed = authorize(req, first.response, { password: "secret101", nc: 1 });
  assert.equal((await auth.authenticate(signed, PHONE, "www")).ok, true);
  const replay = await auth.authenticate(signed, PHONE, "www");
  assert.ok(!replay.ok);
  assert.equal(replay.response.status, 401);
  assert.doesNotMatch(getHeaders(replay.response, "WWW-Authenticate")[0], /stale/);
  assert.equal(lines.at(-1)?.reason, "nonce count replayed");
  const next = authorize(req, first.response, { password: "secret101", nc: 2 });
  assert.equal((await auth.authenticate(next, PHONE, "www")).ok, true);
});

test("an expired nonce with the right password gets stale=true and is not a failure", async () => {
  const { auth, clock, lines } = await setup();
  const req = request();
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  clock.tick(301_000);
  const late = await auth.authenticate(
    authorize(req, first.response, { password: "secret101" }),
    PHONE,
    "www",
  );
  assert.ok(!late.ok);
  assert.equal(late.response.status, 401);
  for (const h of getHeaders(late.response, "WWW-Authenticate")) assert.match(h, /, stale=true$/);
  assert.equal(lines.length, 0);
  // With a wrong password the stale nonce is just another failure, without stale=true.
  const wrong = await auth.authenticate(authorize(req, first.response, { password: "nope" }), PHONE, "www");
  assert.ok(!wrong.ok);
  assert.doesNotMatch(getHeaders(wrong.response, "WWW-Authenticate")[0], /stale/);
  assert.equal(lines.length, 1);
});

test("forged nonces, malformed credentials and unsupported algorithms fail", async () => {
  const { auth, lines } = await setup();
  const req = request();
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  const forged = authorize(req, first.response, { password: "secret101", nonce: "a".repeat(43) });
  assert.equal((await auth.authenticate(forged, PHONE, "www")).ok, false);
  const malformed = {
    ...req,
    headers: [...req.headers, { name: "Authorization", value: 'Digest username="101' }],
  };
  assert.equal((await auth.authenticate(malformed, PHONE, "www")).ok, false);
  const basic = {
    ...req,
    headers: [...req.headers, { name: "Authorization", value: "Basic MTAxOnNlY3JldA==" }],
  };
  assert.equal((await auth.authenticate(basic, PHONE, "www")).ok, false);
  const sess = authorize(req, first.response, { password: "secret101" });
  const h = sess.headers.at(-1)!;
  sess.headers[sess.headers.length - 1] = {
    name: h.name,
    value: h.value.replace("algorithm=SHA-256", "algorithm=SHA-256-sess"),
  };
  assert.equal((await auth.authenticate(sess, PHONE, "www")).ok, false);
  assert.deepEqual(
    lines.map((l) => l.reason),
    ["invalid nonce", "malformed credentials", "malformed credentials", "unsupported algorithm"],
  );
});

test("after N failures the source is answered 403 until the cool-down ends", async () => {
  const { auth, clock, lines } = await setup({ maxFailures: 3 });
  const req = request();
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  const statuses: number[] = [];
  for (let nc = 1; nc <= 4; nc++) {
    const r = await auth.authenticate(
      authorize(req, first.response, { password: "guess", nc }),
      PHONE,
      "www",
    );
    assert.ok(!r.ok);
    statuses.push(r.response.status);
  }
  assert.deepEqual(statuses, [401, 401, 403, 403]);
  // Even the right password and another user are refused while blocked, from that address only.
  const fresh = await auth.authenticate(request({ from: "sip:102@acme.test" }), PHONE, "www");
  assert.ok(!fresh.ok);
  assert.equal(fresh.response.status, 403);
  const elsewhere = await auth.authenticate(request(), { ...PHONE, address: "192.0.2.99" }, "www");
  assert.ok(!elsewhere.ok);
  assert.equal(elsewhere.response.status, 401);
  assert.equal(lines.filter((l) => l.msg === "sip auth source blocked").length, 1);

  clock.tick(300_000);
  const again = await auth.authenticate(req, PHONE, "www");
  assert.ok(!again.ok);
  assert.equal(again.response.status, 401);
  const ok = await auth.authenticate(authorize(req, again.response, { password: "secret101" }), PHONE, "www");
  assert.equal(ok.ok, true);
});

test("formatSource writes the fail2ban-friendly form, IPv6 in brackets", () => {
  assert.equal(formatSource({ transport: "UDP", address: "1.2.3.4", port: 5060 }), "udp:1.2.3.4:5060");
  assert.equal(
    formatSource({ transport: "TCP", address: "2001:db8::1", port: 5061 }),
    "tcp:[2001:db8::1]:5061",
  );
});
