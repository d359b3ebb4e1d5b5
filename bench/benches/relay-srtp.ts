// The cost of SRTP in the relay (issue #13): the relay bench's calls made
// twice on the same PBX, one run after the other with the same call count,
// generator and pinning: plain RTP (SIP over UDP), then SDES SRTP on both
// legs (SIP over TLS, AES_CM_128_HMAC_SHA1_80, the suite every SDES phone
// has). The PBX terminates SRTP per leg, so each relayed packet is
// authenticated and decrypted from one phone and encrypted and tagged for
// the other (on the media threads). One "relay_srtp_run" line per run (the
// relay line's fields), and one "relay_srtp" line with both side by side:
// CPU per call as ms of the PBX's CPU per second of call (its CPU % of one
// core × 10 / calls), loss and jitter.
import { round } from "../lib/histogram.ts";
import { BENCH_SRTP_PROFILE } from "../lib/load-ua.ts";
import { BenchPinning } from "../lib/pinning.ts";
import { targetPids, vpbxTarget } from "../lib/target.ts";
import type { BenchContext } from "./context.ts";
import { RANGES } from "./context.ts";
import { type RelayFigures, relayThrough } from "./relay.ts";

/**
 * Calls of each run. Half the relay bench's 500: every SRTP packet costs
 * about 7 µs of protect + unprotect (bench/srtp.ts) at the generator and
 * again in the PBX, so 500 encrypted calls (50,000 packets a second each
 * way) fill the generator's one core on the 2-core reference machine, and
 * the loss and jitter would be the generator's, not the relay's.
 */
export const SRTP_RELAY_CALLS = 250;

/** ms of CPU per second of call, for one call: % of one core is 10 ms per second. */
function cpuMsPerCallSecond(f: RelayFigures): number | null {
  return f.calls > 0 ? round((f.targetCpuPct * 10) / f.calls, 3) : null;
}

function side(f: RelayFigures) {
  return {
    calls: f.calls,
    cpu_pct: f.targetCpuPct,
    cpu_ms_per_call_s: cpuMsPerCallSecond(f),
    loss_pct: f.lossPct,
    jitter_p99_ms: f.jitterP99Ms,
    added_jitter_p99_ms: f.addedJitterP99Ms,
    generator_send_late_p99_ms: f.generatorSendLateP99Ms,
    others_cpu_pct: f.othersCpuPct,
  };
}

export async function benchRelaySrtp(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  const calls = quick ? 50 : SRTP_RELAY_CALLS;
  const pbx = await ctx.pbx();
  const vpbx = vpbxTarget(pbx);
  const pinning = new BenchPinning();
  try {
    pinning.target(() => targetPids(vpbx));
    const plain = await relayThrough(ctx, vpbx, calls, pinning, undefined, {
      media: "rtp",
      ranges: { callers: RANGES.srtpPlainCallers, callees: RANGES.srtpPlainCallees },
      line: "relay_srtp_run",
    });
    const srtp = await relayThrough(ctx, vpbx, calls, pinning, undefined, {
      media: "srtp",
      ranges: { callers: RANGES.srtpCallers, callees: RANGES.srtpCallees },
      line: "relay_srtp_run",
    });
    const plainMs = cpuMsPerCallSecond(plain);
    const srtpMs = cpuMsPerCallSecond(srtp);
    report.emit({
      bench: "relay_srtp",
      calls,
      profile: BENCH_SRTP_PROFILE,
      plain: side(plain),
      srtp: side(srtp),
      srtp_extra_cpu_ms_per_call_s: plainMs === null || srtpMs === null ? null : round(srtpMs - plainMs, 3),
      srtp_over_plain_cpu: plainMs && srtpMs !== null ? round(srtpMs / plainMs, 2) : null,
      srtp_failures: srtp.srtpFailures,
      // Both runs had every call up and no packet failed to unprotect: the figures compare like with like.
      ok: plain.calls === calls && srtp.calls === calls && srtp.srtpFailures === 0,
    });
    const row = (name: string, f: RelayFigures, ms: number | null) =>
      `${name.padEnd(6)} ${String(f.calls).padStart(5)} ${String(f.targetCpuPct).padStart(8)} ${String(ms ?? "-").padStart(10)} ${String(f.lossPct).padStart(8)} ${String(f.jitterP99Ms).padStart(10)} ${String(f.addedJitterP99Ms).padStart(12)}`;
    report.note(
      [
        `relay_srtp: SRTP (${BENCH_SRTP_PROFILE}) against plain RTP, ${calls} calls each, PBX CPU per call in ms per second of call`,
        "media  calls   cpu %  ms/call·s   loss %  jitter p99  added j. p99",
        row("plain", plain, plainMs),
        row("srtp", srtp, srtpMs),
      ].join("\n"),
    );
  } finally {
    pinning.restore();
  }
}
