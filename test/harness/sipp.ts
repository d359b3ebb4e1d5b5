// Runs SIPp 3.6 scenarios from test/sipp/ (see docs in /work/shared/INTEROP.md):
// in the foreground with a kill timeout, with the message trace and the
// statistics CSV read back so a test can assert on calls and show what was
// said when one fails.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTool } from "./tools.ts";

/** test/sipp/, where the scenarios live. */
export const SIPP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../sipp");

/** A scenario by file name ("uac-call-auth.xml") or path. */
export function scenarioPath(name: string): string {
  return name.includes("/") ? name : join(SIPP_DIR, name);
}

export interface SippOptions {
  /** Path or file name in test/sipp/. */
  scenario: string;
  /** "127.0.0.1:5060"; omit for a pure UAS that only waits. */
  server?: string;
  /** -s: the user part dialled by UAC scenarios ([service]). */
  target?: string;
  /** -p; default: a free port chosen here (so a later run can reuse it). */
  localPort?: number;
  /** -i; default 127.0.0.1. */
  localAddress?: string;
  /** -mp (RTP); default: a free even port. */
  mediaPort?: number;
  transport?: "UDP" | "TCP";
  user?: string;
  password?: string;
  /** -auth_uri, e.g. "102@acme.test" (SIPp adds sip:). */
  authUri?: string;
  /** -m; default 1. */
  calls?: number;
  /** -r calls per second; default 10. */
  rate?: number;
  /** -l concurrent calls. */
  limit?: number;
  /** -d, the length of <pause/> in ms; default 1000. */
  pauseMs?: number;
  /** -set name value; the scenario must declare them in <Global variables>. */
  vars?: Record<string, string>;
  /** Kill after this long; default 30 s. SIPp's own -timeout is set a bit below. */
  timeoutMs?: number;
  /** -rtp_echo. */
  rtpEcho?: boolean;
  extraArgs?: string[];
}

export interface SippResult {
  /** Exit code: 0 all calls succeeded, 1 some failed, 97/99 aborted; -1 when killed. */
  code: number;
  successful: number;
  failed: number;
  /** The -trace_msg log. */
  messages: string;
  /** The -trace_err log (unexpected messages). */
  errors: string;
  stdout: string;
  stderr: string;
  /** The command line, for error messages. */
  command: string;
  localPort: number;
  mediaPort: number;
}

export interface SippProcess {
  localPort: number;
  mediaPort: number;
  /** Resolves when SIPp exits by itself. */
  done: Promise<SippResult>;
  /** Ends SIPp (SIGUSR1 soft stop, then SIGKILL) and returns its result. */
  stop(): Promise<SippResult>;
}

/** A UDP port that is free now (and, with `pair`, the one two above as -rtp_echo needs). */
export async function freeUdpPort(address = "127.0.0.1", even = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await probe(address, 0);
    if (port === undefined) continue;
    if (even && port % 2 !== 0) continue;
    if (even && (await probe(address, port + 2)) === undefined) continue;
    return port;
  }
  throw new Error("no free UDP port found");
}

function probe(address: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, address, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** One message of a -trace_msg log: what SIPp sent or received, as it was on the wire. */
export interface SippTracedMessage {
  direction: "sent" | "received";
  /** The whole message (start line, headers, body). */
  text: string;
  /** "REGISTER sip:127.0.0.2:5070 SIP/2.0" or "SIP/2.0 401 Unauthorized". */
  firstLine: string;
}

/**
 * Splits a -trace_msg log into its messages. SIPp 3.6.1 writes each as a
 * line of dashes with a timestamp, then "UDP message received [N] bytes :"
 * or "UDP message sent (N bytes):", a blank line, and the message.
 */
export function parseSippMessages(log: string): SippTracedMessage[] {
  const out: SippTracedMessage[] = [];
  for (const chunk of log.split(/^-{20,} \d{4}-\d\d-\d\d [^\n]*\n/m)) {
    const m = /^\s*(?:UDP|TCP|TLS|SCTP) message (sent|received)[^\n]*\n\r?\n/.exec(chunk);
    if (!m) continue;
    const text = chunk
      .slice(m[0].length)
      .replace(/\r?\n/g, "\r\n")
      .replace(/(\r\n)+$/, "");
    out.push({ direction: m[1] as "sent" | "received", text, firstLine: text.split("\r\n", 1)[0] ?? "" });
  }
  return out;
}

/**
 * Every value of header `name` (case-insensitive, full name only) in a
 * traced message, in order; works on baresip's trace messages too.
 */
export function sippHeaders(msg: { text: string }, name: string): string[] {
  const head = msg.text.split("\r\n\r\n", 1)[0] ?? "";
  const wanted = name.toLowerCase();
  const out: string[] = [];
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted)
      out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/** The first value of header `name`, or undefined. */
export function sippHeader(msg: { text: string }, name: string): string | undefined {
  return sippHeaders(msg, name)[0];
}

/** Parses the last line of a -trace_stat CSV (";"-separated) for the cumulative call totals. */
export function parseStatCsv(text: string): { successful: number; failed: number } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length < 2) return { successful: 0, failed: 0 };
  const header = lines[0].split(";");
  const last = lines[lines.length - 1].split(";");
  const col = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? Number(last[i]) || 0 : 0;
  };
  return { successful: col("SuccessfulCall(C)"), failed: col("FailedCall(C)") };
}

