import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { dtmfTone } from "../dtmf/tone.ts";
import { MediaEndpoint } from "./endpoint.ts";
import { MediaClosedError } from "./errors.ts";
import { MediaPacer } from "./pacer.ts";
import { legWithPhone, speechLike, waitFor } from "./testing.ts";

async function setup(t: { after: (fn: () => void) => void }, telephoneEventPt: number | undefined = 101) {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock, "PCMU", 0, 101);
  t.after(() => s.cleanup());
  const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec: "PCMU", payloadType: 0, telephoneEventPt });
  t.after(() => ep.close());
  return { clock, pacer, ...s, ep };
}

test("barge-in: an RFC 4733 digit stops the prompt at once and stays queued for collect", async (t) => {
  const { clock, pacer, ep, phone, ...s } = await setup(t);
  const seen: string[] = [];
  ep.onDigit = (d) => seen.push(d);
  const prompt = ep.play([{ kind: "pcm", samples: speechLike(5000) }], { bargeIn: true });
  const next = ep.play([{ kind: "silence", ms: 2000 }], { bargeIn: true });
  await clock.advance(200);
  await phone.sendEvent("4");
  await waitFor(() => seen.length === 1);
  assert.equal(await prompt, "interrupted");
  // The queued barge-in prompt sees the type-ahead digit and does not play either.
  await clock.advance(20);
  assert.equal(await next, "interrupted");
  const sentBefore = ep.stats().packetsSent;
  await clock.advance(200);
  assert.equal(ep.stats().packetsSent, sentBefore, "nothing sent after the interruption");
  assert.equal(pacer.size, 0);
  // The one timer left is the leg's: its socket is connected to the phone, which just sent.
  assert.equal(s.leg.connected.rtp, true);
  assert.equal(clock.timerCount, 1);
  // Retransmitted end packets of the same event are not new digits.
  assert.deepEqual(seen, ["4"]);
  const r = await ep.collect({ max: 1, firstTimeoutMs: 5000, interTimeoutMs: 3000 });
  assert.deepEqual(r, { digits: "4", reason: "max" });
  // Without bargeIn the prompt plays on; the digit is still queued.
  const plain = ep.play([{ kind: "silence", ms: 200 }]);
  await phone.sendEvent("7");
  await waitFor(() => seen.length === 2);
  await clock.advance(240);
  assert.equal(await plain, "done");
  assert.equal(ep.queuedDigits, "7");
});

test("collect: type-ahead first, then terminator, max, first and inter-digit timeouts", async (t) => {
  const { clock, ep } = await setup(t);
  assert.equal(ep.pushDigit("1", "info"), true);
  assert.equal(ep.pushDigit("x", "info"), false);
  assert.equal(ep.pushDigit("22", "info"), false);
  ep.pushDigit("2", "info");
  const c1 = ep.collect({ max: 10, terminators: "#", firstTimeoutMs: 5000, interTimeoutMs: 3000 });
  clock.tick(2999);
  ep.pushDigit("3", "info");
  clock.tick(2999);
  ep.pushDigit("#", "info");
  assert.deepEqual(await c1, { digits: "123", reason: "terminator" });

  // Max reached from type-ahead alone; the rest stays queued.
  for (const d of "98765") ep.pushDigit(d, "info");
  assert.deepEqual(await ep.collect({ max: 3, firstTimeoutMs: 1, interTimeoutMs: 1 }), {
    digits: "987",
    reason: "max",
  });
  assert.equal(ep.queuedDigits, "65");
  assert.deepEqual(await ep.collect({ max: 2, firstTimeoutMs: 1, interTimeoutMs: 1 }), {
    digits: "65",
    reason: "max",
  });

  // First timeout: nothing typed.
  let done: unknown = null;
  ep.collect({ max: 4, firstTimeoutMs: 5000, interTimeoutMs: 2000 }).then((r) => (done = r));
  clock.tick(4999);
  await Promise.resolve();
  assert.equal(done, null);
  clock.tick(1);
  await Promise.resolve();
  assert.deepEqual(done, { digits: "", reason: "timeout" });

  // Inter-digit timeout restarts with each digit.
  done = null;
  ep.collect({ max: 4, firstTimeoutMs: 5000, interTimeoutMs: 2000 }).then((r) => (done = r));
  clock.tick(1000);
  ep.pushDigit("5", "info");
  clock.tick(1999);
  ep.pushDigit("a", "info");
  clock.tick(1999);
  await Promise.resolve();
  assert.equal(done, null);
  clock.tick(1);
  await Promise.resolve();
  assert.deepEqual(done, { digits: "5A", reason: "timeout" });
  assert.equal(clock.timerCount, 0);

  await assert.rejects(ep.collect({ max: 0, firstTimeoutMs: 1, interTimeoutMs: 1 }), RangeError);
  const pending = ep.collect({ max: 1, firstTimeoutMs: 1000, interTimeoutMs: 1000 });
  await assert.rejects(ep.collect({ max: 1, firstTimeoutMs: 1000, interTimeoutMs: 1000 }), /in progress/);
  ep.pushDigit("0", "info");
  assert.deepEqual(await pending, { digits: "0", reason: "max" });
});

