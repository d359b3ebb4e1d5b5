import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { writeRtpHeader } from "./packet.ts";
import { RtpRelay } from "./relay.ts";
import { RtpLeg } from "./rtp-leg.ts";
import { closePair, ioSettle, loopbackPair, probe, waitFor } from "./testing.ts";

function packet(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(172);
  writeRtpHeader(b, seq === 0, 8, seq, seq * 160, ssrc);
  for (let i = 12; i < b.length; i++) b[i] = (seq * 7 + i) & 0xff;
  return b;
}

async function setup() {
  const clock = new FakeClock();
  const pairA = await loopbackPair();
  const pairB = await loopbackPair();
  const a = new RtpLeg(pairA, { clock });
  const b = new RtpLeg(pairB, { clock });
  const phoneA = await probe();
  const phoneB = await probe();
  const rtcpA = await probe();
  const rtcpB = await probe();
  a.setRemote("127.0.0.1", phoneA.port, rtcpA.port);
  b.setRemote("127.0.0.1", phoneB.port, rtcpB.port);
  const cleanup = () => {
    a.close();
    b.close();
    closePair(pairA);
    closePair(pairB);
    for (const p of [phoneA, phoneB, rtcpA, rtcpB]) p.close();
  };
  return { clock, pairA, pairB, a, b, phoneA, phoneB, rtcpA, rtcpB, cleanup };
}

test("relays 100 packets each way, byte-exact, and RTCP both ways", async () => {
  const s = await setup();
  const relay = new RtpRelay(s.a, s.b, { clock: s.clock, mediaTimeoutMs: 30000, onTimeout: () => {} });
  const sentA: Buffer[] = [];
  const sentB: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    sentA.push(packet(i, 0xaaaa));
    sentB.push(packet(1000 + i, 0xbbbb));
    await s.phoneA.send(sentA[i], s.pairA.rtpPort);
    await s.phoneB.send(sentB[i], s.pairB.rtpPort);
    if (i % 20 === 19) await ioSettle(2);
  }
  await waitFor(() => s.phoneB.received.length === 100 && s.phoneA.received.length === 100);
  // Loopback keeps order; every packet arrives unchanged (SSRC, seq, timestamp, payload).
  assert.deepEqual(
    s.phoneB.received.map((r) => r.data),
    sentA,
  );
  assert.deepEqual(
    s.phoneA.received.map((r) => r.data),
    sentB,
  );
  const rr = Buffer.from([0x81, 201, 0, 7, 0, 0, 0xaa, 0xaa, ...new Array(24).fill(3)]);
  const sr = Buffer.from([0x80, 200, 0, 6, 0, 0, 0xbb, 0xbb, ...new Array(20).fill(4)]);
  await s.rtcpA.send(rr, s.pairA.rtcpPort);
  await s.rtcpB.send(sr, s.pairB.rtcpPort);
  await waitFor(() => s.rtcpB.received.length === 1 && s.rtcpA.received.length === 1);
  assert.deepEqual(s.rtcpB.received[0].data, rr);
  assert.deepEqual(s.rtcpA.received[0].data, sr);
  const st = relay.stats();
  assert.equal(st.aToBPackets, 100);
  assert.equal(st.bToAPackets, 100);
  assert.equal(st.aToBBytes, 17200);
  assert.equal(st.rtcpAToB, 1);
  assert.equal(st.rtcpBToA, 1);

  // stop() detaches but leaves the legs open for the next consumer; its timer goes.
  const timers = s.clock.timerCount;
  relay.stop();
  assert.equal(s.clock.timerCount, timers - 1);
  assert.equal(s.a.onPacket, null);
  assert.equal(s.a.isClosed, false);
  const after: number[] = [];
  s.a.onPacket = (buf) => after.push(buf.readUInt16BE(2));
  await s.phoneA.send(packet(5000, 0xaaaa), s.pairA.rtpPort);
  await waitFor(() => after.length === 1);
  await ioSettle();
  assert.equal(s.phoneB.received.length, 100);
  // What is left are the legs' silence watchdogs (sockets connected to the phones); close() ends them.
  assert.deepEqual(s.a.connected, { rtp: true, rtcp: true });
  s.cleanup();
  assert.equal(s.clock.timerCount, 0);
});

test("media timeout fires when neither side sends, not while packets flow or on hold", async () => {
  const s = await setup();
  let timeouts = 0;
  const relay = new RtpRelay(s.a, s.b, {
    clock: s.clock,
    mediaTimeoutMs: 10000,
    onTimeout: () => timeouts++,
  });
  // Packets every 2 s from one side keep the call alive.
  for (let t = 0; t < 10; t++) {
    await s.phoneA.send(packet(t, 1), s.pairA.rtpPort);
    await waitFor(() => s.a.packetsIn === t + 1);
    s.clock.tick(2000);
  }
  assert.equal(timeouts, 0);
  // On hold nothing flows and nothing fires, however long.
  relay.setHold(true);
  assert.equal(s.clock.timerCount, 0);
  s.clock.tick(60000);
  assert.equal(timeouts, 0);
  // Off hold: the silence is counted from the resume.
  relay.setHold(false);
  s.clock.tick(9000);
  assert.equal(timeouts, 0);
  s.clock.tick(3500);
  assert.equal(timeouts, 1);
  // Fires once, then leaves the decision to the owner.
  s.clock.tick(60000);
  assert.equal(timeouts, 1);
  relay.stop();
  s.cleanup();
  assert.equal(s.clock.timerCount, 0);
});
