// Figure 5: how many endpoints can play prompts at once with the shared
// media pacer keeping its 20 ms schedule (send-time jitter p99 < 2 ms), and
// the event-loop delay while 500 play. In-process, over real sockets.
//
// Probes ride on the pacer itself, one pair per pacer phase (the pacer
// spreads endpoints over its phases, least loaded first, so a probe added
// before the endpoints is first in its phase and one added after them is
// last): the first reads the time when the phase starts, the last when the
// phase's last packet has really been handed to the kernel: at once for
// connected sockets, which send synchronously, on the next process tick for
// unconnected ones, which send only after a nextTick lookup (not on the next
// tick for connected ones: the pacer may run the following phase in the same
// callback, and the reading would include its burst); their lateness against the phase's
// ideal instant is the send-time lateness of the first and of the last
// endpoint of every phase; the jitter is the change of each last probe's
// lateness from period to period (|send interval − 20 ms|), the same measure
// as the relay bench's, over all phases.
//
// The sink answers each leg twice a second, like a phone, so the legs latch
// and connect their sockets as in a real call; VPBX_BENCH_UNCONNECTED=1
// keeps them unconnected (RtpLegOptions.connectSockets false), to compare.
import { type ChildProcess, fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { MediaEndpoint, MediaPacer } from "../../src/media/endpoint/index.ts";

import { RtpLeg, RtpPortPool, type RtpSocketPair } from "../../src/media/rtp/index.ts";

import { SystemClock } from "../../src/util/clock.ts";
import { CpuMeter } from "../lib/cpu.ts";
import { Histogram, round } from "../lib/histogram.ts";
import { sleep } from "../lib/pbx-process.ts";
import type { SinkCommand, SinkEvent } from "../rtp/sink.ts";
import type { BenchContext } from "./context.ts";

const TARGET = 1000;
const MAX_JITTER_MS = 2;
const SINKS = 16;
const CONNECT_SOCKETS = process.env.VPBX_BENCH_UNCONNECTED !== "1";

export async function benchPlayback(ctx: BenchContext): Promise<void> {
  const { report, quick } = ctx;
  const sizes = quick ? [100, 250] : [250, 500, 1000, 1500];
  const seconds = quick ? 2 : 6;
  const sink = fork(fileURLToPath(new URL("../rtp/sink.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const clock = new SystemClock();
  // A port range of its own, far from the PBX's 30000-40000.
  const pool = new RtpPortPool({ min: 42000, max: 48999, bind: "127.0.0.1" });
  const pacer = new MediaPacer(clock, 20);
  // 10 s of a 440 Hz tone, as PCM: encoded once per play like a prompt.
  const samples = new Int16Array(8000 * 10);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  try {
    const sinkPorts = ((await ask(sink, { cmd: "bind", sockets: SINKS }, "bound")) as { ports: number[] })
      .ports;
    const steps: Array<Record<string, unknown>> = [];
    let best = 0;
    let skippedBefore = 0;
    for (const n of sizes) {
      const pairs: RtpSocketPair[] = [];
      for (let i = 0; i < n; i++) pairs.push(await pool.allocate());
      const legs = pairs.map((p, i) => {
        const leg = new RtpLeg(p, { clock, connectSockets: CONNECT_SOCKETS });
        leg.setRemote("127.0.0.1", sinkPorts[i % SINKS]);
        return leg;
      });
      const first = new Histogram();
      const last = new Histogram();
      // |send interval − 20 ms| of the tick's last packet: jitter as a phone's buffer sees it.
      const interval = new Histogram();
      let measuring = false;
      const probe = (h: Histogram, intervals?: Histogram) => {
        let prevLate = Number.NaN;
        const record = (ideal: number) => {
          const late = clock.now() - ideal;
          h.record(late);
          if (intervals && !Number.isNaN(prevLate)) intervals.record(late - prevLate);
          prevLate = late;
        };
        return () => {
          if (!measuring) return;
          const ideal = pacer.idealNow;
          if (intervals && !CONNECT_SOCKETS) process.nextTick(record, ideal);
          else record(ideal);
        };
      };
      const detachFirst: Array<() => void> = [];
      for (let s = 0; s < pacer.slots; s++) detachFirst.push(pacer.add(probe(first)));
      const endpoints = legs.map(
        (leg) => new MediaEndpoint({ leg, pacer, clock, codec: "PCMU", payloadType: 0 }),
      );
      const plays = endpoints.map((e) => e.play([{ kind: "pcm", samples }]).catch(() => "closed"));
      const detachLast: Array<() => void> = [];
      for (let s = 0; s < pacer.slots; s++) detachLast.push(pacer.add(probe(last, interval)));
      const before = ((await ask(sink, { cmd: "count" }, "count")) as { packets: number }).packets;
      const loop = monitorEventLoopDelay({ resolution: 1 });
      // The first second warms up (JIT, socket buffers); then measure.
      await sleep(1000);
      measuring = true;
      loop.enable();
      const cpu = new CpuMeter({ bench: [process.pid], sink: sink.pid ? [sink.pid] : [] });
      cpu.start();
      const t0 = performance.now();
      await sleep(seconds * 1000);
      loop.disable();
      measuring = false;
      const cpuUse = cpu.stop();
      const connected = legs.filter((l) => l.connected.rtp).length;
      const elapsed = (performance.now() - t0) / 1000;
      for (const e of endpoints) e.close("bench over");
      await Promise.all(plays);
      for (const d of detachFirst) d();
      for (const d of detachLast) d();
      await sleep(300);
      const after = ((await ask(sink, { cmd: "count" }, "count")) as { packets: number }).packets;
      for (const leg of legs) leg.close();
      for (const p of pairs) pool.release(p);
      const stats = pacer.stats();
      const p99 = interval.quantile(0.99);
      const skipped = stats.skipped - skippedBefore;
      skippedBefore = stats.skipped;
      const pass = p99 < MAX_JITTER_MS && skipped === 0;
      steps.push({
        endpoints: n,
        send_jitter_p99_ms: round(p99),
        tick_start_late_p99_ms: round(first.quantile(0.99)),
        last_send_late_p99_ms: round(p99),
        last_send_late_max_ms: round(last.max),
        event_loop_delay_p99_ms: round(loop.percentile(99) / 1e6),
        packets_per_s_received: Math.round((after - before) / (elapsed + 1.3)),
        packets_per_s_expected: n * 50,
        pacer_ticks_skipped: skipped,
        legs_connected: connected,
        cpu: cpuUse,
        pass,
      });
      report.note(`playback ${n}: send jitter p99 ${round(p99)} ms`);
      if (pass) best = n;
      await sleep(500);
    }
    const at500 = steps.find((s) => s.endpoints === 500);
    report.emit({
      bench: "playback",
      endpoints: best,
      jitter_p99_limit_ms: MAX_JITTER_MS,
      event_loop_delay_p99_ms_at_500: at500?.event_loop_delay_p99_ms ?? null,
      target: TARGET,
      ok: best >= TARGET,
      steps,
    });
  } finally {
    sink.send({ cmd: "exit" } satisfies SinkCommand);
    setTimeout(() => sink.kill("SIGKILL"), 2000).unref();
  }
}

function ask(child: ChildProcess, cmd: SinkCommand, want: SinkEvent["ev"]): Promise<SinkEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sink: no "${want}"`)), 30_000);
    const on = (m: SinkEvent) => {
      if (m.ev !== want) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(m);
    };
    child.on("message", on);
    child.send(cmd);
  });
}
