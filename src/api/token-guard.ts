// Guessing of the admin token, counted per source address. The token is 256
// random bits and cannot be guessed, but a scanner that tries leaked tokens
// or a stolen one's neighbours should not get unlimited tries, and the
// provider should hear of it: after `maxFailures` wrong tokens within
// `windowMs` the source is blocked for `blockMs`, and while blocked every
// request from it is answered 429 with Retry-After (RFC 6585 §4), even one
// with the right token, so that a blocked scanner learns nothing from a hit.
// IPv6 sources count by their /64 (one host holds a whole /64).
import { sourceKey } from "../sip/transport/source-key.ts";
import type { Clock } from "../util/clock.ts";

export interface TokenGuardLimits {
  /** Wrong tokens from one source within `windowMs` that block it. */
  maxFailures: number;
  windowMs: number;
  /** How long a source stays blocked. */
  blockMs: number;
  /** Sources remembered at most: a flood from many addresses cannot grow memory without bound. */
  maxSources: number;
}

export const DEFAULT_TOKEN_GUARD_LIMITS: TokenGuardLimits = {
  maxFailures: 10,
  windowMs: 60_000,
  blockMs: 5 * 60_000,
  maxSources: 10_000,
};

interface SourceState {
  /** When each recent failure happened, oldest first; at most maxFailures. */
  failures: number[];
  /** The block ends at this instant; 0: not blocked. */
  blockedUntil: number;
}

export class TokenGuard {
  private readonly sources = new Map<string, SourceState>();
  readonly limits: TokenGuardLimits;

  constructor(
    private readonly clock: Clock,
    limits: Partial<TokenGuardLimits> = {},
  ) {
    this.limits = { ...DEFAULT_TOKEN_GUARD_LIMITS, ...limits };
  }

  /** Milliseconds until `address` may try again; 0 when it is not blocked. */
  blockedFor(address: string): number {
    const state = this.sources.get(sourceKey(address));
    if (!state) return 0;
    return Math.max(0, state.blockedUntil - this.clock.now());
  }

  /**
   * Counts a wrong token from `address`. Returns the block's length in
   * milliseconds when this failure starts a block, else 0.
   */
  failed(address: string): number {
    const key = sourceKey(address);
    const now = this.clock.now();
    let state = this.sources.get(key);
    if (!state) {
      this.makeRoom(now);
      state = { failures: [], blockedUntil: 0 };
      this.sources.set(key, state);
    }
    if (state.blockedUntil > now) return 0;
    const since = now - this.limits.windowMs;
    state.failures = state.failures.filter((at) => at > since);
    state.failures.push(now);
    if (state.failures.length < this.limits.maxFailures) return 0;
    state.failures = [];
    state.blockedUntil = now + this.limits.blockMs;
    return this.limits.blockMs;
  }

  /** How many sources are remembered (for tests and metrics). */
  get size(): number {
    return this.sources.size;
  }

  /**
   * Before remembering a new source: forget those with nothing left to
   * count (no block, no failure in the window); when still full, the oldest
   * entry that is not blocked, else the oldest of all.
   */
  private makeRoom(now: number): void {
    if (this.sources.size < this.limits.maxSources) return;
    const since = now - this.limits.windowMs;
    for (const [key, s] of this.sources) {
      if (s.blockedUntil <= now && s.failures.every((at) => at <= since)) this.sources.delete(key);
    }
    if (this.sources.size < this.limits.maxSources) return;
    for (const [key, s] of this.sources) {
      if (s.blockedUntil <= now) {
        this.sources.delete(key);
        return;
      }
    }
    const oldest = this.sources.keys().next();
    if (!oldest.done) this.sources.delete(oldest.value);
  }
}
