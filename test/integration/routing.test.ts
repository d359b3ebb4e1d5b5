// Calls that go anywhere, on loopback: harness phones of the company and a
// harness carrier (a SIP endpoint on 127.0.0.2, the trunk's address) place
// and take calls through a whole vpbx: outgoing calls and DIDs through the
// trunk, every kind of forwarding (to the carrier with Diversion, to phones
// with History-Info), blind and attended transfers, a phone's 302, call
// waiting, and the dialling policy.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { getHeader, getHeaders } from "../../src/sip/message/index.ts";
import { correlate, sine, speechFrames } from "../harness/audio.ts";
import { type Call, type IncomingCall, SipPhone } from "../harness/sip-phone.ts";
import { addCarrier } from "../support/carrier.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
let carrier: SipPhone;
const MAIN = "+41215550100";

const registered = (user: string) => phones.registered(user);

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104"])
    await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  carrier = await addCarrier(pbx);
  const did = await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
    number: MAIN,
    destination: { type: "extension", number: "101" },
  });
  assert.equal(did.status, 201, JSON.stringify(did.body));
});

after(async () => {
  await carrier.close();
  await pbx.stop();
});

afterEach(async () => {
  carrier.onIncomingCall = undefined;
  await pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
    unconditional: null,
    busy: null,
    noAnswer: null,
    unreachable: null,
  });
  await phones.cleanup();
});

