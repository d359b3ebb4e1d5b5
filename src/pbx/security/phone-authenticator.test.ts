import assert from "node:assert/strict";
import { test } from "node:test";
import { NonceManager } from "../../sip/auth/nonce-manager.ts";
import { getHeaders, type SipRequest, type SipResponse } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Store } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { capturingLogger } from "../../util/log.ts";
import {
  authorize,
  PHONE,
  type RequestSpec,
  request,
  seededStore,
} from "../registrar/sip-phone.test-helper.ts";
import { AuthGuard, type AuthGuardOptions } from "./auth-guard.ts";
import { AuthRateLimiter } from "./auth-rate-limiter.ts";
import { type AuthKind, formatSource, PhoneAuthenticator } from "./phone-authenticator.ts";

interface SetupOptions {
  maxFailures?: number;
  algorithms?: Array<"MD5" | "SHA-256">;
  guard?: Partial<AuthGuardOptions>;
  secret?: Buffer;
  store?: Store;
  clock?: FakeClock;
}

async function setup(opts: SetupOptions = {}) {
  const clock = opts.clock ?? new FakeClock();
  const store = opts.store ?? (await seededStore());
  const nonces = new NonceManager({ clock, lifetimeMs: 300_000, secret: opts.secret });
  const { log, lines } = capturingLogger("info");
  const guard = new AuthGuard({
    clock,
    log,
    blocks: store.authBlocks,
    sourceLimits: [
      { failures: opts.maxFailures ?? 10, windowMs: 60_000 },
      { failures: 100, windowMs: 3_600_000 },
    ],
    ...opts.guard,
  });
  const authenticated: RemoteAddress[] = [];
  const auth = new PhoneAuthenticator({
    store,
    nonces,
    clock,
    log,
    guard,
    algorithms: opts.algorithms,
    onAuthenticated: (r) => authenticated.push(r),
  });
  /** One whole round trip from `remote`: the challenge, then the answer with `password`. */
  const attempt = async (
    password: string,
    remote: RemoteAddress = PHONE,
    spec: RequestSpec & { user?: string } = {},
    kind: AuthKind = "www",
  ) => {
    const req = request(spec);
    const first = await auth.authenticate(req, remote, kind);
    assert.ok(!first.ok, "a request without credentials is challenged");
    return auth.authenticate(authorize(req, first.response, { password, user: spec.user }), remote, kind);
  };
  return { clock, store, nonces, lines, guard, auth, authenticated, attempt };
}

const at = (address: string, port = 5062): RemoteAddress => ({ transport: "UDP", address, port });

function status(r: { ok: true } | { ok: false; response: SipResponse }): string {
  if (r.ok) return "ok";
  const stale = getHeaders(r.response, "WWW-Authenticate").some((h) => /stale=true/.test(h));
  return `${r.response.status}${stale ? " stale" : ""}`;
}

/** A made-up nonce of the right shape (43 base64url characters). */
function madeUp(i: number): string {
  return `${"x".repeat(40)}${String(i).padStart(3, "0")}`;
}

