// What /proc (Linux) says about the processes of a system under test: a
// process's descendants (Kamailio forks its workers at start), their
// resident memory, and the datagrams their sockets dropped.
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** The parent pid of `pid`, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself contain spaces and parentheses: state, ppid, ...
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    // Gone between the listing of /proc and this read: not a descendant any more.
    return undefined;
  }
}

/** `pid` and every process below it, now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const child = Number(name);
    const parent = parentOf(child);
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resident set size (VmRSS) of a process, bytes; undefined when it is gone. */
export function rssOf(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Datagrams the kernel dropped so far at the UDP sockets bound to `port` (on
 * any address): the `drops` column of /proc/net/udp and udp6, which counts a
 * receive buffer found full. On SIP each one is a request or response
 * resent by its sender 500 ms later (or a call lost).
 */
export function udpDrops(port: number): number {
  let total = 0;
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    // udp6 is missing on a kernel without IPv6.
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) !== port) continue;
      total += Number(cols.at(-1)) || 0;
    }
  }
  return total;
}

/** Children to kill if the bench exits before stopping them (the hard time limit calls process.exit). */
const orphans = new Set<ChildProcess>();
let exitHook = false;

/** Kills `child` when this process exits, unless it ended before; the daemons would outlive the bench. */
export function killOnExit(child: ChildProcess): void {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      // SIGTERM: Kamailio's main process then stops the workers it forked.
      for (const c of orphans) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    });
  }
  orphans.add(child);
  child.once("exit", () => orphans.delete(child));
}
