// One 20 ms media clock shared by every endpoint of the process, in phases.
//
// A phone's jitter buffer expects a packet every 20 ms. Chaining 20 ms
// timeouts drifts (each one fires late and the lateness accumulates), and a
// timer per endpoint costs 1 000 timers for 1 000 prompts. So there is one
// schedule: each period is cut into `slots` phases (10 × 2 ms by default),
// every endpoint gets one phase for as long as it stays attached (the least
// loaded one), and the phase of period n is due at start + n·period +
// slot·period/slots. One timer, armed for the next due phase that has work,
// computed from clock.now() so nothing drifts.
//
// Why phases: a send costs 6–8 µs of kernel time, so running 1 000 endpoints
// in one burst makes the last one send ~8 ms after the first, and that offset
// wanders from period to period with the load — jitter a phone's buffer has
// to absorb. In phases each burst is a tenth as long, the event loop gets
// room between them, and every endpoint's packets stay one period apart
// (its phase offset is constant), which is all RFC 3550 §5.1 asks of the
// timestamp: it follows the sampling instant, not the instant of the tick.
//
// Late phases: when the event loop was blocked, the phases that fell due are
// all run on wake-up, in order (a short burst), so every endpoint sends one
// packet per period of elapsed time and its RTP timestamps stay continuous;
// the far end's jitter buffer absorbs the burst. A stall longer than
// MAX_CATCH_UP periods is not replayed: whole periods are skipped (counted in
// stats), `tick` jumps over them, and endpoints that derive their RTP
// timestamp from the ideal instant jump their timestamp with it, as a sender
// would after real silence (RFC 3550 §5.1).
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/** At most this many missed periods are replayed after a stall (100 ms at 20 ms). */
export const MAX_CATCH_UP = 5;
/** Phases per period: 2 ms apart at 20 ms, bursts of a tenth of the endpoints. */
export const DEFAULT_PACER_SLOTS = 10;
/**
 * A phase due within this much is run at once. A timer waits at least 1 ms
 * (Node's timer resolution) and may wake up to 1 ms early (it counts from
 * the event loop's cached time), so a phase this close is sent slightly
 * early rather than up to a millisecond late: the smaller deviation.
 */
export const EARLY_MS = 0.5;

export interface PacerStats {
  /** Phase runs that had work (including catch-up runs). */
  ticks: number;
  /** Periods not run because the stall was longer than MAX_CATCH_UP periods. */
  skipped: number;
  /** Phase runs that started more than one period after their ideal instant. */
  late: number;
  /** Largest lateness of a phase run versus its ideal instant, ms. */
  maxLatenessMs: number;
  /** Mean lateness of phase runs versus their ideal instants, ms. */
  meanLatenessMs: number;
  /** Endpoints currently attached. */
  attached: number;
  /** Endpoints attached per phase, phase 0 first. */
  perSlot: number[];
}

interface Entry {
  fn: () => void;
}

