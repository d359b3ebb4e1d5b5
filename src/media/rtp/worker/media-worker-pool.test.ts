// Media worker threads for real: legs on worker threads, phones on loopback.
import assert from "node:assert/strict";
import { getPriority } from "node:os";
import { test } from "node:test";
import { pino } from "pino";
import { FakeClock } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import { threadNiceValues } from "../../../util/thread-priority.ts";
import { MediaEndpoint } from "../../endpoint/endpoint.ts";
import { MediaPacer } from "../../endpoint/pacer.ts";
import type { MediaLeg } from "../media-leg.ts";
import { parseRtp, writeRtpHeader } from "../packet.ts";
import { RtpPortPoolExhaustedError } from "../port-pool.ts";
import { RtpRelay } from "../relay.ts";
import { type Probe, probe, waitFor } from "../testing.ts";
import type { MediaThread } from "./media-thread.ts";
import { MediaWorkerPool, splitPortRange } from "./media-worker-pool.ts";
import { RemoteRtpLeg } from "./remote-rtp-leg.ts";

function randomBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 15000);
}

function packet(seq: number, ssrc: number, pt = 0): Buffer {
  const b = Buffer.alloc(172);
  writeRtpHeader(b, false, pt, seq, seq * 160, ssrc);
  b.fill(seq & 0xff, 12);
  return b;
}

/** A logger that keeps what it writes, to check what a failure says. */
function recordingLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

async function startPool(
  t: { after(fn: () => Promise<void> | void): void },
  threads: number,
  pairs: number,
  nice?: number,
) {
  const clock = new FakeClock(Date.now());
  const { log, lines } = recordingLog();
  const min = randomBase();
  const pool = await MediaWorkerPool.start({
    threads,
    rtpPorts: { min, max: min + 2 * pairs - 1 },
    bind: "127.0.0.1",
    clock,
    log,
    reportEveryMs: 20,
    nice,
  });
  const phones: Probe[] = [];
  t.after(async () => {
    await pool.stop();
    for (const p of phones) p.close();
  });
  /** A phone that the leg sends to (RTP and RTCP on its one socket). */
  const phoneFor = async (leg: MediaLeg) => {
    const phone = await probe();
    phones.push(phone);
    leg.setRemote("127.0.0.1", phone.port, phone.port);
    return phone;
  };
  return { clock, log, lines, min, pool, phoneFor };
}

/** The nice value is set per thread on Linux only (util/thread-priority.ts). */
const linuxOnly = { skip: process.platform !== "linux" && "per-thread nice is Linux's" };

test(
  "each media thread takes the nice value asked, on itself: the signalling thread keeps its own",
  linuxOnly,
  async (t) => {
    const before = getPriority(0);
    // A higher nice value (a lower priority) needs no privilege, so this runs as any user.
    const nice = Math.min(19, before + 3);
    const { pool, lines } = await startPool(t, 2, 4, nice);
    for (const thread of pool.running) assert.deepEqual(thread.priority, { applied: true, nice });
    assert.equal(getPriority(0), before);
    const values = [...threadNiceValues().values()];
    assert.equal(values.filter((v) => v === nice).length, 2, String(values));
    assert.equal(lines.find((l) => l.msg === "media threads started")?.nice, nice);
  },
);

test(
  "a nice value the system refuses is said once, with what to do, and the threads still carry calls",
  linuxOnly,
  async (t) => {
    // Out of setpriority's range: refused here as EACCES would be for a process without CAP_SYS_NICE.
    const { pool, lines, phoneFor } = await startPool(t, 2, 4, -40);
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(String(warnings[0].msg), /nice -40 was refused .*CAP_SYS_NICE.*VPBX_MEDIA_NICE=0/);
    for (const thread of pool.running) assert.equal(thread.priority?.applied, false);
    const leg = await pool.allocate();
    const phone = await phoneFor(leg);
    leg.send(packet(1, 7), 0, 172);
    await waitFor(() => phone.received.length === 1);
  },
);

test("port slices: contiguous, whole even/odd pairs, as equal as can be", () => {
  assert.deepEqual(splitPortRange(10000, 10011, 2), [
    { min: 10000, max: 10005 },
    { min: 10006, max: 10011 },
  ]);
  assert.deepEqual(splitPortRange(10000, 10013, 3), [
    { min: 10000, max: 10003 },
    { min: 10004, max: 10007 },
    { min: 10008, max: 10013 },
  ]);
  assert.deepEqual(splitPortRange(10000, 10003, 4), [
    { min: 10000, max: 10001 },
    { min: 10002, max: 10003 },
  ]);
  assert.deepEqual(splitPortRange(10001, 10002, 1), []);
  assert.deepEqual(splitPortRange(10000, 20000, 1), [{ min: 10000, max: 19999 }]);
});

