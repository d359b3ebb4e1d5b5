// Real calls on loopback: harness phones register to a whole vpbx and call
// each other; the PBX anchors the audio, forks, relays CANCEL, BYE and
// re-INVITE, applies forwarding, and keeps tenants apart.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { getHeader } from "../../src/sip/message/index.ts";
import { correlate, sine, speechFrames } from "../harness/audio.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);

function phone(user: string, password?: string, domain?: string, localAddress?: string): Promise<SipPhone> {
  return phones.phone(user, { password, domain, localAddress });
}

function registered(user: string, password?: string, domain?: string): Promise<SipPhone> {
  return phones.registered(user, { password, domain });
}

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  await pbx.addTenant("globex", "globex.test");
  await pbx.addExtension("globex", "101", "secret-g101-pw");
});

after(async () => {
  await pbx.stop();
});

afterEach(() => phones.cleanup());

describe("registration", () => {
  test("a phone registers with digest and is listed by the API", async () => {
    const alice = await phone("101");
    const res = await alice.register({ expires: 300 });
    assert.equal(res.status, 200);
    const contacts = res.headers.filter((h) => h.name === "Contact").map((h) => h.value);
    assert.equal(contacts.length, 1);
    assert.match(contacts[0]!, /expires=(29\d|300)/);
    const listed = await pbx.api<Array<{ extension: string }>>("GET", "/api/v1/tenants/acme/registrations");
    assert.equal(listed.status, 200);
    assert.ok(listed.body.some((r) => r.extension === "101"));
    await alice.unregister();
  });

  test("a wrong password and an unknown user get the same answer", async () => {
    // From their own address: failed attempts count against the source address (rate limiting).
    const wrong = await phone("101", "not-the-password", "acme.test", "127.0.0.9");
    const unknown = await phone("199", "whatever-pass", "acme.test", "127.0.0.9");
    const a = await wrong.register();
    const b = await unknown.register();
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    const shape = (r: typeof a) =>
      r.headers
        .map((h) => h.name)
        .filter((n) => n !== "Via")
        .join(",");
    assert.equal(shape(a), shape(b));
  });
});

