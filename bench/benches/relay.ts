// Figures 3 and 4b: concurrent G.711 calls with RTP relayed both ways
// through the PBX (loss, added jitter), and the PBX's memory per call.
import { CpuMeter } from "../lib/cpu.ts";
import { round } from "../lib/histogram.ts";
import { LoadUa } from "../lib/load-ua.ts";
import { sleep } from "../lib/pbx-process.ts";
import { type CallLegs, RtpGenerator, type StreamResult } from "../rtp/rtp-generator.ts";
import { registerAll } from "./calls.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";

const TARGET_CALLS = 500;
const MAX_LOSS_PCT = 0.1;
const MAX_ADDED_JITTER_MS = 5;

export async function benchRelay(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  const pbx = await ctx.pbx();
  const calls = quick ? 50 : TARGET_CALLS;
  const streamMs = quick ? 4000 : 20_000;
  const callers = numbers(RANGES.relayCallers, calls);
  const callees = numbers(RANGES.relayCallees, calls);
  report.note(`creating ${calls * 2} extensions for the relay`);
  await pbx.createExtensions([...callers, ...callees]);
  const ua = await LoadUa.open(pbx.sipPort);
  const gen = new RtpGenerator();
  const up: Array<{ hangup(): Promise<boolean> }> = [];
  try {
    if (!(await registerAll(ua, callees))) {
      report.emit({ bench: "relay", error: "callee registration failed", target: TARGET_CALLS, ok: false });
      return;
    }
    const legs = await gen.start(2, calls);
    // Calibration: the same streams straight from leg to leg, no PBX; what
    // the generator itself adds to jitter on this machine right now.
    const direct = new Map(legs.map((l) => [l, { caller: l.calleePort, callee: l.callerPort }]));
    const baselineCpu = new CpuMeter({ generator: gen.pids });
    baselineCpu.start();
    const baseline = await gen.stream(legs, direct, quick ? 2000 : 5000);
    const generatorOnlyCpu = baselineCpu.stop();

    await sleep(1000);
    const rssBefore = pbx.rssBytes();
    const peers = new Map<CallLegs, { caller: number; callee: number }>();
    const failures: Record<string, number> = {};
    // Set up at 50 calls/s with at most 50 in progress.
    let next = 0;
    const setupOne = async () => {
      while (next < legs.length) {
        const leg = legs[next];
        const i = next++;
        let calleePort = 0;
        ua.expect(callees[i], leg.calleePort, (c) => {
          calleePort = c.remoteRtpPort;
        });
        const r = await ua.call(callers[i], callees[i], leg.callerPort);
        if ("failed" in r) failures[r.failed] = (failures[r.failed] ?? 0) + 1;
        else {
          up.push(r);
          peers.set(leg, { caller: r.remoteRtpPort, callee: calleePort });
        }
        await sleep(1000);
      }
    };
    await Promise.all(Array.from({ length: 50 }, setupOne));
    await sleep(2000);
    const rssAfter = pbx.rssBytes();
    report.emit({
      bench: "rss_per_call",
      calls: up.length,
      rss_before_mb: round(rssBefore / 2 ** 20, 1),
      rss_after_mb: round(rssAfter / 2 ** 20, 1),
      bytes_per_call: up.length ? Math.round((rssAfter - rssBefore) / up.length) : null,
      ok: up.length === calls,
    });

    report.note(`${up.length} calls up, streaming RTP for ${streamMs / 1000} s`);
    // Who had the cores while streaming: the PBX, the generator, the bench, or others on the machine.
    const cpu = new CpuMeter({ pbx: [pbx.pid], generator: gen.pids, bench: [process.pid] });
    cpu.start();
    const r = await gen.stream(legs, peers, streamMs);
    const cpuUse = cpu.stop();
    const rssStreaming = pbx.rssBytes();
    const added = Math.max(0, r.jitter.quantile(0.99) - baseline.jitter.quantile(0.99));
    const ok = up.length >= TARGET_CALLS && r.lossPct < MAX_LOSS_PCT && added < MAX_ADDED_JITTER_MS;
    report.emit({
      bench: "relay",
      calls: up.length,
      setup_failures: failures,
      seconds: streamMs / 1000,
      packets_sent: r.sent,
      packets_received: r.received,
      loss_pct: round(r.lossPct, 3),
      ...jitterFields("", r),
      ...jitterFields("generator_only_", baseline),
      added_jitter_p99_ms: round(added),
      generator_send_late_p99_ms: round(r.sendLate.quantile(0.99)),
      rss_streaming_mb: round(rssStreaming / 2 ** 20, 1),
      cpu: cpuUse,
      generator_only_cpu: generatorOnlyCpu,
      target: { calls: TARGET_CALLS, loss_pct: MAX_LOSS_PCT, added_jitter_p99_ms: MAX_ADDED_JITTER_MS },
      ok,
    });
  } finally {
    await Promise.all(up.map((c) => c.hangup().catch(() => false)));
    gen.stop();
    ua.close();
  }
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
