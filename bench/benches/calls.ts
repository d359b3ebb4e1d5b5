// Figure 2: authenticated extension-to-extension calls per second with no
// failed call. Open loop, like SIPp: calls start on schedule whatever the
// answers, each is INVITE/407/INVITE/180/200/ACK, held, then BYE.
//
// With --peers (issue #11) the same load, from the same generator, goes to
// Kamailio as a stateful proxy with digest too (bench/peers/kamailio-proxy.cfg),
// step by step in turn (vpbx at 300/s, Kamailio at 300/s, vpbx at 400/s...,
// so that both meet the same background load of the machine), past vpbx's
// target and whatever fails: how each degrades past its limit (503 Overloaded
// from vpbx when its event loop lags, timeouts, longer setup) is part of the
// comparison.
//
// Not pinned, unlike the relay (lib/pinning.ts): the systems and the
// generator share the machine's cores as they did before --peers existed, so
// that vpbx's figure stays comparable with earlier runs. Pinned to one core
// with all its threads (V8's garbage collector, libuv's pool), vpbx lost 100
// to 200 calls/s in trials, while Kamailio used under a quarter of a core at
// 600/s either way: pinning would measure a vpbx squeezed more than its peer.
import { emitComparison } from "../lib/compare.ts";
import { round } from "../lib/histogram.ts";
import { LoadUa } from "../lib/load-ua.ts";
import { sleep } from "../lib/pbx-process.ts";
import { peerMissing, startKamailioProxy } from "../lib/peers.ts";
import { udpDrops } from "../lib/proc.ts";
import { meterCpu, type PeerTarget, type Target, vpbxTarget } from "../lib/target.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";

const TARGET = 200;

/** One system under test in the calls bench, with its phones and its steps so far. */
interface CallsRun {
  target: Target;
  ua: LoadUa;
  steps: Array<Record<string, unknown>>;
  /**
   * Highest rate of a passed step. Without --peers the ramp stops at the first failure, so every
   * lower step passed too; beside a peer the ramp goes on, and a lower step may have failed while
   * other work took the machine (its `cpu.others_cpu_pct` says so): a system cannot pass a step by
   * chance, it can fail one by interference.
   */
  best: number;
  /** No more steps (a failed step without --peers, or the registration failed). */
  done: boolean;
}

export async function benchCalls(ctx: BenchContext): Promise<void> {
  const { report, quick, peers } = ctx;
  const size = quick ? (peers ? 400 : 200) : 1000;
  const callers = numbers(RANGES.callers, size);
  const callees = numbers(RANGES.callees, size);
  const seconds = quick ? 3 : 10;
  const holdMs = quick ? 500 : 1000;
  const rates = ratesOf(quick, peers);
  const targets: Target[] = [vpbxTarget(await ctx.pbx())];
  const started: PeerTarget[] = [];
  const runs: CallsRun[] = [];
  try {
    if (peers) {
      const missing = peerMissing("proxy");
      if (missing) {
        report.note(`calls: the Kamailio comparison is skipped: ${missing}`);
        report.emit({ bench: "calls", system: "kamailio", skipped: missing });
      } else {
        try {
          const kamailio = await startKamailioProxy();
          started.push(kamailio);
          targets.push(kamailio);
        } catch (err) {
          // vpbx's own figure is still measured; the missing comparison says why.
          const message = err instanceof Error ? err.message : String(err);
          report.emit({ bench: "calls", system: "kamailio", error: message.slice(0, 800) });
        }
      }
    }
    for (const target of targets) {
      report.note(`calls: ${target.name}: ${size * 2} users, registering ${size} callees`);
      await target.createUsers([...callers, ...callees]);
      const ua = await LoadUa.open(target.sipPort);
      const run: CallsRun = { target, ua, steps: [], best: 0, done: false };
      runs.push(run);
      if (!(await registerAll(ua, callees))) {
        run.done = true;
        report.emit({
          bench: "calls",
          system: target.name,
          error: "callee registration failed",
          ...(target.name === "vpbx" ? { target: TARGET, ok: false } : {}),
        });
      }
    }
    // Provisioning and 2,000 registrations just ended: let the systems settle (vpbx collects its garbage).
    await sleep(3000);
    for (const rate of rates) {
      for (const run of runs) {
        if (run.done) continue;
        const cpu = meterCpu(run.target, [process.pid]);
        const dropsBefore = udpDrops(run.target.sipPort);
        const r = await runCalls(run.ua, callers, callees, rate, seconds, holdMs);
        const pass = r.failed === 0 && r.starved === 0 && r.completed === rate * seconds;
        // Datagrams the system's SIP socket dropped (its buffer full): each costs a resend 500 ms later.
        const drops = udpDrops(run.target.sipPort) - dropsBefore;
        run.steps.push({ rate, ...r, sip_socket_drops: drops, pass, cpu: cpu.stop() });
        report.note(
          `calls ${run.target.name} ${rate}/s: ${r.completed} ok, ${r.failed} failed ${JSON.stringify(r.failed_by_status)}, setup p99 ${r.setup_p99_ms} ms, SIP socket drops ${drops}`,
        );
        if (pass) run.best = Math.max(run.best, rate);
        // Alone, the first failure ends the ramp; beside a peer the ramp goes on to show the degradation.
        if (!pass && !peers) run.done = true;
        // Both sides forget the calls (and vpbx's overload guard calms down) before the next step.
        await sleep(peers ? 3000 : 1500);
      }
    }
    for (const run of runs) {
      if (run.steps.length === 0) continue;
      report.emit({
        bench: "calls",
        system: run.target.name,
        calls_per_s: run.best,
        failed: 0,
        hold_ms: holdMs,
        sustained_s: seconds,
        ...(run.target.name === "vpbx" ? { target: TARGET, ok: run.best >= TARGET } : {}),
        steps: run.steps,
      });
    }
    const [vpbx, peer] = runs;
    if (peer && vpbx.steps.length > 0 && peer.steps.length > 0) {
      emitComparison(report, {
        figure: "calls_per_s",
        peer: peer.target.name,
        vpbx: vpbx.best,
        peerValue: peer.best,
        goal: "calls/s with no failed call ≥ the proxy's",
        ok: vpbx.best >= peer.best,
        extra: { steps: stepsSideBySide(vpbx.steps, peer.steps) },
      });
    }
  } finally {
    for (const run of runs) run.ua.close();
    for (const peer of started) await peer.stop();
  }
}

