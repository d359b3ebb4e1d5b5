// The ng client against the real rtpengine daemon (userspace, loopback):
// ping, an offer/answer between two local sockets standing for two phones,
// RTP relayed both ways unchanged, delete ending the relay, the daemon's
// errors, and a stopped daemon timing out on the fake clock.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "sdp-transform";
import { writeRtpHeader } from "../../src/media/rtp/packet.ts";
import { ioSettle, type Probe, probe, waitFor } from "../../src/media/rtp/testing.ts";
import {
  RtpengineClient,
  RtpengineError,
  RtpengineTimeoutError,
} from "../../src/media/rtpengine/ng-client.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { type RtpengineDaemon, rtpengineSkip, startRtpengine } from "../support/rtpengine.ts";

/** A phone's SDP: PCMU and telephone-event at `port` on loopback. */
function phoneSdp(port: number, user = "phone"): string {
  return [
    "v=0",
    `o=${user} 1000 1 IN IP4 127.0.0.1`,
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function mediaOf(sdp: string): { address: string; port: number } {
  const s = parse(sdp);
  const m = s.media[0];
  return { address: m.connection?.ip ?? s.connection?.ip ?? "", port: m.port };
}

function rtp(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(172);
  writeRtpHeader(b, seq === 0, 0, seq, seq * 160, ssrc);
  for (let i = 12; i < b.length; i++) b[i] = (seq * 13 + i) & 0xff;
  return b;
}

/**
 * What a socket received, in RTP sequence order: rtpengine's worker threads may hand two
 * packets of one stream to the wire in either order (UDP promises no order either).
 */
function inOrder(received: Probe["received"]): Buffer[] {
  return received.map((r) => r.data).sort((x, y) => x.readUInt16BE(2) - y.readUInt16BE(2));
}

describe("rtpengine ng client against the daemon", { skip: rtpengineSkip() }, () => {
  let daemon: RtpengineDaemon;
  let client: RtpengineClient;
  const clock = new FakeClock();

  before(async () => {
    daemon = await startRtpengine();
    client = new RtpengineClient({ host: daemon.host, port: daemon.ngPort, clock });
  });

  after(async () => {
    client?.close();
    await daemon?.stop();
  });

  test("ping answers pong", async () => {
    await client.ping();
  });

  test("offer/answer between two phones: RTP relayed both ways unchanged, until delete", async (t) => {
    const a: Probe = await probe();
    const b: Probe = await probe();
    t.after(() => {
      a.close();
      b.close();
    });
    const callId = `relay-${Date.now()}`;
    const offer = await client.offer({
      callId,
      fromTag: "tag-a",
      sdp: phoneSdp(a.port, "alice"),
      flags: ["trust-address"],
      replace: ["origin", "session-connection"],
      ICE: "remove",
      label: "alice",
    });
    const toB = mediaOf(offer.sdp);
    assert.equal(toB.address, "127.0.0.1");
    assert.ok(
      toB.port >= daemon.portMin && toB.port <= daemon.portMax,
      `port ${toB.port} in the daemon's range`,
    );
    // The offer keeps the codecs; only the address and port are rtpengine's.
    assert.match(offer.sdp, /a=rtpmap:0 PCMU\/8000/);
    assert.match(offer.sdp, /a=rtpmap:101 telephone-event\/8000/);
    assert.doesNotMatch(offer.sdp, new RegExp(`m=audio ${a.port} `));

    const answer = await client.answer({
      callId,
      fromTag: "tag-a",
      toTag: "tag-b",
      sdp: phoneSdp(b.port, "bob"),
      replace: ["origin", "session-connection"],
      ICE: "remove",
      label: "bob",
    });
    const toA = mediaOf(answer.sdp);
    assert.notEqual(toA.port, toB.port);

    // A sends to the port of the answer SDP, B to the port of the offer SDP.
    const sentA = Array.from({ length: 20 }, (_, i) => rtp(i, 0xa11ce));
    const sentB = Array.from({ length: 20 }, (_, i) => rtp(500 + i, 0xb0b));
    for (let i = 0; i < 20; i++) {
      await a.send(sentA[i], toA.port);
      await b.send(sentB[i], toB.port);
    }
    await waitFor(() => b.received.length === 20 && a.received.length === 20);
    // Byte for byte: SSRC, sequence numbers, timestamps and payload pass untouched, none lost.
    assert.deepEqual(inOrder(b.received), sentA);
    assert.deepEqual(inOrder(a.received), sentB);
    // Symmetric: each phone hears from the port it sends to.
    assert.equal(b.received[0].from.port, toB.port);
    assert.equal(a.received[0].from.port, toA.port);

    const q = await client.query({ callId });
    assert.deepEqual(Object.keys(q.tags).sort(), ["tag-a", "tag-b"]);
    assert.equal(q.tags["tag-a"].label, "alice");
    assert.equal(q.tags["tag-a"].inDialogueWith, "tag-b");
    assert.deepEqual(q.tags["tag-a"].subscribers, [{ tag: "tag-b", type: "offer/answer" }]);
    assert.equal(q.tags["tag-a"].medias[0].codec, "PCMU/8000");
    const streamA = q.tags["tag-a"].medias[0].streams[0];
    assert.equal(streamA.localPort, toA.port);
    assert.deepEqual(streamA.endpoint, { family: "IPv4", address: "127.0.0.1", port: a.port });
    assert.equal(streamA.stats?.packets, 20);

    const del = await client.delete({ callId });
    assert.equal(del.warning, undefined);
    a.received.length = 0;
    b.received.length = 0;
    for (let i = 20; i < 25; i++) {
      await a.send(rtp(i, 0xa11ce), toA.port);
      await b.send(rtp(500 + i, 0xb0b), toB.port);
    }
    await ioSettle(150);
    assert.equal(b.received.length, 0, "nothing relayed after delete");
    assert.equal(a.received.length, 0, "nothing relayed after delete");
    await assert.rejects(
      client.query({ callId }),
      /rtpengine query \(call relay-\d+\) failed: Unknown call-id/,
    );
  });

  test("the daemon's errors are clear rejections naming the command", async () => {
    await assert.rejects(
      client.answer({ callId: "no-such-call", fromTag: "x", toTag: "y", sdp: phoneSdp(4000) }),
      (err: unknown) => {
        assert.ok(err instanceof RtpengineError);
        assert.equal(err.command, "answer");
        assert.equal(err.reason, "Unknown call-id");
        assert.equal(err.message, "rtpengine answer (call no-such-call) failed: Unknown call-id");
        return true;
      },
    );
    await assert.rejects(client.delete({ callId: "no-such-call" }), (err: unknown) => {
      assert.ok(err instanceof RtpengineError);
      assert.equal(err.command, "delete");
      assert.match(err.reason, /not found/i);
      return true;
    });
    // Not fatal: the same finding as a warning.
    const soft = await client.delete({ callId: "no-such-call", fatal: false });
    assert.match(soft.warning ?? "", /not found/i);
    await assert.rejects(
      client.offer({ callId: "bad-sdp", fromTag: "x", sdp: "this is not SDP" }),
      /rtpengine offer \(call bad-sdp\) failed: Failed to parse SDP/,
    );
    await assert.rejects(
      client.request({ command: "frobnicate" }),
      /rtpengine frobnicate failed: Unrecognized command/,
    );
    // Still serving after all that.
    await client.ping();
  });

  test("a stopped daemon is a timeout error after the retransmissions, on the clock", async () => {
    const other = await startRtpengine();
    const fake = new FakeClock();
    const c = new RtpengineClient({ host: other.host, port: other.ngPort, clock: fake });
    try {
      await c.ping();
      await other.stop();
      let settled = false;
      const p = c.ping().then(
        () => {
          settled = true;
          return undefined as unknown;
        },
        (err: unknown) => {
          settled = true;
          return err;
        },
      );
      await fake.advance(500);
      await fake.advance(500);
      assert.equal(settled, false, "still retransmitting");
      await fake.advance(500);
      const failure = await p;
      assert.ok(failure instanceof RtpengineTimeoutError, String(failure));
      assert.match(
        failure.message,
        /rtpengine ping: no answer from 127\.0\.0\.1:\d+ after 3 tries \(1500 ms\)/,
      );
    } finally {
      c.close();
      await other.stop();
    }
  });
});
