// Figures 3 and 4b: concurrent G.711 calls with RTP relayed both ways
// through the PBX (loss, added jitter, CPU), and the PBX's memory per call.
//
// With --peers (issue #11) the same calls, from the same generator, go
// through Kamailio with rtpengine too (bench/peers/kamailio-rtpengine.cfg:
// rtpengine_offer/answer/delete over the ng socket, userspace forwarding),
// one system after the other. Pinning (lib/pinning.ts): the RTP generator's
// worker processes, forked from this bench process, share the last core with
// it; the system under test (vpbx, or Kamailio and rtpengine) has the other.
//
// relayThrough also runs the calls of the SRTP relay figure (relay-srtp.ts):
// the same calls with SIP over TLS and SDES SRTP on both legs.
//
// Warm-ups. Every figure of jitter is of a warm system, each system alike:
// the calibration (the generator streaming leg to leg, no relay) measures
// after the generator's own first seconds, and the stream through a relay
// after its first WARMUP_MS. In those first seconds every leg of the 500
// calls latches onto its source and connects its socket at the same
// instant, and a just-started process compiles its packet path: trials
// through vpbx's media worker alone showed 30-45 ms of jitter p99 in the
// first 3 s, then 3-4 ms for as long as the stream lasted. A real PBX
// sees those first packets spread over the calls' arrivals, and compiles
// once in its life. The first seconds are still reported ("first_seconds"),
// and the loss is counted over the whole stream, warm-up included.

import type { SdesCrypto } from "../../src/media/srtp/index.ts";
import { emitComparison } from "../lib/compare.ts";
import { round } from "../lib/histogram.ts";
import { benchCrypto, LoadUa } from "../lib/load-ua.ts";
import { type PbxProcess, sleep } from "../lib/pbx-process.ts";
import { peerMissing, startKamailioRtpengine } from "../lib/peers.ts";
import { BenchPinning } from "../lib/pinning.ts";
import { meterCpu, type PeerTarget, type Target, targetPids, vpbxTarget } from "../lib/target.ts";
import {
  type CallLegs,
  type LegKeys,
  RtpGenerator,
  type StreamResult,
  type WireKey,
} from "../rtp/rtp-generator.ts";
import { registerAll } from "./calls.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";

export const TARGET_CALLS = 500;
const MAX_LOSS_PCT = 0.1;
const MAX_ADDED_JITTER_MS = 5;
/** The first seconds of a stream through a relay, measured apart (see the top of this file). */
const WARMUP_MS = 5000;
/** The generator's own first seconds, before its calibration is measured. */
const GENERATOR_WARMUP_MS = 2000;

/** What one system did with the calls: the figures the comparison lines take. */
export interface RelayFigures {
  calls: number;
  lossPct: number;
  addedJitterP99Ms: number;
  /** Jitter p99 (|D(i-1,i)|, ms) through the relay, the generator's own included. */
  jitterP99Ms: number;
  targetCpuPct: number;
  /** SRTP packets that failed to unprotect at the generator (0 for plain calls). */
  srtpFailures: number;
  /** Calls up and relayed with less than MAX_LOSS_PCT lost (0 when more were lost). */
  relayedBelowLoss: number;
  /** How late the generator sent (p99, ms) and how busy the rest of the machine was: is the jitter the relay's? */
  generatorSendLateP99Ms: number;
  othersCpuPct: number;
}

