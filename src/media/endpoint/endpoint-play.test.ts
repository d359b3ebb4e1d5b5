import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { parseTelephoneEvent, TelephoneEventReceiver } from "../dtmf/rfc4733.ts";
import { toneSamples } from "../dtmf/tone.ts";
import { parseRtp, type RtpHeader } from "../rtp/packet.ts";
import type { RtpLeg } from "../rtp/rtp-leg.ts";
import { MediaEndpoint } from "./endpoint.ts";
import { MediaPacer } from "./pacer.ts";
import { decodeAll, legWithPhone, roundTrip, speechLike, waitFor } from "./testing.ts";

test("plays PCM over loopback: exact after G.711, markers, seq and timestamps continuous across plays", async (t) => {
  for (const [codec, pt] of [
    ["PCMU", 0],
    ["PCMA", 8],
  ] as const) {
    const clock = new FakeClock();
    const pacer = new MediaPacer(clock);
    const s = await legWithPhone(clock, codec, pt);
    t.after(() => s.cleanup());
    const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec, payloadType: pt });
    const first = speechLike(500); // 25 frames exactly
    const second = speechLike(310); // 15.5 frames: last one padded with silence
    const p1 = ep.play([{ kind: "pcm", samples: first }]);
    clock.tick(600);
    assert.equal(await p1, "done");
    assert.equal(clock.timerCount, 0, "nothing playing: detached from the pacer");
    clock.tick(1000); // a pause with nothing sent
    const p2 = ep.play([{ kind: "pcm", samples: second }]);
    clock.tick(400);
    assert.equal(await p2, "done");
    await waitFor(() => s.phone.probe.received.length === 25 + 16);
    const got = s.phone.received();
    assert.ok(got.every((r) => r.h.payloadType === pt && r.h.payloadLength === 160));
    assert.equal(new Set(got.map((r) => r.h.ssrc)).size, 1);
    // Sequence numbers are consecutive across both plays; the marker opens each talkspurt.
    for (let i = 1; i < got.length; i++)
      assert.equal(got[i].h.sequence, (got[i - 1].h.sequence + 1) & 0xffff);
    assert.deepEqual(
      got.map((r, i) => (r.h.marker ? i : -1)).filter((i) => i >= 0),
      [0, 25],
    );
    // Timestamps: 160 per packet inside a talkspurt, and they went on with time during the pause.
    for (let i = 1; i < 25; i++) assert.equal((got[i].h.timestamp - got[i - 1].h.timestamp) >>> 0, 160);
    const gapMs = ((got[25].h.timestamp - got[24].h.timestamp) >>> 0) / 8;
    assert.ok(gapMs >= 1000 && gapMs <= 1120, `timestamp gap ${gapMs} ms`);
    const audio1 = decodeAll(
      codec,
      got.slice(0, 25).map((r) => r.payload),
    );
    assert.deepEqual(audio1, roundTrip(codec, first));
    const audio2 = decodeAll(
      codec,
      got.slice(25).map((r) => r.payload),
    );
    assert.deepEqual(audio2.subarray(0, second.length), roundTrip(codec, second));
    assert.ok(audio2.subarray(second.length).every((x) => x === 0 || Math.abs(x) <= 8));
    assert.equal(ep.stats().packetsSent, 41);
    ep.close();
    s.cleanup();
  }
});

/** Replaces the leg's socket send by a capture (the test inspects what the endpoint sends). */
function capture(leg: RtpLeg): RtpHeader[] {
  const headers: RtpHeader[] = [];
  leg.send = (b, o, l) => {
    const h = parseRtp(b.subarray(o, o + l));
    assert.ok(h);
    headers.push(h);
    return true;
  };
  return headers;
}

test("60 s of playback: 3000 packets, timestamps advance exactly 480000, no drift", async (t) => {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock);
  t.after(() => s.cleanup());
  const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec: "PCMU", payloadType: 0 });
  const sent = capture(s.leg);
  const done = ep.play([
    { kind: "tone", freqs: [425], ms: 20000 },
    { kind: "silence", ms: 20000 },
    { kind: "pcm", samples: speechLike(20000) },
  ]);
  clock.tick(60000);
  assert.equal(sent.length, 3000);
  clock.tick(20);
  assert.equal(await done, "done");
  assert.equal((sent[2999].timestamp - sent[0].timestamp + 160) >>> 0, 480000);
  for (let i = 1; i < sent.length; i++) {
    assert.equal((sent[i].timestamp - sent[i - 1].timestamp) >>> 0, 160);
    assert.equal(sent[i].marker, false);
  }
  assert.equal(sent[0].marker, true);
  assert.equal(pacer.stats().maxLatenessMs, 0);
  assert.equal(ep.stats().packetsSent, 3000);
  ep.close();
  s.cleanup();
});

