// The one source of time for every room. Production code never calls
// setTimeout or Date.now directly: it asks a Clock, so tests can jump to any
// instant (a Friday at 11:45, across a DST change) without sleeping.

export interface Timer {
  cancel(): void;
  /** The timer alone does not keep the process running (housekeeping); a no-op where that means nothing. */
  unref?(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch, with sub-millisecond precision where available. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds of this clock's time. */
  setTimer(ms: number, fn: () => void): Timer;
}

/** Wall time from the operating system; sub-millisecond resolution from performance.now(). */
export class SystemClock implements Clock {
  private readonly origin = performance.timeOrigin;

  now(): number {
    return this.origin + performance.now();
  }

  setTimer(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle), unref: () => void handle.unref() };
  }
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in time order (ties in
 * the order they were set); a timer set while advancing fires in the same
 * advance if it falls inside the window.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start: number | Date = Date.UTC(2026, 0, 5, 8, 0, 0)) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  get timerCount(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  private next(limit: number): Pending | undefined {
    this.pending = this.pending.filter((p) => !p.cancelled);
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.at <= limit && (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq))) best = p;
    }
    return best;
  }

  /** Moves time forward synchronously, firing every timer due on the way. */
  tick(ms: number): void {
    const limit = this.current + ms;
    for (let p = this.next(limit); p; p = this.next(limit)) {
      this.current = Math.max(this.current, p.at);
      p.cancelled = true;
      p.fn();
    }
    this.current = limit;
  }

  /**
   * Moves time forward, letting promises and I/O callbacks settle between
   * timers, so async code driven by these timers behaves as in real time.
   */
  async advance(ms: number): Promise<void> {
    const limit = this.current + ms;
    await settle();
    for (let p = this.next(limit); p; p = this.next(limit)) {
      this.current = Math.max(this.current, p.at);
      p.cancelled = true;
      p.fn();
      await settle();
    }
    this.current = limit;
  }

  /** Jumps to an absolute instant (never backwards), firing what falls due. */
  async advanceTo(at: number | Date): Promise<void> {
    const target = typeof at === "number" ? at : at.getTime();
    await this.advance(Math.max(0, target - this.current));
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
