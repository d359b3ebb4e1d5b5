import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { readWav } from "../codec/wav.ts";
import { InbandDtmfDetector } from "../dtmf/goertzel.ts";
import { dtmfTone } from "../dtmf/tone.ts";
import { MediaEndpoint } from "./endpoint.ts";
import { MediaPacer } from "./pacer.ts";
import { legWithPhone, rms, roundTrip, speechLike, waitFor } from "./testing.ts";

async function setup(t: { after: (fn: () => void) => void }, telephoneEventPt: number | undefined = 101) {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock, "PCMU", 0, 101);
  const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec: "PCMU", payloadType: 0, telephoneEventPt });
  const dir = mkdtempSync(join(tmpdir(), "vpbx-rec-"));
  t.after(() => {
    ep.close();
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  return { clock, pacer, ...s, ep, dir };
}

test("record: speech then # (RFC 4733) → complete file, no .tmp, 200 ms key press trimmed", async (t) => {
  const { ep, phone, dir } = await setup(t);
  const path = join(dir, "msg.wav");
  const rec = ep.record({ path, maxMs: 60000 });
  const speech = speechLike(1000);
  await phone.sendAudio(speech);
  await waitFor(() => ep.stats().audioPacketsReceived === 50);
  await phone.sendEvent("#");
  const r = await rec;
  assert.deepEqual(r, { path, durationMs: 800, reason: "terminator", terminator: "#" });
  assert.deepEqual(readdirSync(dir), ["msg.wav"]);
  const wav = readWav(readFileSync(path));
  assert.equal(wav.sampleRate, 8000);
  assert.deepEqual(wav.samples, roundTrip("PCMU", speech).subarray(0, 6400));
  // The terminator was consumed by the recording, not left for a collect.
  assert.equal(ep.queuedDigits, "");
});

test("record: in-band # ends it and the tone is trimmed from the tail", async (t) => {
  const { ep, phone, dir } = await setup(t, undefined);
  const path = join(dir, "inband.wav");
  const rec = ep.record({ path, maxMs: 60000 });
  await phone.sendAudio(speechLike(1000));
  await phone.sendAudio(dtmfTone("#", 200));
  const r = await rec;
  assert.equal(r.reason, "terminator");
  assert.equal(r.terminator, "#");
  assert.ok(r.durationMs >= 800 && r.durationMs <= 1000, `duration ${r.durationMs}`);
  const { samples } = readWav(readFileSync(path));
  assert.equal(samples.length, r.durationMs * 8);
  // Not a trace of the key's tone in the message.
  assert.deepEqual(new InbandDtmfDetector().push(samples), []);
  assert.ok(!existsSync(path + ".tmp"));
});

test("record: stops after silenceMs of silence, trailing silence cut", async (t) => {
  const { ep, phone, dir } = await setup(t);
  const path = join(dir, "silence.wav");
  const rec = ep.record({ path, maxMs: 60000, silenceMs: 1000 });
  await phone.sendAudio(speechLike(600));
  await phone.sendAudio(new Int16Array(8 * 1500));
  const r = await rec;
  assert.equal(r.reason, "silence");
  assert.equal(r.durationMs, 600);
  const { samples } = readWav(readFileSync(path));
  assert.equal(samples.length, 4800);
  assert.ok(rms(samples, 4000, 4800) > 1000);
});

test("record: maxMs bounds the message, by audio received and by the clock", async (t) => {
  const { clock, ep, phone, dir } = await setup(t);
  const path = join(dir, "max.wav");
  const rec = ep.record({ path, maxMs: 500 });
  await phone.sendAudio(speechLike(800));
  const r = await rec;
  assert.deepEqual(r, { path, durationMs: 500, reason: "max" });
  // A far end that sends nothing: the clock ends the recording.
  const quiet = join(dir, "quiet.wav");
  const rec2 = ep.record({ path: quiet, maxMs: 3000, beep: true });
  await clock.advance(300); // the beep plays first
  await clock.advance(3000);
  const r2 = await rec2;
  assert.deepEqual(r2, { path: quiet, durationMs: 0, reason: "max" });
  assert.equal(readWav(readFileSync(quiet)).samples.length, 0);
  // The beep went out: 250 ms of tone, 13 packets.
  await waitFor(() => phone.probe.received.length === 13);
  assert.equal(clock.timerCount, 0);
});

test("record: hang-up keeps what was said", async (t) => {
  const { clock, ep, phone, dir, cleanup } = await setup(t);
  const path = join(dir, "hangup.wav");
  const rec = ep.record({ path, maxMs: 60000, silenceMs: 3000 });
  await phone.sendAudio(speechLike(700));
  await waitFor(() => ep.stats().audioPacketsReceived === 35);
  ep.close("bye");
  const r = await rec;
  assert.deepEqual(r, { path, durationMs: 700, reason: "hangup" });
  assert.equal(readWav(readFileSync(path)).samples.length, 5600);
  // Nothing of the endpoint's is left; the leg (connected to the phone) keeps its watchdog until closed.
  assert.equal(clock.timerCount, 1);
  cleanup();
  assert.equal(clock.timerCount, 0);
});

test("record: reordered and duplicated packets are put back in order; a lost one becomes silence", async (t) => {
  const { ep, phone, dir } = await setup(t);
  const path = join(dir, "reorder.wav");
  const rec = ep.record({ path, maxMs: 60000 });
  const speech = speechLike(600); // 30 packets
  // Capture the packets instead of sending them, then send them out of order.
  const packets: Buffer[] = [];
  const send = phone.probe.send;
  phone.probe.send = async (buf) => {
    packets.push(Buffer.from(buf));
  };
  await phone.sendAudio(speech);
  phone.probe.send = send;
  const order: number[] = [0, 1]; // the window starts at the first packet seen
  for (let i = 2; i < 30; i += 2) order.push(i + 1, i); // every later pair swapped
  order.splice(order.indexOf(10), 1); // 10 lost
  order.splice(5, 0, 3, 4); // late duplicates
  for (const i of order) await phone.sendRaw(packets[i]);
  await waitFor(() => ep.stats().audioPacketsReceived === order.length);
  await phone.sendEvent("#");
  const r = await rec;
  assert.equal(r.durationMs, 400);
  const expected = roundTrip("PCMU", speech);
  expected.fill(0, 1600, 1760);
  assert.deepEqual(readWav(readFileSync(path)).samples, expected.subarray(0, 3200));
  assert.equal(ep.stats().lost, 1);
  assert.equal(ep.stats().late + ep.stats().duplicates, 2);
});
