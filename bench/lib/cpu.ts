// CPU time of the processes taking part in a bench, from /proc (Linux), so
// a figure can say who had the two cores: the PBX, the load generator, or
// someone else on the machine. Percentages are of one core (200 % = both).
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds used so far by a process (all its threads), or NaN if it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of the whole machine (all cores): busy (everything but idle
 * and iowait) and, of that, stolen (a virtual machine's host ran something
 * else on our cores: proc(5), the 8th value of the "cpu" line).
 */
export function machineSeconds(): { busy: number; steal: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: (total - v[3] - (v[4] ?? 0)) / USER_HZ, steal: (v[7] ?? 0) / USER_HZ };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN };
  }
}

/** Measures CPU use of named groups of processes between start() and stop(). */
export class CpuMeter {
  private t0 = 0;
  private machine0 = { busy: 0, steal: 0 };
  private readonly before = new Map<string, number>();

  constructor(private readonly groups: Record<string, number[]>) {}

  start(): void {
    this.t0 = performance.now();
    this.machine0 = machineSeconds();
    for (const [name, pids] of Object.entries(this.groups)) this.before.set(name, this.sum(pids));
  }

  /**
   * `<group>_cpu_pct` per group, `machine_busy_pct`, `others_cpu_pct` (the
   * rest of the machine) and `steal_pct` (the part of the rest that a virtual
   * machine's host took: jitter that no process here caused). The machine figure comes from /proc/stat, sampled
   * differently from the per-process one (loopback delivery in softirq is
   * charged to both, or to neither), so `others` is a rough indication only.
   */
  stop(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const pct = (cpu: number) => Math.round((1000 * cpu) / seconds) / 10;
    const out: Record<string, number> = {};
    let ours = 0;
    for (const [name, pids] of Object.entries(this.groups)) {
      const used = this.sum(pids) - (this.before.get(name) ?? 0);
      ours += used;
      out[`${name}_cpu_pct`] = pct(used);
    }
    const now = machineSeconds();
    const machine = now.busy - this.machine0.busy;
    out.machine_busy_pct = pct(machine);
    out.others_cpu_pct = pct(Math.max(0, machine - ours));
    out.steal_pct = pct(Math.max(0, now.steal - this.machine0.steal));
    return out;
  }

  private sum(pids: number[]): number {
    let s = 0;
    for (const pid of pids) {
      const v = processCpuSeconds(pid);
      if (!Number.isNaN(v)) s += v;
    }
    return s;
  }
}
