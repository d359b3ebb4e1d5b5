// The PBX under test, as a child process started exactly as an operator
// would start it (`vpbx start` with VPBX_* variables), so the bench depends
// on nothing but the CLI, the REST API and the wire.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { rssOf } from "./proc.ts";

export interface PbxOptions {
  /** Write a V8 CPU profile of the PBX into this folder when it exits. */
  cpuProfDir?: string;
  rtpPorts?: string;
  mediaTimeoutSeconds?: number;
}

export const TENANT = "bench";
export const DOMAIN = "bench.test";

/** A port free on 127.0.0.1 for both UDP and TCP at the time of asking (SIP listens on both). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket("udp4");
    const port = await new Promise<number>((res, rej) => {
      udp.once("error", rej);
      udp.bind(0, "127.0.0.1", () => res(udp.address().port));
    });
    const tcpOk = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once("error", () => res(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
    });
    udp.close();
    if (tcpOk) return port;
  }
  throw new Error("no free port found");
}

export class PbxProcess {
  readonly token = "bench-admin-token-0123456789";
  private child: ChildProcess | null = null;
  private stderr = "";
  private exited: Promise<number | null> = Promise.resolve(null);
  /**
   * The spans of measured load (a bench's steps, not its set-up), in µs of
   * CLOCK_MONOTONIC: the clock V8 stamps a CPU profile's samples with, so
   * the profile can be read for these spans only (topFunctions).
   */
  readonly measured: Array<[number, number]> = [];

  private constructor(
    readonly dataDir: string,
    readonly sipPort: number,
    readonly httpPort: number,
    /** SIP over TLS (the SRTP relay figure: keys are taken only over TLS). */
    readonly sipTlsPort: number,
    private readonly opts: PbxOptions,
  ) {}

  static async start(opts: PbxOptions = {}): Promise<PbxProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), "vpbx-bench-"));
    const ports: number[] = [];
    // Three different ports (the PBX refuses a TLS port equal to another of its ports).
    while (ports.length < 3) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const pbx = new PbxProcess(dataDir, ports[0], ports[1], ports[2], opts);
    await pbx.spawn();
    return pbx;
  }

  /** Marks the start of measured load; the returned function marks its end. */
  measuring(): () => void {
    const from = monotonicUs();
    return () => {
      this.measured.push([from, monotonicUs()]);
    };
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  private async spawn(): Promise<void> {
    // bin/vpbx.js, as `npm start`: the compiled server (built first when
    // stale), with the node options of its first line.
    const execArgv = commandNodeOptions();
    // Node or V8 options of the PBX under test, to compare settings (e.g. "--max-semi-space-size=32").
    const extra = process.env.VPBX_BENCH_PBX_NODE_ARGS?.trim();
    if (extra) execArgv.push(...extra.split(/\s+/));
    if (this.opts.cpuProfDir) execArgv.push("--cpu-prof", `--cpu-prof-dir=${this.opts.cpuProfDir}`);
    const child = spawn(process.execPath, [...execArgv, resolve("bin/vpbx.js"), "start"], {
      env: {
        ...process.env,
        VPBX_DATA_DIR: this.dataDir,
        VPBX_BIND: "127.0.0.1",
        VPBX_PUBLIC_ADDRESS: "127.0.0.1",
        VPBX_SIP_PORT: String(this.sipPort),
        VPBX_HTTP_PORT: String(this.httpPort),
        VPBX_SIP_TLS_PORT: String(this.sipTlsPort),
        VPBX_RTP_PORTS: this.opts.rtpPorts ?? "30000-40000",
        VPBX_ADMIN_TOKEN: this.token,
        VPBX_LOG_LEVEL: "warn",
        VPBX_MEDIA_TIMEOUT: String(this.opts.mediaTimeoutSeconds ?? 120),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    // Keep the tail of what it says: the reason when it fails to start.
    const keep = (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((res) => child.once("exit", (code) => res(code)));
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`PBX exited at start (${child.exitCode}): ${this.stderr.trim()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${this.httpPort}/health`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) {
        await this.stop();
        throw new Error(`PBX not healthy after 60 s: ${this.stderr.trim()}`);
      }
      await sleep(250);
    }
  }

  /** Recent output of the PBX (warnings, errors), for diagnosis. */
  get output(): string {
    return this.stderr;
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const r = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, json };
  }

  async createTenant(): Promise<void> {
    const r = await this.api("POST", "/api/v1/tenants", { name: TENANT, domain: DOMAIN });
    if (r.status !== 201 && r.status !== 200)
      throw new Error(`create tenant: ${r.status} ${JSON.stringify(r.json)}`);
    // The load runs hundreds of calls at once in one company: lift its cap.
    const cap = await this.api("PATCH", `/api/v1/tenants/${TENANT}`, { maxCalls: 10_000 });
    if (cap.status !== 200) throw new Error(`tenant call cap: ${cap.status} ${JSON.stringify(cap.json)}`);
  }

  /** Creates extensions `numbers` (password from passwordOf) with a few requests in flight at once. */
  async createExtensions(numbers: string[], concurrency = 8): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < numbers.length) {
        const number = numbers[next++];
        const r = await this.api("POST", `/api/v1/tenants/${TENANT}/extensions`, {
          number,
          password: passwordOf(number),
          displayName: `Bench ${number}`,
        });
        if (r.status !== 201 && r.status !== 200 && r.status !== 409) {
          throw new Error(`create extension ${number}: ${r.status} ${JSON.stringify(r.json)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Resident set size of the PBX process (VmRSS), bytes; an error saying why when the PBX is gone. */
  rssBytes(): number {
    const rss = this.child ? rssOf(this.pid) : undefined;
    if (rss === undefined)
      throw new Error(
        `the PBX is not running (exit ${this.child?.exitCode ?? "?"}): ${this.stderr.trim().slice(-800)}`,
      );
    return rss;
  }

  /** SIGTERM (graceful: the PBX ends its calls and writes its CPU profile), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    await this.terminate();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /**
   * Stops the PBX and starts it again on the same data directory and ports:
   * what a provider's node looks like after a restart (its store, prompt cache
   * and registrations kept), without the memory that its first start and bulk
   * provisioning left behind.
   */
  async restart(): Promise<void> {
    await this.terminate();
    await this.spawn();
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = null;
  }
}

/** Every bench password is this followed by the extension's number (bench/peers' Kamailio computes it too). */
export const PASSWORD_PREFIX = "bench-pw-";

/** Every bench extension's password derives from its number, so SIPp and the TS phones know it. */
export function passwordOf(number: string): string {
  return `${PASSWORD_PREFIX}${number}`;
}

/** The node options the vpbx command runs with: those of bin/vpbx.js's first line. */
export function commandNodeOptions(): string[] {
  const first = readFileSync(resolve("bin/vpbx.js"), "utf8").split("\n", 1)[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  if (!m) throw new Error(`bin/vpbx.js does not begin with "#!/usr/bin/env -S node": ${first}`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CLOCK_MONOTONIC in µs, as V8 stamps a CPU profile (startTime, timeDeltas). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * The main thread's .cpuprofile in a folder (the one with the most samples in our code, dist/server/:
 * the loader and speech workers write their own), summarised as the top
 * self-time functions, idle excluded. With `windows` (PbxProcess.measured),
 * only the samples taken in them count: the set-up before a bench's steps
 * (provisioning thousands of users checks each password's strength) is not
 * what the bench measures.
 */
export function topFunctions(
  dir: string,
  top = 12,
  windows: ReadonlyArray<readonly [number, number]> = [],
): Array<{ fn: string; self_pct_of_busy: number }> {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) return [];
  type Profile = {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    startTime: number;
    timeDeltas: number[];
  };
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Profile);
  // The main thread is the one that spent its time in our own code.
  const ours = (pr: Profile) => {
    const own = new Set(pr.nodes.filter((n) => n.callFrame.url.includes("/dist/server/")).map((n) => n.id));
    return pr.samples.filter((id) => own.has(id)).length;
  };
  const profile = profiles.sort((a, b) => ours(b) - ours(a))[0];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows.length > 0 && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    busy++;
    const { functionName, url, lineNumber } = node.callFrame;
    const short = url.replace(/^.*\/work\/main\//, "").replace(/^file:\/\//, "");
    const key = `${functionName || "(anonymous)"} ${short}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = busy || 1;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, n]) => ({ fn, self_pct_of_busy: Math.round((1000 * n) / total) / 10 }));
}
