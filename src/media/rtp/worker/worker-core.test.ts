// The worker's side, run on this thread (no worker): its messages in and out,
// over real UDP sockets on loopback.
import assert from "node:assert/strict";
import { test } from "node:test";
import { writeRtpHeader } from "../packet.ts";
import { type Probe, probe, waitFor } from "../testing.ts";
import {
  type FromWorker,
  LEG_COUNTERS,
  LEG_STRIDE,
  PacketBatchWriter,
  RELAY_STRIDE,
  RTCP,
  RTP,
  readPacketBatch,
  type ToWorker,
} from "./protocol.ts";
import { MediaWorkerCore } from "./worker-core.ts";

function randomBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 15000);
}

function packet(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(172);
  writeRtpHeader(b, false, 0, seq, seq * 160, ssrc);
  b.fill(seq & 0xff, 12);
  return b;
}

const RTCP_RR = Buffer.from([0x81, 201, 0, 7, 0, 0, 0xaa, 0xaa, ...new Array(24).fill(3)]);

async function setup(pairs = 4) {
  const out: FromWorker[] = [];
  const core = new MediaWorkerCore((msg) => out.push(msg));
  const min = randomBase();
  core.handle({
    t: "init",
    min,
    max: min + 2 * pairs - 1,
    bind: "127.0.0.1",
    logLevel: "silent",
    reportEveryMs: 20,
    nice: 0,
  });
  assert.deepEqual(out.shift(), { t: "ready" });
  const phones: Probe[] = [];
  const allocate = async (leg: number) => {
    core.handle({ t: "alloc", leg });
    await waitFor(() => out.some((m) => (m.t === "allocated" || m.t === "alloc-failed") && m.leg === leg));
    const i = out.findIndex((m) => (m.t === "allocated" || m.t === "alloc-failed") && m.leg === leg);
    return out.splice(i, 1)[0];
  };
  /** A leg on the worker and a phone it sends to (RTP and RTCP on the phone's one socket). */
  const legWithPhone = async (leg: number) => {
    const m = await allocate(leg);
    assert.equal(m.t, "allocated");
    const phone = await probe();
    phones.push(phone);
    core.handle({ t: "remote", leg, address: "127.0.0.1", port: phone.port, rtcpPort: phone.port });
    return {
      port: m.t === "allocated" ? m.rtpPort : 0,
      rtcpPort: m.t === "allocated" ? m.rtcpPort : 0,
      phone,
    };
  };
  const packetsToMain = () => {
    const got: Array<{ leg: number; kind: number; data: Buffer }> = [];
    for (const m of out) {
      if (m.t === "packets")
        readPacketBatch(m.buf, m.length, (leg, kind, p) => got.push({ leg, kind, data: Buffer.from(p) }));
    }
    return got;
  };
  const cleanup = () => {
    core.close();
    for (const p of phones) p.close();
  };
  return { core, out, min, allocate, legWithPhone, packetsToMain, cleanup };
}

test("two legs of the worker relay each other there, byte-exact, RTP and RTCP, and report their counters", async (t) => {
  const s = await setup();
  t.after(s.cleanup);
  const a = await s.legWithPhone(1);
  const b = await s.legWithPhone(2);
  assert.ok(a.port >= s.min && a.port % 2 === 0 && a.rtcpPort === a.port + 1);
  s.core.handle({ t: "relay", relay: 7, a: 1, b: 2 });
  const sentA = Array.from({ length: 20 }, (_, i) => packet(i, 0xaaaa));
  const sentB = Array.from({ length: 20 }, (_, i) => packet(500 + i, 0xbbbb));
  for (let i = 0; i < 20; i++) {
    await a.phone.send(sentA[i], a.port);
    await b.phone.send(sentB[i], b.port);
  }
  await a.phone.send(RTCP_RR, a.rtcpPort);
  await waitFor(() => b.phone.received.length === 21 && a.phone.received.length === 20);
  assert.deepEqual(
    b.phone.received.slice(0, 20).map((r) => r.data),
    sentA,
  );
  assert.deepEqual(
    a.phone.received.map((r) => r.data),
    sentB,
  );
  assert.deepEqual(b.phone.received[20].data, RTCP_RR);
  assert.equal(s.packetsToMain().length, 0, "nothing relayed crosses to the main thread");

  // The periodic reports: the legs and the relay that changed, with their counters.
  const latest = () => {
    const legs = new Map<number, number[]>();
    const relays = new Map<number, number[]>();
    for (const m of s.out) {
      if (m.t !== "activity") continue;
      for (let at = 0; at < m.legs.length; at += LEG_STRIDE)
        legs.set(m.legs[at], [...m.legs.subarray(at, at + LEG_STRIDE)]);
      for (let at = 0; at < m.relays.length; at += RELAY_STRIDE)
        relays.set(m.relays[at], [...m.relays.subarray(at + 1, at + RELAY_STRIDE)]);
    }
    return { legs, relays };
  };
  await waitFor(
    () =>
      latest().relays.get(7)?.[4] === 1 &&
      latest().legs.get(2)?.[2 + LEG_COUNTERS.indexOf("packetsOut")] === 20,
  );
  const { legs, relays } = latest();
  const counter = (leg: number, name: (typeof LEG_COUNTERS)[number]) =>
    legs.get(leg)![2 + LEG_COUNTERS.indexOf(name)];
  assert.equal(counter(1, "packetsIn"), 20);
  assert.equal(counter(1, "rtcpIn"), 1);
  assert.equal(counter(2, "packetsIn"), 20);
  assert.equal(counter(2, "rtcpOut"), 1);
  assert.ok(legs.get(1)![1] >= 0, "ms since the last packet");
  assert.deepEqual(relays.get(7), [20, 20 * 172, 20, 20 * 172, 1, 0]);

  // Nothing new: no report at all.
  const before = s.out.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(s.out.slice(before).filter((m) => m.t === "activity").length, 0);

  // unrelay: the legs consume nothing any more.
  s.core.handle({ t: "unrelay", relay: 7 });
  await a.phone.send(packet(99, 0xaaaa), a.port);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(b.phone.received.length, 21);
});