function othersOf(step: Record<string, unknown>): number | undefined {
  return (step.cpu as Record<string, number> | undefined)?.others_cpu_pct;
}

/** The ramp: past vpbx's target of 200/s, and past 400/s beside a peer. */
function ratesOf(quick: boolean, peers: boolean): number[] {
  if (peers) return quick ? [100, 200] : [300, 400, 500, 600];
  return quick ? [50, 100] : [100, 200, 300, 400];
}

/**
 * Per rate, what each side completed, failed and could not start (every phone still in a slow call)
 * and its setup time: the degradation at a glance.
 */
function stepsSideBySide(
  vpbx: Array<Record<string, unknown>>,
  peer: Array<Record<string, unknown>>,
): Array<Record<string, unknown>> {
  return vpbx.map((v) => {
    const p = peer.find((s) => s.rate === v.rate) ?? {};
    return {
      rate: v.rate,
      vpbx_completed: v.completed,
      vpbx_failed: v.failed,
      vpbx_starved: v.starved,
      vpbx_setup_p99_ms: v.setup_p99_ms,
      peer_completed: p.completed,
      peer_failed: p.failed,
      peer_starved: p.starved,
      peer_setup_p99_ms: p.setup_p99_ms,
      // The rest of the machine during each side's step (other work on a shared machine blurs the figures).
      vpbx_others_cpu_pct: othersOf(v),
      peer_others_cpu_pct: othersOf(p),
    };
  });
}

/** Registers every extension to the UA, a few at a time. */
export async function registerAll(ua: LoadUa, list: string[], concurrency = 50): Promise<boolean> {
  let next = 0;
  let ok = true;
  const worker = async () => {
    while (next < list.length) {
      if (!(await ua.register(list[next++]))) ok = false;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ok;
}

async function runCalls(
  ua: LoadUa,
  callers: string[],
  callees: string[],
  rate: number,
  seconds: number,
  holdMs: number,
): Promise<{
  completed: number;
  failed: number;
  /** Failed calls by the final status of the INVITE ("503"), or "timeout", or "bye" (the BYE failed). */
  failed_by_status: Record<string, number>;
  /** Calls not started: every caller or callee was still in a call. */
  starved: number;
  setup_p50_ms: number;
  setup_p99_ms: number;
}> {
  // An extension is in at most one call at a time (the PBX answers 486 to a
  // second call for a talking extension): free lists hand them out.
  const freeCallers = [...callers];
  const freeCallees = [...callees];
  // Every setup time kept (a few thousand a step): past its limit a system takes seconds, beyond the
  // Histogram's 200 ms.
  const setup: number[] = [];
  const byStatus: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  let starved = 0;
  const total = rate * seconds;
  const pending: Promise<void>[] = [];
  const one = async () => {
    const caller = freeCallers.shift();
    const callee = freeCallees.shift();
    if (!caller || !callee) {
      if (caller) freeCallers.push(caller);
      if (callee) freeCallees.push(callee);
      starved++;
      return;
    }
    const t = performance.now();
    const r = await ua.call(caller, callee, 9);
    if ("failed" in r) {
      failed++;
      byStatus[r.failed] = (byStatus[r.failed] ?? 0) + 1;
    } else {
      setup.push(performance.now() - t);
      await sleep(holdMs);
      if (await r.hangup()) completed++;
      else {
        failed++;
        byStatus.bye = (byStatus.bye ?? 0) + 1;
      }
    }
    // Give the PBX a moment to forget the call before the extensions ring again.
    await sleep(200);
    freeCallers.push(caller);
    freeCallees.push(callee);
  };
  const t0 = performance.now();
  let started = 0;
  while (started < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (started < due) {
      pending.push(one());
      started++;
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return {
    completed,
    failed,
    failed_by_status: byStatus,
    starved,
    setup_p50_ms: round(quantile(setup, 0.5)),
    setup_p99_ms: round(quantile(setup, 0.99)),
  };
}

/** The q-quantile (nearest rank) of `values`, ms; 0 when empty. */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
