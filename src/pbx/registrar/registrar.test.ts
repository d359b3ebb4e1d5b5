import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { NonceManager } from "../../sip/auth/nonce-manager.ts";
import { getHeader, getHeaders, type SipRequest, type SipResponse } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { AuthRateLimiter } from "../security/auth-rate-limiter.ts";
import { PhoneAuthenticator } from "../security/phone-authenticator.ts";
import { Registrar } from "./registrar.ts";
import { authorize, PHONE, type RequestSpec, request, seededStore } from "./sip-phone.test-helper.ts";

async function setup(
  opts: { maxContacts?: number; maxFailures?: number; acceptPath?: (remote: RemoteAddress) => boolean } = {},
) {
  const clock = new FakeClock();
  const store = await seededStore();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const limiter = new AuthRateLimiter({ clock, log, maxFailures: opts.maxFailures ?? 10 });
  const auth = new PhoneAuthenticator({ store, nonces: new NonceManager({ clock }), clock, log, limiter });
  const changes: string[] = [];
  const registrar = new Registrar({
    store,
    auth,
    clock,
    log,
    maxContactsPerExtension: opts.maxContacts,
    acceptPath: opts.acceptPath,
    listener: {
      bindingsChanged: (tenant, extension) => changes.push(`${tenant}/${extension}`),
      registered: () => {},
    },
  });
  let cseq = 0;

  /** Sends one request through the registrar and returns its one response. */
  async function send(req: SipRequest, remote: RemoteAddress = PHONE): Promise<SipResponse> {
    const sent: SipResponse[] = [];
    await registrar.handle(req, { request: req, remote, respond: (r) => sent.push(r) });
    assert.equal(sent.length, 1, "exactly one response");
    return sent[0];
  }

  /** A full challenge round trip, like a phone: returns the answer to the authorised REGISTER. */
  async function register(
    spec: RequestSpec,
    password = "secret101",
    remote: RemoteAddress = PHONE,
    user?: string,
  ): Promise<SipResponse> {
    const first = request({ ...spec, cseq: spec.cseq ?? ++cseq });
    const challenge = await send(first, remote);
    assert.equal(challenge.status, 401);
    const second = request({ ...spec, cseq: spec.cseq !== undefined ? spec.cseq + 1 : ++cseq });
    return send(authorize(second, challenge, { password, user }), remote);
  }

  return { clock, store, registrar, send, register, changes, lines };
}

function contacts(res: SipResponse): string[] {
  return getHeaders(res, "Contact").sort();
}

test("challenge, then 200 with the contact, its expiry and Date; the binding is stored", async () => {
  const { register, registrar, store, changes } = await setup();
  const res = await register({ contact: "<sip:101@192.0.2.10:5062;transport=udp>", expires: 600 });
  assert.equal(res.status, 200);
  assert.deepEqual(contacts(res), ["<sip:101@192.0.2.10:5062;transport=udp>;expires=600"]);
  assert.equal(getHeader(res, "Date"), "Mon, 05 Jan 2026 08:00:00 GMT");
  assert.match(getHeader(res, "To")!, /;tag=/);
  const [b] = await registrar.lookup("acme", "101");
  assert.equal(b.contact, "sip:101@192.0.2.10:5062;transport=udp");
  assert.deepEqual(b.source, { transport: "UDP", address: "192.0.2.10", port: 5062 });
  assert.equal(b.userAgent, "TestPhone/1.0");
  assert.equal(b.expiresAt, Date.UTC(2026, 0, 5, 8, 10, 0));
  assert.equal((await store.bindings.list("acme", "101")).length, 1);
  assert.deepEqual(changes, ["acme/101"]);
});

test("two devices, refresh, removal of one with Expires 0, and a query without Contact", async () => {
  const { register, registrar, clock } = await setup();
  const desk = "<sip:101@192.0.2.10:5062>";
  const soft = "<sip:101@198.51.100.4:5070;transport=tcp>";
  await register({ contact: desk, expires: 3600, callId: "desk" });
  const natSoft: RemoteAddress = { transport: "TCP", address: "203.0.113.9", port: 40001 };
  const two = await register({ contact: soft, expires: 120, callId: "soft" }, "secret101", natSoft);
  assert.deepEqual(contacts(two), [`${desk};expires=3600`, `${soft};expires=120`]);
  const soft1 = (await registrar.lookup("acme", "101")).find((b) => b.contact.includes("198.51.100.4"));
  assert.deepEqual(soft1?.source, { transport: "TCP", address: "203.0.113.9", port: 40001 });

  clock.tick(100_000);
  const refreshed = await register({ contact: soft, expires: 120, callId: "soft" }, "secret101", natSoft);
  assert.deepEqual(contacts(refreshed), [`${desk};expires=3500`, `${soft};expires=120`]);

  // A per-contact expires parameter wins over the Expires header.
  const removed = await register({ contact: `${soft};expires=0`, expires: 3600, callId: "soft" });
  assert.deepEqual(contacts(removed), [`${desk};expires=3500`]);

  const query = await register({ callId: "query" });
  assert.deepEqual(contacts(query), [`${desk};expires=3500`]);
});

