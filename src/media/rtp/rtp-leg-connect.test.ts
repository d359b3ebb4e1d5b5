// The connect()/disconnect() transitions of RtpLeg's sockets: connected once
// a source is latched, disconnected on silence, on a new SDP and on close.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { writeRtpHeader } from "./packet.ts";
import { RtpLeg } from "./rtp-leg.ts";
import { closePair, ioSettle, loopbackPair, probe, waitFor } from "./testing.ts";

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(172, 0xff);
  writeRtpHeader(b, false, 0, seq, seq * 160, 0x1234);
  return b;
}

const RTCP_RR = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);

async function setup(t: { after(fn: () => void): void }, relatchAfterMs = 2000) {
  const clock = new FakeClock();
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock, relatchAfterMs });
  const phone = await probe();
  const stranger = await probe();
  const seen: number[] = [];
  leg.onPacket = (buf) => seen.push(buf.readUInt16BE(2));
  t.after(() => {
    leg.close();
    closePair(pair);
    phone.close();
    stranger.close();
  });
  return { clock, pair, leg, phone, stranger, seen };
}

test("unconnected until the first packet; then connected to its source, which gets the sends", async (t) => {
  const { clock, pair, leg, phone, stranger, seen } = await setup(t);
  const sdp = await probe();
  t.after(() => sdp.close());
  leg.setRemote("127.0.0.1", sdp.port);
  assert.deepEqual(leg.connected, { rtp: false, rtcp: false });
  // Unconnected: the buffer is read after Node's lookup, so the leg is not idle until then.
  assert.equal(leg.send(rtp(1), 0, 172), true);
  assert.equal(leg.sendIdle, false);
  await waitFor(() => sdp.received.length === 1);
  assert.equal(leg.sendIdle, true);
  assert.equal(clock.timerCount, 0);

  await phone.send(rtp(10), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  assert.equal(leg.counters.connects, 1);
  assert.equal(leg.connected.rtcp, false);
  // Connected: the packet is with the kernel when send() returns.
  assert.equal(leg.send(rtp(2), 0, 172), true);
  assert.equal(leg.sendIdle, true);
  // A partial buffer goes too (DTMF events are shorter than the slot).
  assert.equal(leg.send(rtp(3), 0, 16), true);
  await waitFor(() => phone.received.length === 2);
  assert.equal(phone.received[0].data.readUInt16BE(2), 2);
  assert.equal(phone.received[1].data.length, 16);
  assert.equal(sdp.received.length, 1);
  // The kernel now filters: a stranger never reaches the leg, not even to be counted.
  await stranger.send(rtp(666), pair.rtpPort);
  await phone.send(rtp(11), pair.rtpPort);
  await waitFor(() => seen.length === 2);
  await ioSettle();
  assert.deepEqual(seen, [10, 11]);
  assert.equal(leg.counters.foreignDropped, 0);
  // One watchdog timer, for the silence of the connected source.
  assert.equal(clock.timerCount, 1);
});

test("silence disconnects (timer, not per packet); the same source reconnects, or a new one takes over", async (t) => {
  const { clock, pair, leg, phone, stranger, seen } = await setup(t);
  leg.setRemote("127.0.0.1", phone.port);
  await phone.send(rtp(1), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  // Packets keep coming every second: the watchdog re-arms and the socket stays connected.
  for (let i = 2; i <= 4; i++) {
    clock.tick(1000);
    await phone.send(rtp(i), pair.rtpPort);
    await waitFor(() => seen.length === i);
    assert.equal(leg.connected.rtp, true);
  }
  assert.equal(leg.counters.connects, 1);
  assert.equal(clock.timerCount, 1);
  // 2 s of silence: disconnected, no timer left, still sending to the same place.
  clock.tick(1999);
  assert.equal(leg.connected.rtp, true);
  clock.tick(1);
  assert.equal(leg.connected.rtp, false);
  assert.equal(clock.timerCount, 0);
  assert.deepEqual(leg.remote, { address: "127.0.0.1", port: phone.port, latched: true });
  leg.send(rtp(100), 0, 172);
  await waitFor(() => phone.received.length === 1);
  // The phone resumes from the same address: connected again.
  await phone.send(rtp(5), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  assert.equal(leg.counters.connects, 2);
  // Silent again; now its NAT mapping moved: the new source latches and is connected to.
  clock.tick(2000);
  assert.equal(leg.connected.rtp, false);
  await stranger.send(rtp(6), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  assert.equal(leg.remote?.port, stranger.port);
  await phone.send(rtp(7), pair.rtpPort);
  await ioSettle();
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  leg.send(rtp(101), 0, 172);
  await waitFor(() => stranger.received.length === 1);
  assert.equal(phone.received.length, 1);
});

test("a new SDP disconnects at once and sends to the new address until its first packet", async (t) => {
  const { pair, leg, phone, stranger } = await setup(t);
  leg.setRemote("127.0.0.1", phone.port);
  await phone.send(rtp(1), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  leg.setRemote("127.0.0.1", stranger.port);
  assert.equal(leg.connected.rtp, false);
  assert.equal(leg.remote?.latched, false);
  leg.send(rtp(2), 0, 172);
  await waitFor(() => stranger.received.length === 1);
  // Latching is open again: whoever sends first (here the old phone) wins.
  await phone.send(rtp(3), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  assert.equal(leg.remote?.port, phone.port);
  assert.equal(leg.counters.connects, 2);
});

test("a new SDP while connect() is in flight leaves the socket unconnected", async (t) => {
  const { pair, leg, phone, stranger } = await setup(t);
  leg.setRemote("127.0.0.1", phone.port);
  leg.onPacket = () => {
    // Runs right after the latch started connect(), before it completes.
    leg.setRemote("127.0.0.1", stranger.port);
  };
  await phone.send(rtp(1), pair.rtpPort);
  await waitFor(() => leg.counters.connects === 1);
  await ioSettle();
  assert.equal(leg.connected.rtp, false);
  leg.send(rtp(2), 0, 172);
  await waitFor(() => stranger.received.length === 1);
  assert.equal(phone.received.length, 0);
});

test("RTCP connects on its first packet and disconnects after 20 s of silence, not 2 s", async (t) => {
  const { clock, pair, leg, phone } = await setup(t);
  const rtcpPhone = await probe();
  t.after(() => rtcpPhone.close());
  leg.setRemote("127.0.0.1", phone.port, rtcpPhone.port);
  await rtcpPhone.send(RTCP_RR, pair.rtcpPort);
  await waitFor(() => leg.connected.rtcp);
  assert.equal(leg.connected.rtp, false);
  clock.tick(5000);
  assert.equal(leg.connected.rtcp, true);
  assert.equal(leg.sendRtcp(RTCP_RR, 0, RTCP_RR.length), true);
  await waitFor(() => rtcpPhone.received.length === 1);
  clock.tick(15000);
  assert.equal(leg.connected.rtcp, false);
  assert.equal(clock.timerCount, 0);
});

test("close() disconnects and stops the watchdog; a connect() completing after close is undone", async (t) => {
  const { clock, pair, leg, phone } = await setup(t);
  leg.setRemote("127.0.0.1", phone.port);
  await phone.send(rtp(1), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  leg.close();
  assert.deepEqual(leg.connected, { rtp: false, rtcp: false });
  assert.equal(clock.timerCount, 0);
  assert.equal(leg.send(rtp(2), 0, 172), false);

  // Second leg on a fresh pair: closed while its connect() is in flight.
  const pair2 = await loopbackPair();
  t.after(() => closePair(pair2));
  const leg2 = new RtpLeg(pair2, { clock });
  leg2.onPacket = () => leg2.close();
  await phone.send(rtp(3), pair2.rtpPort);
  await waitFor(() => leg2.counters.connects === 1);
  await ioSettle();
  assert.equal(leg2.connected.rtp, false);
  assert.equal(clock.timerCount, 0);
  // The socket really is unconnected again: another source reaches it.
  const other = await probe();
  t.after(() => other.close());
  let raw = 0;
  pair2.rtp.on("message", () => raw++);
  await other.send(rtp(4), pair2.rtpPort);
  await waitFor(() => raw === 1);
});

test("with connectSockets: false the sockets are never connected", async (t) => {
  const clock = new FakeClock();
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock, connectSockets: false });
  const phone = await probe();
  t.after(() => {
    leg.close();
    closePair(pair);
    phone.close();
  });
  leg.setRemote("127.0.0.1", phone.port);
  await phone.send(rtp(1), pair.rtpPort);
  await phone.send(RTCP_RR, pair.rtcpPort);
  await waitFor(() => leg.packetsIn === 1 && leg.counters.rtcpIn === 1);
  await ioSettle();
  assert.deepEqual(leg.connected, { rtp: false, rtcp: false });
  assert.equal(leg.counters.connects, 0);
  assert.equal(clock.timerCount, 0);
});

test("the peer's port unreachable on a connected socket is counted, not thrown", async (t) => {
  const { pair, leg } = await setup(t);
  const phone = await probe();
  leg.setRemote("127.0.0.1", phone.port);
  await phone.send(rtp(1), pair.rtpPort);
  await waitFor(() => leg.connected.rtp);
  phone.close(); // the phone is gone: its port answers with ICMP port unreachable
  for (let i = 0; i < 5; i++) {
    leg.send(rtp(2 + i), 0, 172);
    await ioSettle(5);
  }
  await waitFor(() => leg.counters.socketErrors > 0);
  assert.equal(leg.isClosed, false);
  assert.equal(leg.connected.rtp, true);
});