/** `req` answered on a nonce we never sent, with `password` (right or not). */
function onMadeUpNonce(req: SipRequest, password: string, nonce: string): SipRequest {
  const fake: SipResponse = {
    type: "response",
    status: 401,
    reason: "Unauthorized",
    headers: [
      {
        name: "WWW-Authenticate",
        value: `Digest realm="acme.test", nonce="${nonce}", algorithm=SHA-256, qop="auth"`,
      },
    ],
    body: Buffer.alloc(0),
  };
  return authorize(req, fake, { password });
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

test("forged nonces get stale=true whatever the digest, are never failures; malformed credentials neither", async () => {
  const { auth, lines } = await setup();
  const req = request();
  // A made-up nonce with the right password, and with a wrong one: the same answer (no oracle).
  const right = await auth.authenticate(onMadeUpNonce(req, "secret101", madeUp(1)), PHONE, "www");
  const wrong = await auth.authenticate(onMadeUpNonce(req, "guess", madeUp(2)), PHONE, "www");
  assert.equal(status(right), "401 stale");
  assert.equal(status(wrong), "401 stale");
  const malformed = {
    ...req,
    headers: [...req.headers, { name: "Authorization", value: 'Digest username="101' }],
  };
  assert.equal(status(await auth.authenticate(malformed, PHONE, "www")), "401");
  const basic = {
    ...req,
    headers: [...req.headers, { name: "Authorization", value: "Basic MTAxOnNlY3JldA==" }],
  };
  assert.equal(status(await auth.authenticate(basic, PHONE, "www")), "401");
  // On a nonce of ours, an unsupported algorithm is a failure like any other.
  const first = await auth.authenticate(req, PHONE, "www");
  assert.ok(!first.ok);
  const sess = authorize(req, first.response, { password: "secret101" });
  const h = sess.headers.at(-1)!;
  sess.headers[sess.headers.length - 1] = {
    name: h.name,
    value: h.value.replace("algorithm=SHA-256", "algorithm=SHA-256-sess"),
  };
  assert.equal(status(await auth.authenticate(sess, PHONE, "www")), "401");
  assert.deepEqual(
    lines.filter((l) => l.msg === "sip auth failed").map((l) => l.reason),
    ["unsupported algorithm"],
  );
});

test("REGISTERs with made-up nonces from a forged address do not block it; wrong answers on our nonces do", async () => {
  const { auth, attempt, lines } = await setup({ maxFailures: 10 });
  // The attack: the sender forges the office's address and cannot read our replies.
  for (let i = 0; i < 50; i++) {
    const r = await auth.authenticate(onMadeUpNonce(request(), `guess${i}`, madeUp(i)), PHONE, "www");
    assert.equal(status(r), "401 stale");
  }
  assert.equal(lines.filter((l) => /blocked/.test(String(l.msg))).length, 0);
  assert.equal(status(await attempt("secret101")), "ok", "the office's phone still registers");

  // A nonce obtained from the attacker's own address is no better: it is bound to that address.
  const own = await auth.authenticate(request(), at("198.51.100.66"), "www");
  assert.ok(!own.ok);
  for (let nc = 1; nc <= 20; nc++) {
    const forged = authorize(request(), own.response, { password: `guess${nc}`, nc });
    assert.equal(status(await auth.authenticate(forged, PHONE, "www")), "401 stale");
  }
  assert.equal(status(await attempt("secret101")), "ok");

  // Without the defence (failures on nonces this PBX sent to the sender) ten guesses block the source.
  for (let i = 0; i < 10; i++) assert.equal(status(await attempt(`guess${i}`, at("203.0.113.5"))), "401");
  assert.equal(status(await attempt("secret101", at("203.0.113.5"))), "401", "blocked");
  assert.equal(lines.filter((l) => l.msg === "sip auth source blocked").length, 1);
});

test("after a restart, a correct answer on the old process's nonce is stale, never a failure", async () => {
  const clock = new FakeClock();
  const store = await seededStore();
  const secret = Buffer.alloc(32, 3);
  const before = await setup({ clock, store, secret });
  // Ten phones behind one NAT address, each holding a nonce of the first process.
  const held: SipRequest[] = [];
  for (let i = 0; i < 10; i++) {
    const req = request({ callId: `reg-${i}` });
    const ch = await before.auth.authenticate(req, at("192.0.2.10", 5000 + i), "www");
    assert.ok(!ch.ok);
    held.push(authorize(req, ch.response, { password: "secret101" }));
  }
  clock.tick(2_000);
  for (const [name, restarted] of [
    ["same key", await setup({ clock, store, secret })],
    ["another key", await setup({ clock, store, secret: Buffer.alloc(32, 4) })],
  ] as const) {
    for (let round = 0; round < 3; round++) {
      for (const [i, req] of held.entries()) {
        assert.equal(
          status(await restarted.auth.authenticate(req, at("192.0.2.10", 5000 + i), "www")),
          "401 stale",
          name,
        );
      }
    }
    assert.equal(restarted.lines.filter((l) => /failed|blocked/.test(String(l.msg))).length, 0, name);
    // Each phone answers the fresh nonce and is in.
    assert.equal(status(await restarted.attempt("secret101", at("192.0.2.10", 5000))), "ok", name);
  }
  // With the same key the old nonce is ours: a wrong password on it is a real failure.
  const again = await setup({ clock, store, secret });
  const req = request();
  const ch = await before.auth.authenticate(req, PHONE, "www");
  assert.ok(!ch.ok);
  const wrong = await again.auth.authenticate(
    authorize(req, ch.response, { password: "nope" }),
    PHONE,
    "www",
  );
  assert.equal(status(wrong), "401");
  assert.equal(again.lines.filter((l) => l.msg === "sip auth failed").length, 1);
});

test("a blocked source is answered exactly like a wrong password, even with the right one; blocks grow", async () => {
  const { attempt, clock, lines, authenticated } = await setup({ maxFailures: 3 });
  const wrong = await attempt("guess");
  await attempt("guess");
  await attempt("guess");
  assert.equal(lines.filter((l) => l.msg === "sip auth source blocked").length, 1);
  const right = await attempt("secret101");
  assert.ok(!right.ok && !wrong.ok);
  assert.deepEqual(added(right.response), added(wrong.response));
  assert.deepEqual(
    right.response.headers.map((h) => h.name),
    wrong.response.headers.map((h) => h.name),
  );
  // Another user from that source too; the same user from elsewhere is fine.
  assert.equal(status(await attempt("secret102", PHONE, { from: "sip:102@acme.test", user: "102" })), "401");
  assert.equal(status(await attempt("secret101", at("192.0.2.99"))), "ok");
  assert.deepEqual(
    authenticated.map((r) => r.address),
    ["192.0.2.99"],
    "onAuthenticated is told of successes only",
  );

  // 10 minutes for a first offence...
  await clock.advance(599_000);
  assert.equal(status(await attempt("secret101")), "401");
  await clock.advance(1_000);
  assert.equal(status(await attempt("secret101")), "ok");
  // ...40 for the second.
  for (let i = 0; i < 3; i++) await attempt("guess");
  await clock.advance(39 * 60_000);
  assert.equal(status(await attempt("secret101")), "401");
  await clock.advance(60_000);
  assert.equal(status(await attempt("secret101")), "ok");
  const blocked = lines.filter((l) => l.msg === "sip auth source blocked");
  assert.deepEqual(
    blocked.map((l) => [l.source, l.offences, l.level]),
    [
      ["192.0.2.10", 1, 40],
      ["192.0.2.10", 2, 40],
    ],
  );
});

test("slow guessing on one account from many sources is blocked; the account's own phone keeps working", async () => {
  const { attempt, clock, lines, store } = await setup();
  // The phone of 101 registered earlier from its office.
  assert.equal(status(await attempt("secret101", PHONE)), "ok");
  // Nine guesses a minute, each from another address: no source ever reaches its limits.
  let guesses = 0;
  let blockedAt: number | undefined;
  for (let minute = 0; minute < 60 && blockedAt === undefined; minute++) {
    for (let i = 0; i < 9; i++) {
      await attempt(`guess${guesses}`, at(`198.51.${minute}.${i + 1}`));
      guesses++;
    }
    if (lines.some((l) => l.msg === "sip auth account blocked")) blockedAt = minute;
    await clock.advance(60_000);
  }
  assert.ok(blockedAt !== undefined && blockedAt < 60, "blocked within the hour");
  assert.equal(guesses, 36, "the 30th failure in the hour blocks");
  const line = lines.find((l) => l.msg === "sip auth account blocked")!;
  assert.equal(line.account, "acme/101");
  // The attacker's right guess, from a new source, looks like every other wrong one.
  assert.equal(status(await attempt("secret101", at("198.51.200.1"))), "401");
  // The phone that authenticated before is exempt; other accounts are not concerned.
  assert.equal(status(await attempt("secret101", PHONE)), "ok");
  assert.equal(
    status(await attempt("secret102", at("198.51.200.1"), { from: "sip:102@acme.test", user: "102" })),
    "ok",
  );
  // The block is in the store, for other nodes and the next start.
  const kept = await store.authBlocks.get("acme/101");
  assert.equal(kept?.offences, 1);
  assert.ok(kept.until > clock.now());
});

test("a restart forgives nothing: blocks are read back from the store", async () => {
  const clock = new FakeClock();
  const store = await seededStore();
  const first = await setup({ clock, store, maxFailures: 3 });
  for (let i = 0; i < 3; i++) await first.attempt("guess");
  const second = await setup({ clock, store, maxFailures: 3 });
  assert.equal(status(await second.attempt("secret101")), "401");
  assert.equal(status(await second.attempt("secret101", at("192.0.2.99"))), "ok");
});

test("IPv6 sources count and are blocked by their /64", async () => {
  const { attempt, lines } = await setup({ maxFailures: 3 });
  await attempt("guess", at("2001:db8:1:2::1"));
  await attempt("guess", at("2001:db8:1:2::2"));
  await attempt("guess", at("2001:db8:1:2:aaaa::3"));
  assert.equal(lines.find((l) => l.msg === "sip auth source blocked")?.source, "2001:db8:1:2::/64");
  assert.equal(status(await attempt("secret101", at("2001:db8:1:2::99"))), "401");
  assert.equal(status(await attempt("secret101", at("2001:db8:1:3::1"))), "ok");
});

test("the deprecated limiter option still sets the short per-source limit", async () => {
  const clock = new FakeClock();
  const store = await seededStore();
  const { log, lines } = capturingLogger("info");
  const limiter = new AuthRateLimiter({ clock, maxFailures: 2 });
  const nonces = new NonceManager({ clock });
  const auth = new PhoneAuthenticator({ store, nonces, clock, log, limiter });
  for (let i = 0; i < 2; i++) {
    const req = request();
    const ch = await auth.authenticate(req, PHONE, "www");
    assert.ok(!ch.ok);
    await auth.authenticate(authorize(req, ch.response, { password: "guess" }), PHONE, "www");
  }
  assert.equal(lines.filter((l) => l.msg === "sip auth source blocked").length, 1);
});

test("formatSource writes the fail2ban-friendly form, IPv6 in brackets", () => {
  assert.equal(formatSource({ transport: "UDP", address: "1.2.3.4", port: 5060 }), "udp:1.2.3.4:5060");
  assert.equal(
    formatSource({ transport: "TCP", address: "2001:db8::1", port: 5061 }),
    "tcp:[2001:db8::1]:5061",
  );
});
