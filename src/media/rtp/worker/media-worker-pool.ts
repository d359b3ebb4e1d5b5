// The media worker threads of the process, one per core by default: each
// owns a contiguous slice of the RTP port range and binds its own sockets
// (sockets cannot be passed between threads). Legs go to the least loaded
// thread, or next to a given leg (the two legs of one call on one worker,
// so that the worker relays them itself). A thread that dies is logged,
// its legs fail (their calls end), and a new thread takes its slice.
import type { Clock, Timer } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import type { MediaLeg } from "../media-leg.ts";
import { RtpPortPoolExhaustedError } from "../port-pool.ts";
import { MediaThread } from "./media-thread.ts";
import { RemoteRtpLeg } from "./remote-rtp-leg.ts";

export interface MediaWorkerPoolOptions {
  /** Worker threads to start (≥ 1); fewer when the range has fewer port pairs. */
  threads: number;
  rtpPorts: { min: number; max: number };
  bind: string;
  clock: Clock;
  log: Logger;
  /** How often each worker reports counters (default 500 ms). */
  reportEveryMs?: number;
  /**
   * The threads' nice value (util/thread-priority.ts): below the signalling
   * thread's, a thread woken by a packet takes the core at once. Default 0:
   * the process's, left as it is.
   */
  nice?: number;
}

/** After a failed restart, the next try waits this long, doubling up to RESTART_MAX_MS. */
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;

/**
 * Splits min..max into `n` contiguous slices of whole even/odd pairs
 * (RFC 3550 §11: RTP even, RTCP the odd port above), as equal as they can
 * be. Fewer slices when there are fewer pairs than `n`.
 */
export function splitPortRange(min: number, max: number, n: number): Array<{ min: number; max: number }> {
  const first = min % 2 === 0 ? min : min + 1;
  const pairs = Math.max(0, Math.floor((max - first + 1) / 2));
  const count = Math.min(n, pairs);
  const slices: Array<{ min: number; max: number }> = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * pairs) / count);
    const to = Math.floor(((i + 1) * pairs) / count);
    slices.push({ min: first + 2 * from, max: first + 2 * to - 1 });
  }
  return slices;
}

export class MediaWorkerPool {
  readonly slices: ReadonlyArray<{ min: number; max: number }>;
  private readonly threads: Array<MediaThread | undefined>;
  private readonly restarts: Array<Timer | undefined>;
  private readonly failedStarts: number[];
  private stopping = false;

  private constructor(
    private readonly opts: MediaWorkerPoolOptions,
    slices: Array<{ min: number; max: number }>,
  ) {
    this.slices = slices;
    this.threads = slices.map(() => undefined);
    this.restarts = slices.map(() => undefined);
    this.failedStarts = slices.map(() => 0);
  }

