// Figure 2: authenticated extension-to-extension calls per second with no
// failed call. Open loop, like SIPp: calls start on schedule whatever the
// PBX's answers, each is INVITE/407/INVITE/180/200/ACK, held, then BYE.
import { Histogram, round } from "../lib/histogram.ts";
import { LoadUa } from "../lib/load-ua.ts";
import { sleep } from "../lib/pbx-process.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";

const TARGET = 200;

export async function benchCalls(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  const pbx = await ctx.pbx();
  const size = quick ? 200 : 1000;
  const callers = numbers(RANGES.callers, size);
  const callees = numbers(RANGES.callees, size);
  report.note(`creating ${size * 2} extensions for calls`);
  await pbx.createExtensions([...callers, ...callees]);
  const ua = await LoadUa.open(pbx.sipPort);
  try {
    if (!(await registerAll(ua, callees))) {
      report.emit({ bench: "calls", error: "callee registration failed", target: TARGET, ok: false });
      return;
    }
    const seconds = quick ? 3 : 10;
    const holdMs = quick ? 500 : 1000;
    const rates = quick ? [50, 100] : [100, 200, 300, 400];
    const steps: Array<Record<string, unknown>> = [];
    let best = 0;
    for (const rate of rates) {
      const r = await runCalls(ua, callers, callees, rate, seconds, holdMs);
      const pass = r.failed === 0 && r.starved === 0 && r.successful === rate * seconds;
      steps.push({ rate, ...r, pass });
      report.note(`calls ${rate}/s: ${r.successful} ok, ${r.failed} failed ${JSON.stringify(r.reasons)}`);
      if (!pass) break;
      best = rate;
      await sleep(1500);
    }
    report.emit({
      bench: "calls",
      calls_per_s: best,
      failed: 0,
      hold_ms: holdMs,
      sustained_s: seconds,
      target: TARGET,
      ok: best >= TARGET,
      steps,
    });
  } finally {
    ua.close();
  }
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
  successful: number;
  failed: number;
  starved: number;
  setup_p50_ms: number;
  setup_p99_ms: number;
  reasons: Record<string, number>;
}> {
  // An extension is in at most one call at a time (the PBX answers 486 to a
  // second call for a talking extension): free lists hand them out.
  const freeCallers = [...callers];
  const freeCallees = [...callees];
  const setup = new Histogram();
  const reasons: Record<string, number> = {};
  let successful = 0;
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
      reasons[r.failed] = (reasons[r.failed] ?? 0) + 1;
    } else {
      setup.record(performance.now() - t);
      await sleep(holdMs);
      if (await r.hangup()) successful++;
      else {
        failed++;
        reasons.bye = (reasons.bye ?? 0) + 1;
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
    successful,
    failed,
    starved,
    setup_p50_ms: round(setup.quantile(0.5)),
    setup_p99_ms: round(setup.quantile(0.99)),
    reasons,
  };
}
