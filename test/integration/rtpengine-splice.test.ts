// The splice proof (docs/RTPENGINE.md): two phone legs, each its own
// rtpengine call with an outer side (the phone) and an inner side (vpbx's
// socket). Bridging points each inner side at rtpengine's inner port of the
// other leg — a hairpin inside rtpengine — and unbridging points them back at
// vpbx's sockets. Eight sockets stand for the parties: phone A, vpbx-inner-A,
// vpbx-inner-B and phone B, each with RTP and RTCP.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "sdp-transform";
import { writeRtpHeader } from "../../src/media/rtp/packet.ts";
import { ioSettle, type Probe, probe, waitFor } from "../../src/media/rtp/testing.ts";
import { audioTarget, type RtpTarget } from "../../src/media/rtpengine/inner-sdp.ts";
import { RtpengineClient } from "../../src/media/rtpengine/ng-client.ts";
import { INNER_FLAGS, RtpengineLeg } from "../../src/media/rtpengine/rtpengine-leg.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { type RtpengineDaemon, rtpengineSkip, startRtpengine } from "../support/rtpengine.ts";

interface Party {
  name: string;
  rtp: Probe;
  rtcp: Probe;
  sdp(): string;
  close(): void;
}

let sessionVersion = 1;

async function party(name: string): Promise<Party> {
  const rtp = await probe();
  const rtcp = await probe();
  return {
    name,
    rtp,
    rtcp,
    sdp: () =>
      [
        "v=0",
        `o=${name} 4711 ${sessionVersion++} IN IP4 127.0.0.1`,
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        `m=audio ${rtp.port} RTP/AVP 8 0 101`,
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        `a=rtcp:${rtcp.port}`,
        "a=sendrecv",
        "",
      ].join("\r\n"),
    close: () => {
      rtp.close();
      rtcp.close();
    },
  };
}

let seq = 0;
/** Distinct RTP packets (rtpengine's loop protection drops repeated identical ones). */
function rtpPackets(ssrc: number, n: number): Buffer[] {
  return Array.from({ length: n }, () => {
    const s = seq++;
    const b = Buffer.alloc(172);
    writeRtpHeader(b, false, 8, s & 0xffff, s * 160, ssrc);
    for (let i = 12; i < b.length; i++) b[i] = (s * 31 + i * 7) & 0xff;
    return b;
  });
}