  /** Starts every thread; fails (and stops those started) if one cannot start. */
  static async start(opts: MediaWorkerPoolOptions): Promise<MediaWorkerPool> {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) {
      throw new RangeError(`media threads must be a whole number ≥ 1, not ${opts.threads}`);
    }
    const slices = splitPortRange(opts.rtpPorts.min, opts.rtpPorts.max, opts.threads);
    if (slices.length === 0) {
      throw new RangeError(`RTP port range ${opts.rtpPorts.min}-${opts.rtpPorts.max} holds no even/odd pair`);
    }
    if (slices.length < opts.threads) {
      opts.log.warn(
        { threads: opts.threads, pairs: slices.length },
        "fewer RTP port pairs than media threads: one thread per pair",
      );
    }
    const pool = new MediaWorkerPool(opts, slices);
    try {
      await Promise.all(slices.map((_, i) => pool.startThread(i)));
    } catch (err) {
      await pool.stop();
      throw err;
    }
    const nice = opts.nice ?? 0;
    let refused: string | undefined;
    for (const t of pool.running) if (t.priority?.applied === false) refused = t.priority.reason;
    if (refused !== undefined && process.platform !== "linux") {
      opts.log.debug({ nice, reason: refused }, "media threads run at the process's priority");
    } else if (refused !== undefined) {
      opts.log.warn(
        { nice, reason: refused },
        `media threads run at the process's priority: nice ${nice} was refused (${refused}), so a busy CPU adds jitter to relayed audio; allow it with CAP_SYS_NICE (systemd: AmbientCapabilities=CAP_SYS_NICE) or RLIMIT_NICE (systemd: LimitNICE=${nice}; docker: --ulimit nice=${20 - nice}), or set VPBX_MEDIA_NICE=0 not to ask`,
      );
    }
    opts.log.info(
      { threads: slices.length, slices, nice: refused !== undefined || nice === 0 ? undefined : nice },
      "media threads started",
    );
    return pool;
  }

  /** Threads running now (a dead one is missing until its replacement is up). */
  get running(): MediaThread[] {
    return this.threads.filter((t): t is MediaThread => t?.alive === true);
  }

  /**
   * A leg on the thread of `near` when it has room, else on the least
   * loaded thread that has. Throws RtpPortPoolExhaustedError when no
   * thread has a free pair.
   */
  async allocate(near?: MediaLeg): Promise<MediaLeg> {
    if (this.stopping) throw new Error("media threads stopped");
    const candidates = this.running.sort((x, y) => x.load - y.load);
    if (near instanceof RemoteRtpLeg) {
      const at = candidates.indexOf(near.link as MediaThread);
      if (at > 0) candidates.unshift(...candidates.splice(at, 1));
    }
    let lastError: Error | undefined;
    for (const thread of candidates) {
      try {
        return await thread.allocate();
      } catch (err) {
        lastError = err as Error;
        // A full slice or a thread that died meanwhile: the next thread may have room.
        if (!(err instanceof RtpPortPoolExhaustedError) && thread.alive) throw err;
      }
    }
    if (lastError && !(lastError instanceof RtpPortPoolExhaustedError)) throw lastError;
    const inUse = this.threads.reduce((n, t) => n + (t?.load ?? 0), 0);
    throw new RtpPortPoolExhaustedError(this.opts.rtpPorts.min, this.opts.rtpPorts.max, inUse);
  }

  /** Closes the leg and frees its ports on its thread. Idempotent; a leg of a dead thread is already gone. */
  release(leg: MediaLeg): void {
    if (leg instanceof RemoteRtpLeg) {
      const thread = leg.link;
      if (thread instanceof MediaThread) thread.release(leg);
      else leg.close();
    } else leg.close();
  }

  /** Terminates every thread (their sockets close with them). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.restarts) timer?.cancel();
    await Promise.all(this.threads.map((t) => t?.stop()));
  }

  private async startThread(index: number): Promise<void> {
    const thread = await MediaThread.start({
      index,
      ports: this.slices[index],
      bind: this.opts.bind,
      clock: this.opts.clock,
      log: this.opts.log,
      reportEveryMs: this.opts.reportEveryMs,
      nice: this.opts.nice,
      onDeath: (t, err, legs) => this.onDeath(t, err, legs),
    });
    if (this.stopping) {
      await thread.stop();
      return;
    }
    this.threads[index] = thread;
  }

  private onDeath(thread: MediaThread, err: Error, legs: number): void {
    const index = thread.index;
    if (this.threads[index] !== thread) return;
    this.threads[index] = undefined;
    this.opts.log.error(
      { err, mediaThread: index, ports: this.slices[index], legs },
      "media thread died: its calls lose their media and end; a new thread takes its ports",
    );
    if (!this.stopping) this.restart(index, 0);
  }

  private restart(index: number, delayMs: number): void {
    if (delayMs > 0) {
      this.restarts[index] = this.opts.clock.setTimer(delayMs, () => {
        this.restarts[index] = undefined;
        this.restart(index, 0);
      });
      return;
    }
    if (this.stopping) return;
    this.startThread(index).then(
      () => {
        this.failedStarts[index] = 0;
        this.opts.log.info({ mediaThread: index, ports: this.slices[index] }, "media thread restarted");
      },
      (err: unknown) => {
        const n = ++this.failedStarts[index];
        const next = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (n - 1));
        this.opts.log.error({ err, mediaThread: index, retryInMs: next }, "media thread did not restart");
        if (!this.stopping) this.restart(index, next);
      },
    );
  }
}