test("in-band digits are detected from tones sent as PCMU, in order, mixed with RFC 4733 nowhere", async (t) => {
  const { ep, phone } = await setup(t, undefined);
  const seen: string[] = [];
  ep.onDigit = (d) => seen.push(d);
  const gap = new Int16Array(480);
  await phone.sendAudio(speechLike(300));
  for (const d of "159#") {
    await phone.sendAudio(dtmfTone(d, 100));
    await phone.sendAudio(gap);
  }
  await waitFor(() => seen.length === 4);
  assert.deepEqual(seen, ["1", "5", "9", "#"]);
  assert.equal(ep.queuedDigits, "159#");
});

test("in-band detection stops once RFC 4733 is seen (no doubles from phones that send both)", async (t) => {
  const { ep, phone } = await setup(t);
  const seen: string[] = [];
  ep.onDigit = (d) => seen.push(d);
  // In-band works while no event has been seen.
  await phone.sendAudio(dtmfTone("3", 100));
  await phone.sendAudio(new Int16Array(480));
  await waitFor(() => seen.length === 1);
  // A phone sending the event and the tone: counted once.
  await phone.sendEvent("8");
  await phone.sendAudio(dtmfTone("8", 100));
  await phone.sendAudio(new Int16Array(480));
  await waitFor(() => ep.stats().audioPacketsReceived >= 16);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ["3", "8"]);
});

test("close rejects pending play, collect and sendDigits with MediaClosedError and leaves no timer", async (t) => {
  const { clock, ep, leg } = await setup(t);
  const play = ep.play([{ kind: "silence", ms: 10000 }]);
  const queued = ep.play([{ kind: "silence", ms: 10000 }]);
  const digits = ep.sendDigits("123");
  const collect = ep.collect({ max: 4, firstTimeoutMs: 5000, interTimeoutMs: 5000 });
  await clock.advance(100);
  assert.ok(clock.timerCount > 0);
  ep.close("hangup");
  for (const p of [play, queued, digits, collect]) {
    await assert.rejects(p, (e: Error) => e instanceof MediaClosedError && /hangup/.test(e.message));
  }
  assert.equal(clock.timerCount, 0);
  assert.equal(leg.onPacket, null);
  assert.equal(leg.isClosed, false, "the leg stays open for a relay");
  await assert.rejects(ep.play([]), MediaClosedError);
  await assert.rejects(ep.collect({ max: 1, firstTimeoutMs: 1, interTimeoutMs: 1 }), MediaClosedError);
  await assert.rejects(ep.record({ path: "/tmp/x.wav", maxMs: 100 }), MediaClosedError);
  assert.equal(ep.pushDigit("1", "info"), false);
});