/** Both sides hear each other through the PBX. */
async function talk(a: Call, b: Call): Promise<void> {
  const toneA = sine(500, 600);
  const toneB = sine(1100, 600);
  await Promise.all([a.playAudio(toneA), b.playAudio(toneB)]);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(correlate(b.receivedPcm(), toneA).score > 0.9, `${b.phone.user} hears ${a.phone.user}`);
  assert.ok(correlate(a.receivedPcm(), toneB).score > 0.9, `${a.phone.user} hears ${b.phone.user}`);
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("the trunk", () => {
  test("an outgoing call leaves through the trunk in E.164 with the company's caller ID, audio both ways", async () => {
    const alice = await registered("101");
    carrier.autoAnswer();
    const call = await alice.call("079 123 12 12".replace(/ /g, ""));
    await call.waitFor("answered");
    const out = await carrier.waitForCall();
    assert.equal(out.request.uri.user, "+41791231212");
    assert.match(getHeader(out.request, "From") ?? "", new RegExp(`sip:\\${MAIN}@`));
    assert.match(getHeader(out.request, "P-Asserted-Identity") ?? "", new RegExp(`\\${MAIN}`));
    await out.waitForAck();
    await talk(call, out);
    await call.bye();
    await out.waitFor("ended");
  });

  test("a call to the company's number (DID) rings its extension, in E.164 or national form", async () => {
    const alice = await registered("101");
    alice.autoAnswer();
    const call = await carrier.call(`${MAIN}@127.0.0.1`);
    await call.waitFor("answered");
    const incoming = await alice.waitForCall();
    assert.match(getHeader(incoming.request, "From") ?? "", /\+41449998877/);
    await talk(call, incoming);
    await call.bye();

    const national = await carrier.call("0215550100@127.0.0.1");
    await national.waitFor("answered");
    await national.bye();
  });

  test("a DID of nobody gets 404, and a phone-less INVITE to a DID from elsewhere is challenged", async () => {
    const unknown = await carrier.call("+41215559999@127.0.0.1");
    assert.equal((await unknown.waitFor(404)).status, 404);
    const stranger = await phones.phone("mallory", { localAddress: "127.0.0.5" });
    const call = await stranger.call(`${MAIN}@127.0.0.1`);
    const res = await call.waitFor(407).catch(() => call.finalResponse);
    assert.ok(res && (res.status === 407 || res.status === 403 || res.status === 401), `got ${res?.status}`);
  });
});

describe("a carrier that wants credentials", () => {
  test("a registering trunk registers with digest at once, and an INVITE challenged with 401 is answered", async () => {
    const registrar = await SipPhone.create({
      user: "acme-trunk",
      password: "carrier-secret-9",
      domain: "carrier.test",
      server: pbx.sip,
      localAddress: "127.0.0.3",
    });
    try {
      registrar.requireAuth = { realm: "carrier.test", password: "carrier-secret-9", status: 401 };
      const created = await pbx.api("POST", "/api/v1/trunks", {
        name: "secure",
        host: "127.0.0.3",
        port: registrar.localPort,
        transport: "udp",
        username: "acme-trunk",
        password: "carrier-secret-9",
        register: true,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await waitUntil(async () => {
        const t = await pbx.api<{ registration?: { state: string } }>("GET", "/api/v1/trunks/secure");
        return t.body.registration?.state === "registered";
      });
      assert.ok(registrar.authenticated.some((a) => a.method === "REGISTER" && a.username === "acme-trunk"));
      assert.match(registrar.registrations[0]?.aor ?? "", /sip:acme-trunk@127\.0\.0\.3/);

      assert.equal((await pbx.api("PATCH", "/api/v1/tenants/acme", { trunk: "secure" })).status, 200);
      const alice = await registered("101");
      registrar.autoAnswer();
      const call = await alice.call("0791231212");
      await call.waitFor("answered");
      assert.ok(
        registrar.authenticated.some((a) => a.method === "INVITE"),
        "the INVITE was authenticated",
      );
      await call.bye();
    } finally {
      await pbx.api("PATCH", "/api/v1/tenants/acme", { trunk: null });
      await pbx.api("DELETE", "/api/v1/trunks/secure");
      await registrar.close();
    }
  });
});

describe("forwarding", () => {
  test("unconditional to a mobile reaches the carrier with the original caller and a Diversion header", async () => {
    const set = await pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
      unconditional: "0791231212",
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    carrier.onIncomingCall = (c) => void c.answer();
    const call = await carrier.call(`${MAIN}@127.0.0.1`);
    await call.waitFor("answered");
    const forwarded = carrier.incomingCalls.at(-1)!;
    assert.equal(forwarded.request.uri.user, "+41791231212");
    assert.match(getHeader(forwarded.request, "From") ?? "", /\+41449998877/);
    const diversion = getHeaders(forwarded.request, "Diversion").join(",");
    assert.match(diversion, new RegExp(`\\${MAIN}.*reason=unconditional`));
    await call.bye();
  });

  test("busy (declined) and unreachable each go to their own target; phones see History-Info", async () => {
    const alice = await registered("102");
    const bob = await registered("101");
    const carol = await registered("103");
    carol.autoAnswer();
    const put = (body: object) => pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", body);

    assert.equal((await put({ busy: "103" })).status, 200);
    bob.autoAnswer({ status: 486 });
    const busy = await alice.call("101");
    await busy.waitFor("answered");
    const atCarol = await carol.waitForCall();
    assert.match(
      getHeader(atCarol.request, "History-Info") ?? "",
      /sip:101@acme\.test\?Reason=SIP%3Bcause%3D486.*sip:103@acme\.test/,
    );
    await busy.bye();

    await bob.unregister();
    assert.equal((await put({ busy: null, unreachable: "103" })).status, 200);
    const unreachable = await alice.call("101");
    await unreachable.waitFor("answered");
    assert.equal(carol.incomingCalls.length, 2);
    await unreachable.bye();
  });

  test("forwarding is refused when it would loop back, and changes are in the audit log", async () => {
    assert.equal(
      (await pbx.api("PUT", "/api/v1/tenants/acme/extensions/102/forwarding", { unconditional: "101" }))
        .status,
      200,
    );
    const loop = await pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
      unconditional: "102",
    });
    assert.equal(loop.status, 400);
    const audit = await pbx.api<Array<{ action: string; subject: string }>>(
      "GET",
      "/api/v1/tenants/acme/audit",
    );
    assert.ok(audit.body.some((e) => e.action === "forwarding.set" && e.subject === "102/unconditional"));
    await pbx.api("PUT", "/api/v1/tenants/acme/extensions/102/forwarding", { unconditional: null });
  });
});

describe("what office phones do", () => {
  test("blind transfer: 102 hands 101 to 103 with REFER; NOTIFY says how it went", async () => {
    const { call, incoming } = await phones.answeredCall("101", "102");
    const carol = await registered("103");
    carol.autoAnswer();
    const refer = await incoming.sendRequest("REFER", { headers: { "Refer-To": "<sip:103@acme.test>" } });
    assert.equal(refer.status, 202);
    const atCarol = await carol.waitForCall();
    await atCarol.waitForAck();
    await waitUntil(() =>
      incoming.inDialogRequests.some((r) => r.method === "NOTIFY" && /SIP\/2\.0 200/.test(r.body.toString())),
    );
    await talk(call, atCarol);
    // Like real phones, the transferor leaves after the final NOTIFY (timers.test.ts: or is hung up).
    assert.equal((await incoming.bye()).status, 200);
    await call.bye();
    await atCarol.waitFor("ended");
  });

  test("blind transfer from the caller's side, and a transfer to a refused number", async () => {
    const { call, incoming: atBob } = await phones.answeredCall("101", "102");
    const carol = await registered("103");
    carol.autoAnswer();
    assert.equal(
      (await call.sendRequest("REFER", { headers: { "Refer-To": "<sip:103@acme.test>" } })).status,
      202,
    );
    const atCarol = await carol.waitForCall();
    await atCarol.waitForAck();
    await talk(atBob, atCarol);
    await waitUntil(() =>
      call.inDialogRequests.some((r) => r.method === "NOTIFY" && /SIP\/2\.0 200/.test(r.body.toString())),
    );
    assert.equal((await call.bye()).status, 200);

    // 102 now transfers 103 to a premium-rate number: the company's policy refuses it.
    const before = carrier.incomingCalls.length;
    assert.equal(
      (await atBob.sendRequest("REFER", { headers: { "Refer-To": "<sip:0900123456@acme.test>" } })).status,
      202,
    );
    await waitUntil(
      () =>
        atBob.inDialogRequests.some((r) => r.method === "NOTIFY" && /SIP\/2\.0 403/.test(r.body.toString())),
      10000,
    );
    assert.equal(carrier.incomingCalls.length, before, "nothing reached the carrier");
    // RFC 5589 §6.1: the transferor keeps its call.
    assert.equal(atBob.state, "answered");
    await talk(atBob, atCarol);
    await atBob.bye();
    await atCarol.waitFor("ended");
  });

  test("blind transfer of a carrier's call to another extension", async () => {
    const alice = await registered("101");
    const carol = await registered("103");
    alice.autoAnswer();
    carol.autoAnswer();
    const call = await carrier.call(`${MAIN}@127.0.0.1`);
    await call.waitFor("answered");
    const atAlice = await alice.waitForCall();
    await atAlice.waitForAck();
    assert.equal(
      (await atAlice.sendRequest("REFER", { headers: { "Refer-To": "<sip:103@acme.test>" } })).status,
      202,
    );
    const atCarol = await carol.waitForCall();
    await atCarol.waitForAck();
    await atAlice.bye().catch(() => undefined);
    await talk(call, atCarol);
    await call.bye();
  });

  test("attended transfer: 101 joins its two calls (REFER with Replaces)", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    bob.autoAnswer();
    carol.autoAnswer();
    const first = await alice.call("102");
    await first.waitFor("answered");
    const atBob = await bob.waitForCall();
    await first.hold();
    const second = await alice.call("103");
    await second.waitFor("answered");
    const atCarol = await carol.waitForCall();
    await atCarol.waitForAck();
    const replaces = encodeURIComponent(
      `${second.callId};to-tag=${second.remoteTag};from-tag=${second.localTag}`,
    );
    const refer = await first.sendRequest("REFER", {
      headers: { "Refer-To": `<sip:103@acme.test?Replaces=${replaces}>` },
    });
    assert.equal(refer.status, 202);
    await waitUntil(() =>
      first.inDialogRequests.some((r) => r.method === "NOTIFY" && /SIP\/2\.0 200/.test(r.body.toString())),
    );
    await second.waitFor("ended");
    await talk(atBob, atCarol);
    await atBob.bye();
    await atCarol.waitFor("ended");
  });

  test("a phone cannot take over another phone's call with a forged Replaces", async () => {
    const { call: victim, incoming: atBob } = await phones.answeredCall("101", "102");
    const { call: mallory } = await phones.answeredCall("104", "103");
    const replaces = encodeURIComponent(
      `${victim.callId};to-tag=${victim.remoteTag};from-tag=${victim.localTag}`,
    );
    const refer = await mallory.sendRequest("REFER", {
      headers: { "Refer-To": `<sip:102@acme.test?Replaces=${replaces}>` },
    });
    assert.equal(refer.status, 202);
    await waitUntil(() =>
      mallory.inDialogRequests.some((r) => r.method === "NOTIFY" && /SIP\/2\.0 481/.test(r.body.toString())),
    );
    assert.equal(victim.state, "answered");
    await talk(victim, atBob);
    await victim.bye();
    await mallory.bye();
  });

  test("a phone's 302 is followed to the Contact", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    bob.onIncomingCall = (c) => c.reject(302, "Moved Temporarily", { Contact: "<sip:103@acme.test>" });
    carol.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    assert.equal(carol.incomingCalls.length, 1);
    await call.bye();
  });

  test("call waiting: with it on a second call rings the busy phone; off, it is busy", async () => {
    const { call, to: bob } = await phones.answeredCall("101", "102");
    const carol = await registered("103");
    const busy = await carol.call("102");
    assert.equal((await busy.waitFor(486, 10000)).status, 486);

    assert.equal(
      (await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { callWaiting: true })).status,
      200,
    );
    bob.onIncomingCall = (c: IncomingCall) => c.ring();
    const waiting = await carol.call("102");
    await waiting.waitFor(180);
    await waiting.cancel();
    await call.bye();
    await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { callWaiting: false });
  });

  test("a call that fails for a known reason says why in early media before the status", async () => {
    const { call } = await phones.answeredCall("101", "102");
    const carol = await registered("103");
    const busy = await carol.call("102");
    const early = await busy.waitFor(183, 10000);
    assert.match(early.body.toString(), /m=audio/);
    assert.equal((await busy.waitFor(486, 15000)).status, 486);
    assert.ok(speechFrames(busy.receivedPcm()) > 20, "the busy announcement was spoken");
    await call.bye();
  });

  test("the answer names who answered, and other devices are cancelled as completed elsewhere", async () => {
    const alice = await registered("101");
    const desk = await registered("102");
    const mobile = await registered("102");
    desk.onIncomingCall = (c) => c.ring();
    mobile.autoAnswer({ afterMs: 100 });
    const call = await alice.call("102");
    const ok = await call.waitFor(200);
    assert.match(getHeader(ok, "P-Asserted-Identity") ?? "", /^"?Ext 102"? <sip:102@acme\.test>$/);
    const deskCall = await desk.waitForCall();
    await deskCall.waitFor("ended");
    const cancel = desk.requests.find((r) => r.method === "CANCEL");
    assert.match(getHeader(cancel!, "Reason") ?? "", /cause=200;text="Call completed elsewhere"/);
    await call.bye();
  });
});