test("Contact * with Expires 0 removes every binding; * otherwise is a 400", async () => {
  const { register, registrar, changes } = await setup();
  await register({ contact: "<sip:101@192.0.2.10:5062>", callId: "a" });
  await register({ contact: "<sip:101@192.0.2.11:5062>", callId: "b" });
  assert.equal((await registrar.lookup("acme", "101")).length, 2);
  assert.equal((await register({ contact: "*", expires: 60, callId: "c" })).status, 400);
  assert.equal((await register({ contact: "*", callId: "c" })).status, 400);
  assert.equal(
    (await register({ contact: ["*", "<sip:101@192.0.2.12>"], expires: 0, callId: "c" })).status,
    400,
  );
  assert.equal((await registrar.lookup("acme", "101")).length, 2);
  const res = await register({ contact: "*", expires: 0, callId: "c" });
  assert.equal(res.status, 200);
  assert.deepEqual(contacts(res), []);
  assert.deepEqual(await registrar.lookup("acme", "101"), []);
  assert.deepEqual(changes, ["acme/101", "acme/101", "acme/101"]);
});

test("too brief an interval is 423 with Min-Expires; too long is shortened; none takes the default", async () => {
  const { register } = await setup();
  const brief = await register({ contact: "<sip:101@192.0.2.10>", expires: 30 });
  assert.equal(brief.status, 423);
  assert.equal(getHeader(brief, "Min-Expires"), "60");
  const briefParam = await register({ contact: "<sip:101@192.0.2.10>;expires=59", expires: 600 });
  assert.equal(briefParam.status, 423);
  const long = await register({ contact: "<sip:101@192.0.2.10>", expires: 86_400 });
  assert.deepEqual(contacts(long), ["<sip:101@192.0.2.10>;expires=3600"]);
  const none = await register({ contact: "<sip:101@192.0.2.11>" });
  assert.deepEqual(contacts(none), [
    "<sip:101@192.0.2.10>;expires=3600",
    "<sip:101@192.0.2.11>;expires=3600",
  ]);
});

test("expired bindings disappear from lookup at once and from the store on the purge timer", async () => {
  const { register, registrar, store, clock, changes } = await setup();
  await register({ contact: "<sip:101@192.0.2.10>", expires: 60 });
  await clock.advance(10_000);
  registrar.start(); // purges every 30 s: at 40 s and 70 s
  changes.length = 0;
  await clock.advance(49_000);
  assert.equal((await registrar.lookup("acme", "101")).length, 1);
  await clock.advance(1_000);
  assert.deepEqual(await registrar.lookup("acme", "101"), [], "expired, even before the purge");
  assert.equal((await store.bindings.list("acme", "101")).length, 1);
  await clock.advance(10_000);
  assert.equal((await store.bindings.list("acme", "101")).length, 0, "purged");
  assert.deepEqual(changes, ["acme/101"]);
  registrar.stop();
  assert.equal(clock.timerCount, 0);
});

test("same Call-ID with a CSeq not higher than the stored one fails with 500 and changes nothing", async () => {
  const { register, registrar } = await setup();
  await register({ contact: "<sip:101@192.0.2.10>", expires: 600, callId: "ordered", cseq: 10 });
  // The round trip stored CSeq 11; a delayed CSeq 5 of the same Call-ID is out of order.
  const late = await register({ contact: "<sip:101@192.0.2.10>", expires: 0, callId: "ordered", cseq: 4 });
  assert.equal(late.status, 500);
  assert.equal((await registrar.lookup("acme", "101")).length, 1);
  const star = await register({ contact: "*", expires: 0, callId: "ordered", cseq: 9 });
  assert.equal(star.status, 500);
  assert.equal((await registrar.lookup("acme", "101")).length, 1);
  // Another Call-ID (the phone rebooted) may change the binding whatever its CSeq.
  const reboot = await register({
    contact: "<sip:101@192.0.2.10>",
    expires: 300,
    callId: "rebooted",
    cseq: 1,
  });
  assert.deepEqual(contacts(reboot), ["<sip:101@192.0.2.10>;expires=300"]);
  const [b] = await registrar.lookup("acme", "101");
  assert.equal(b.callId, "rebooted");
  assert.equal(b.cseq, 2);
});

