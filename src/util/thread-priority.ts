// The scheduling priority of the calling thread alone, for threads whose
// work is paced by the clock (the media workers relay a packet every 20 ms
// per leg, and a packet that waits is jitter the far phone hears).
//
// On Linux the nice value is a property of each thread, not of the process
// (setpriority(2), NOTES: "under the current Linux/NPTL implementation of
// POSIX threads, the nice value is a per-thread attribute"): libuv's
// uv_os_setpriority(0, n), which Node's os.setPriority(0, n) calls, is
// setpriority(PRIO_PROCESS, 0, n) and renices the calling thread only. With
// a lower nice value than the signalling thread and V8's helper threads, a
// media thread that wakes for a packet takes the core from them at once
// instead of waiting for the end of their time slice. Elsewhere the same
// call would renice the whole process, so it is not made there.
//
// Raising a priority (a lower nice value) needs CAP_SYS_NICE or an
// RLIMIT_NICE that allows it; lowering it is always allowed.
import { readdirSync, readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

export type ThreadPriorityResult = { applied: true; nice: number } | { applied: false; reason: string };

/** Sets the calling thread's nice value (−20 … 19); what happened, never throws. */
export function setThreadNice(nice: number): ThreadPriorityResult {
  if (process.platform !== "linux") {
    return { applied: false, reason: `per-thread priority is set on Linux only, not on ${process.platform}` };
  }
  try {
    setPriority(0, nice);
    return { applied: true, nice: getPriority(0) };
  } catch (err) {
    const code = (err as { info?: { code?: string } }).info?.code ?? (err as Error).message;
    return { applied: false, reason: String(code) };
  }
}

/** The nice value of each thread of this process, by thread id (Linux's /proc; empty elsewhere): for diagnosis. */
export function threadNiceValues(): Map<number, number> {
  const out = new Map<number, number>();
  if (process.platform !== "linux") return out;
  for (const tid of readdirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended since the listing
    }
    // proc(5): field 19 is the nice value; the command name (field 2) may hold spaces, so count after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(tid), Number(fields[19 - 3]));
  }
  return out;
}
