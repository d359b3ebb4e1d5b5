// rtpengine as a child process for the relay bench's peer: userspace
// forwarding only (`--table=-1`, no kernel module), on loopback, its ng
// control port free at start, its media ports a slice big enough for the
// bench's calls, nothing read from /etc (`--config-file=none`: the Debian
// package's rtpengine.conf has kernel table 0 and fixed ports).
//
// test/support/rtpengine.ts starts the daemon for the tests, but on a fixed
// slice of 200 media ports (50 calls: each call takes an RTP and an RTCP
// port on each side); the relay bench needs four ports for each of its 500
// or more calls, so it starts its own.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./pbx-process.ts";
import { killOnExit } from "./proc.ts";

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/**
 * Media ports are taken in 20000–29999: under Linux's ephemeral range
 * (32768–60999, where the RTP generator's sockets are bound) and apart from
 * vpbx's 30000–40000 in the bench.
 */
const RANGE_MIN = 20_000;
const RANGE_MAX = 29_999;

/** The rtpengine binary: $VPBX_RTPENGINE, then PATH, then the usual places. */
export function findRtpengine(): string | undefined {
  const own = process.env.VPBX_RTPENGINE;
  if (own) return existsSync(own) ? own : undefined;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  return dirs.map((d) => join(d, "rtpengine")).find((p) => p !== "rtpengine" && existsSync(p));
}

export interface RtpengineOptions {
  /** Calls it must carry at once (four media ports each). */
  calls: number;
  /** Its worker threads (default: rtpengine's, one per core). */
  threads?: number;
}

export class RtpengineProcess {
  private output = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly ngPort: number,
    private readonly exited: Promise<void>,
  ) {
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  /** Its ng control socket as the Kamailio rtpengine module names it, quoted for `-A`. */
  get sock(): string {
    return `"udp:127.0.0.1:${this.ngPort}"`;
  }

  static async start(opts: RtpengineOptions): Promise<RtpengineProcess> {
    const bin = findRtpengine();
    if (!bin) throw new Error("rtpengine is not installed (Debian: apt-get install rtpengine-daemon)");
    const slice = Math.min(RANGE_MAX - RANGE_MIN + 1, 4 * opts.calls + 400);
    const dir = mkdtempSync(join(tmpdir(), "vpbx-bench-rtpengine-"));
    let last = "";
    // A port found free may be taken before the daemon binds it: try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ngPort = await freeUdpPort();
      // An even start: RTP on even ports, RTCP on the odd one above (RFC 3550 §11).
      const portMin = RANGE_MIN + 2 * Math.floor((Math.random() * (RANGE_MAX - RANGE_MIN + 1 - slice)) / 2);
      const args = [
        "--config-file=none",
        "--foreground",
        "--table=-1",
        "--log-stderr",
        "--log-level=4",
        "--interface=127.0.0.1",
        `--listen-ng=127.0.0.1:${ngPort}`,
        `--port-min=${portMin}`,
        `--port-max=${portMin + slice - 1}`,
        // A deleted call is forgotten at once (the default keeps it 30 s).
        "--delete-delay=0",
        ...(opts.threads ? [`--num-threads=${opts.threads}`] : []),
      ];
      const child = spawn(bin, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      killOnExit(child);
      const exited = new Promise<void>((res) => child.once("exit", () => res()));
      child.once("error", () => {
        // Seen by the readiness check below (the process is not running).
      });
      const r = new RtpengineProcess(child, dir, ngPort, exited);
      if (await r.waitPong()) return r;
      last = r.logTail();
      await r.terminate();
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`rtpengine did not start:\n${last}`);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  logTail(): string {
    return this.output.trim().split("\n").slice(-15).join("\n");
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Pings over ng (`<cookie> d7:command4:pinge`) until "pong"; false when it exits or stays silent. */
  private async waitPong(): Promise<boolean> {
    const socket = createSocket("udp4");
    await new Promise<void>((res) => socket.bind(0, "127.0.0.1", () => res()));
    let pong = false;
    socket.on("message", (m) => {
      if (m.toString("latin1").includes("4:pong")) pong = true;
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    try {
      for (let n = 1; !pong; n++) {
        if (!this.running || performance.now() > deadline) return false;
        socket.send(`ready${n} d7:command4:pinge`, this.ngPort, "127.0.0.1");
        await sleep(200);
      }
      return true;
    } finally {
      socket.close();
    }
  }

  private async terminate(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGTERM, SIGKILL after 5 s; then its folder goes. */
  async stop(): Promise<void> {
    await this.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