async function prepare(opts: SippOptions) {
  const sipp = requireTool("sipp");
  if (!sipp) throw new Error("sipp is not installed (check requireTool('sipp') first and skip)");
  const scenario = scenarioPath(opts.scenario);
  if (!existsSync(scenario)) throw new Error(`no SIPp scenario ${scenario}`);
  const localAddress = opts.localAddress ?? "127.0.0.1";
  const localPort = opts.localPort ?? (await freeUdpPort(localAddress));
  const mediaPort = opts.mediaPort ?? (await freeUdpPort(localAddress, true));
  const dir = mkdtempSync(join(tmpdir(), "vpbx-sipp-"));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const vars: Record<string, string> = {
    user: opts.user ?? "sipp",
    domain: opts.server ? opts.server.split(":")[0] : localAddress,
    expires: "3600",
    digits: "1",
    ...opts.vars,
  };
  const declared = readFileSync(scenario, "utf8").match(/<Global\s+variables="([^"]*)"/)?.[1] ?? "";
  const args = ["-sf", scenario];
  if (opts.server) args.push(opts.server);
  args.push(
    "-i",
    localAddress,
    "-p",
    String(localPort),
    "-mi",
    localAddress,
    "-mp",
    String(mediaPort),
    "-t",
    opts.transport === "TCP" ? "t1" : "u1",
    "-m",
    String(opts.calls ?? 1),
    "-r",
    String(opts.rate ?? 10),
    "-d",
    String(opts.pauseMs ?? 1000),
    "-nostdin",
    "-trace_msg",
    "-message_file",
    join(dir, "messages.log"),
    "-trace_err",
    "-error_file",
    join(dir, "errors.log"),
    "-trace_stat",
    "-stf",
    join(dir, "stat.csv"),
    "-timeout",
    `${Math.max(1, Math.floor(timeoutMs / 1000) - 1)}s`,
    "-timeout_error",
    // SIPp's screen would go to stdout as an escape-sequence animation; a file keeps stdout readable.
    "-trace_screen",
    "-screen_file",
    join(dir, "screen.log"),
  );
  if (opts.target) args.push("-s", opts.target);
  if (opts.limit) args.push("-l", String(opts.limit));
  if (opts.user) args.push("-au", opts.user);
  if (opts.password !== undefined) args.push("-ap", opts.password);
  if (opts.authUri) args.push("-auth_uri", opts.authUri);
  if (opts.rtpEcho) args.push("-rtp_echo");
  for (const [k, v] of Object.entries(vars)) {
    // -set of an undeclared variable is an error in SIPp 3.6: pass only those the scenario declares.
    if (
      declared
        .split(",")
        .map((s) => s.trim())
        .includes(k)
    )
      args.push("-set", k, v);
  }
  args.push(...(opts.extraArgs ?? []));
  return { sipp, args, dir, timeoutMs, localPort, mediaPort };
}

function launch(p: Awaited<ReturnType<typeof prepare>>): { child: ChildProcess; done: Promise<SippResult> } {
  const child = spawn(p.sipp, p.args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => kill(child, "SIGKILL"), p.timeoutMs);
  const done = new Promise<SippResult>((resolveDone) => {
    const finish = (code: number) => {
      clearTimeout(killer);
      const read = (f: string) => {
        try {
          return readFileSync(join(p.dir, f), "utf8");
        } catch {
          return "";
        }
      };
      const stats = parseStatCsv(read("stat.csv"));
      const result: SippResult = {
        code,
        ...stats,
        messages: read("messages.log"),
        errors: read("errors.log"),
        stdout,
        stderr: stderr + read("screen.log").slice(-4000),
        command: `sipp ${p.args.join(" ")}`,
        localPort: p.localPort,
        mediaPort: p.mediaPort,
      };
      rmSync(p.dir, { recursive: true, force: true });
      resolveDone(result);
    };
    child.once("error", (e) => {
      stderr += String(e);
      finish(-1);
    });
    child.once("exit", (code) => finish(code ?? -1));
  });
  return { child, done };
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the whole process group: SIPp's RTP threads too
  } catch {
    child.kill(signal);
  }
}

/** Runs a scenario to its end (or the timeout) and returns the outcome. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const p = await prepare(opts);
  return launch(p).done;
}

/**
 * Starts a long-running SIPp (typically uas-answer.xml waiting for calls).
 * With `register`, first runs register-auth.xml from the same port, so that
 * the PBX knows where to send calls (INTEROP.md: registration and UAS are
 * two runs on one -p port).
 */
