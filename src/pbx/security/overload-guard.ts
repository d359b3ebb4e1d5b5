// Overload control: when the PBX cannot keep up, new calls are refused at
// once with 503 and a Retry-After, so that the calls it already took still
// complete (RFC 7339's spirit, RFC 3261 §21.5.4). Without it a saturated
// event loop answers every INVITE late: the phones' Timer B fires, the
// callees' 180s arrive after the callers gave up, and every call fails, the
// accepted ones included.
//
// The measure is the signalling thread's own event-loop delay: it grows with
// everything queued on that thread (datagrams waiting to be read, store
// replies, timers), which is exactly what a new call would wait behind. The
// state has hysteresis (refuse above the limit, accept again below half of
// it) so that the PBX does not flap between the two on every sample.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/** Where the load is read. The real one samples the event loop; tests give their own. */
export interface LoadProbe {
  /** The event-loop delay over the window since the last call, in ms (a high percentile). */
  sample(): number;
  stop(): void;
}

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
  private lastDelayMs = 0;
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
  get state(): { overloaded: boolean; delayMs: number } {
    return { overloaded: this.overloaded, delayMs: this.lastDelayMs };
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

  private update(delayMs: number): void {
    this.lastDelayMs = delayMs;
    const max = this.opts.maxDelayMs;
    if (!this.overloaded && delayMs > max) {
      this.overloaded = true;
      this.refusedSince = 0;
      this.opts.log.warn(
        { delayMs: Math.round(delayMs), maxDelayMs: max },
        "overloaded: new calls are refused with 503 until the event loop catches up (VPBX_OVERLOAD_DELAY_MS)",
      );
    } else if (this.overloaded && delayMs < max / 2) {
      this.overloaded = false;
      this.opts.log.warn(
        { delayMs: Math.round(delayMs), refused: this.refusedSince },
        "no longer overloaded: new calls are taken again",
      );
    }
  }
}

/** The event-loop delay of this thread, as the 99th percentile of each window. */
export function eventLoopProbe(): LoadProbe {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    sample() {
      const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
      histogram.reset();
      return p99;
    },
    stop() {
      histogram.disable();
    },
  };
}
