// Who may still try to authenticate: the brake on password guessing.
//
// Policy (fail2ban's, inside the PBX, so that it works without a firewall):
// - failures count per source (an IPv4 address, an IPv6 /64: source-key.ts)
//   over a short and a long window (10 a minute, 100 an hour), and per
//   account ("acme/101", from any source) over longer ones (30 an hour, 100
//   a day): nine guesses a minute, from one address or spread over many,
//   are stopped within the hour;
// - crossing any limit blocks that subject; each new offence blocks longer
//   (fail2ban's bantime.increment: 10 min, then ×4 up to 7 days), and
//   offences are forgotten 30 days after the last one;
// - blocks live in the store (a restart forgives nothing, every node sees
//   them) and in a cache read again every few seconds, so that a flood
//   costs no store query per request;
// - the account's own phones are not locked out by its block: a source that
//   authenticated for that account within 7 days is exempt from the
//   account's block (never from a block of the source itself). An attacker
//   behind the same NAT as the phone shares that exemption; the per-source
//   limits still apply to it;
// - what counts as a failure is PhoneAuthenticator's decision: only a wrong
//   answer on a nonce this PBX issued to that source, which proves that the
//   sender reads our replies (a forged UDP source cannot lock anyone out).
import type { AuthBlock, AuthBlockRepository } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { AuthRateLimiter } from "./auth-rate-limiter.ts";

/** `failures` within `windowMs` (sliding) block the subject. */
export interface FailureLimit {
  failures: number;
  windowMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEFAULT_SOURCE_LIMITS: readonly FailureLimit[] = [
  { failures: 10, windowMs: MINUTE },
  { failures: 100, windowMs: HOUR },
];
export const DEFAULT_ACCOUNT_LIMITS: readonly FailureLimit[] = [
  { failures: 30, windowMs: HOUR },
  { failures: 100, windowMs: DAY },
];

export interface AuthGuardOptions {
  clock: Clock;
  log: Logger;
  /** Where blocks are kept (store.authBlocks). */
  blocks: AuthBlockRepository;
  /** Per source (IPv4 address, IPv6 /64). Default 10 a minute and 100 an hour. */
  sourceLimits?: readonly FailureLimit[];
  /** Per account ("tenant/extension"), from any source. Default 30 an hour and 100 a day. */
  accountLimits?: readonly FailureLimit[];
  /** The first block. Default 10 minutes. */
  firstBlockMs?: number;
  /** Each further offence multiplies the block by this. Default 4. */
  blockGrowth?: number;
  /** The longest block. Default 7 days. */
  maxBlockMs?: number;
  /** Offences older than this are forgotten (the next block is a first one again). Default 30 days. */
  forgetAfterMs?: number;
  /** A source that authenticated for an account within this time is exempt from the account's block. Default 7 days. */
  trustMs?: number;
  /** Upper bound of subjects per counter, of exempt (account, source) pairs and of cached blocks. Default 100 000. */
  maxTracked?: number;
  /** How often the cache of blocks is read again from the store (blocks of other nodes). Default 15 s. */
  refreshMs?: number;
}

type Kind = "source" | "account";

interface Counter {
  kind: Kind;
  limit: FailureLimit;
  counter: AuthRateLimiter;
}

/** How often blocks whose last offence is forgotten are deleted from the store. */
const PURGE_EVERY_MS = HOUR;

export class AuthGuard {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly store: AuthBlockRepository;
  private readonly counters: Counter[];
  private readonly firstBlockMs: number;
  private readonly blockGrowth: number;
  private readonly maxBlockMs: number;
  private readonly forgetAfterMs: number;
  private readonly trustMs: number;
  private readonly maxTracked: number;
  private readonly refreshMs: number;
  /** Blocks in force (and recently ended ones), by subject. */
  private blocks = new Map<string, AuthBlock>();
  /** "account\0source" → last successful authentication; oldest first. */
  private readonly trusted = new Map<string, number>();
  /** Blocks written by this node: when the write ended (Infinity while it runs). */
  private readonly localWrites = new Map<string, number>();
  private loaded: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private lastPurge = Number.NEGATIVE_INFINITY;

  constructor(opts: AuthGuardOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.store = opts.blocks;
    this.maxTracked = opts.maxTracked ?? 100_000;
    const counter = (kind: Kind, limit: FailureLimit): Counter => {
      if (!(limit.failures >= 1) || !(limit.windowMs > 0)) {
        throw new Error(`invalid ${kind} limit: ${limit.failures} failures in ${limit.windowMs} ms`);
      }
      return {
        kind,
        limit,
        // Used as a counter only (blockMs 0): the blocks are this class's.
        counter: new AuthRateLimiter({
          clock: this.clock,
          maxFailures: limit.failures,
          windowMs: limit.windowMs,
          blockMs: 0,
          maxSources: this.maxTracked,
        }),
      };
    };
    this.counters = [
      ...(opts.sourceLimits ?? DEFAULT_SOURCE_LIMITS).map((l) => counter("source", l)),
      ...(opts.accountLimits ?? DEFAULT_ACCOUNT_LIMITS).map((l) => counter("account", l)),
    ];
    this.firstBlockMs = opts.firstBlockMs ?? 10 * MINUTE;
    this.blockGrowth = opts.blockGrowth ?? 4;
    this.maxBlockMs = opts.maxBlockMs ?? 7 * DAY;
    this.forgetAfterMs = opts.forgetAfterMs ?? 30 * DAY;
    this.trustMs = opts.trustMs ?? 7 * DAY;
    this.refreshMs = opts.refreshMs ?? 15_000;
  }

