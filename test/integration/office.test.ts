// What a receptionist's phone does besides calling: picking up a colleague's
// ringing call (directed with a BLF key's `**<ext>`, or the group code
// `*8`) and chatting (SIP MESSAGE), on loopback with harness phones.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { getHeader } from "../../src/sip/message/index.ts";
import { correlate, sine } from "../harness/audio.ts";
import type { Call, SipPhone } from "../harness/sip-phone.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104"])
    await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  await pbx.addTenant("globex", "globex.test");
  await pbx.addExtension("globex", "102", "secret-g102-pw");
});

after(async () => {
  await pbx.stop();
});

afterEach(() => phones.cleanup());

async function talk(a: Call, b: Call): Promise<void> {
  const toneA = sine(500, 600);
  const toneB = sine(1100, 600);
  await Promise.all([a.playAudio(toneA), b.playAudio(toneB)]);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(correlate(b.receivedPcm(), toneA).score > 0.9, `${b.phone.user} hears ${a.phone.user}`);
  assert.ok(correlate(a.receivedPcm(), toneB).score > 0.9, `${a.phone.user} hears ${b.phone.user}`);
}

describe("call pickup", () => {
  test("**102 picks up the call ringing at 102; 102 stops ringing as completed elsewhere", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    bob.onIncomingCall = (c) => c.ring();
    const call = await alice.call("102");
    await call.waitFor(180);
    const ringing = await bob.waitForCall();
    const pick = await carol.call("**102");
    await pick.waitFor("answered");
    await call.waitFor("answered");
    assert.equal((await ringing.waitFor("ended")).reason, "cancel");
    const cancel = bob.requests.find((r) => r.method === "CANCEL");
    assert.match(getHeader(cancel!, "Reason") ?? "", /Call completed elsewhere/);
    assert.match(getHeader(call.finalResponse!, "P-Asserted-Identity") ?? "", /sip:103@acme\.test/);
    await talk(call, pick);
    await pick.bye();
    await call.waitFor("ended");
  });

  test("*8 picks up any call ringing in the company; with nothing ringing it says so", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const dave = await registered("104");
    bob.onIncomingCall = (c) => c.ring();
    const nothing = await dave.call("*8");
    assert.equal((await nothing.waitFor(480, 15000)).status, 480);
    const call = await alice.call("102");
    await call.waitFor(180);
    const pick = await dave.call("*8");
    await pick.waitFor("answered");
    await call.waitFor("answered");
    await talk(call, pick);
    await call.bye();
    await pick.waitFor("ended");
  });

  test("a call ringing in another company cannot be picked up", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.onIncomingCall = (c) => c.ring();
    const call = await alice.call("102");
    await call.waitFor(180);
    const stranger = await phones.registered("102", { domain: "globex.test", password: "secret-g102-pw" });
    const pick = await stranger.call("**102");
    assert.equal((await pick.waitFor(480, 15000)).status, 480);
    assert.equal(call.state, "ringing");
    await call.cancel();
  });

  test("*8 picks up only in the picker's pickup group: 103 in sales finds nothing, 104 (default) takes it", async () => {
    const sales = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/103", { pickupGroup: "sales" });
    assert.equal(sales.status, 200);
    try {
      const alice = await registered("101");
      const bob = await registered("102");
      const carol = await registered("103");
      const dave = await registered("104");
      bob.onIncomingCall = (c) => c.ring();
      const call = await alice.call("102");
      await call.waitFor(180);
      const ringing = await bob.waitForCall();
      const outside = await carol.call("*8");
      assert.equal((await outside.waitFor(480, 15000)).status, 480);
      assert.equal(call.state, "ringing", "the call still rings at 102");
      const pick = await dave.call("*8");
      await pick.waitFor("answered");
      await call.waitFor("answered");
      assert.equal((await ringing.waitFor("ended")).reason, "cancel");
      await talk(call, pick);
      await call.bye();
      await pick.waitFor("ended");
    } finally {
      await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/103", { pickupGroup: null });
    }
  });
});

/** A MESSAGE from `phone` to `to`, answering the PBX's challenge (a new CSeq each try, RFC 3261 §22.2). */
function message(phone: SipPhone, to: string, text: string, type = "text/plain") {
  const callId = `msg-${Math.random().toString(36).slice(2)}`;
  let seq = 0;
  return phone.request((extra) => ({
    type: "request",
    method: "MESSAGE",
    uri: { scheme: "sip", user: to, host: "acme.test", params: {}, headers: {} },
    headers: [
      phone.via(),
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: phone.fromHeader("m1") },
      { name: "To", value: `<sip:${to}@acme.test>` },
      { name: "Call-ID", value: callId },
      { name: "CSeq", value: `${++seq} MESSAGE` },
      ...extra,
      { name: "Content-Type", value: type },
    ],
    body: Buffer.from(text),
  }));
}

describe("SIP MESSAGE", () => {
  test("a message reaches every device of the colleague; 480 when none is registered, 404 elsewhere", async () => {
    const alice = await registered("101");
    const desk = await registered("102");
    const mobile = await registered("102");
    assert.equal((await message(alice, "102", "Lunch at noon?")).status, 200);
    for (const device of [desk, mobile]) {
      // Both devices answered before the PBX did: their MESSAGE is already in.
      const got = device.requests.find((r) => r.method === "MESSAGE");
      assert.ok(got, `${device.localPort} got the message`);
      assert.equal(got.body.toString(), "Lunch at noon?");
      assert.match(getHeader(got, "From") ?? "", /sip:101@acme\.test/);
    }
    assert.equal((await message(alice, "104", "hello?")).status, 480);
    assert.equal((await message(alice, "0791231212", "to the outside")).status, 404);
    assert.equal((await message(alice, "102", "x".repeat(5000))).status, 413);
    assert.equal((await message(alice, "102", "<b>", "application/x-unknown")).status, 415);
  });
});