describe("calls between extensions", () => {
  test("101 calls 102: ringing, answer, audio both ways through the PBX, BYE ends both legs", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer({ afterMs: 50 });
    const call = await alice.call("102");
    await call.waitFor("ringing");
    await call.waitFor("answered");
    const incoming = await bob.waitForCall();
    assert.equal(incoming.dialled, "102");
    // The PBX anchors the media: both phones talk to a port of the PBX, not to each other.
    assert.equal(call.remoteMedia?.address, "127.0.0.1");
    assert.notEqual(call.remoteMedia?.port, incoming.rtp.port);

    const toneA = sine(440, 600);
    const toneB = sine(1200, 600);
    await Promise.all([call.playAudio(toneA), incoming.playAudio(toneB)]);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(correlate(incoming.receivedPcm(), toneA).score > 0.9, "bob hears alice");
    assert.ok(correlate(call.receivedPcm(), toneB).score > 0.9, "alice hears bob");

    const views = await pbx.api<Array<{ state: string; from: string; to: string }>>("GET", "/api/v1/calls");
    assert.deepEqual(
      views.body.map((c) => [c.from, c.to, c.state]),
      [["101", "102", "answered"]],
    );

    await call.bye();
    const end = await incoming.waitFor("ended");
    assert.equal(end.by, "remote");
    assert.equal(end.reason, "bye");
    await waitUntil(async () => (await pbx.api<unknown[]>("GET", "/api/v1/calls")).body.length === 0);
  });

  test("the callee hanging up ends the caller's leg", async () => {
    const { call, incoming } = await phones.answeredCall("101", "102");
    await incoming.bye();
    const end = await call.waitFor("ended");
    assert.equal(end.reason, "bye");
  });

  test("a declining callee gives the caller 486 Busy Here", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer({ status: 603 });
    const call = await alice.call("102");
    const res = await call.waitFor(486);
    assert.equal(res.status, 486);
  });

  test("an extension in a call is busy for a second caller", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    bob.autoAnswer();
    const first = await alice.call("102");
    await first.waitFor("answered");
    const second = await carol.call("102");
    assert.equal((await second.waitFor(486)).status, 486);
    await first.bye();
  });

  test("unknown number: 404; extension with no phone registered: 480", async () => {
    const alice = await registered("101");
    assert.equal((await (await alice.call("999")).waitFor(404)).status, 404);
    assert.equal((await (await alice.call("104")).waitFor(480)).status, 480);
  });

  test("an offer with no codec the PBX relays is refused with 488 and rings nobody", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer();
    const g729only = [
      "v=0",
      "o=- 1 1 IN IP4 127.0.0.1",
      "s=-",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      "m=audio 40000 RTP/AVP 18",
      "a=rtpmap:18 G729/8000",
      "",
    ].join("\r\n");
    const call = await alice.call("102", { sdp: g729only });
    assert.equal((await call.waitFor(488)).status, 488);
    assert.equal(bob.incomingCalls.length, 0);
  });

  test("an INVITE without credentials is challenged with 407", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    assert.ok(alice.trace.some((t) => t.dir === "in" && t.text.startsWith("SIP/2.0 407")));
    await call.bye();
  });

  test("calls never cross tenants", async () => {
    const globex = await registered("101", "secret-g101-pw", "globex.test");
    const acmeBob = await registered("102");
    acmeBob.autoAnswer();
    const call = await globex.call("102");
    assert.equal((await call.waitFor(404)).status, 404);
    assert.equal(acmeBob.incomingCalls.length, 0);
  });

  test("the caller cancelling stops the callee ringing (CANCEL relayed, 487)", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.onIncomingCall = (c) => c.ring();
    const call = await alice.call("102");
    await call.waitFor(180);
    const incoming = await bob.waitForCall();
    await call.cancel();
    assert.equal((await call.waitFor(487)).status, 487);
    const end = await incoming.waitFor("ended");
    assert.equal(end.reason, "cancel");
  });

  test("two devices of one extension ring together; the first to answer wins, the other is cancelled", async () => {
    const alice = await registered("101");
    const desk = await registered("102");
    const mobile = await registered("102");
    desk.onIncomingCall = (c) => c.ring();
    mobile.autoAnswer({ afterMs: 100 });
    const call = await alice.call("102");
    await call.waitFor("answered");
    const deskCall = await desk.waitForCall();
    const end = await deskCall.waitFor("ended");
    assert.equal(end.reason, "cancel");
    assert.equal(mobile.incomingCalls.length, 1);
    await call.bye();
  });

  test("hold and resume are relayed as re-INVITEs with the direction", async () => {
    const { call, incoming } = await phones.answeredCall("101", "102");
    await call.hold();
    const reinvite = incoming.inDialogRequests.find((r) => r.method === "INVITE");
    assert.ok(reinvite, "bob got the re-INVITE");
    assert.match(reinvite.body.toString(), /a=sendonly/);
    assert.equal(call.remoteMedia?.direction, "recvonly");
    await call.resume();
    const last = incoming.inDialogRequests.filter((r) => r.method === "INVITE").at(-1)!;
    assert.match(last.body.toString(), /a=sendrecv/);
    await call.bye();
  });
});

describe("forwarding", () => {
  test("*72 + an extension forwards every call there, *73 cancels it", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    const code = await bob.call("*72103");
    await code.waitFor("answered");
    await code.waitFor("ended", 20000);
    assert.ok(speechFrames(code.receivedPcm()) > 20, "the confirmation was spoken");

    carol.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    assert.equal(carol.incomingCalls.length, 1);
    assert.equal(bob.incomingCalls.length, 0);
    await call.bye();

    const cancel = await bob.call("*73");
    await cancel.waitFor("ended", 20000);
    bob.autoAnswer();
    const again = await alice.call("102");
    await again.waitFor("answered");
    assert.equal(bob.incomingCalls.length, 1);
    await again.bye();
  });

  test("busy forwarding: a declined call goes to the *90 target", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    const carol = await registered("103");
    const code = await bob.call("*90103");
    await code.waitFor("ended", 20000);
    bob.autoAnswer({ status: 486 });
    carol.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    assert.equal(carol.incomingCalls.length, 1);
    await call.bye();
    await (await bob.call("*91")).waitFor("ended", 20000);
  });
});

describe("persistence", () => {
  test("bindings survive a restart of the PBX", async () => {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer();
    pbx = await pbx.restart();
    const call = await alice.call("102");
    await call.waitFor("answered");
    assert.equal(bob.incomingCalls.length, 1);
    assert.ok(getHeader(bob.incomingCalls[0]!.request, "Call-ID"));
    await call.bye();
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
