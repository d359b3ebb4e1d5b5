// Figures 1 and 4a: REGISTER with digest per second (SIPp, ramped), and the
// PBX's resident memory per registered phone.
import { join } from "node:path";
import { round } from "../lib/histogram.ts";
import { LoadUa } from "../lib/load-ua.ts";
import { freePort, sleep } from "../lib/pbx-process.ts";
import { runSipp, type SippResult, sippAvailable, writePhonesCsv } from "../lib/sipp.ts";
import { type BenchContext, numbers, RANGES } from "./context.ts";

const TARGET = 2000;

export async function benchRegister(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  if (!(await sippAvailable())) {
    report.emit({ bench: "register", skipped: "sipp not installed", target: TARGET, ok: false });
    return;
  }
  const pbx = await ctx.pbx();
  const phones = numbers(RANGES.phones, quick ? 500 : 5000);
  report.note(`creating ${phones.length} extensions`);
  await pbx.createExtensions(phones);
  const csv = join(ctx.workDir, "phones.csv");
  writePhonesCsv(csv, phones);
  const scenario = join(import.meta.dirname, "..", "sipp", "register.xml");
  const port = await freePort();

  // Every phone once, gently: the memory a binding costs.
  await sleep(1000);
  const before = pbx.rssBytes();
  const sipp = (rate: number, calls: number, limit: number, timeoutMs: number) =>
    runSipp({
      scenario,
      pbxPort: pbx.sipPort,
      localPort: port,
      workDir: ctx.workDir,
      injectionFile: csv,
      rate,
      calls,
      limit,
      timeoutMs,
    });
  let driver: "sipp" | "ts-phones" = "sipp";
  let warm = await sipp(500, phones.length, 2500, 120_000);
  let ua: LoadUa | null = null;
  if (warm.successful === 0) {
    // SIPp 3.6.1 reads only the first of several WWW-Authenticate headers
    // and stops ("authentication must use MD5") when that one is SHA-256:
    // fall back to our own phones so the figure exists, and say so.
    report.note(`SIPp could not register (exit ${warm.exitCode}); using the TS phones instead`);
    driver = "ts-phones";
    ua = await LoadUa.open(pbx.sipPort);
    warm = await openLoop(ua, phones, 500, phones.length);
  }
  await sleep(2000);
  const after = pbx.rssBytes();
  report.emit({
    bench: "rss_per_phone",
    phones: warm.successful,
    failed: warm.failed,
    rss_before_mb: round(before / 2 ** 20, 1),
    rss_after_mb: round(after / 2 ** 20, 1),
    bytes_per_phone: warm.successful ? Math.round((after - before) / warm.successful) : null,
    driver,
    ok: warm.failed === 0 && warm.successful === phones.length,
  });

  // Ramp: each step holds its rate for `seconds`; the figure is the highest
  // step with every registration successful and the run on time.
  const seconds = quick ? 3 : 10;
  const rates = quick ? [500, 1000] : [1000, 2000, 2500, 3000, 4000];
  const steps: Array<Record<string, unknown>> = [];
  let best = 0;
  for (const rate of rates) {
    const calls = rate * seconds;
    const r = ua
      ? await openLoop(ua, phones, rate, calls)
      : await sipp(rate, calls, rate * 2, (seconds + 30) * 1000);
    const onTime = r.elapsedMs <= seconds * 1000 * 1.15 + 2000;
    const pass = r.failed === 0 && r.successful === calls && onTime;
    steps.push({
      rate,
      successful: r.successful,
      failed: r.failed,
      seconds: round(r.elapsedMs / 1000, 1),
      response_ms: r.responseTimeMs,
      pass,
      ...(pass ? {} : { sipp_exit: r.exitCode, sipp_tail: r.tail.slice(-300) }),
    });
    report.note(
      `register ${rate}/s: ${r.successful} ok, ${r.failed} failed in ${round(r.elapsedMs / 1000, 1)} s`,
    );
    if (!pass) break;
    best = rate;
    await sleep(1000);
  }
  ua?.close();
  report.emit({
    bench: "register",
    driver,
    rate_per_s: best,
    failed: 0,
    sustained_s: seconds,
    target: TARGET,
    ok: best >= TARGET,
    steps,
  });
}

/** The TS phones' equivalent of a SIPp run: `calls` registrations started at `rate` per second. */
export async function openLoop(
  ua: LoadUa,
  phones: string[],
  rate: number,
  calls: number,
): Promise<SippResult> {
  let successful = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let started = 0;
  while (started < calls) {
    const due = Math.min(calls, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    for (; started < due; started++) {
      const ext = phones[started % phones.length];
      pending.push(
        ua.register(ext).then((ok) => {
          if (ok) successful++;
          else failed++;
        }),
      );
    }
    await sleep(2);
  }
  await Promise.all(pending);
  return { successful, failed, exitCode: failed ? 1 : 0, elapsedMs: performance.now() - t0, tail: "" };
}