test("a REGISTER for another extension than the authenticated one is 403", async () => {
  const { register, registrar } = await setup();
  const res = await register({
    from: "sip:101@acme.test",
    to: "sip:102@acme.test",
    contact: "<sip:x@192.0.2.10>",
  });
  assert.equal(res.status, 403);
  assert.deepEqual(await registrar.lookup("acme", "102"), []);
  assert.deepEqual(await registrar.lookup("acme", "101"), []);
});

test("unknown user and wrong password get the same answer; N failures block the source until the cool-down", async () => {
  const { register, clock, lines } = await setup({ maxFailures: 4 });
  const wrong = await register({ contact: "<sip:101@192.0.2.10>" }, "guess");
  const unknown = await register(
    { from: "sip:555@acme.test", contact: "<sip:555@192.0.2.10>" },
    "guess",
    PHONE,
    "555",
  );
  const strip = (r: SipResponse) => [
    r.status,
    r.reason,
    ...r.headers
      .filter((h) => !["Via", "From", "To", "Call-ID", "CSeq"].includes(h.name))
      .map((h) => `${h.name}: ${h.value.replace(/nonce="[^"]*"/, "")}`),
  ];
  assert.deepEqual(strip(unknown), strip(wrong));
  assert.equal(wrong.status, 401);
  const failed = lines.filter((l) => l.msg === "sip auth failed");
  assert.deepEqual(
    failed.map((l) => `${l.source} ${l.domain} ${l.user} ${l.method} ${l.reason}`),
    [
      "udp:192.0.2.10:5062 acme.test 101 REGISTER wrong password",
      "udp:192.0.2.10:5062 acme.test 555 REGISTER unknown user",
    ],
  );

  await register({ contact: "<sip:101@192.0.2.10>" }, "guess2");
  // The 4th failure blocks the source for 10 minutes: from then on it gets what a wrong password
  // gets (a fresh 401), even with the right password, so a guesser learns nothing.
  assert.equal((await register({ contact: "<sip:101@192.0.2.10>" }, "guess3")).status, 401);
  assert.equal((await register({ contact: "<sip:101@192.0.2.10>" })).status, 401);
  await clock.advance(599_000);
  assert.equal((await register({ contact: "<sip:101@192.0.2.10>" })).status, 401);
  await clock.advance(1_000);
  const back = await register({ contact: "<sip:101@192.0.2.10>" });
  assert.equal(back.status, 200);
});

test("the oldest binding gives way beyond the contact limit; one REGISTER over the limit is 403", async () => {
  const { register, registrar, clock } = await setup({ maxContacts: 2 });
  await register({ contact: "<sip:101@192.0.2.1>", callId: "1" });
  clock.tick(1_000);
  await register({ contact: "<sip:101@192.0.2.2>", callId: "2" });
  clock.tick(1_000);
  const third = await register({ contact: "<sip:101@192.0.2.3>", callId: "3" });
  assert.equal(third.status, 200);
  assert.deepEqual((await registrar.lookup("acme", "101")).map((b) => b.contact).sort(), [
    "sip:101@192.0.2.2",
    "sip:101@192.0.2.3",
  ]);
  const many = await register({
    contact: ["<sip:101@192.0.2.4>", "<sip:101@192.0.2.5>", "<sip:101@192.0.2.6>"],
    callId: "4",
  });
  assert.equal(many.status, 403);
  assert.equal((await registrar.lookup("acme", "101")).length, 2);
});

test("a store failure answers 500 and leaves the bindings as they were", async () => {
  const { register, registrar, store } = await setup();
  await register({ contact: "<sip:101@192.0.2.1>", expires: 600, callId: "x" });
  const before = await registrar.lookup("acme", "101");
  // Fail the second write of the update: the first (an upsert) must be undone.
  const orig = store.bindings.remove;
  store.bindings.remove = async () => {
    throw new Error("disk full");
  };
  const res = await register({
    contact: ["<sip:101@192.0.2.2>", "<sip:101@192.0.2.1>;expires=0"],
    callId: "y",
  });
  store.bindings.remove = orig;
  assert.equal(res.status, 500);
  assert.deepEqual(await registrar.lookup("acme", "101"), before);
});

test("bad requests are answered, never thrown: non-sip contacts, Require, other methods", async () => {
  const { register, send } = await setup();
  assert.equal((await register({ contact: "<mailto:101@acme.test>" })).status, 400);
  const req = await register({ contact: "<sip:101@192.0.2.1>", extra: ["Require: gruu, path"] });
  assert.equal(req.status, 420);
  assert.equal(getHeader(req, "Unsupported"), "gruu");
  assert.equal((await send(request({ method: "OPTIONS" }))).status, 405);
});