test("tones are the expected sine; queued plays follow without a gap or marker", async (t) => {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock);
  t.after(() => s.cleanup());
  const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec: "PCMU", payloadType: 0 });
  const sent: Buffer[] = [];
  const markers: boolean[] = [];
  s.leg.send = (b, o, l) => {
    const h = parseRtp(b.subarray(o, o + l))!;
    markers.push(h.marker);
    sent.push(Buffer.from(b.subarray(o + h.payloadOffset, o + l)));
    return true;
  };
  const a = ep.play([{ kind: "tone", freqs: [350, 440], ms: 100 }]);
  const b = ep.play([{ kind: "silence", ms: 40 }]);
  clock.tick(200);
  assert.deepEqual(await Promise.all([a, b]), ["done", "done"]);
  assert.equal(sent.length, 7);
  assert.deepEqual(markers, [true, false, false, false, false, false, false]);
  assert.deepEqual(decodeAll("PCMU", sent.slice(0, 5)), roundTrip("PCMU", toneSamples([350, 440], 100)));
  assert.ok(sent.slice(5).every((p) => p.every((x) => x === 0xff)));
  ep.close();
  s.cleanup();
});

test("sendDigits: RFC 4733 events with one timestamp per event, marker first, three end packets", async (t) => {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock);
  t.after(() => s.cleanup());
  const ep = new MediaEndpoint({
    leg: s.leg,
    pacer,
    clock,
    codec: "PCMU",
    payloadType: 0,
    telephoneEventPt: 101,
  });
  const done = ep.sendDigits("1#");
  clock.tick(400);
  await done;
  // 100 ms: 4 updates + 3 ends per digit.
  await waitFor(() => s.phone.probe.received.length === 14);
  const got = s.phone.received();
  assert.ok(got.every((r) => r.h.payloadType === 101));
  const rx = new TelephoneEventReceiver();
  const digits = got.map((r) => rx.push(r.h.timestamp, r.payload)).filter((d) => d !== null);
  assert.deepEqual(digits, ["1", "#"]);
  for (const event of [got.slice(0, 7), got.slice(7)]) {
    assert.equal(new Set(event.map((r) => r.h.timestamp)).size, 1);
    assert.deepEqual(
      event.map((r) => r.h.marker),
      [true, false, false, false, false, false, false],
    );
    assert.deepEqual(
      event.map((r) => parseTelephoneEvent(r.payload)?.end),
      [false, false, false, false, true, true, true],
    );
  }
  for (let i = 1; i < got.length; i++) assert.equal(got[i].h.sequence, (got[i - 1].h.sequence + 1) & 0xffff);
  assert.ok((got[7].h.timestamp - got[0].h.timestamp) >>> 0 >= 800);
  await assert.rejects(ep.sendDigits("1x"), RangeError);
  ep.close();
  assert.equal(clock.timerCount, 0);
  s.cleanup();
});

test("malformed play items reject without disturbing the endpoint", async (t) => {
  const clock = new FakeClock();
  const pacer = new MediaPacer(clock);
  const s = await legWithPhone(clock);
  t.after(() => s.cleanup());
  const ep = new MediaEndpoint({ leg: s.leg, pacer, clock, codec: "PCMA", payloadType: 8 });
  await assert.rejects(ep.play([{ kind: "silence", ms: -1 }]), RangeError);
  await assert.rejects(ep.play([{ kind: "tone", freqs: [5000], ms: 10 }]), RangeError);
  await assert.rejects(ep.play([{ kind: "nope" } as never]), TypeError);
  await assert.rejects(ep.play([null as never]), TypeError);
  assert.equal(clock.timerCount, 0);
  const ok = ep.play([{ kind: "silence", ms: 20 }]);
  clock.tick(40);
  assert.equal(await ok, "done");
  ep.close();
  s.cleanup();
});
