// One 20 ms media clock shared by every endpoint of the process.
//
// A phone's jitter buffer expects a packet every 20 ms. Chaining 20 ms
// timeouts drifts (each one fires late and the lateness accumulates), and a
// timer per endpoint costs 1 000 timers for 1 000 prompts. So there is one
// schedule: tick n is due at start + n·period, each timer is armed for the
// next due instant computed from clock.now(), and every endpoint's work runs
// in the same tick.
//
// Late ticks: when the event loop was blocked, the ticks that fell due are
// all run on wake-up (a short burst), so every endpoint sends one packet per
// period of elapsed time and its RTP timestamps stay continuous; the far end's
// jitter buffer absorbs the burst. A stall longer than MAX_CATCH_UP periods
// is not replayed: those ticks are skipped (counted in stats), `tick` jumps
// over them, and endpoints that derive their RTP timestamp from `tick` jump
// their timestamp with it, as a sender would after real silence (RFC 3550
// §5.1: the timestamp follows the sampling clock, not the packet count).
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/** At most this many missed ticks are replayed after a stall (100 ms at 20 ms). */
export const MAX_CATCH_UP = 5;

export interface PacerStats {
  /** Ticks run (including catch-up ticks). */
  ticks: number;
  /** Ticks not run because the stall was longer than MAX_CATCH_UP periods. */
  skipped: number;
  /** Ticks that ran more than one period after their ideal instant. */
  late: number;
  /** Largest lateness of a tick versus its ideal instant, ms. */
  maxLatenessMs: number;
  /** Mean lateness of ticks versus their ideal instants, ms. */
  meanLatenessMs: number;
  /** Endpoints currently attached. */
  attached: number;
}

interface Entry {
  fn: () => void;
}

export class MediaPacer {
  /**
   * Index of the tick being run (or last run). Monotonic across idle periods
   * and skips: endpoints compute their RTP timestamp from it.
   */
  tick = 0;
  private readonly entries = new Set<Entry>();
  private timer: Timer | null = null;
  /** Clock instant of tick `anchorTick`. */
  private anchorAt = 0;
  private anchorTick = 0;
  private running = false;
  private ran = 0;
  private skipped = 0;
  private late = 0;
  private maxLateness = 0;
  private sumLateness = 0;
  private readonly onTimer = () => this.run();

  constructor(
    private readonly clock: Clock,
    readonly periodMs = 20,
    private readonly log?: Logger,
  ) {
    if (!(periodMs > 0)) throw new RangeError("pacer period must be positive");
  }

  /**
   * Runs `fn` on every tick from the next one on; returns the function that
   * detaches it. The timer runs only while something is attached.
   */
  add(fn: () => void): () => void {
    const entry: Entry = { fn };
    this.entries.add(entry);
    if (!this.timer && !this.running) this.start();
    return () => {
      if (!this.entries.delete(entry)) return;
      if (this.entries.size === 0) this.stop();
    };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The clock instant at which tick `n` is (or was) due. */
  idealTimeOf(n: number): number {
    return this.anchorAt + (n - this.anchorTick) * this.periodMs;
  }

  stats(): PacerStats {
    return {
      ticks: this.ran,
      skipped: this.skipped,
      late: this.late,
      maxLatenessMs: this.maxLateness,
      meanLatenessMs: this.ran ? this.sumLateness / this.ran : 0,
      attached: this.entries.size,
    };
  }

  private start(): void {
    // Tick numbers continue across idle periods so a timestamp derived from
    // them never goes backwards; the schedule is re-anchored at now.
    this.anchorTick = this.tick + 1;
    this.anchorAt = this.clock.now() + this.periodMs;
    this.arm();
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(): void {
    const due = this.idealTimeOf(this.tick + 1);
    this.timer = this.clock.setTimer(Math.max(0, due - this.clock.now()), this.onTimer);
  }

  private run(): void {
    this.timer = null;
    const now = this.clock.now();
    // The last tick that is due by now; everything up to it runs or is skipped.
    const dueTick = this.anchorTick + Math.floor((now - this.anchorAt) / this.periodMs + 1e-9);
    let next = this.tick + 1;
    if (dueTick - next >= MAX_CATCH_UP) {
      const skip = dueTick - next - MAX_CATCH_UP + 1;
      this.skipped += skip;
      next += skip;
      this.log?.warn({ skipped: skip }, "media pacer stalled, ticks skipped");
    }
    this.running = true;
    for (; next <= dueTick && this.entries.size > 0; next++) {
      this.tick = next;
      const lateness = now - this.idealTimeOf(next);
      this.ran++;
      this.sumLateness += lateness;
      if (lateness > this.maxLateness) this.maxLateness = lateness;
      if (lateness > this.periodMs) this.late++;
      for (const entry of this.entries) {
        try {
          entry.fn();
        } catch (err) {
          this.log?.error({ err }, "media pacer task failed");
        }
      }
    }
    this.running = false;
    if (dueTick > this.tick) this.tick = dueTick;
    if (this.entries.size > 0 && !this.timer) this.arm();
  }
}
