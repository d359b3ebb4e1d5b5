// Overload control: when the PBX cannot keep up, new calls are refused at
// once with 503 and a Retry-After, so that the calls it already took still
// complete (RFC 7339's spirit, RFC 3261 §21.5.4). Without it a saturated
// event loop answers every INVITE late: the phones' Timer B fires, the
// callees' 180s arrive after the callers gave up, and every call fails, the
// accepted ones included.
//
// Two measures of the signalling thread, read every quarter second: its
// event-loop delay (how long a ready callback waits: store replies, timers),
// and its utilisation (the share of the window it was busy, Node's ELU). A
// saturated thread can keep a short delay (each callback is quick) while the
// datagrams it has not read yet pile up in the kernel's socket buffer, where
// no delay shows them: a thread busy all the time is the sign of that queue.
// Overloaded after two slow windows in a row (one stall, a collection or a
// burst of provisioning, is not overload), or four busy ones: the SIP
// socket's buffer keeps what arrives during a pause (transport-layer.ts),
// and the thread then works that off at full speed for a few hundred ms (at
// 500 calls/s, two windows at 97 % between calm ones), while a thread that
// cannot keep up stays busy; taken calls again once both
// measures are well below their limits (hysteresis, so that the PBX does not
// flap between the two on every window).
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/** The load of the signalling thread over one window. */
export interface LoadSample {
  /** Event-loop delay, ms (a high percentile). */
  delayMs: number;
  /** Share of the window the thread was busy, 0 to 1. */
  utilization: number;
}

/** Where the load is read. The real one samples the event loop; tests give their own. */
export interface LoadProbe {
  /** The load over the window since the last call. */
  sample(): LoadSample;
  stop(): void;
}

/** Busier than this over a window is saturated (its unread datagrams queue in the kernel). */
const MAX_UTILIZATION = 0.95;
/** Taken calls again under this, with the delay under half its limit. */
const CALM_UTILIZATION = 0.85;
/** Windows in a row with a delay over the limit before new calls are refused. */
const SLOW_WINDOWS = 2;
/** Windows in a row busier than MAX_UTILIZATION before new calls are refused. */
const BUSY_WINDOWS = 4;

/** VPBX_OVERLOAD_DELAY_MS's default: far above a healthy loop's few ms, far below a phone's Timer B. */
export const DEFAULT_OVERLOAD_DELAY_MS = 200;

export interface OverloadGuardOptions {
  probe: LoadProbe;
  clock: Clock;
  log: Logger;
  /** Delay above which new calls are refused; 0 turns the guard off. */
  maxDelayMs: number;
  /** How often the probe is read. Default 250 ms. */
  sampleEveryMs?: number;
  /** The shortest Retry-After; each refusal adds up to as much again at random. Default 5 s. */
  retryAfterSeconds?: number;
  /** For tests: 0 ≤ random() < 1. */
  random?: () => number;
}

export class OverloadGuard {
  private overloaded = false;
  private slowWindows = 0;
  private busyWindows = 0;
  private last: LoadSample = { delayMs: 0, utilization: 0 };
  private refusedSince = 0;
  private timer: Timer | null = null;
  private readonly sampleEveryMs: number;
  private readonly retryAfterSeconds: number;
  private readonly random: () => number;

  constructor(private readonly opts: OverloadGuardOptions) {
    this.sampleEveryMs = opts.sampleEveryMs ?? 250;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 5;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.opts.maxDelayMs <= 0 || this.timer) return;
    // The first window starts now, not when the probe was made: the start-up
    // of the PBX (modules, store, prompts) is not overload.
    this.opts.probe.sample();
    const tick = () => {
      this.update(this.opts.probe.sample());
      this.timer = this.opts.clock.setTimer(this.sampleEveryMs, tick);
      this.timer.unref?.();
    };
    this.timer = this.opts.clock.setTimer(this.sampleEveryMs, tick);
    this.timer.unref?.();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.opts.probe.stop();
  }

  /** The load of the last sample, for /health and the logs. */
  get state(): { overloaded: boolean; delayMs: number; utilization: number } {
    return { overloaded: this.overloaded, ...this.last };
  }

  /**
   * Whether a new call must be refused now, and with which Retry-After. The
   * value is spread at random so that the refused phones and carriers do not
   * all come back in the same second (RFC 7339 §5.2's synchronisation).
   */
  refusal(): { retryAfterSeconds: number } | undefined {
    if (!this.overloaded) return undefined;
    this.refusedSince++;
    return {
      retryAfterSeconds: this.retryAfterSeconds + Math.floor(this.random() * (this.retryAfterSeconds + 1)),
    };
  }

  private update(load: LoadSample): void {
    this.last = load;
    const max = this.opts.maxDelayMs;
    this.slowWindows = load.delayMs > max ? this.slowWindows + 1 : 0;
    this.busyWindows = load.utilization > MAX_UTILIZATION ? this.busyWindows + 1 : 0;
    const shown = {
      delayMs: Math.round(load.delayMs),
      utilization: Math.round(load.utilization * 100) / 100,
    };
    if (!this.overloaded && (this.slowWindows >= SLOW_WINDOWS || this.busyWindows >= BUSY_WINDOWS)) {
      this.overloaded = true;
      this.refusedSince = 0;
      this.opts.log.warn(
        { ...shown, maxDelayMs: max },
        "overloaded: new calls are refused with 503 until the signalling thread catches up (VPBX_OVERLOAD_DELAY_MS)",
      );
    } else if (this.overloaded && load.delayMs < max / 2 && load.utilization < CALM_UTILIZATION) {
      this.overloaded = false;
      this.opts.log.warn(
        { ...shown, refused: this.refusedSince },
        "no longer overloaded: new calls are taken again",
      );
    }
  }
}

/** This thread's event-loop delay (the 99th percentile of each window) and utilisation. */
export function eventLoopProbe(): LoadProbe {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let since = performance.eventLoopUtilization();
  return {
    sample() {
      const delayMs = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
      histogram.reset();
      const now = performance.eventLoopUtilization();
      const utilization = performance.eventLoopUtilization(now, since).utilization;
      since = now;
      return { delayMs, utilization };
    },
    stop() {
      histogram.disable();
    },
  };
}