test("the two legs of a call share a worker, which relays them itself; counters come from its reports", async (t) => {
  const s = await startPool(t, 2, 8);
  const a = await s.pool.allocate();
  const b = await s.pool.allocate(a);
  assert.ok(a instanceof RemoteRtpLeg && b instanceof RemoteRtpLeg);
  assert.equal(a.link, b.link, "near: the same worker");
  const slice = s.pool.slices.find((x) => a.localPort >= x.min && a.localPort <= x.max)!;
  assert.ok(b.localPort >= slice.min && b.localPort <= slice.max, "ports of that worker's slice");
  const phoneA = await s.phoneFor(a);
  const phoneB = await s.phoneFor(b);
  let timeouts = 0;
  const relay = new RtpRelay(a, b, { clock: s.clock, mediaTimeoutMs: 1000, onTimeout: () => timeouts++ });
  assert.equal(relay.relaysInPlace, true);
  assert.equal(a.onPacket, null, "the relay consumes in the worker, not here");
  const sentA = Array.from({ length: 30 }, (_, i) => packet(i, 0xaaaa));
  const sentB = Array.from({ length: 30 }, (_, i) => packet(100 + i, 0xbbbb));
  for (let i = 0; i < 30; i++) {
    await phoneA.send(sentA[i], a.localPort);
    await phoneB.send(sentB[i], b.localPort);
  }
  await waitFor(() => phoneB.received.length === 30 && phoneA.received.length === 30);
  assert.deepEqual(
    phoneB.received.map((r) => r.data),
    sentA,
  );
  assert.deepEqual(
    phoneA.received.map((r) => r.data),
    sentB,
  );
  // Mirrored from the worker's reports.
  await waitFor(() => relay.stats().bToAPackets === 30 && a.counters.packetsOut === 30);
  assert.equal(relay.stats().aToBPackets, 30);
  assert.equal(relay.stats().aToBBytes, 30 * 172);
  assert.equal(a.counters.packetsIn, 30);
  assert.equal(b.counters.packetsIn, 30);
  assert.ok(a.lastReceivedAt > 0 && b.lastReceivedAt > 0);

  // The media timeout on the injected clock: media flowing resets it, silence ends it.
  await s.clock.advance(900);
  await phoneA.send(packet(30, 0xaaaa), a.localPort);
  await waitFor(() => a.counters.packetsIn === 31);
  await s.clock.advance(500);
  assert.equal(timeouts, 0, "media 500 ms ago");
  await s.clock.advance(1000);
  assert.equal(timeouts, 1, "silence for the media timeout");

  relay.stop();
  await phoneA.send(packet(31, 0xaaaa), a.localPort);
  await waitFor(() => a.counters.packetsIn === 32);
  assert.equal(phoneB.received.length, 31, "not relayed once stopped");
  s.pool.release(a);
  s.pool.release(b);
  s.pool.release(b);
});

test("an endpoint on the main thread plays to a leg on a worker and hears its digits", async (t) => {
  const s = await startPool(t, 1, 4);
  const leg = await s.pool.allocate();
  const phone = await s.phoneFor(leg);
  const pacer = new MediaPacer(s.clock);
  const ep = new MediaEndpoint({
    leg,
    pacer,
    clock: s.clock,
    codec: "PCMU",
    payloadType: 0,
    telephoneEventPt: 101,
  });
  t.after(() => ep.close());
  const played = ep.play([{ kind: "tone", freqs: [440], ms: 200 }]);
  for (let i = 0; i < 12; i++) await s.clock.advance(20);
  assert.equal(await played, "done");
  await waitFor(() => phone.received.length === 10);
  const headers = phone.received.map((r) => parseRtp(r.data)!);
  assert.ok(headers.every((h) => h.payloadType === 0 && h.payloadLength === 160));
  assert.deepEqual(
    headers.map((h) => (h.sequence - headers[0].sequence) & 0xffff),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );

  // RFC 4733 "5" from the phone, forwarded by the worker to the endpoint.
  const collected = ep.collect({ max: 1, firstTimeoutMs: 5000, interTimeoutMs: 5000 });
  for (let i = 0; i < 3; i++) {
    const ev = Buffer.alloc(16);
    writeRtpHeader(ev, i === 0, 101, 500 + i, 8000, 0x1234);
    ev.set([5, i === 2 ? 0x8a : 0x0a, 0, 160 * (i + 1)], 12);
    await phone.send(ev, leg.localPort);
  }
  assert.deepEqual(await collected, { digits: "5", reason: "max" });
  await waitFor(() => leg.counters.packetsOut === 10 && leg.counters.packetsIn === 3);
  s.pool.release(leg);
});

