// The parent side of the RTP generator: forks worker processes (so the
// generator has more than one event loop and is not the bottleneck), hands
// each a share of the calls, and merges their measurements.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Histogram } from "../lib/histogram.ts";
import type { LegKeys, PhaseStats, WorkerCommand, WorkerEvent } from "./rtp-worker.ts";

export type { LegKeys, WireKey } from "./rtp-worker.ts";

const WORKER = fileURLToPath(new URL("./rtp-worker.ts", import.meta.url));

export interface CallLegs {
  /** Local port of the caller-side socket (goes in our INVITE's SDP). */
  callerPort: number;
  /** Local port of the callee-side socket (goes in our 200's SDP). */
  calleePort: number;
  worker: number;
  /** Index of the caller leg in its worker; the callee leg is index + 1. */
  index: number;
}

/** The packets sent in one phase of a stream, merged over the worker processes. */
export interface PhaseResult {
  sent: number;
  received: number;
  lossPct: number;
  jitter: Histogram;
  transit: Histogram;
  sendLate: Histogram;
  /** The jitter of the packets sent in each second of the phase. */
  jitterBySecond: Histogram[];
}

export interface StreamResult extends PhaseResult {
  /** The packets sent during the warm-up, apart from the rest (empty without one). */
  warmup: PhaseResult;
  rfc3550JitterMs: number;
  sendErrors: number;
  /** Packets from elsewhere than the legs' peers, left out of every figure. */
  stray: number;
  /** SRTP packets that failed to unprotect (authentication, replay), left out too. */
  srtpFailures: number;
}

export class RtpGenerator {
  private readonly workers: ChildProcess[] = [];
  private readonly legsPerWorker: number[] = [];

  /** Process ids of the worker processes (for CPU accounting). */
  get pids(): number[] {
    return this.workers.map((w) => w.pid ?? 0).filter((pid) => pid > 0);
  }

  async start(workers: number, calls: number): Promise<CallLegs[]> {
    const out: CallLegs[] = [];
    for (let w = 0; w < workers; w++) {
      const child = fork(WORKER, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      this.workers.push(child);
      const share = Math.floor(calls / workers) + (w < calls % workers ? 1 : 0);
      this.legsPerWorker.push(share * 2);
    }
    const bound = await Promise.all(
      this.workers.map((child, w) => this.ask(child, { cmd: "bind", legs: this.legsPerWorker[w] }, "bound")),
    );
    bound.forEach((ev, w) => {
      if (ev.ev !== "bound") return;
      for (let i = 0; i < ev.ports.length; i += 2) {
        out.push({ callerPort: ev.ports[i], calleePort: ev.ports[i + 1], worker: w, index: i });
      }
    });
    return out;
  }

  /**
   * Streams for `durationMs`. `peers` gives where each leg sends: the
   * PBX's port for that leg, or for the calibration run the other leg itself.
   * `keys` makes a call's legs SRTP (each leg's send and receive key). The
   * packets sent in the first `warmupMs` of the stream are measured apart.
   */
  async stream(
    legs: CallLegs[],
    peers: Map<CallLegs, { caller: number; callee: number }>,
    durationMs: number,
    opts: { keys?: Map<CallLegs, { caller: LegKeys; callee: LegKeys }>; warmupMs?: number } = {},
  ): Promise<StreamResult> {
    const { keys, warmupMs = 0 } = opts;
    const perWorker = this.workers.map((_, w) => new Array<number>(this.legsPerWorker[w]).fill(9));
    const keysPerWorker = this.workers.map((_, w) =>
      new Array<LegKeys | null>(this.legsPerWorker[w]).fill(null),
    );
    for (const leg of legs) {
      const p = peers.get(leg);
      if (!p) continue;
      perWorker[leg.worker][leg.index] = p.caller;
      perWorker[leg.worker][leg.index + 1] = p.callee;
      const k = keys?.get(leg);
      if (k) {
        keysPerWorker[leg.worker][leg.index] = k.caller;
        keysPerWorker[leg.worker][leg.index + 1] = k.callee;
      }
    }
    const results = await Promise.all(
      this.workers.map((child, w) =>
        this.ask(
          child,
          {
            cmd: "start",
            peers: perWorker[w],
            durationMs,
            warmupMs,
            ...(keys ? { keys: keysPerWorker[w] } : {}),
          },
          "done",
          durationMs + 30_000,
        ),
      ),
    );
    const merged: StreamResult = {
      ...emptyPhase(),
      warmup: emptyPhase(),
      rfc3550JitterMs: 0,
      sendErrors: 0,
      stray: 0,
      srtpFailures: 0,
    };
    let jSum = 0;
    for (const ev of results) {
      if (ev.ev !== "done") continue;
      const s = ev.stats;
      mergePhase(merged, s);
      mergePhase(merged.warmup, s.warmup);
      merged.sendErrors += s.sendErrors;
      merged.stray += s.stray;
      merged.srtpFailures += s.srtpFailures;
      jSum += s.rfc3550JitterMs;
    }
    merged.rfc3550JitterMs = results.length ? jSum / results.length : 0;
    return merged;
  }

  stop(): void {
    for (const child of this.workers) {
      if (child.connected) child.send({ cmd: "exit" } satisfies WorkerCommand);
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    }
    this.workers.length = 0;
  }

  private ask(
    child: ChildProcess,
    cmd: WorkerCommand,
    want: WorkerEvent["ev"],
    timeoutMs = 30_000,
  ): Promise<WorkerEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`rtp worker: no "${want}" after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (m: WorkerEvent) => {
        if (m.ev !== want) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(m);
      };
      child.on("message", onMessage);
      child.send(cmd);
    });
  }
}

function emptyPhase(): PhaseResult {
  return {
    sent: 0,
    received: 0,
    lossPct: 0,
    jitter: new Histogram(),
    transit: new Histogram(),
    sendLate: new Histogram(),
    jitterBySecond: [],
  };
}

/** Adds one worker's figures of a phase into `into`, and works out its loss again. */
function mergePhase(into: PhaseResult, s: PhaseStats): void {
  into.sent += s.sent;
  into.received += s.received;
  into.jitter.merge(s.jitter);
  into.transit.merge(s.transit);
  into.sendLate.merge(s.sendLate);
  // Workers start their streams together: their seconds line up.
  s.jitterBySecond.forEach((h, i) => {
    into.jitterBySecond[i] ??= new Histogram();
    into.jitterBySecond[i].merge(h);
  });
  into.lossPct = into.sent ? (100 * Math.max(0, into.sent - into.received)) / into.sent : 0;
}