export async function benchRelay(ctx: BenchContext): Promise<void> {
  const { report, quick, peers } = ctx;
  const calls = quick ? 50 : TARGET_CALLS;
  const pbx = await ctx.pbx();
  const vpbx = vpbxTarget(pbx);
  const pinning = new BenchPinning();
  try {
    pinning.target(() => targetPids(vpbx));
    if (!peers) {
      await relayThrough(ctx, vpbx, calls, pinning, pbx);
      return;
    }
    // Beside a peer, a failure of one system does not stop the other's run;
    // vpbx's is thrown again at the end (run.ts reports it, the run fails).
    let vpbxError: unknown;
    let mine: RelayFigures | undefined;
    try {
      mine = await relayThrough(ctx, vpbx, calls, pinning, pbx);
    } catch (err) {
      vpbxError = err;
      report.note(
        `relay: vpbx failed (${err instanceof Error ? err.message : String(err)}); the peer runs still`,
      );
    }
    const theirs = await relayThroughPeer(ctx, calls, pinning);
    if (mine && theirs) compare(ctx, mine, theirs.figures, theirs.name);
    if (vpbxError !== undefined) throw vpbxError;
  } finally {
    pinning.restore();
  }
}

/** Kamailio with rtpengine, started for the run and stopped after; undefined (with a line saying why) when it cannot run. */
async function relayThroughPeer(
  ctx: BenchContext,
  calls: number,
  pinning: BenchPinning,
): Promise<{ name: string; figures: RelayFigures } | undefined> {
  const { report } = ctx;
  const name = "kamailio+rtpengine";
  const missing = peerMissing("relay");
  if (missing) {
    report.note(`relay: the rtpengine comparison is skipped: ${missing}`);
    report.emit({ bench: "relay", system: name, skipped: missing });
    return undefined;
  }
  let peer: PeerTarget | undefined;
  try {
    peer = await startKamailioRtpengine(calls);
    pinning.target(() => targetPids(peer as PeerTarget));
    return { name, figures: await relayThrough(ctx, peer, calls, pinning) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    report.emit({ bench: "relay", system: name, error: message.slice(0, 800), log: peer?.logTail() });
    return undefined;
  } finally {
    await peer?.stop();
  }
}

function compare(ctx: BenchContext, vpbx: RelayFigures, peer: RelayFigures, name: string): void {
  const { report } = ctx;
  // Did the generator keep its own 20 ms schedule in both runs (send lateness p99 under the jitter
  // goal)? When it did not (its core shared with other work), loss and jitter are partly its own.
  const onTime =
    vpbx.generatorSendLateP99Ms < MAX_ADDED_JITTER_MS && peer.generatorSendLateP99Ms < MAX_ADDED_JITTER_MS;
  // No verdict from figures the generator itself blurred: `ok` is null then, the values are still there.
  const verdict = (ok: boolean) => (onTime ? ok : null);
  if (!onTime)
    report.note(
      "relay: the generator was late in at least one run: loss and jitter are partly its own, no verdict",
    );
  emitComparison(report, {
    figure: "relay_calls_below_0.1pct_loss",
    peer: name,
    vpbx: vpbx.relayedBelowLoss,
    peerValue: peer.relayedBelowLoss,
    goal: "relayed calls at < 0.1 % loss ≥ rtpengine's",
    ok: verdict(vpbx.relayedBelowLoss >= peer.relayedBelowLoss),
    extra: { vpbx_loss_pct: vpbx.lossPct, peer_loss_pct: peer.lossPct, generator_on_time: onTime },
  });
  emitComparison(report, {
    figure: "relay_added_jitter_p99_ms",
    peer: name,
    vpbx: vpbx.addedJitterP99Ms,
    peerValue: peer.addedJitterP99Ms,
    goal: `< ${MAX_ADDED_JITTER_MS} ms at ${TARGET_CALLS} calls, the generator pinned to its own core`,
    ok: verdict(vpbx.calls >= TARGET_CALLS && vpbx.addedJitterP99Ms < MAX_ADDED_JITTER_MS),
    extra: {
      calls: vpbx.calls,
      generator_on_time: onTime,
      vpbx_generator_send_late_p99_ms: vpbx.generatorSendLateP99Ms,
      peer_generator_send_late_p99_ms: peer.generatorSendLateP99Ms,
      vpbx_others_cpu_pct: vpbx.othersCpuPct,
      peer_others_cpu_pct: peer.othersCpuPct,
    },
  });
  emitComparison(report, {
    figure: "relay_cpu_pct",
    peer: name,
    vpbx: vpbx.targetCpuPct,
    peerValue: peer.targetCpuPct,
    goal: null,
    ok: null,
    extra: { unit: "% of one core while streaming", calls: vpbx.calls, generator_on_time: onTime },
  });
}

/** How relayThrough's calls are made, when not as the relay bench's. */
export interface RelayRunOptions {
  /**
   * "srtp": the phones on SIP over TLS (keys are taken only over TLS), each
   * call SDES SRTP (AES_CM_128_HMAC_SHA1_80) on both legs, every packet
   * protected and unprotected by the generator as by a phone. Default "rtp":
   * plain RTP, SIP over UDP.
   */
  media?: "rtp" | "srtp";
  /** First numbers of the callers and callees (default the relay bench's): users register once per run. */
  ranges?: { callers: number; callees: number };
  /** The `bench` of the line emitted (default "relay"). */
  line?: string;
}

/** An SDES key as the generator's workers take it. */
function wireKey(c: SdesCrypto): WireKey {
  return {
    profile: c.profile,
    key: Buffer.from(c.masterKey).toString("base64"),
    salt: Buffer.from(c.masterSalt).toString("base64"),
  };
}

/** Keys for a call streamed leg to leg (the calibration): each leg receives under the other's key. */
function directKeys(): { caller: LegKeys; callee: LegKeys } {
  const a = wireKey(benchCrypto());
  const b = wireKey(benchCrypto());
  return { caller: { send: a, recv: b }, callee: { send: b, recv: a } };
}

/**
 * Sets up `calls` calls through `target` (its callees registered by the
 * generator's phones first), streams RTP both ways, emits the "relay" line
 * (and for vpbx, given `pbx`, the "rss_per_call" line) and hangs up.
 */
export async function relayThrough(
  ctx: BenchContext,
  target: Target,
  calls: number,
  pinning: BenchPinning,
  pbx?: PbxProcess,
  opts: RelayRunOptions = {},
): Promise<RelayFigures> {
  const { report, quick } = ctx;
  const srtp = opts.media === "srtp";
  const streamMs = quick ? 4000 : 20_000;
  const callers = numbers(opts.ranges?.callers ?? RANGES.relayCallers, calls);
  const callees = numbers(opts.ranges?.callees ?? RANGES.relayCallees, calls);
  const label = `${opts.line ?? "relay"}: ${target.name}${srtp ? " (SRTP over TLS)" : ""}`;
  if (srtp && target.sipTlsPort === undefined)
    throw new Error(`${target.name} has no SIP over TLS port for SRTP`);
  report.note(`${label}: ${calls * 2} users, registering ${calls} callees`);
  await target.createUsers([...callers, ...callees]);
  const ua = await LoadUa.open(target.sipPort, srtp ? { tlsPort: target.sipTlsPort } : {});
  const gen = new RtpGenerator();
  const up: Array<{ hangup(): Promise<boolean> }> = [];
  // The relay bench's goal is for its own calls; the SRTP figure's runs (opts.line) have their own line.
  const vpbxGoal = target.name === "vpbx" && opts.line === undefined;
  try {
    if (!(await registerAll(ua, callees))) {
      throw new Error(`callee registration at ${target.name} failed`);
    }
    // One worker process per generator core: two on one core take turns and are late by the
    // other's burst (send lateness p99 about 40 ms against 12 ms for one, in trials at 500 calls).
    const workers = pinning.generatorCores() ?? 2;
    const legs = await gen.start(workers, calls);
    pinning.generator(gen.pids);
    // Calibration: the same streams straight from leg to leg, no PBX; what
    // the generator itself adds to jitter on this machine right now.
    const direct = new Map(legs.map((l) => [l, { caller: l.calleePort, callee: l.callerPort }]));
    const baselineCpu = meterCpu(target, gen.pids);
    const generatorWarmupMs = quick ? 1000 : GENERATOR_WARMUP_MS;
    const baseline = await gen.stream(legs, direct, generatorWarmupMs + (quick ? 2000 : 5000), {
      keys: srtp ? new Map(legs.map((l) => [l, directKeys()])) : undefined,
      warmupMs: generatorWarmupMs,
    });
    const generatorOnlyCpu = baselineCpu.stop();

    await sleep(1000);
    const rssBefore = pbx?.rssBytes() ?? 0;
    const peers = new Map<CallLegs, { caller: number; callee: number }>();
    const keys = new Map<CallLegs, { caller: LegKeys; callee: LegKeys }>();
    const failures: Record<string, number> = {};
    // Set up at 50 calls/s with at most 50 in progress.
    let next = 0;
    const setupOne = async () => {
      while (next < legs.length) {
        const leg = legs[next];
        const i = next++;
        let calleePort = 0;
        let calleeRemote: SdesCrypto | undefined;
        const callerKey = srtp ? benchCrypto() : undefined;
        const calleeKey = srtp ? benchCrypto() : undefined;
        ua.expect(
          callees[i],
          leg.calleePort,
          (c) => {
            calleePort = c.remoteRtpPort;
            calleeRemote = c.remoteCrypto;
          },
          calleeKey,
        );
        const r = await ua.call(callers[i], callees[i], leg.callerPort, callerKey);
        if ("failed" in r) failures[r.failed] = (failures[r.failed] ?? 0) + 1;
        else if (srtp && !(r.remoteCrypto && calleeRemote && callerKey && calleeKey)) {
          // The PBX offered the callee no key: not the encrypted call this run measures.
          failures["callee leg not SRTP"] = (failures["callee leg not SRTP"] ?? 0) + 1;
          await r.hangup();
        } else {
          up.push(r);
          peers.set(leg, { caller: r.remoteRtpPort, callee: calleePort });
          if (r.remoteCrypto && calleeRemote && callerKey && calleeKey) {
            keys.set(leg, {
              caller: { send: wireKey(callerKey), recv: wireKey(r.remoteCrypto) },
              callee: { send: wireKey(calleeKey), recv: wireKey(calleeRemote) },
            });
          }
        }
        await sleep(1000);
      }
    };
    await Promise.all(Array.from({ length: 50 }, setupOne));
    await sleep(2000);
    if (pbx) {
      const rssAfter = pbx.rssBytes();
      report.emit({
        bench: "rss_per_call",
        calls: up.length,
        rss_before_mb: round(rssBefore / 2 ** 20, 1),
        rss_after_mb: round(rssAfter / 2 ** 20, 1),
        bytes_per_call: up.length ? Math.round((rssAfter - rssBefore) / up.length) : null,
        ok: up.length === calls,
      });
    }

    const warmupMs = quick ? 1000 : WARMUP_MS;
    report.note(
      `${label}: ${up.length} calls up, streaming ${srtp ? "SRTP" : "RTP"} for ${warmupMs / 1000} + ${streamMs / 1000} s`,
    );
    // Who had the cores while streaming: the system under test, the generator, the bench, or others.
    const cpu = meterCpu(target, [...gen.pids, process.pid]);
    const r = await gen.stream(legs, peers, warmupMs + streamMs, { keys: srtp ? keys : undefined, warmupMs });
    const cpuUse = cpu.stop();
    const rssStreaming = pbx?.rssBytes();
    const added = Math.max(0, r.jitter.quantile(0.99) - baseline.jitter.quantile(0.99));
    // Every packet counts for the loss, those of the warm-up too.
    const sent = r.sent + r.warmup.sent;
    const received = r.received + r.warmup.received;
    const lossPct = sent ? (100 * Math.max(0, sent - received)) / sent : 0;
    const ok = up.length >= TARGET_CALLS && lossPct < MAX_LOSS_PCT && added < MAX_ADDED_JITTER_MS;
    report.emit({
      bench: opts.line ?? "relay",
      system: target.name,
      ...(opts.media ? { media: opts.media, signalling: srtp ? "TLS" : "UDP" } : {}),
      calls: up.length,
      setup_failures: failures,
      seconds: streamMs / 1000,
      packets_sent: sent,
      packets_received: received,
      loss_pct: round(lossPct, 3),
      ...jitterFields("", r),
      ...jitterFields("generator_only_", baseline),
      first_seconds: {
        seconds: warmupMs / 1000,
        loss_pct: round(r.warmup.lossPct, 3),
        jitter_p99_ms: round(r.warmup.jitter.quantile(0.99)),
        jitter_max_ms: round(r.warmup.jitter.max),
        transit_p99_ms: round(r.warmup.transit.quantile(0.99)),
      },
      added_jitter_p99_ms: round(added),
      jitter_by_second: bySecond(r, baseline.jitter.quantile(0.99)),
      generator_send_late_p99_ms: round(r.sendLate.quantile(0.99)),
      generator_workers: workers,
      stray_packets: r.stray + baseline.stray,
      ...(srtp ? { srtp_failures: r.srtpFailures, generator_only_srtp_failures: baseline.srtpFailures } : {}),
      ...(rssStreaming === undefined ? {} : { rss_streaming_mb: round(rssStreaming / 2 ** 20, 1) }),
      cpu: cpuUse,
      generator_only_cpu: generatorOnlyCpu,
      ...pinning.describe(),
      ...(vpbxGoal
        ? {
            target: { calls: TARGET_CALLS, loss_pct: MAX_LOSS_PCT, added_jitter_p99_ms: MAX_ADDED_JITTER_MS },
            ok,
          }
        : {}),
    });
    return {
      calls: up.length,
      lossPct: round(lossPct, 3),
      addedJitterP99Ms: round(added),
      jitterP99Ms: round(r.jitter.quantile(0.99)),
      targetCpuPct: cpuUse.target_cpu_pct,
      srtpFailures: r.srtpFailures,
      relayedBelowLoss: lossPct < MAX_LOSS_PCT ? up.length : 0,
      generatorSendLateP99Ms: round(r.sendLate.quantile(0.99)),
      othersCpuPct: cpuUse.others_cpu_pct,
    };
  } finally {
    await Promise.all(up.map((c) => c.hangup().catch(() => false)));
    gen.stop();
    ua.close();
  }
}

/**
 * The p99 of each second of the measured stream, summed up: a whole-stream
 * p99 over the target may come from every second, or from a few seconds in
 * which the machine ran slower (bench/peers/README.md). `over_target`: the
 * seconds whose own added p99 reached MAX_ADDED_JITTER_MS.
 */
function bySecond(r: StreamResult, baselineP99: number): Record<string, number> {
  const p99s = r.jitterBySecond
    .filter((h) => h.count > 0)
    .map((h) => h.quantile(0.99))
    .sort((a, b) => a - b);
  const at = (q: number) => (p99s.length ? p99s[Math.min(p99s.length - 1, Math.floor(q * p99s.length))] : 0);
  return {
    seconds: p99s.length,
    median_p99_ms: round(at(0.5)),
    p90_p99_ms: round(at(0.9)),
    max_p99_ms: round(p99s.at(-1) ?? 0),
    over_target: p99s.filter((p) => p - baselineP99 >= MAX_ADDED_JITTER_MS).length,
  };
}

function jitterFields(prefix: string, r: StreamResult): Record<string, number> {
  return {
    [`${prefix}jitter_p99_ms`]: round(r.jitter.quantile(0.99)),
    [`${prefix}jitter_max_ms`]: round(r.jitter.max),
    [`${prefix}rfc3550_jitter_ms`]: round(r.rfc3550JitterMs, 3),
    [`${prefix}transit_p50_ms`]: round(r.transit.quantile(0.5)),
    [`${prefix}transit_p99_ms`]: round(r.transit.quantile(0.99)),
  };
}