export class MediaPacer {
  /**
   * Period of the phase being run (or last run). Monotonic across idle
   * periods and skips.
   */
  tick = 0;
  /** Phase (0 … slots−1) being run, or last run. */
  slot: number;
  /** Phases per period. */
  readonly slots: number;
  /** One set per phase: insertion order is send order within the phase. */
  private readonly lanes: Array<Set<Entry>> = [];
  private attached = 0;
  private timer: Timer | null = null;
  /** Phase index (tick·slots + slot) the timer is armed for. */
  private armedFor = -1;
  /** Phase index run last (or passed over because its phase was empty). */
  private cursor: number;
  /** Clock instant of phase index `anchorPhase`. */
  private anchorAt = 0;
  private anchorPhase = 0;
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
    slots = DEFAULT_PACER_SLOTS,
  ) {
    if (!(periodMs > 0)) throw new RangeError("pacer period must be positive");
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError("pacer slots must be a positive integer");
    this.slots = slots;
    for (let i = 0; i < slots; i++) this.lanes.push(new Set());
    this.slot = slots - 1;
    this.cursor = slots - 1;
  }

  /**
   * Runs `fn` once per period, in the least loaded phase, from that phase's
   * next due instant on; returns the function that detaches it. The timer
   * runs only while something is attached.
   */
  add(fn: () => void): () => void {
    const entry: Entry = { fn };
    const idle = !this.timer && !this.running;
    if (idle) {
      this.anchor();
    } else if (this.timer && this.armedFor > this.cursor) {
      // Phases between the last run and the armed one are empty; those that
      // are already past must not be replayed for the newcomer. (A timer that
      // is itself overdue means a blocked loop: then it joins the catch-up.)
      const due = this.dueAt(this.clock.now());
      if (due < this.armedFor && due > this.cursor) this.cursor = due;
    }
    // Least loaded phase; among equals, the one due soonest.
    const from = Math.max(this.cursor, this.dueAt(this.clock.now())) + 1;
    let best = from % this.slots;
    for (let i = 1; i < this.slots; i++) {
      const s = (from + i) % this.slots;
      if (this.lanes[s].size < this.lanes[best].size) best = s;
    }
    const lane = this.lanes[best];
    lane.add(entry);
    this.attached++;
    const first = from + ((best - (from % this.slots) + this.slots) % this.slots);
    if (idle) {
      this.arm();
    } else if (this.timer && first < this.armedFor) {
      this.timer.cancel();
      this.timer = null;
      this.arm();
    }
    return () => {
      if (!lane.delete(entry)) return;
      this.attached--;
      if (this.attached === 0) this.stop();
    };
  }

  get size(): number {
    return this.attached;
  }

  /** The clock instant at which phase `slot` of period `n` is (or was) due. */
  idealTimeOf(n: number, slot = 0): number {
    return this.idealOfPhase(n * this.slots + slot);
  }

  /**
   * The ideal instant of the phase being run: an endpoint's own tick time,
   * exactly one period after its previous one, from which it derives its
   * RTP timestamp.
   */
  get idealNow(): number {
    return this.idealOfPhase(this.cursor);
  }

  stats(): PacerStats {
    return {
      ticks: this.ran,
      skipped: this.skipped,
      late: this.late,
      maxLatenessMs: this.maxLateness,
      meanLatenessMs: this.ran ? this.sumLateness / this.ran : 0,
      attached: this.attached,
      perSlot: this.lanes.map((l) => l.size),
    };
  }

  private idealOfPhase(phase: number): number {
    // Multiply before dividing so period boundaries stay exact for any slot count.
    return this.anchorAt + ((phase - this.anchorPhase) * this.periodMs) / this.slots;
  }

  /** The last phase index due by `now`. */
  private dueAt(now: number): number {
    return this.anchorPhase + Math.floor(((now - this.anchorAt) * this.slots) / this.periodMs + 1e-9);
  }

  private anchor(): void {
    // Period numbers continue across idle periods so a timestamp derived from
    // them never goes backwards; the schedule is re-anchored one period from now.
    this.anchorPhase = (this.tick + 1) * this.slots;
    this.anchorAt = this.clock.now() + this.periodMs;
    this.cursor = this.anchorPhase - 1;
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Arms the timer for the next phase after the cursor that has work. */
  private arm(): void {
    let phase = this.cursor + 1;
    for (let i = 0; i < this.slots && this.lanes[phase % this.slots].size === 0; i++) phase++;
    this.armedFor = phase;
    this.timer = this.clock.setTimer(Math.max(0, this.idealOfPhase(phase) - this.clock.now()), this.onTimer);
  }

  private run(): void {
    this.timer = null;
    let now = this.clock.now();
    let due = this.dueAt(now + EARLY_MS);
    let next = this.cursor + 1;
    const window = MAX_CATCH_UP * this.slots;
    if (due - next + 1 > window) {
      // Skip whole periods, so every endpoint misses the same number of sends.
      const periods = Math.ceil((due - next + 1 - window) / this.slots);
      this.skipped += periods;
      next += periods * this.slots;
      this.log?.warn({ skipped: periods }, "media pacer stalled, periods skipped");
    }
    this.running = true;
    // A phase that fell due (or nearly) while the previous ones ran is run
    // now rather than after a timer's minimum wait; at most one period of
    // phases this way, then the event loop gets its turn.
    const limit = due + this.slots;
    for (;;) {
      for (; next <= due && this.attached > 0; next++) {
        const slot = next % this.slots;
        const lane = this.lanes[slot];
        if (lane.size === 0) continue;
        this.cursor = next;
        this.tick = (next - slot) / this.slots;
        this.slot = slot;
        const lateness = now - this.idealOfPhase(next);
        this.ran++;
        this.sumLateness += lateness;
        if (lateness > this.maxLateness) this.maxLateness = lateness;
        if (lateness > this.periodMs) this.late++;
        for (const entry of lane) {
          try {
            entry.fn();
          } catch (err) {
            this.log?.error({ err }, "media pacer task failed");
          }
        }
        now = this.clock.now();
      }
      if (this.attached === 0) break;
      const more = Math.min(this.dueAt(now + EARLY_MS), limit);
      if (more <= due) break;
      due = more;
    }
    this.running = false;
    if (due > this.cursor) {
      this.cursor = due;
      this.slot = due % this.slots;
      this.tick = (due - this.slot) / this.slots;
    }
    if (this.attached > 0 && !this.timer) this.arm();
  }
}
