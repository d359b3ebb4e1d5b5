// Runs SIPp 3.6.1 as a bounded child process and reads its verdict from the
// statistics CSV (-trace_stat -stf): SuccessfulCall(C) and FailedCall(C) are
// cumulative totals, the last row is the end of the run.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOMAIN, passwordOf } from "./pbx-process.ts";

export interface SippResult {
  successful: number;
  failed: number;
  exitCode: number | null;
  elapsedMs: number;
  /** Mean response time of the timed response (rtd), ms, when SIPp reports it. */
  responseTimeMs?: number;
  /** SIPp's own diagnosis when it exits early (the last lines it printed). */
  tail: string;
}

export interface SippRun {
  scenario: string;
  pbxPort: number;
  localPort: number;
  workDir: string;
  injectionFile?: string;
  rate: number;
  /** Calls in total (-m). */
  calls: number;
  /** Concurrent calls at most (-l). */
  limit?: number;
  /** Killed after this long whatever happens. */
  timeoutMs: number;
  extra?: string[];
}

export function sippAvailable(): Promise<boolean> {
  return new Promise((res) => {
    const p = spawn("sipp", ["-v"], { stdio: "ignore" });
    p.once("error", () => res(false));
    p.once("exit", () => res(true));
  });
}

/** An injection file of phones: extension;[authentication username=ext password=...]. */
export function writePhonesCsv(path: string, numbers: string[]): void {
  const lines = numbers.map((n) => `${n};[authentication username=${n} password=${passwordOf(n)}]`);
  writeFileSync(path, `SEQUENTIAL\n${lines.join("\n")}\n`);
}

export async function runSipp(run: SippRun): Promise<SippResult> {
  const stf = join(run.workDir, `sipp-${run.localPort}-${Date.now()}.csv`);
  const args = [
    `127.0.0.1:${run.pbxPort}`,
    "-sf",
    run.scenario,
    "-i",
    "127.0.0.1",
    "-p",
    String(run.localPort),
    "-r",
    String(run.rate),
    "-rp",
    "1000",
    "-m",
    String(run.calls),
    "-l",
    String(run.limit ?? Math.max(100, run.rate * 5)),
    "-auth_uri",
    DOMAIN,
    // A call that waits 5 s for an answer counts as failed instead of hanging the run.
    "-recv_timeout",
    "5000",
    "-nostdin",
    "-trace_stat",
    "-stf",
    stf,
    "-fd",
    "1",
    ...(run.injectionFile ? ["-inf", run.injectionFile] : []),
    ...(run.extra ?? []),
  ];
  const started = performance.now();
  const child = spawn("sipp", args, { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-3000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const timer = setTimeout(() => child.kill("SIGKILL"), run.timeoutMs);
  const exitCode = await new Promise<number | null>((res) => {
    child.once("error", () => res(null));
    child.once("exit", (code) => res(code));
  });
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  const stats = readStats(stf);
  return { ...stats, exitCode, elapsedMs, tail: tail.split("\n").slice(-8).join("\n") };
}

function readStats(path: string): { successful: number; failed: number; responseTimeMs?: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { successful: 0, failed: 0 };
  }
  const rows = text.trim().split("\n");
  if (rows.length < 2) return { successful: 0, failed: 0 };
  const header = rows[0].split(";");
  const last = rows[rows.length - 1].split(";");
  const col = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? last[i] : undefined;
  };
  const rt = col("ResponseTime1(C)");
  return {
    successful: Number(col("SuccessfulCall(C)") ?? 0),
    failed: Number(col("FailedCall(C)") ?? 0),
    responseTimeMs: rt ? parseSippDuration(rt) : undefined,
  };
}

/** SIPp writes durations as HH:MM:SS:mmmuuu. */
function parseSippDuration(text: string): number | undefined {
  const m = /^(\d+):(\d+):(\d+):(\d{3})(\d{3})$/.exec(text.trim());
  if (!m) return undefined;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) + Number(m[5]) / 1000;
}
