// CPU pinning for the relay bench (issue #11: the added jitter is measured
// with the generator in a second process pinned to its own core), with
// taskset(1).
//
// What is pinned where, and why: the load generator (this bench process,
// whose LoadUa places the calls, and the RTP generator's worker processes,
// forked from it and inheriting its affinity) runs alone on the LAST core;
// the system under test (the vpbx process with all its threads, or every
// Kamailio process and rtpengine with all its threads) runs on the other
// cores. On this project's 2-core machine that is one core each: the
// generator never takes CPU from the system it measures, nor the system from
// the generator, so jitter and lost packets are the relay's and not the
// generator's, and vpbx and rtpengine get the same share of the machine,
// whatever their number of processes or threads. Other engineers' processes
// are not pinned and may still run anywhere: the CPU meter reports them as
// `others_cpu_pct`. (The calls bench is not pinned: benches/calls.ts says why.)
//
// Pinning is by pid, with `taskset -a -p` (every thread of the process);
// threads and processes created afterwards inherit the affinity of their
// creator. The affinity is restored to every core after the bench.
// VPBX_BENCH_UNPINNED=1 leaves everything where the scheduler puts it, to
// see what the pinning changes.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Pinning {
  /** CPU list (taskset -c syntax) of the system under test. */
  target: string;
  /** CPU list of the load generator. */
  generator: string;
}

/**
 * The CPUs this process may use, read once when the module loads, before any
 * bench pinned it: what a restore puts back (asking the affinity again later,
 * e.g. with os.availableParallelism(), would give the generator's one core).
 */
const ALLOWED: number[] = allowedCpus();

function allowedCpus(): number[] {
  let list = "";
  try {
    list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  } catch (err) {
    process.stderr.write(`bench: no /proc/self/status (${String(err)}): the benches run unpinned\n`);
  }
  const out: number[] = [];
  for (const part of list.split(",").filter(Boolean)) {
    const [from, to] = part.split("-").map(Number);
    for (let c = from; c <= (to ?? from); c++) out.push(c);
  }
  return out;
}

let tasksetChecked: boolean | undefined;

function hasTaskset(): boolean {
  if (tasksetChecked === undefined) {
    try {
      execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** The split above, or why there is none (one core only, no taskset, VPBX_BENCH_UNPINNED=1). */
export function pinningPlan(): Pinning | { unpinned: string } {
  // To see what the pinning changes (a figure measured both ways).
  if (process.env.VPBX_BENCH_UNPINNED === "1") return { unpinned: "VPBX_BENCH_UNPINNED=1" };
  if (ALLOWED.length < 2) return { unpinned: "one core only" };
  if (!hasTaskset()) return { unpinned: "taskset not installed (util-linux)" };
  return { target: ALLOWED.slice(0, -1).join(","), generator: String(ALLOWED[ALLOWED.length - 1]) };
}

/**
 * Sets the affinity of every thread of each process. A process that is gone
 * already is skipped; any other failure is an error (the figure would not
 * be what the line says).
 */
export function pin(pids: number[], cpus: string): void {
  for (const pid of pids) {
    try {
      execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
      if (/No such process|failed to get pid/i.test(stderr)) continue;
      throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${stderr.trim() || String(err)}`);
    }
  }
}

/**
 * The pinning of one bench: the generator (this process, and the processes it
 * forks from now on) at once, each system under test when `target` is called
 * with its processes; `restore` puts every one of them back on all cores.
 */
export class BenchPinning {
  readonly plan = pinningPlan();
  private readonly pinned: Array<() => number[]> = [];

  constructor() {
    if ("target" in this.plan) pin([process.pid], this.plan.generator);
  }

  /** Pins a system under test; `pids` is asked again at restore (a process may have been replaced). */
  target(pids: () => number[]): void {
    if (!("target" in this.plan)) return;
    pin(pids(), this.plan.target);
    this.pinned.push(pids);
  }

  /** Pins more generator processes (already pinned when forked after the constructor: made sure). */
  generator(pids: number[]): void {
    if ("generator" in this.plan) pin(pids, this.plan.generator);
  }

  /** How many cores the generator has (undefined when unpinned). */
  generatorCores(): number | undefined {
    return "generator" in this.plan ? this.plan.generator.split(",").length : undefined;
  }

  /** For the JSON lines: which CPUs each side had. */
  describe(): Record<string, string> {
    return "target" in this.plan
      ? { target_cpus: this.plan.target, generator_cpus: this.plan.generator }
      : { unpinned: this.plan.unpinned };
  }

  restore(): void {
    if (!("target" in this.plan)) return;
    pin([process.pid, ...this.pinned.flatMap((pids) => pids())], ALLOWED.join(","));
  }
}