test("legs on two workers (a transfer joining two calls) are relayed through the main thread", async (t) => {
  const s = await startPool(t, 2, 8);
  const a = await s.pool.allocate();
  const b = await s.pool.allocate();
  assert.ok(a instanceof RemoteRtpLeg && b instanceof RemoteRtpLeg);
  assert.notEqual(a.link, b.link, "the least loaded worker takes a leg with no `near`");
  const phoneA = await s.phoneFor(a);
  const phoneB = await s.phoneFor(b);
  const relay = new RtpRelay(a, b, { clock: s.clock, mediaTimeoutMs: 5000, onTimeout: () => {} });
  assert.equal(relay.relaysInPlace, false);
  const sent = Array.from({ length: 20 }, (_, i) => packet(i, 0xaaaa));
  for (const p of sent) await phoneA.send(p, a.localPort);
  await phoneB.send(packet(7, 0xbbbb), b.localPort);
  await waitFor(() => phoneB.received.length === 20 && phoneA.received.length === 1);
  assert.deepEqual(
    phoneB.received.map((r) => r.data),
    sent,
  );
  assert.equal(relay.stats().aToBPackets, 20);
  relay.stop();
});

test("a worker that dies: logged with its error, its calls fail, a new worker takes its ports", async (t) => {
  const s = await startPool(t, 2, 4);
  const a = await s.pool.allocate();
  const b = await s.pool.allocate(a);
  assert.ok(a instanceof RemoteRtpLeg && b instanceof RemoteRtpLeg);
  const dying = a.link as MediaThread;
  let ended = 0;
  const relay = new RtpRelay(a, b, { clock: s.clock, mediaTimeoutMs: 60_000, onTimeout: () => ended++ });
  const other = s.pool.running.find((x) => x !== dying)!;
  await dying.worker.terminate();
  await waitFor(() => ended === 1);
  assert.ok(a.failed instanceof Error && a.isClosed && b.isClosed);
  assert.equal(a.send(packet(1, 1), 0, 172), false);
  const died = s.lines.find((l) => l.msg?.toString().startsWith("media thread died"));
  assert.ok(died, "the death is logged");
  assert.equal(died.legs, 2);
  assert.match(String((died.err as { message?: string })?.message), /exited with code/);
  // The replacement comes up on the same slice.
  await waitFor(() => s.pool.running.length === 2, 20_000);
  const fresh = s.pool.running.find((x) => x !== other)!;
  assert.notEqual(fresh, dying);
  assert.deepEqual(fresh.ports, dying.ports);
  relay.stop();
  s.pool.release(a); // a leg of the dead worker: nothing to do
  // Legs on both slices again: four pairs in all.
  const legs = [
    await s.pool.allocate(),
    await s.pool.allocate(),
    await s.pool.allocate(),
    await s.pool.allocate(),
  ];
  const ports = new Set(legs.map((l) => l.localPort));
  assert.equal(ports.size, 4);
  await assert.rejects(s.pool.allocate(), RtpPortPoolExhaustedError);
  for (const l of legs) s.pool.release(l);
  await s.pool.allocate();
});

test("a leg that failed before its relay began ends the call at once", async (t) => {
  const s = await startPool(t, 1, 4);
  const a = await s.pool.allocate();
  const b = await s.pool.allocate(a);
  await s.pool.running[0].worker.terminate();
  await waitFor(() => a.failed !== undefined);
  let ended = 0;
  const relay = new RtpRelay(a, b, { clock: s.clock, mediaTimeoutMs: 60_000, onTimeout: () => ended++ });
  await s.clock.advance(0);
  assert.equal(ended, 1);
  relay.stop();
});

test("full slices send a leg to a thread with room; when all are full, the pool is exhausted", async (t) => {
  const s = await startPool(t, 2, 2);
  const a = await s.pool.allocate();
  const b = await s.pool.allocate(a); // a's slice holds one pair: b goes to the other worker
  assert.ok(a instanceof RemoteRtpLeg && b instanceof RemoteRtpLeg);
  assert.notEqual(a.link, b.link);
  await assert.rejects(s.pool.allocate(), RtpPortPoolExhaustedError);
  s.pool.release(a);
  const c = await s.pool.allocate(b);
  assert.equal(c.localPort, a.localPort, "the freed pair");
});

test("stop ends every worker; bad thread counts are refused", async () => {
  const { log } = recordingLog();
  const min = randomBase();
  const clock = new FakeClock();
  const opts = { rtpPorts: { min, max: min + 7 }, bind: "127.0.0.1", clock, log };
  await assert.rejects(MediaWorkerPool.start({ ...opts, threads: 0 }), RangeError);
  await assert.rejects(MediaWorkerPool.start({ ...opts, threads: 1.5 }), RangeError);
  await assert.rejects(
    MediaWorkerPool.start({ ...opts, threads: 1, bind: "203.0.113.250" }).then(async (p) => {
      // Binding an address we do not have fails at the first leg, with the reason.
      try {
        await p.allocate();
      } finally {
        await p.stop();
      }
    }),
    /cannot bind RTP port/,
  );
  const pool = await MediaWorkerPool.start({ ...opts, threads: 2 });
  assert.equal(pool.running.length, 2);
  await pool.stop();
  assert.equal(pool.running.length, 0);
  await assert.rejects(pool.allocate(), /media threads stopped/);
});