/** An RTCP receiver report without report blocks (RFC 3550 §6.4.2). */
function rtcpReport(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

/**
 * What a socket received, in RTP sequence order: rtpengine's worker threads may hand two
 * packets of one stream to the wire in either order (UDP promises no order either).
 */
function inOrder(received: Probe["received"]): Buffer[] {
  return received.map((r) => r.data).sort((x, y) => x.readUInt16BE(2) - y.readUInt16BE(2));
}

async function sendAll(from: Probe, port: number, packets: Buffer[]): Promise<void> {
  for (const p of packets) await from.send(p, port);
}

function clear(parties: Party[]): void {
  for (const p of parties) {
    p.rtp.received.length = 0;
    p.rtcp.received.length = 0;
  }
}

describe("rtpengine splice: per-leg calls bridged by a hairpin inside rtpengine", {
  skip: rtpengineSkip(),
}, () => {
  let daemon: RtpengineDaemon;
  let client: RtpengineClient;

  before(async () => {
    daemon = await startRtpengine();
    client = new RtpengineClient({ host: daemon.host, port: daemon.ngPort, clock: new FakeClock() });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
  });

  test("before the bridge media meets vpbx; bridged it flows phone to phone; unbridged it meets vpbx again", async (t) => {
    const phoneA = await party("phoneA");
    const innerA = await party("vpbxA");
    const innerB = await party("vpbxB");
    const phoneB = await party("phoneB");
    const all = [phoneA, innerA, innerB, phoneB];
    t.after(() => {
      for (const p of all) p.close();
    });
    const run = Date.now();

    // Leg A: phone A calls in; its INVITE's offer, vpbx's answer.
    const legA = new RtpengineLeg({
      client,
      callId: `legA-${run}`,
      phoneTag: "pA",
      innerTag: "vA",
      label: "phone A",
    });
    const sdpForInnerA = await legA.phoneOffer(phoneA.sdp());
    const sdpForPhoneA = await legA.innerAnswer(innerA.sdp());
    // Leg B: vpbx calls phone B; vpbx's offer, phone B's answer.
    const legB = new RtpengineLeg({
      client,
      callId: `legB-${run}`,
      phoneTag: "pB",
      innerTag: "vB",
      label: "phone B",
    });
    const sdpForPhoneB = await legB.innerOffer(innerB.sdp());
    const sdpForInnerB = await legB.phoneAnswer(phoneB.sdp());

    // The four ports of rtpengine, as each party's SDP names them.
    const outA = audioTarget(sdpForPhoneA); // phone A sends here
    const inA = audioTarget(sdpForInnerA); // vpbx-inner-A sends here
    const outB = audioTarget(sdpForPhoneB);
    const inB = audioTarget(sdpForInnerB);
    assert.deepEqual(legA.innerPort(), inA);
    assert.deepEqual(legB.innerPort(), inB);
    // The phones only ever see rtpengine: none of vpbx's ports is in their SDP.
    for (const sdp of [sdpForPhoneA, sdpForPhoneB]) {
      for (const p of [innerA, innerB]) assert.doesNotMatch(sdp, new RegExp(`\\b${p.rtp.port}\\b`));
    }

    const expectApps = async (label: string) => {
      clear(all);
      const a = rtpPackets(0xaaaa, 5);
      const b = rtpPackets(0xbbbb, 5);
      const va = rtpPackets(0x1a1a, 5);
      const vb = rtpPackets(0x1b1b, 5);
      await sendAll(phoneA.rtp, outA.rtpPort, a);
      await sendAll(phoneB.rtp, outB.rtpPort, b);
      await sendAll(innerA.rtp, inA.rtpPort, va);
      await sendAll(innerB.rtp, inB.rtpPort, vb);
      await waitFor(
        () =>
          innerA.rtp.received.length >= 5 &&
          innerB.rtp.received.length >= 5 &&
          phoneA.rtp.received.length >= 5 &&
          phoneB.rtp.received.length >= 5,
      );
      await ioSettle(50);
      assert.deepEqual(inOrder(innerA.rtp.received), a, `${label}: phone A reaches vpbx-inner-A`);
      assert.deepEqual(inOrder(innerB.rtp.received), b, `${label}: phone B reaches vpbx-inner-B`);
      assert.deepEqual(inOrder(phoneA.rtp.received), va, `${label}: vpbx-inner-A reaches phone A`);
      assert.deepEqual(inOrder(phoneB.rtp.received), vb, `${label}: vpbx-inner-B reaches phone B`);
      // Each phone hears from the port its SDP names.
      assert.equal(phoneA.rtp.received[0].from.port, outA.rtpPort);
      assert.equal(phoneB.rtp.received[0].from.port, outB.rtpPort);
    };

    const expectBridged = async (label: string) => {
      clear(all);
      const a = rtpPackets(0xaaaa, 10);
      const b = rtpPackets(0xbbbb, 10);
      await sendAll(phoneA.rtp, outA.rtpPort, a);
      await sendAll(phoneB.rtp, outB.rtpPort, b);
      await phoneA.rtcp.send(rtcpReport(0xaaaa), outA.rtcpPort);
      await phoneB.rtcp.send(rtcpReport(0xbbbb), outB.rtcpPort);
      await waitFor(
        () =>
          phoneB.rtp.received.length >= 10 &&
          phoneA.rtp.received.length >= 10 &&
          phoneA.rtcp.received.length >= 1 &&
          phoneB.rtcp.received.length >= 1,
      );
      // vpbx's sockets, still sending (the tail of a prompt), must not reach the phones now.
      await sendAll(innerA.rtp, inA.rtpPort, rtpPackets(0x1a1a, 3));
      await sendAll(innerB.rtp, inB.rtpPort, rtpPackets(0x1b1b, 3));
      await ioSettle(100);
      // Unchanged, byte for byte, in both directions, from the ports the phones know.
      assert.deepEqual(inOrder(phoneB.rtp.received), a, `${label}: phone A reaches phone B`);
      assert.deepEqual(inOrder(phoneA.rtp.received), b, `${label}: phone B reaches phone A`);
      assert.ok(phoneB.rtp.received.every((r) => r.from.port === outB.rtpPort));
      assert.ok(phoneA.rtp.received.every((r) => r.from.port === outA.rtpPort));
      assert.deepEqual(phoneB.rtcp.received[0].data, rtcpReport(0xaaaa), `${label}: RTCP A→B`);
      assert.deepEqual(phoneA.rtcp.received[0].data, rtcpReport(0xbbbb), `${label}: RTCP B→A`);
      for (const inner of [innerA, innerB]) {
        assert.equal(inner.rtp.received.length, 0, `${label}: nothing on ${inner.name}`);
        assert.equal(inner.rtcp.received.length, 0, `${label}: no RTCP on ${inner.name}`);
      }
    };

    const bridge = async () => {
      const targetForA: RtpTarget = legB.innerPort();
      const targetForB: RtpTarget = legA.innerPort();
      const ra = await legA.pointInnerAt(targetForA);
      const rb = await legB.pointInnerAt(targetForB);
      // The phones are told nothing: rtpengine kept the ports they send to.
      assert.equal(ra.phoneSdpChanged, false);
      assert.equal(rb.phoneSdpChanged, false);
      assert.deepEqual(audioTarget(ra.phoneSdp), outA);
      assert.deepEqual(audioTarget(rb.phoneSdp), outB);
      assert.equal(legA.bridged && legB.bridged, true);
    };

    const unbridge = async () => {
      const ra = await legA.pointInnerAt(null);
      const rb = await legB.pointInnerAt(null);
      assert.equal(ra.phoneSdpChanged || rb.phoneSdpChanged, false);
      assert.equal(legA.bridged || legB.bridged, false);
    };

    await expectApps("before the bridge");
    await bridge();
    await expectBridged("bridged");
    await unbridge();
    await expectApps("after the unbridge");
    // Hold and resume, a transfer: bridged and unbridged again on the same legs.
    await bridge();
    await expectBridged("bridged again");
    await unbridge();
    await expectApps("unbridged again");

    // rtpengine's own view: the inner side of leg A names vpbx-inner-A again.
    const q = await client.query({ callId: legA.callId });
    const innerStream = q.tags.vA.medias[0].streams[0];
    assert.equal(innerStream.localPort, inA.rtpPort);
    assert.deepEqual(innerStream.endpoint, { family: "IPv4", address: "127.0.0.1", port: innerA.rtp.port });
    assert.equal(q.tags.pA.label, "phone A");

    await legA.delete();
    await legB.delete();
    clear(all);
    await sendAll(phoneA.rtp, outA.rtpPort, rtpPackets(0xaaaa, 3));
    await sendAll(phoneB.rtp, outB.rtpPort, rtpPackets(0xbbbb, 3));
    await ioSettle(100);
    for (const p of all) assert.equal(p.rtp.received.length, 0, `nothing reaches ${p.name} after delete`);
    // Deleting again is no error for a leg (the daemon may have timed it out).
    await legA.delete();
  });

  test("why `port latching`: without it rtpengine moves the phone's port when the inner address changes", async (t) => {
    const phone = await party("phone");
    const inner = await party("vpbx");
    const other = await party("other");
    t.after(() => {
      for (const p of [phone, inner, other]) p.close();
    });
    const repoint = async (callId: string, flags: readonly string[]) => {
      const base = {
        callId,
        fromTag: "p",
        replace: ["origin", "session-connection"] as const,
        ICE: "remove" as const,
      };
      await client.offer({ ...base, sdp: phone.sdp() });
      const first = await client.answer({ ...base, toTag: "v", sdp: inner.sdp(), flags });
      const again = await client.answer({ ...base, toTag: "v", sdp: other.sdp(), flags });
      await client.delete({ callId });
      return { before: parse(first.sdp).media[0].port, after: parse(again.sdp).media[0].port };
    };
    const run = Date.now();
    const withoutLatching = await repoint(`nolatch-${run}`, ["asymmetric"]);
    assert.notEqual(
      withoutLatching.after,
      withoutLatching.before,
      "rtpengine 10.5 gives the phone a new port",
    );
    const withLatching = await repoint(`latch-${run}`, INNER_FLAGS);
    assert.equal(withLatching.after, withLatching.before, "port latching keeps it");
  });
});
