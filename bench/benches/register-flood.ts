// Memory under a sustained REGISTER flood (issue 10): SIPp registers the
// phones over and over at the rate the register bench sustains, for longer
// than Timer J (32 s over UDP, how long a completed REGISTER transaction is
// kept), with the PBX's resident memory sampled every second during the flood
// and for 40 s after it. The figure: the highest RSS, and its growth over the
// last half of the flood, when every kept transaction has reached its steady
// state. Target: under 300 MB and no growth (within 10 %, the heap's sawtooth).
import { join } from "node:path";
import { round } from "../lib/histogram.ts";
import { LoadUa } from "../lib/load-ua.ts";
import { freePort, type PbxProcess, sleep } from "../lib/pbx-process.ts";
import { runSipp, type SippResult, sippAvailable, writePhonesCsv } from "../lib/sipp.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";
import { openLoop } from "./register.ts";

/** The REGISTER rate of the register bench's best step (bench/results: 3000/s). */
const RATE = 3000;
const RSS_LIMIT_MB = 300;
/** Allowed growth over the flood's second half, for the GC's sawtooth. */
const GROWTH_LIMIT = 0.1;

export async function benchRegisterFlood(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  const rate = quick ? 1000 : RATE;
  const seconds = quick ? 10 : 70;
  const afterSeconds = quick ? 5 : 40;
  const pbx = await ctx.pbx();
  const phones = numbers(RANGES.phones, quick ? 500 : 5000);
  await pbx.createExtensions(phones);
  // The figure is the flood's, on a node in its steady state: its first start
  // synthesised the prompt cache (the speech worker's ~300 MB for a minute)
  // and the provisioning above (5,000 API requests, each password checked
  // for strength) grew the heaps, which the allocator keeps. Both are
  // reported; then the PBX restarts on the same store and prompt cache, as a
  // provider's node does.
  const rssProvisioned = mb(pbx);
  await pbx.restart();
  await steadyRss(pbx);
  const csv = join(ctx.workDir, "flood-phones.csv");
  writePhonesCsv(csv, phones);

  const samples: Array<{ s: number; mb: number }> = [];
  const t0 = performance.now();
  const sampler = setInterval(() => {
    samples.push({ s: round((performance.now() - t0) / 1000, 1), mb: mb(pbx) });
  }, 1000);
  const rssStart = mb(pbx);
  let driver: "sipp" | "ts-phones" = "sipp";
  let run: SippResult;
  try {
    run = (await sippAvailable())
      ? await runSipp({
          scenario: join(import.meta.dirname, "..", "sipp", "register.xml"),
          pbxPort: pbx.sipPort,
          localPort: await freePort(),
          workDir: ctx.workDir,
          injectionFile: csv,
          rate,
          calls: rate * seconds,
          limit: rate * 2,
          timeoutMs: (seconds + 60) * 1000,
        })
      : { successful: 0, failed: 0, exitCode: null, elapsedMs: 0, tail: "sipp not installed" };
    if (run.successful === 0) {
      report.note(`SIPp could not flood (${run.tail.trim().slice(-200)}); using the TS phones instead`);
      driver = "ts-phones";
      const ua = await LoadUa.open(pbx.sipPort);
      try {
        run = await openLoop(ua, phones, rate, rate * seconds);
      } finally {
        ua.close();
      }
    }
  } catch (err) {
    clearInterval(sampler);
    throw err;
  }
  const floodEnd = (performance.now() - t0) / 1000;
  const rssEnd = mb(pbx);
  await sleep(afterSeconds * 1000);
  clearInterval(sampler);
  const rssAfter = mb(pbx);

  const during = samples.filter((x) => x.s <= floodEnd);
  const max = Math.max(rssStart, ...during.map((x) => x.mb));
  // Steady state: the second half of the flood against the quarter before it.
  const half = during.filter((x) => x.s >= floodEnd / 2);
  const quarter = during.filter((x) => x.s >= floodEnd / 4 && x.s < floodEnd / 2);
  const peak = (xs: typeof samples) => (xs.length ? Math.max(...xs.map((x) => x.mb)) : Number.NaN);
  const growth = (peak(half) - peak(quarter)) / peak(quarter);
  report.emit({
    bench: "register_flood_rss",
    driver,
    rate_per_s: rate,
    seconds: round(run.elapsedMs / 1000, 1),
    successful: run.successful,
    failed: run.failed,
    rss_after_first_start_and_provisioning_mb: rssProvisioned,
    rss_start_mb: rssStart,
    rss_max_mb: max,
    rss_end_of_flood_mb: rssEnd,
    rss_after_mb: rssAfter,
    after_s: afterSeconds,
    growth_second_half_pct: round(growth * 100, 1),
    samples_mb: samples.map((x) => x.mb),
    target: { rss_max_mb: RSS_LIMIT_MB, growth_pct: GROWTH_LIMIT * 100 },
    ok: max < RSS_LIMIT_MB && growth <= GROWTH_LIMIT && run.successful > 0,
  });
}

/**
 * Waits until the restarted PBX has settled: the prompts of a language used
 * for the first time are synthesised at start, by a speech worker that stops
 * a minute after its last prompt (SYNTH_IDLE_MS). Settled: no change over
 * 5 MB for longer than that minute.
 */
async function steadyRss(pbx: PbxProcess, maxMs = 300_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = mb(pbx);
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(1000);
    const now = mb(pbx);
    if (Math.abs(now - last) > 5) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= 75_000) return;
  }
}

function mb(pbx: PbxProcess): number {
  return Math.round(pbx.rssBytes() / 2 ** 20);
}
