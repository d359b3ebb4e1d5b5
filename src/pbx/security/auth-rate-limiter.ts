// A sliding window of authentication failures per subject, with a bounded
// memory: after `maxFailures` within `windowMs` it says so (and, when
// `blockMs` > 0, refuses the subject for that long). AuthGuard
// (auth-guard.ts) builds the PBX's policy on it: one counter per window, for
// sources and accounts, with blocks that grow and are kept in the store;
// there the counters are counters only (`blockMs: 0`).
//
// What a failure is (a wrong answer on a nonce we issued to that source; not
// a first request without credentials, not a stale nonce, not a made-up
// nonce) is PhoneAuthenticator's decision. Success does not reset the count,
// so guesses cannot be interleaved with a known-good account.
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export interface AuthRateLimiterOptions {
  clock: Clock;
  log?: Logger;
  /** Failures tolerated within the window; the one that reaches this count blocks. Default 10. */
  maxFailures?: number;
  /** Sliding window over which failures are counted. Default 60 s. */
  windowMs?: number;
  /** How long a source stays blocked. Default 5 min. */
  blockMs?: number;
  /** Upper bound of remembered sources (memory bound under a distributed attack). Default 100 000. */
  maxSources?: number;
}

interface SourceState {
  /** Times of the recent failures, oldest first, at most maxFailures. */
  failures: number[];
  blockedUntil: number;
}

export class AuthRateLimiter {
  private readonly clock: Clock;
  private readonly log?: Logger;
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly blockMs: number;
  private readonly maxSources: number;
  private readonly sources = new Map<string, SourceState>();
  private lastPurge: number;

  constructor(opts: AuthRateLimiterOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.maxFailures = Math.max(1, opts.maxFailures ?? 10);
    this.windowMs = opts.windowMs ?? 60_000;
    this.blockMs = opts.blockMs ?? 300_000;
    this.maxSources = opts.maxSources ?? 100_000;
    this.lastPurge = this.clock.now();
  }

  /** Whether requests from this IP address are currently refused. */
  isBlocked(address: string): boolean {
    const state = this.sources.get(address);
    return state !== undefined && state.blockedUntil > this.clock.now();
  }

  /** Counts one failure; returns true when this failure starts a block. */
  recordFailure(address: string): boolean {
    const now = this.clock.now();
    this.maybePurge(now);
    let state = this.sources.get(address);
    if (!state) {
      state = { failures: [], blockedUntil: 0 };
      this.sources.set(address, state);
      if (this.sources.size > this.maxSources) this.evictOne(address);
    }
    if (state.blockedUntil > now) return false;
    const failures = state.failures;
    while (failures.length > 0 && now - failures[0] >= this.windowMs) failures.shift();
    failures.push(now);
    if (failures.length < this.maxFailures) return false;
    failures.length = 0;
    state.blockedUntil = now + this.blockMs;
    this.log?.warn(
      { address, until: new Date(state.blockedUntil).toISOString(), failures: this.maxFailures },
      "sip auth source blocked",
    );
    return true;
  }

  /** Sources currently remembered (for tests and metrics). */
  get size(): number {
    return this.sources.size;
  }

  /** Forgets sources with no recent failure and no running block; at most a few times per window. */
  private maybePurge(now: number): void {
    if (now - this.lastPurge < this.windowMs / 2) return;
    this.lastPurge = now;
    for (const [address, state] of this.sources) {
      const last = state.failures.length > 0 ? state.failures[state.failures.length - 1] : 0;
      if (state.blockedUntil <= now && now - last >= this.windowMs) this.sources.delete(address);
    }
  }

  /** Over the bound: drop the oldest entry that is not blocking, else the oldest. */
  private evictOne(keep: string): void {
    const now = this.clock.now();
    let fallback: string | undefined;
    let scanned = 0;
    for (const [address, state] of this.sources) {
      if (address === keep) continue;
      fallback ??= address;
      if (state.blockedUntil <= now) {
        this.sources.delete(address);
        return;
      }
      // Bound the scan: a map full of blocks is an attack; dropping the oldest is then fine.
      if (++scanned >= 64) break;
    }
    if (fallback !== undefined) this.sources.delete(fallback);
  }
}