test("concurrent REGISTERs of one extension are applied one after the other", async () => {
  const { send, registrar } = await setup({ maxContacts: 1 });
  const challenge = await send(request({ cseq: 1 }));
  const a = authorize(request({ contact: "<sip:101@192.0.2.1>", cseq: 2, callId: "a" }), challenge, {
    password: "secret101",
    nc: 1,
  });
  const b = authorize(request({ contact: "<sip:101@192.0.2.2>", cseq: 2, callId: "b" }), challenge, {
    password: "secret101",
    nc: 2,
  });
  const [ra, rb] = await Promise.all([send(a), send(b)]);
  assert.equal(ra.status, 200);
  assert.equal(rb.status, 200);
  // Each saw the other's result: the limit of one contact holds.
  assert.deepEqual(
    (await registrar.lookup("acme", "101")).map((x) => x.contact),
    ["sip:101@192.0.2.2"],
  );
});

/** Kamailio in front of the PBX: its Path, with the phone's NAT address (path module, add_path_received). */
const EDGE: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5060 };
const EDGE_PATH = "<sip:192.0.2.1:5060;lr;received=sip:198.51.100.7:40000>";

test("Path (RFC 3327): kept with the binding in order, said back only with Supported: path, Require: path accepted", async () => {
  const { register, registrar } = await setup();
  const res = await register(
    {
      contact: "<sip:101@10.0.0.5:5062>",
      extra: [
        `Path: ${EDGE_PATH}`,
        "Path: <sip:outer.example;lr>",
        "Supported: path, replaces",
        "Require: path",
      ],
    },
    "secret101",
    EDGE,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(getHeaders(res, "Path"), [EDGE_PATH, "<sip:outer.example;lr>"]);
  const [b] = await registrar.lookup("acme", "101");
  assert.deepEqual(b.path, [EDGE_PATH, "<sip:outer.example;lr>"]);
  assert.deepEqual(b.source, { transport: "UDP", address: "192.0.2.1", port: 5060 });

  // The phone did not say it supports Path: stored all the same, not said back.
  const quiet = await register(
    { contact: "<sip:101@10.0.0.5:5062>", callId: "reg-2", extra: [`Path: ${EDGE_PATH}`] },
    "secret101",
    EDGE,
  );
  assert.equal(quiet.status, 200);
  assert.deepEqual(getHeaders(quiet, "Path"), []);
  assert.deepEqual((await registrar.lookup("acme", "101"))[0].path, [EDGE_PATH]);

  // A refresh that comes straight replaces the binding without a Path.
  const straight = await register({ contact: "<sip:101@10.0.0.5:5062>", callId: "reg-3" });
  assert.equal(straight.status, 200);
  assert.equal((await registrar.lookup("acme", "101"))[0].path, undefined);
});

test("Path from a source that is not allowed is ignored; a malformed or endless Path is 400 and changes nothing", async () => {
  const { register, registrar } = await setup({ acceptPath: (r) => r.address === EDGE.address });
  const direct = await register({
    contact: "<sip:101@192.0.2.10:5062>",
    extra: ["Path: <sip:203.0.113.66;lr>", "Supported: path"],
  });
  assert.equal(direct.status, 200);
  assert.deepEqual(getHeaders(direct, "Path"), []);
  assert.equal((await registrar.lookup("acme", "101"))[0].path, undefined);

  for (const bad of [
    ["Path: <mailto:x@example.com>"],
    ["Path: <sip:192.0.2.1;lr"],
    Array.from({ length: 9 }, (_, i) => `Path: <sip:192.0.2.${i + 1};lr>`),
  ]) {
    const res = await register(
      { contact: "<sip:101@10.0.0.9>", callId: `bad-${bad.length}`, extra: bad },
      "secret101",
      EDGE,
    );
    assert.equal(res.status, 400, bad.join(" / "));
  }
  assert.deepEqual(
    (await registrar.lookup("acme", "101")).map((b) => b.contact),
    ["sip:101@192.0.2.10:5062"],
  );
});

test("a company that requires encryption: a plain REGISTER gets 403 with the reason, one over TLS registers", async () => {
  const { register, registrar, store, lines } = await setup();
  await store.tenants.update("acme", { requireEncryption: true });
  const plain = await register({ contact: "<sip:101@192.0.2.10:5062>", expires: 600 });
  assert.equal(plain.status, 403);
  assert.match(plain.reason, /Encryption Required.*TLS/);
  assert.deepEqual(await registrar.lookup("acme", "101"), [], "nothing registered");
  assert.ok(lines.some((l) => l.msg === "plain register refused: the company requires encryption"));

  const tls: RemoteAddress = { transport: "TLS", address: "192.0.2.10", port: 40123 };
  const secure = await register(
    { contact: "<sip:101@192.0.2.10:5061;transport=tls>", expires: 600 },
    "secret101",
    tls,
  );
  assert.equal(secure.status, 200);
  assert.equal((await registrar.lookup("acme", "101"))[0].source.transport, "TLS");
});