test("forwarded packets go to the main thread in batches; packets from the main thread go out", async (t) => {
  const s = await setup();
  t.after(s.cleanup);
  const a = await s.legWithPhone(1);
  s.core.handle({ t: "forward", leg: 1, kind: RTP, on: true });
  s.core.handle({ t: "forward", leg: 1, kind: RTCP, on: true });
  for (let i = 0; i < 5; i++) await a.phone.send(packet(i, 0xc0ffee), a.port);
  await a.phone.send(RTCP_RR, a.rtcpPort);
  await waitFor(() => s.packetsToMain().length === 6);
  const got = s.packetsToMain();
  assert.deepEqual(
    got.map((g) => [g.leg, g.kind]),
    [
      [1, RTP],
      [1, RTP],
      [1, RTP],
      [1, RTP],
      [1, RTP],
      [1, RTCP],
    ],
  );
  assert.deepEqual(got[4].data, packet(4, 0xc0ffee));

  // The main thread's batch: two packets and an RTCP one, in order, to the phone.
  const batches: ToWorker[] = [];
  const writer = new PacketBatchWriter((buf, length) => batches.push({ t: "packets", buf, length }));
  writer.add(1, RTP, packet(10, 1), 0, 172);
  writer.add(1, RTP, packet(11, 1), 0, 172);
  writer.add(1, RTCP, RTCP_RR, 0, RTCP_RR.length);
  writer.add(99, RTP, packet(12, 1), 0, 172); // a leg the worker does not know: dropped
  writer.flush();
  assert.equal(batches.length, 1);
  s.core.handle(batches[0]);
  await waitFor(() => a.phone.received.length === 3);
  assert.deepEqual(
    a.phone.received.map((r) => r.data),
    [packet(10, 1), packet(11, 1), RTCP_RR],
  );

  s.core.handle({ t: "forward", leg: 1, kind: RTP, on: false });
  const n = s.packetsToMain().length;
  await a.phone.send(packet(20, 0xc0ffee), a.port);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(s.packetsToMain().length, n, "not forwarded once off");
});

test("a full slice says so; release frees the pair and drops the relays of the leg", async (t) => {
  const s = await setup(2);
  t.after(s.cleanup);
  await s.legWithPhone(1);
  await s.legWithPhone(2);
  const full = await s.allocate(3);
  assert.equal(full.t, "alloc-failed");
  assert.equal(full.t === "alloc-failed" && full.exhausted, true);
  s.core.handle({ t: "relay", relay: 1, a: 1, b: 2 });
  assert.deepEqual(s.core.size, { legs: 2, relays: 1 });
  s.core.handle({ t: "release", leg: 2 });
  s.core.handle({ t: "release", leg: 2 }); // idempotent
  assert.deepEqual(s.core.size, { legs: 1, relays: 0 });
  assert.equal((await s.allocate(4)).t, "allocated");
});

test("a message the worker cannot handle is logged, never thrown", async (t) => {
  const s = await setup();
  t.after(s.cleanup);
  s.core.handle({
    t: "init",
    min: 3000,
    max: 2000,
    bind: "127.0.0.1",
    logLevel: "error",
    reportEveryMs: 20,
    nice: 0,
  });
  // The second init fails on its range and says so; the first pool goes on.
  assert.equal(s.out.at(-1)?.t, "init-failed");
  s.core.handle({ t: "packets", buf: new ArrayBuffer(5), length: 5 }); // truncated batch
  s.core.handle({ t: "remote", leg: 42, address: "127.0.0.1", port: 9 });
  s.core.handle({ t: "forward", leg: 42, kind: RTP, on: true });
  s.core.handle({ t: "relay", relay: 1, a: 42, b: 43 });
  s.core.handle({ t: "unrelay", relay: 1 });
  s.core.handle(null as unknown as ToWorker);
  const logged = s.out.filter((m) => m.t === "log").map((m) => (m.t === "log" ? JSON.parse(m.line) : {}));
  assert.ok(logged.some((l) => l.msg === "media worker: message failed"));
});

test("batches: records round-trip in order, a full batch is sent at once, an empty flush sends nothing", () => {
  const sent: Array<{ buf: ArrayBuffer; length: number }> = [];
  const writer = new PacketBatchWriter((buf, length) => sent.push({ buf, length }));
  writer.flush();
  assert.equal(sent.length, 0);
  const big = Buffer.alloc(1400, 7);
  for (let i = 0; i < 100; i++) writer.add(i, i % 2 === 0 ? RTP : RTCP, big, 0, 1000 + i);
  writer.flush();
  assert.ok(sent.length >= 2, "64 KiB batches: 100 packets of ~1 kB take two");
  const got: Array<[number, number, number]> = [];
  for (const b of sent) readPacketBatch(b.buf, b.length, (leg, kind, p) => got.push([leg, kind, p.length]));
  assert.deepEqual(
    got,
    Array.from({ length: 100 }, (_, i) => [i, i % 2 === 0 ? RTP : RTCP, 1000 + i]),
  );
  // A packet bigger than a batch gets a batch of its own.
  writer.add(1, RTP, Buffer.alloc(65_000), 0, 65_000);
  writer.flush();
  let size = 0;
  readPacketBatch(sent.at(-1)!.buf, sent.at(-1)!.length, (_l, _k, p) => {
    size = p.length;
  });
  assert.equal(size, 65_000);
});
