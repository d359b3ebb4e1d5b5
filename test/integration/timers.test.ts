// Timers of a call, on the PBX's injected clock: the ring timeout and the
// media timeout are tested by moving the clock, never by sleeping through
// them. The phones are real (real sockets, real SIP); only the PBX's sense
// of time is the test's.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { FakeClock } from "../../src/util/clock.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const clock = new FakeClock(Date.now());
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);

before(async () => {
  pbx = await startTestPbx({ clock, mediaTimeoutSeconds: 60 });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  const set = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { ringTimeoutSeconds: 20 });
  assert.equal(set.status, 200);
});

after(async () => {
  await pbx.stop();
});

afterEach(() => phones.cleanup());

/** Lets real sockets deliver what the PBX sent, between clock moves. */
const io = () => new Promise((r) => setTimeout(r, 30));

/** Moves the PBX's clock in steps, letting the network catch up after each. */
async function pass(ms: number, step = 1000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await clock.advance(Math.min(step, ms - done));
    await io();
  }
}

test("a call nobody answers rings for the extension's ring timeout, then the caller gets 480", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  bob.onIncomingCall = (c) => c.ring();
  const call = await alice.call("102");
  await call.waitFor(180);
  const ringing = await bob.waitForCall();
  await pass(19_000);
  assert.equal(call.finalResponse, undefined, "still ringing before the timeout");
  await pass(2_000);
  const res = await call.waitFor(480);
  assert.equal(res.status, 480);
  assert.equal((await ringing.waitFor("ended")).reason, "cancel");
});

test("a call whose RTP stops is hung up after the media timeout, but not while on hold", async () => {
  const { call, incoming } = await phones.answeredCall("101", "102");
  // Some audio first, so that both sides have latched.
  call.startSendingTone(440);
  incoming.startSendingTone(880);
  await new Promise((r) => setTimeout(r, 200));
  call.stopSending();
  incoming.stopSending();

  await call.hold();
  await pass(90_000, 5000);
  assert.equal(call.state, "answered", "a call on hold has no media timeout");
  await call.resume();

  await pass(65_000, 5000);
  assert.equal((await call.waitFor("ended")).reason, "bye");
  assert.equal((await incoming.waitFor("ended")).reason, "bye");
  const calls = await pbx.api<unknown[]>("GET", "/api/v1/calls");
  assert.deepEqual(calls.body, []);
});

test("forward on no answer: the call rings for noAnswerSeconds, then goes to the target", async () => {
  const put = (body: object) => pbx.api("PUT", "/api/v1/tenants/acme/extensions/102/forwarding", body);
  assert.equal((await put({ noAnswer: "103", noAnswerSeconds: 10 })).status, 200);
  const alice = await registered("101");
  const bob = await registered("102");
  const carol = await registered("103");
  bob.onIncomingCall = (c) => c.ring();
  carol.autoAnswer();
  const call = await alice.call("102");
  await call.waitFor(180);
  const ringing = await bob.waitForCall();
  await pass(9_000);
  assert.equal(carol.incomingCalls.length, 0, "still ringing 102 before noAnswerSeconds");
  await pass(2_000);
  await call.waitFor("answered");
  assert.equal((await ringing.waitFor("ended")).reason, "cancel");
  assert.match(
    carol.incomingCalls[0]!.request.headers.find((h) => h.name === "History-Info")?.value ?? "",
    /cause%3D408/,
  );
  await call.bye();
  await put({ noAnswer: null });
});

test("a transferor that does not hang up after the final NOTIFY is hung up by the PBX", async () => {
  const { call, incoming } = await phones.answeredCall("101", "102");
  const carol = await registered("103");
  carol.autoAnswer();
  const refer = await incoming.sendRequest("REFER", { headers: { "Refer-To": "<sip:103@acme.test>" } });
  assert.equal(refer.status, 202);
  const atCarol = await carol.waitForCall();
  await atCarol.waitForAck();
  await io();
  assert.equal(incoming.state, "answered");
  await pass(5_000);
  assert.equal((await incoming.waitFor("ended")).reason, "bye");
  assert.equal(call.state, "answered", "the transferee stays with the target");
  await call.bye();
});

test("no answer within the ring timeout goes to the mailbox when it takes messages", async () => {
  assert.equal((await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true })).status, 200);
  const mailbox = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", {
    voicemail: { enabled: true, pin: "4826" },
  });
  assert.equal(mailbox.status, 200, JSON.stringify(mailbox.body));
  try {
    const alice = await registered("101");
    const bob = await registered("102");
    bob.onIncomingCall = (c) => c.ring();
    const call = await alice.call("102");
    await call.waitFor(180);
    const ringing = await bob.waitForCall();
    await pass(19_000);
    assert.equal(call.state, "ringing", "still ringing before the timeout");
    await pass(2_000);
    await call.waitFor("answered");
    assert.equal((await ringing.waitFor("ended")).reason, "cancel");
    // The greeting plays on the PBX's clock.
    await pass(2_000, 100);
    assert.ok(call.received.length > 10, `the greeting is heard (${call.received.length} packets)`);
    await call.bye();
  } finally {
    await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { voicemail: { enabled: false } });
    await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: false });
  }
});
