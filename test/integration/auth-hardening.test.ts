// Issue 10, digest authentication under attack and across restarts, with
// real sockets: a restart must not lock out an office whose phones answer
// the previous process's nonces; an attacker who forges an office's address
// (and cannot read our replies) must not lock it out; slow guessing spread
// over many sources must be stopped, while the account's own phone works.
// The PBX's sense of time is a FakeClock that the test moves.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DigestClient, parseChallenge } from "../../src/sip/auth/index.ts";
import {
  getHeaders,
  type HeaderField,
  newCallId,
  newTag,
  parseMessage,
  parseUri,
  type SipRequest,
  type SipResponse,
} from "../../src/sip/message/index.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const clock = new FakeClock(Date.now());
const open: SipPhone[] = [];

before(async () => {
  pbx = await startTestPbx({ clock });
  await pbx.addTenant("acme", "acme.test");
  for (const n of [
    "201",
    "202",
    "203",
    "204",
    "205",
    "206",
    "207",
    "208",
    "209",
    "210",
    "301",
    "401",
    "402",
  ]) {
    await pbx.addExtension("acme", n, `secret-${n}-pw`);
  }
});

after(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await pbx.stop();
});

async function phone(
  user: string,
  localAddress = "127.0.0.1",
  password = `secret-${user}-pw`,
): Promise<SipPhone> {
  const p = await SipPhone.create({ user, password, domain: "acme.test", server: pbx.sip, localAddress });
  open.push(p);
  return p;
}

/** A REGISTER of `p` for itself, with `extra` headers (credentials), outside the harness's own retry loop. */
function registerRequest(p: SipPhone, extra: HeaderField[]): SipRequest {
  return {
    type: "request",
    method: "REGISTER",
    uri: parseUri("sip:acme.test"),
    headers: [
      p.via(),
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: p.fromHeader(newTag()) },
      { name: "To", value: `<${p.aor}>` },
      { name: "Call-ID", value: newCallId() },
      { name: "CSeq", value: "1 REGISTER" },
      { name: "Contact", value: `<${p.contactUri}>` },
      { name: "Expires", value: "3600" },
      ...extra,
      { name: "Content-Length", value: "0" },
    ],
    body: Buffer.alloc(0),
  };
}

/** The last WWW-Authenticate challenge this phone received. */
function lastChallenge(p: SipPhone): string {
  for (let i = p.trace.length - 1; i >= 0; i--) {
    const t = p.trace[i];
    if (t.dir !== "in" || !t.text.startsWith("SIP/2.0 401")) continue;
    const res = parseMessage(Buffer.from(t.text)) as SipResponse;
    const [value] = getHeaders(res, "WWW-Authenticate");
    if (value) return value;
  }
  throw new Error(`${p.user} never got a challenge`);
}

function isStale(res: SipResponse): boolean {
  return getHeaders(res, "WWW-Authenticate").some((h) => /stale=true/i.test(h));
}

test("a restart: ten phones behind one address answer the old nonces and get stale challenges, never a 403 or a block", async () => {
  const phones: SipPhone[] = [];
  for (let i = 1; i <= 10; i++) phones.push(await phone(String(200 + i)));
  for (const p of phones) assert.equal((await p.register()).status, 200, p.user);
  assert.equal(new Set(phones.map((p) => p.localPort)).size, 10, "ten ports of one address");
  // The credentials each phone will send next: an answer to the nonce of the running process.
  const held = phones.map((p) => {
    const ch = parseChallenge(lastChallenge(p));
    assert.ok(ch);
    const client = new DigestClient({ username: p.user, password: `secret-${p.user}-pw` });
    return (req: SipRequest) => client.authorize(ch, "REGISTER", "sip:acme.test", req.body);
  });

  await clock.advance(2_000);
  pbx = await pbx.restart();
  for (const p of phones) p.server = pbx.sip;

  // Each phone re-registers three times on its old nonce, as phones retrying after a restart do:
  // 30 correct answers from one address, far beyond the 10 failures that would block it.
  const statuses: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [i, p] of phones.entries()) {
      const req = registerRequest(p, []);
      req.headers.splice(-1, 0, { name: "Authorization", value: held[i](req) });
      const res = await p.transact(req);
      statuses.push(res.status === 401 && isStale(res) ? "stale" : String(res.status));
    }
  }
  assert.ok(
    statuses.every((s) => s === "stale" || s === "200"),
    `every answer is a fresh challenge or 200: ${statuses.join(" ")}`,
  );
  // Nothing was counted: every phone registers at once on a fresh nonce.
  for (const p of phones) assert.equal((await p.register()).status, 200, p.user);
});

test("REGISTERs with made-up nonces from an office's address do not lock the office out", async () => {
  // The attacker forges 127.0.0.1 (here: sends from it) and never reads a reply.
  const forger = await phone("301");
  for (let i = 0; i < 30; i++) {
    const nonce = `${"f".repeat(40)}${String(i).padStart(3, "0")}`;
    const answer = new DigestClient({ username: "301", password: `guess-${i}` }).authorize(
      { realm: "acme.test", nonce, algorithm: "MD5", qop: ["auth"], stale: false },
      "REGISTER",
      "sip:acme.test",
    );
    const res = await forger.transact(registerRequest(forger, [{ name: "Authorization", value: answer }]));
    assert.equal(res.status, 401, `attempt ${i}`);
  }
  const office = await phone("301");
  assert.equal((await office.register()).status, 200, "the office's phone registers");

  // The limiter itself is on: ten wrong answers on nonces this PBX sent to 127.0.0.3 block that address.
  for (let i = 0; i < 10; i++) {
    const guesser = await phone("301", "127.0.0.3", `guess-${i}`);
    assert.equal((await guesser.register()).status, 401);
  }
  const rightFromThere = await phone("301", "127.0.0.3");
  assert.equal((await rightFromThere.register()).status, 401, "blocked, and answered like a wrong password");
});

test("slow guessing on one account from many sources is stopped within the hour; its own phone keeps working", async () => {
  const own = await phone("401");
  assert.equal((await own.register()).status, 200);
  // Before the attack, the right password works from anywhere.
  const probeBefore = await phone("401", "127.0.2.1");
  assert.equal((await probeBefore.register()).status, 200);

  // Nine wrong guesses a minute, each minute from nine new addresses: no source ever comes near its
  // limits (10 a minute, 100 an hour). Forty minutes of it would be 360 guesses.
  for (let minute = 0; minute < 40; minute++) {
    for (let i = 1; i <= 9; i++) {
      const guesser = await phone("401", `127.0.${10 + minute}.${i}`, `guess-${minute}-${i}`);
      assert.equal((await guesser.register()).status, 401);
      await guesser.close();
    }
    await clock.advance(60_000);
  }

  // The account is blocked: even the right password from a new source gets what a wrong one gets.
  const probeAfter = await phone("401", "127.0.2.2");
  const blocked = await probeAfter.register();
  assert.equal(blocked.status, 401);
  // Its own phone, which authenticated before, is exempt; another account from the new source is fine.
  assert.equal((await own.register()).status, 200);
  assert.equal((await phone("402", "127.0.2.2").then((p) => p.register())).status, 200);
});