export async function startSipp(opts: SippOptions & { register?: boolean }): Promise<SippProcess> {
  let localPort = opts.localPort;
  if (opts.register) {
    const reg = await runSipp({
      scenario: "register-auth.xml",
      server: opts.server,
      localPort,
      localAddress: opts.localAddress,
      transport: opts.transport,
      user: opts.user,
      password: opts.password,
      authUri: opts.authUri,
      vars: opts.vars,
      timeoutMs: 10_000,
    });
    if (reg.code !== 0)
      throw new Error(
        `SIPp registration failed (exit ${reg.code}):\n${reg.messages.slice(-3000)}\n${reg.stderr}`,
      );
    localPort = reg.localPort;
  }
  // A UAS waits for its peer: a long default timeout; stop() ends it sooner.
  const p = await prepare({ ...opts, localPort, timeoutMs: opts.timeoutMs ?? 120_000 });
  const { child, done } = launch(p);
  await waitForBind(p.localPort, opts.localAddress ?? "127.0.0.1");
  return {
    localPort: p.localPort,
    mediaPort: p.mediaPort,
    done,
    stop: async () => {
      // SIGUSR1 asks SIPp to stop placing/accepting calls and exit cleanly, writing its stats.
      kill(child, "SIGUSR1");
      const t = setTimeout(() => kill(child, "SIGKILL"), 3000);
      const r = await done;
      clearTimeout(t);
      return r;
    },
  };
}

/** Waits until something holds the UDP port (SIPp has bound it), at most ~3 s. */
async function waitForBind(port: number, address: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await probe(address, port)) === undefined) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A copy of `scenario`, written into `dir`, in which every play_pcap_audio
 * of one of SIPp's RFC 4733 captures (`dtmf_2833_*.pcap`) plays a copy of
 * its own, renumbered so that the keys of the scenario make one RTP stream
 * as a phone sends it: each key a later timestamp (RFC 4733 §2.5.1.3: the
 * timestamp names the event) and sequence numbers that go on from the key
 * before (RFC 3550 §5.1). The captures as shipped carry fixed numbers: the
 * same digit twice is one event retransmitted, and numbers jump backwards
 * from one file to the next. Returns the path of the copy.
 */
export function renumberDtmfPcaps(scenario: string, dir: string): string {
  let seq = 1000;
  let key = 0;
  const text = readFileSync(scenarioPath(scenario), "utf8").replace(
    /play_pcap_audio="([^"]*\/dtmf_2833_([0-9a-z]+)\.pcap)"/g,
    (_match, file: string, name: string) => {
      key++;
      const out = join(dir, `key-${String(key).padStart(2, "0")}-${name}.pcap`);
      // Two seconds of the 8 kHz clock between keys: every key a new, later event.
      const { bytes, nextSeq } = renumberRtp(readFileSync(file), seq, 8000 * 2 * key);
      writeFileSync(out, bytes);
      seq = nextSeq;
      return `play_pcap_audio="${out}"`;
    },
  );
  const copy = join(dir, basename(scenarioPath(scenario)));
  writeFileSync(copy, text);
  return copy;
}

/**
 * A pcap (Ethernet or Linux cooked, IPv4 or IPv6, UDP, RTP) whose RTP
 * packets get sequence numbers from `firstSeq` on (keeping their gaps) and
 * all the timestamp `timestamp` (one RFC 4733 event). SIPp recomputes the UDP
 * checksum when it sends, so it is left as it is.
 */
function renumberRtp(pcap: Buffer, firstSeq: number, timestamp: number): { bytes: Buffer; nextSeq: number } {
  const bytes = Buffer.from(pcap);
  const magic = bytes.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && bytes.readUInt32BE(0) !== 0xa1b2c3d4 && bytes.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error("not a pcap file");
  const u32 = (o: number) => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const link = u32(20);
  const ipAt = link === 1 ? 14 : link === 113 ? 16 : -1;
  if (ipAt < 0) throw new Error(`pcap link type ${link} is neither Ethernet nor Linux cooked`);
  let base: number | undefined;
  let nextSeq = firstSeq;
  for (let at = 24; at + 16 <= bytes.length; ) {
    const caplen = u32(at + 8);
    const pkt = at + 16;
    at = pkt + caplen;
    const ip = pkt + ipAt;
    const udp = (bytes[ip]! >> 4 === 6 ? 40 : (bytes[ip]! & 0x0f) * 4) + ip;
    const rtp = udp + 8;
    if (rtp + 12 > at) continue;
    const original = bytes.readUInt16BE(rtp + 2);
    base ??= original;
    const renumbered = (firstSeq + ((original - base) & 0xffff)) & 0xffff;
    bytes.writeUInt16BE(renumbered, rtp + 2);
    bytes.writeUInt32BE(timestamp >>> 0, rtp + 4);
    nextSeq = (renumbered + 1) & 0xffff;
  }
  return { bytes, nextSeq };
}
