// The main thread's stand-in for a worker's leg, against a recording link:
// which messages its uses become, and what it makes of the worker's reports.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../../util/clock.ts";
import { silentLogger } from "../../../util/log.ts";
import type { InPlaceRelay } from "../media-leg.ts";
import { PacketBridge } from "../packet-bridge.ts";
import {
  LEG_COUNTERS,
  LEG_STRIDE,
  type PacketKind,
  RTCP,
  RTP,
  type ToWorker,
  zeroRelayStats,
} from "./protocol.ts";
import { type LegLink, RemoteRtpLeg } from "./remote-rtp-leg.ts";

function link() {
  const posted: ToWorker[] = [];
  const queued: Array<{ leg: number; kind: PacketKind; data: Buffer }> = [];
  const relays: Array<[number, number]> = [];
  const l: LegLink = {
    log: silentLogger(),
    post: (msg) => void posted.push(msg),
    queuePacket: (leg, kind, buf, offset, length) =>
      void queued.push({ leg, kind, data: Buffer.from(buf.subarray(offset, offset + length)) }),
    relayInPlace: (a, b): InPlaceRelay => {
      relays.push([a.id, b.id]);
      return { stats: zeroRelayStats, stop: () => {} };
    },
  };
  return { link: l, posted, queued, relays };
}

test("a consumer set here asks the worker to forward; null stops it; a swap costs nothing", () => {
  const clock = new FakeClock();
  const l = link();
  const leg = new RemoteRtpLeg(l.link, 3, "127.0.0.1", 30000, 30001, clock);
  const seen: number[] = [];
  leg.onPacket = (_buf, len) => void seen.push(len);
  leg.onPacket = (_buf, len) => void seen.push(-len);
  leg.onRtcp = () => {};
  leg.onPacket = null;
  assert.deepEqual(l.posted, [
    { t: "forward", leg: 3, kind: RTP, on: true },
    { t: "forward", leg: 3, kind: RTCP, on: true },
    { t: "forward", leg: 3, kind: RTP, on: false },
  ]);
  leg.onPacket = (_buf, len) => void seen.push(len);
  leg.deliver(RTP, Buffer.alloc(172));
  assert.deepEqual(seen, [172]);
  assert.equal(leg.lastReceivedAt, clock.now(), "on the injected clock");
});

test("send copies into the worker's batch (the buffer is free at once) and says whether a destination is known", () => {
  const l = link();
  const leg = new RemoteRtpLeg(l.link, 1, "127.0.0.1", 30000, 30001, new FakeClock());
  const buf = Buffer.alloc(40, 9);
  assert.equal(leg.sendIdle, true);
  assert.equal(leg.send(buf, 4, 20), false, "no remote yet: the worker counts it unsent");
  assert.equal(leg.sendRtcp(buf, 0, 8), false);
  leg.setRemote("192.0.2.7", 4000);
  assert.deepEqual(l.posted.at(-1), {
    t: "remote",
    leg: 1,
    address: "192.0.2.7",
    port: 4000,
    rtcpPort: undefined,
  });
  assert.equal(leg.send(buf, 4, 20), true);
  assert.equal(leg.sendRtcp(buf, 0, 8), true, "RTCP on port + 1 (RFC 3550 §11)");
  buf.fill(0);
  assert.deepEqual(
    l.queued.map((q) => [q.kind, q.data.length, q.data[0]]),
    [
      [RTP, 20, 9],
      [RTP, 20, 9],
      [RTCP, 8, 9],
    ],
  );
  leg.close();
  leg.close();
  assert.equal(leg.send(buf, 0, 20), false);
  assert.deepEqual(l.posted.at(-1), { t: "close", leg: 1 });
  leg.onPacket = () => {};
  assert.deepEqual(l.posted.at(-1), { t: "close", leg: 1 }, "a closed leg asks nothing more");
});

test("a relay in place takes over both legs' consumers; legs of another worker relay here", () => {
  const clock = new FakeClock();
  const l = link();
  const other = link();
  const a = new RemoteRtpLeg(l.link, 1, "127.0.0.1", 30000, 30001, clock);
  const b = new RemoteRtpLeg(l.link, 2, "127.0.0.1", 30002, 30003, clock);
  const c = new RemoteRtpLeg(other.link, 1, "127.0.0.1", 30100, 30101, clock);
  a.onPacket = () => {};
  assert.ok(a.relayInPlace(b));
  assert.deepEqual(l.relays, [[1, 2]]);
  assert.equal(a.onPacket, null);
  assert.equal(a.relayInPlace(c), undefined);
  assert.equal(a.relayInPlace(a), undefined);
  // Through the main thread: a bridge's handlers turn forwarding on.
  const bridge = new PacketBridge(a, c);
  assert.deepEqual(l.posted.at(-1), { t: "forward", leg: 1, kind: RTCP, on: true });
  a.deliver(RTP, Buffer.from([0x80, 0, 0, 1]));
  assert.deepEqual(other.queued[0].data, Buffer.from([0x80, 0, 0, 1]));
  bridge.detach();
  assert.equal(a.onPacket, null);
});

test("reports mirror the counters; lastReceivedAt moves only when packets came", async () => {
  const clock = new FakeClock();
  const l = link();
  const leg = new RemoteRtpLeg(l.link, 5, "127.0.0.1", 30000, 30001, clock);
  const report = (agoMs: number, values: Partial<Record<(typeof LEG_COUNTERS)[number], number>>) => {
    const r = new Float64Array(LEG_STRIDE * 2);
    r[LEG_STRIDE] = 5;
    r[LEG_STRIDE + 1] = agoMs;
    LEG_COUNTERS.forEach((k, i) => {
      r[LEG_STRIDE + 2 + i] = values[k] ?? 0;
    });
    leg.report(r, LEG_STRIDE);
  };
  await clock.advance(10_000);
  report(-1, { packetsOut: 3 });
  assert.equal(leg.lastReceivedAt, 0);
  assert.equal(leg.counters.packetsOut, 3);
  report(120, { packetsIn: 50, bytesIn: 8600, packetsOut: 3 });
  assert.equal(leg.lastReceivedAt, clock.now() - 120);
  assert.equal(leg.counters.bytesIn, 8600);
  await clock.advance(5000);
  report(4000, { packetsIn: 50, bytesIn: 8600, packetsOut: 9 });
  assert.equal(leg.lastReceivedAt, clock.now() - 5000 - 120, "no new packet: unchanged");
});

test("a failed leg is closed for good and tells its observer once", () => {
  const l = link();
  const leg = new RemoteRtpLeg(l.link, 1, "127.0.0.1", 30000, 30001, new FakeClock());
  const told: Error[] = [];
  leg.onFailure = (err) => void told.push(err);
  leg.onPacket = () => {};
  const err = new Error("media worker exited with code 1");
  leg.fail(err);
  leg.fail(new Error("again"));
  assert.deepEqual(told, [err]);
  assert.equal(leg.failed, err);
  assert.equal(leg.isClosed, true);
  assert.equal(leg.onPacket, null);
  assert.equal(leg.send(Buffer.alloc(12), 0, 12), false);
});
