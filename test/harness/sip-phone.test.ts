import assert from "node:assert/strict";
import { after, test } from "node:test";
import { correlate, detectDtmf, speechFrames, speechLike } from "./audio.ts";
import { SipPhone } from "./sip-phone.ts";

const phones: SipPhone[] = [];
after(async () => {
  for (const p of phones) await p.close();
});

/** Phone B listens on its own port; phone A's "server" is B, so A calls B directly (no PBX). */
async function pair(transport: "UDP" | "TCP" = "UDP") {
  const b = await SipPhone.create({
    user: "102",
    password: "x",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: 9 },
    transport,
  });
  const a = await SipPhone.create({
    user: "101",
    password: "x",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: b.localPort },
    transport,
    displayName: "Alice",
  });
  phones.push(a, b);
  return { a, b };
}

for (const transport of ["UDP", "TCP"] as const) {
  test(`two harness phones: ring, answer, audio both ways, RFC 4733, BYE (${transport})`, async () => {
    const { a, b } = await pair(transport);
    const call = await a.call(b.contactUri, { codecs: ["PCMA", "PCMU"] });
    const inc = await b.waitForCall();
    assert.equal(inc.dialled, "102");
    assert.match(inc.from, /Alice/);
    inc.ring();
    await call.waitFor(180);
    assert.equal(call.state, "ringing");
    await inc.answer();
    await call.waitFor("answered");
    await inc.waitForAck();
    // The answer keeps the offerer's first codec and telephone-event number.
    assert.equal(call.remoteMedia?.codec, "PCMA");
    assert.equal(call.remoteMedia?.dtmfPt, 101);
    assert.equal(inc.remoteMedia?.port, call.rtp.port);

    const speech = speechLike(1000);
    await Promise.all([call.playAudio(speech), inc.playAudio(speech)]);
    await call.sendRfc4733("12#", { durationMs: 60, gapMs: 40 });
    await inc.rtp.waitForPackets(50 + 3 * 6);
    await new Promise((r) => setTimeout(r, 60));
    const heardByB = inc.receivedPcm();
    const heardByA = call.receivedPcm();
    assert.ok(speechFrames(heardByB) > 20, "B hears speech");
    assert.ok(correlate(heardByB, speech).score > 0.95, "B hears what A sent (G.711 round trip)");
    assert.ok(correlate(heardByA, speech).score > 0.95, "A hears what B sent");
    assert.equal(inc.receivedDigits(), "12#");
    const events = inc.rtp.receivedEvents();
    assert.ok(
      events.every((e) => e.ended && e.duration === 480),
      JSON.stringify(events),
    );
    assert.ok(
      inc.received.every((p) => p.from.port === call.rtp.port),
      "RTP comes from the advertised port",
    );

    await call.sendInfoDigit("5");
    await call.sendInfoDigit("*", "dtmf");
    assert.equal(inc.infoDigits, "5*");

    const bye = await call.bye();
    assert.equal(bye.status, 200);
    const end = await inc.waitFor("ended");
    assert.deepEqual([end.by, end.reason], ["remote", "bye"]);
  });
}

test("hold and resume by re-INVITE, BYE from the callee", async () => {
  const { a, b } = await pair();
  b.autoAnswer();
  const call = await a.call(b.contactUri);
  await call.waitFor("answered");
  const inc = await b.waitForCall();
  const held = await call.hold();
  assert.equal(held.status, 200);
  assert.equal(call.remoteMedia?.direction, "recvonly");
  assert.equal(inc.remoteMedia?.direction, "sendonly");
  await call.resume();
  assert.equal(call.remoteMedia?.direction, "sendrecv");
  await inc.bye();
  const end = await call.waitFor("ended");
  assert.equal(end.by, "remote");
});

test("in-band DTMF is encoded as tone pairs the other side can detect", async () => {
  const { a, b } = await pair();
  b.autoAnswer({ codecs: ["PCMU"] });
  const call = await a.call(b.contactUri);
  await call.waitFor("answered");
  const inc = await b.waitForCall();
  await call.sendInband("159#", { durationMs: 80, gapMs: 80 });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(detectDtmf(inc.receivedPcm()), "159#");
  await call.bye();
});

test("reject, busy and cancel end the call with the right cause", async () => {
  const { a, b } = await pair();
  b.autoAnswer({ status: 486 });
  const busy = await a.call(b.contactUri);
  await assert.rejects(busy.waitFor("answered"), /486 Busy Here/);
  assert.equal((await busy.ended).reason, "rejected");
  assert.equal(busy.finalResponse?.status, 486);

  b.onIncomingCall = (inc) => inc.ring();
  const ringing = await a.call(b.contactUri);
  await ringing.waitFor("ringing");
  const cancelled = await ringing.cancel();
  assert.equal(cancelled.status, 200);
  const end = await ringing.waitFor("ended");
  assert.deepEqual([end.by, end.reason, end.status], ["local", "cancel", 487]);
  const inc = b.incomingCalls[b.incomingCalls.length - 1];
  assert.equal((await inc.ended).reason, "cancel");
});

test("waits time out with what was expected and what came", async () => {
  const { a, b } = await pair();
  b.onIncomingCall = (inc) => inc.ring();
  const call = await a.call(b.contactUri);
  await assert.rejects(call.waitFor("answered", 300), (e: Error) => {
    assert.match(e.message, /expected answered within 300 ms/);
    assert.match(e.message, /180 Ringing/);
    return true;
  });
  await assert.rejects(a.waitForCall(100), /expected an incoming INVITE/);
});

test("a retransmitted INVITE gets the same response, and garbage is ignored", async () => {
  const { a, b } = await pair();
  b.autoAnswer();
  const call = await a.call(b.contactUri);
  await call.waitFor("answered");
  const invite = a.trace.find((t) => t.dir === "out" && t.text.startsWith("INVITE"))!;
  const before = b.trace.filter((t) => t.dir === "out" && t.text.startsWith("SIP/2.0 200")).length;
  await a.sendRaw(invite.text);
  await a.sendRaw("this is not SIP\r\n\r\n");
  await new Promise((r) => setTimeout(r, 100));
  const after200 = b.trace.filter((t) => t.dir === "out" && t.text.startsWith("SIP/2.0 200")).length;
  assert.equal(after200, before + 1);
  assert.equal(b.incomingCalls.length, 1);
  assert.ok(b.errors.length >= 1, "parse error recorded");
  await call.bye();
});