  /**
   * Resolves once the blocks of the store are in the cache (the first call
   * reads them; later calls only start a background refresh when one is
   * due). Never rejects: a store that cannot be read is logged, and the
   * cache keeps what it has.
   */
  ready(): Promise<void> {
    if (!this.loaded) {
      this.loaded = this.refresh();
      return this.loaded;
    }
    if (!this.refreshing && this.clock.now() - this.lastRefresh >= this.refreshMs) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.loaded;
  }

  /**
   * The subject whose block refuses this attempt: the source's, or the
   * account's unless this source authenticated for it lately. Undefined
   * when nothing is blocked. Synchronous: answered from the cache.
   */
  blockedBy(source: string, account?: string): string | undefined {
    const now = this.clock.now();
    if (this.until(source) > now) return source;
    if (account !== undefined && this.until(account) > now && !this.isTrusted(account, source, now)) {
      return account;
    }
    return undefined;
  }

  /**
   * Counts one failure of `source`, and of `account` when the attempt named
   * an existing one. A subject already blocked is not counted again (its
   * block neither grows nor restarts while it runs). Resolves once a block
   * it started is written (the store is only touched when a limit is crossed).
   */
  async recordFailure(source: string, account?: string): Promise<void> {
    const now = this.clock.now();
    const crossed = new Map<string, Counter>();
    for (const c of this.counters) {
      const subject = c.kind === "source" ? source : account;
      if (subject === undefined || this.until(subject) > now) continue;
      if (c.counter.recordFailure(subject) && !crossed.has(subject)) crossed.set(subject, c);
    }
    for (const [subject, c] of crossed) await this.block(subject, c, now);
  }

  /** Remembers that `source` authenticated for `account`: exempt from the account's block for `trustMs`. */
  recordSuccess(source: string, account: string): void {
    const key = `${account}\u0000${source}`;
    // Re-inserted so that the map stays in order of last success (oldest evicted first).
    this.trusted.delete(key);
    this.trusted.set(key, this.clock.now());
    if (this.trusted.size > this.maxTracked) {
      const oldest = this.trusted.keys().next();
      if (!oldest.done) this.trusted.delete(oldest.value);
    }
  }

  /** The block in force for a subject, if any (for tests and the API). */
  activeBlock(subject: string): AuthBlock | undefined {
    const b = this.blocks.get(subject);
    return b && b.until > this.clock.now() ? { ...b } : undefined;
  }

  /** Waits for a background refresh in flight (before the store closes). */
  async close(): Promise<void> {
    await this.loaded;
    await this.refreshing;
  }

  private until(subject: string): number {
    return this.blocks.get(subject)?.until ?? 0;
  }

  private isTrusted(account: string, source: string, now: number): boolean {
    const at = this.trusted.get(`${account}\u0000${source}`);
    return at !== undefined && now - at <= this.trustMs;
  }

  /** Starts (or lengthens, for a repeat offender) the block of a subject that crossed a limit. */
  private async block(subject: string, c: Counter, now: number): Promise<void> {
    let prior = this.blocks.get(subject);
    if (!prior) {
      try {
        prior = await this.store.get(subject);
      } catch (err) {
        // Counted as a first offence: a block now matters more than its exact length.
        this.log.error({ err, subject }, "auth block history could not be read");
      }
    }
    const offences = prior && now - prior.lastAt <= this.forgetAfterMs ? prior.offences + 1 : 1;
    const duration = Math.min(this.firstBlockMs * this.blockGrowth ** (offences - 1), this.maxBlockMs);
    const block: AuthBlock = { subject, offences, until: now + duration, lastAt: now };
    this.remember(block);
    this.log.warn(
      {
        [c.kind]: subject,
        offences,
        until: new Date(block.until).toISOString(),
        failures: c.limit.failures,
        windowSeconds: c.limit.windowMs / 1000,
      },
      c.kind === "source" ? "sip auth source blocked" : "sip auth account blocked",
    );
    this.localWrites.set(subject, Number.POSITIVE_INFINITY);
    try {
      await this.store.put(block);
    } catch (err) {
      // The block holds on this node (the cache); other nodes and the next start will not know it.
      this.log.error({ err, subject }, "auth block could not be stored");
    } finally {
      this.localWrites.set(subject, this.clock.now());
    }
  }

  private remember(block: AuthBlock): void {
    this.blocks.delete(block.subject);
    this.blocks.set(block.subject, block);
    if (this.blocks.size > this.maxTracked) {
      // Over the bound (a distributed attack): the oldest entry goes; it stays in the store.
      const oldest = this.blocks.keys().next();
      if (!oldest.done) this.blocks.delete(oldest.value);
    }
  }

  /** Reads the blocks in force from the store (other nodes' and earlier processes'), keeping our newer ones. */
  private async refresh(): Promise<void> {
    const started = this.clock.now();
    this.lastRefresh = started;
    try {
      const active = await this.store.active(started);
      const previous = this.blocks;
      this.blocks = new Map();
      for (const b of active) this.remember(b);
      for (const [subject, b] of previous) {
        // A block written here while the query ran may be missing from its answer.
        const written = this.localWrites.get(subject);
        if (written === undefined || written < started || b.until <= started) continue;
        const stored = this.blocks.get(subject);
        if (!stored || stored.until < b.until) this.remember(b);
      }
      for (const [subject, at] of this.localWrites) if (at < started) this.localWrites.delete(subject);
    } catch (err) {
      this.log.error({ err }, "auth blocks could not be read from the store");
    }
    if (started - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = started;
      try {
        const purged = await this.store.purge(started - this.forgetAfterMs);
        if (purged > 0) this.log.info({ purged }, "forgotten auth blocks purged");
      } catch (err) {
        this.log.error({ err }, "old auth blocks could not be purged");
      }
    }
  }
}
