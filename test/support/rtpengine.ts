// A throw-away rtpengine daemon for the tests: userspace forwarding only
// (`--table=-1`, no kernel module), on loopback, its ng control port on a
// free UDP port, its media ports in a random slice of 40000–59999, its log in
// a temporary directory. `--config-file=none`: the Debian package's
// /etc/rtpengine/rtpengine.conf would otherwise be read, with its kernel table
// 0 and its fixed CLI and HTTP ports, on which two test daemons would collide.
//
// When the binary is missing the tests skip (rtpengineSkip() says why), except
// under CI=true, where CI installs it and its absence is a failure.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RtpengineClient } from "../../src/media/rtpengine/ng-client.ts";
import { SystemClock } from "../../src/util/clock.ts";

export interface RtpengineDaemon {
  /** The ng control address. */
  host: string;
  ngPort: number;
  /** The media port range given to the daemon. */
  portMin: number;
  portMax: number;
  /** The last lines of the daemon's log (for a failing test's message). */
  logTail(lines?: number): string;
  /** SIGTERM (SIGKILL after a while), then the directory goes. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** Media ports per daemon: four per call (RTP and RTCP on each side), plenty for a test file. */
const PORT_SLICE = 200;
const CANDIDATES = ["/usr/bin/rtpengine", "/usr/sbin/rtpengine", "/usr/local/bin/rtpengine"];

/** The rtpengine binary: $VPBX_RTPENGINE, then PATH, then the usual places. */
export function findRtpengine(): string | undefined {
  const own = process.env.VPBX_RTPENGINE;
  if (own) return existsSync(own) ? own : undefined;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "rtpengine"))) return join(dir, "rtpengine");
  }
  return CANDIDATES.find((p) => existsSync(p));
}

/**
 * Why the rtpengine tests cannot run here, or undefined when they can. Under CI=true a
 * missing binary is not a reason to skip: startRtpengine() then fails the suite.
 */
export function rtpengineSkip(): string | undefined {
  if (findRtpengine() !== undefined || process.env.CI === "true") return undefined;
  return "rtpengine is not installed (Debian: apt-get install rtpengine-daemon); rtpengine tests skipped";
}

export async function startRtpengine(): Promise<RtpengineDaemon> {
  const bin = findRtpengine();
  if (bin === undefined) {
    throw new Error(
      "rtpengine is not installed (Debian: apt-get install rtpengine-daemon), and CI=true needs it",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "vpbx-rtpengine-"));
  const log = join(dir, "rtpengine.log");
  const host = "127.0.0.1";
  const tail = (lines = 30) => tailOf(log, lines);
  let lastError: unknown;
  try {
    // A port found free may be taken before the daemon binds it: try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ngPort = await freeUdpPort(host);
      // An even start: RTP on even ports, RTCP on the odd one above (RFC 3550 §11).
      const portMin = 40_000 + 2 * Math.floor(Math.random() * ((20_000 - PORT_SLICE) / 2));
      const portMax = portMin + PORT_SLICE - 1;
      const logFd = openSync(log, "a");
      const child = spawn(
        bin,
        [
          "--config-file=none",
          "--foreground",
          "--table=-1",
          "--log-stderr",
          "--log-level=6",
          `--interface=${host}`,
          `--listen-ng=${host}:${ngPort}`,
          `--port-min=${portMin}`,
          `--port-max=${portMax}`,
          // A deleted call is forgotten at once (the default keeps it 30 s).
          "--delete-delay=0",
          "--num-threads=2",
        ],
        { cwd: dir, stdio: ["ignore", logFd, logFd] },
      );
      closeSync(logFd);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      let alive = true;
      child.once("exit", () => {
        alive = false;
      });
      child.once("error", (err) => {
        lastError = err;
      });
      try {
        await waitForPong(host, ngPort, () => alive);
      } catch (err) {
        lastError = err;
        if (alive) child.kill("SIGKILL");
        await exited;
        continue;
      }
      let stopped = false;
      return {
        host,
        ngPort,
        portMin,
        portMax,
        logTail: tail,
        async stop() {
          if (stopped) return;
          stopped = true;
          await terminate(child, () => alive, exited);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    throw new Error(`rtpengine did not start: ${String(lastError)}\n${tail()}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Pings until "pong" (a fresh client each round, real time: the daemon is a real process). */
async function waitForPong(host: string, port: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!alive()) throw new Error("rtpengine exited");
    const client = new RtpengineClient({ host, port, clock: new SystemClock(), timeoutMs: 100, retries: 1 });
    try {
      await client.ping();
      return;
    } catch (err) {
      // Not listening yet: ask again shortly, until the deadline.
      if (Date.now() > deadline) throw err;
    } finally {
      client.close();
    }
  }
}

async function terminate(child: ChildProcess, alive: () => boolean, exited: Promise<void>): Promise<void> {
  if (!alive()) return;
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), STOP_TIMEOUT_MS);
  });
  if ((await Promise.race([exited, late])) === "late" && alive()) {
    child.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
}

function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, host, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch (err) {
    return `(no log: ${String(err)})`;
  }
}