describe("the dialling policy", () => {
  test("premium-rate, personal and international numbers are refused with 403 until the provider allows them", async () => {
    const alice = await registered("101");
    carrier.autoAnswer();
    const before = carrier.incomingCalls.length;
    for (const number of ["0900123456", "0878123456", "0033612345678"]) {
      const call = await alice.call(number);
      assert.equal((await call.waitFor(403, 10000)).status, 403, number);
    }
    assert.equal(carrier.incomingCalls.length, before, "nothing reached the carrier");
    const allow = await pbx.api("PATCH", "/api/v1/tenants/acme/policy", { international: true });
    assert.equal(allow.status, 200);
    const abroad = await alice.call("0033612345678");
    await abroad.waitFor("answered");
    assert.equal(carrier.incomingCalls.at(-1)!.request.uri.user, "+33612345678");
    await abroad.bye();
    await pbx.api("PATCH", "/api/v1/tenants/acme/policy", { international: false });
  });

  test("the company's cap of outside calls", async () => {
    await pbx.api("PATCH", "/api/v1/tenants/acme/policy", { maxExternalCalls: 1 });
    const alice = await registered("101");
    const bob = await registered("102");
    carrier.autoAnswer();
    const first = await alice.call("0791231212");
    await first.waitFor("answered");
    const second = await bob.call("0791231213");
    assert.equal((await second.waitFor(403, 10000)).status, 403);
    await first.bye();
    await pbx.api("PATCH", "/api/v1/tenants/acme/policy", { maxExternalCalls: 4 });
  });
});
