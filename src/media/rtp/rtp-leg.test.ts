import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { writeRtpHeader } from "./packet.ts";
import { RtpLeg } from "./rtp-leg.ts";
import { closePair, ioSettle, loopbackPair, probe, waitFor } from "./testing.ts";

function rtp(seq: number, payload = 160): Buffer {
  const b = Buffer.alloc(12 + payload, 0xff);
  writeRtpHeader(b, false, 0, seq, seq * 160, 0x1234);
  return b;
}

test("sends to the SDP address until packets arrive, then to their source (NAT)", async () => {
  const clock = new FakeClock();
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock });
  const sdpTarget = await probe(); // the private address announced in SDP
  const natPort = await probe(); // where the phone's packets really come from
  const got: number[] = [];
  leg.onPacket = (buf, len) => got.push(buf.readUInt16BE(2) + len * 0);

  leg.send(rtp(1), 0, 172); // no remote yet: dropped, counted
  assert.equal(leg.counters.unsentNoRemote, 1);
  leg.setRemote("127.0.0.1", sdpTarget.port);
  leg.send(rtp(2), 0, 172);
  await waitFor(() => sdpTarget.received.length === 1);

  await natPort.send(rtp(10), pair.rtpPort);
  await waitFor(() => got.length === 1);
  assert.deepEqual(leg.remote, { address: "127.0.0.1", port: natPort.port, latched: true });
  leg.send(rtp(3), 0, 172);
  await waitFor(() => natPort.received.length === 1);
  assert.equal(natPort.received[0].data.readUInt16BE(2), 3);
  assert.equal(sdpTarget.received.length, 1);
  assert.equal(leg.packetsIn, 1);
  assert.equal(leg.packetsOut, 2);
  assert.equal(leg.bytesOut, 344);
  assert.equal(leg.lastReceivedAt, clock.now());

  leg.close();
  closePair(pair);
  sdpTarget.close();
  natPort.close();
});

for (const connectSockets of [false, true]) {
  test(`once latched, a stranger is ignored; after the source goes silent or a new SDP, it may re-latch (${connectSockets ? "connected sockets" : "filtered by the leg"})`, async () => {
    const clock = new FakeClock();
    const pair = await loopbackPair();
    const leg = new RtpLeg(pair, { clock, relatchAfterMs: 2000, connectSockets });
    const phone = await probe();
    const hijacker = await probe();
    const seen: number[] = [];
    leg.onPacket = (buf) => seen.push(buf.readUInt16BE(2));
    leg.setRemote("127.0.0.1", phone.port);

    await phone.send(rtp(1), pair.rtpPort);
    await waitFor(() => seen.length === 1);
    await hijacker.send(rtp(666), pair.rtpPort);
    await phone.send(rtp(2), pair.rtpPort);
    await waitFor(() => seen.length === 2);
    await ioSettle();
    assert.deepEqual(seen, [1, 2]);
    // A connected socket never sees the stranger: the kernel drops it.
    assert.equal(leg.counters.foreignDropped, connectSockets ? 0 : 1);
    assert.equal(leg.connected.rtp, connectSockets);
    assert.equal(leg.remote?.port, phone.port);

    // The phone stays silent past relatchAfterMs (its NAT mapping moved): the new source wins.
    clock.tick(2500);
    await hijacker.send(rtp(3), pair.rtpPort);
    await waitFor(() => seen.length === 3);
    assert.equal(leg.remote?.port, hijacker.port);
    await phone.send(rtp(4), pair.rtpPort);
    await ioSettle();
    assert.equal(seen.length, 3);

    // A new SDP opens the latch at once.
    leg.setRemote("127.0.0.1", phone.port);
    assert.equal(leg.remote?.latched, false);
    await phone.send(rtp(5), pair.rtpPort);
    await waitFor(() => seen.length === 4);
    assert.equal(leg.remote?.port, phone.port);

    leg.close();
    closePair(pair);
    phone.close();
    hijacker.close();
  });
}

test("junk does not latch, RTCP goes to onRtcp, a throwing consumer does not break the leg", async () => {
  const clock = new FakeClock();
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock });
  const phone = await probe();
  const junk = await probe();
  let calls = 0;
  leg.onPacket = () => {
    calls++;
    throw new Error("consumer bug");
  };
  const rtcpSeen: number[] = [];
  leg.onRtcp = (buf, len) => rtcpSeen.push(buf[1] + 0 * len);
  await junk.send(Buffer.from("not rtp at all, just text"), pair.rtpPort);
  await junk.send(Buffer.alloc(4), pair.rtpPort);
  await waitFor(() => leg.counters.invalidDropped === 2);
  assert.equal(leg.remote, null);
  await phone.send(rtp(1), pair.rtpPort);
  await phone.send(rtp(2), pair.rtpPort);
  await waitFor(() => calls === 2);
  await phone.send(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]), pair.rtcpPort);
  await waitFor(() => rtcpSeen.length === 1);
  assert.equal(rtcpSeen[0], 201);
  assert.equal(leg.counters.rtcpIn, 1);
  leg.close();
  await phone.send(rtp(3), pair.rtpPort);
  await ioSettle();
  assert.equal(calls, 2);
  closePair(pair);
  phone.close();
  junk.close();
});

test("packets that never came are counted from the sequence numbers (RFC 3550 §6.4.1)", async () => {
  const clock = new FakeClock();
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock });
  const phone = await probe();
  leg.setRemote("127.0.0.1", phone.port);
  let got = 0;
  leg.onPacket = () => got++;
  for (const seq of [100, 101, 104, 105, 107]) await phone.send(rtp(seq), pair.rtpPort);
  await waitFor(() => got === 5);
  assert.equal(leg.counters.packetsLost, 3);
  leg.close();
  closePair(pair);
  phone.close();
});
