// Kamailio as a child process for the peer benches: a configuration of
// bench/peers run in the foreground (-DD -E) on an ephemeral loopback port,
// its defines given with -A (nothing read from or written to /etc), its
// runtime and working directory a temporary folder.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep } from "./pbx-process.ts";
import { killOnExit, processTree } from "./proc.ts";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** The kamailio binary: $VPBX_KAMAILIO, then PATH, then the usual sbin folders. */
export function findKamailio(): string | undefined {
  const own = process.env.VPBX_KAMAILIO;
  if (own) return existsSync(own) ? own : undefined;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"];
  return dirs.map((d) => join(d, "kamailio")).find((p) => p !== "kamailio" && existsSync(p));
}

export interface KamailioOptions {
  /** Path of the configuration file. */
  config: string;
  /** `-A NAME=VALUE` defines besides LISTEN_ADDR and SIP_PORT (string values with their quotes). */
  defines?: Record<string, string>;
  /** Shared memory, MB (transactions and registrations live there). */
  sharedMb?: number;
}

export class KamailioProcess {
  private output = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly sipPort: number,
    private readonly exited: Promise<void>,
  ) {
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  static async start(opts: KamailioOptions): Promise<KamailioProcess> {
    const bin = findKamailio();
    if (!bin)
      throw new Error("kamailio is not installed (Debian: apt-get install kamailio kamailio-extra-modules)");
    const dir = mkdtempSync(join(tmpdir(), "vpbx-bench-kamailio-"));
    const sipPort = await freePort();
    const defines = { LISTEN_ADDR: "127.0.0.1", SIP_PORT: String(sipPort), ...opts.defines };
    const args = [
      "-DD",
      "-E",
      "-f",
      opts.config,
      "-Y",
      dir,
      "-w",
      dir,
      "-m",
      String(opts.sharedMb ?? 128),
      "-M",
      "8",
    ];
    for (const [name, value] of Object.entries(defines)) args.push("-A", `${name}=${value}`);
    const child = spawn(bin, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    killOnExit(child);
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    child.once("error", () => {
      // Reported by the readiness check below (the process is not running).
    });
    const k = new KamailioProcess(child, dir, sipPort, exited);
    try {
      await k.waitReady();
    } catch (err) {
      await k.stop();
      throw err;
    }
    return k;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The main process and the workers it forked. */
  pids(): number[] {
    return this.running ? processTree(this.pid) : [];
  }

  logTail(): string {
    return this.output.trim().split("\n").slice(-15).join("\n");
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ready when it answers an OPTIONS (whatever the answer: the bench configurations refuse it). */
  private async waitReady(): Promise<void> {
    const socket = createSocket("udp4");
    await new Promise<void>((res) => socket.bind(0, "127.0.0.1", () => res()));
    let answered = false;
    socket.on("message", (m) => {
      if (m.toString("latin1").startsWith("SIP/2.0 ")) answered = true;
    });
    const port = socket.address().port;
    const deadline = performance.now() + START_TIMEOUT_MS;
    try {
      for (let n = 1; !answered; n++) {
        if (!this.running) throw new Error(`kamailio exited at start:\n${this.logTail()}`);
        if (performance.now() > deadline)
          throw new Error(`kamailio not answering after 20 s:\n${this.logTail()}`);
        const probe = [
          `OPTIONS sip:127.0.0.1:${this.sipPort} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-ready-${n};rport`,
          `From: <sip:probe@127.0.0.1>;tag=ready`,
          `To: <sip:127.0.0.1:${this.sipPort}>`,
          `Call-ID: ready-${process.pid}-${this.sipPort}`,
          `CSeq: ${n} OPTIONS`,
          "Max-Forwards: 70",
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        socket.send(probe, this.sipPort, "127.0.0.1");
        await sleep(200);
      }
    } finally {
      socket.close();
    }
  }

  /** SIGTERM (Kamailio stops its workers), SIGKILL after 5 s; then the folder goes. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
