// The Completed state of non-INVITE server transactions (RFC 3261 §17.2.2),
// kept small. Until Timer J fires (64·T1, 32 s over UDP) such a transaction
// does one thing: answer a retransmission of its request with its final
// response again. That needs the matching key (§17.2.3), the response as it
// was sent and where it went, and nothing else: keeping the parsed request
// and response instead made a REGISTER flood (thousands a second, each kept
// 32 s) cost more than a gigabyte.
//
// The total is bounded in count and in bytes. Beyond the bound the oldest are
// forgotten before their Timer J: a retransmission of such a request then
// reaches the TU as a new request. For what ends here (REGISTER, OPTIONS,
// MESSAGE, SUBSCRIBE, CANCEL...) that is harmless: each is answered again,
// REGISTER idempotently (§10.3), and a duplicate MESSAGE at worst shows twice.
//
// One timer serves them all: every entry lives the same 64·T1 and entries are
// added in completion order, so they expire in insertion order (a Map keeps
// it) and the timer only ever waits for the oldest.
import type { Clock, Timer } from "../../util/clock.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { detach } from "./matching.ts";

export interface CompletedLimits {
  /** Most completed transactions kept at once. */
  maxCount: number;
  /** Most bytes kept at once (responses, keys and a fixed estimate per entry). */
  maxBytes: number;
}

/**
 * All of Timer J's 32 s up to 600 transactions a second (a busy PBX's
 * re-registrations and keep-alives make far fewer), in about 16 MB; a flood
 * beyond that loses only the early end of its Timer J.
 */
export const DEFAULT_COMPLETED_LIMITS: CompletedLimits = { maxCount: 20_000, maxBytes: 16 * 2 ** 20 };

/** Estimated cost of one entry beyond its strings: the Map slot, the entry and its destination. */
const ENTRY_OVERHEAD = 160;

interface Entry {
  /** The serialised response, one char per byte (latin1): a compact string that holds no pooled Buffer. */
  readonly data: string;
  readonly destination: RemoteAddress;
  readonly expiresAt: number;
  readonly bytes: number;
}

export class CompletedResponses {
  private readonly entries = new Map<string, Entry>();
  /**
   * The entries in the order they were added, oldest at `head`: what expires
   * or is evicted first. Not the Map's own order: a Map keeps deleted slots
   * until it rehashes, and reaching its first live entry after thousands of
   * deletions at its front (every add under a flood) walked them all.
   * Entries deleted or replaced meanwhile are skipped (the Map says which
   * is live).
   */
  private order: Array<{ key: string; entry: Entry }> = [];
  private head = 0;
  private totalBytes = 0;
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** How many were forgotten before their time to stay within the limits (for metrics and tests). */
  evicted = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: CompletedLimits,
    private readonly resend: (data: Buffer, destination: RemoteAddress) => void,
  ) {
    if (!(limits.maxCount >= 0 && limits.maxBytes >= 0)) {
      throw new RangeError("completed transaction limits must be non-negative numbers");
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Keeps `data` (the final response as sent) for `lifetimeMs` under `key`. */
  add(key: string, data: Buffer, destination: RemoteAddress, lifetimeMs: number): void {
    this.delete(key);
    const text = data.toString("latin1");
    const bytes = text.length + key.length + ENTRY_OVERHEAD;
    if (bytes > this.limits.maxBytes || this.limits.maxCount === 0) {
      this.evicted++;
      return;
    }
    const expiresAt = this.clock.now() + lifetimeMs;
    // The address may be a slice of the request's Via (received=): copied, so that it keeps nothing else.
    const kept: RemoteAddress = { ...destination, address: detach(destination.address) };
    const entry: Entry = { data: text, destination: kept, expiresAt, bytes };
    const own = detach(key);
    this.entries.set(own, entry);
    this.order.push({ key: own, entry });
    this.totalBytes += bytes;
    while (this.entries.size > this.limits.maxCount || this.totalBytes > this.limits.maxBytes) {
      const oldest = this.oldest();
      if (!oldest) break;
      this.delete(oldest.key);
      this.evicted++;
    }
    // Every entry lives as long: the timer set for an older one comes first.
    if (this.timer && this.timerAt <= expiresAt) return;
    this.arm();
  }

  /** A retransmitted request: sends its response again. False when the key is not kept. */
  retransmit(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.resend(Buffer.from(entry.data, "latin1"), entry.destination);
    return true;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    this.entries.clear();
    this.order = [];
    this.head = 0;
    this.totalBytes = 0;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  /** Timer J of every entry: one timer, set for the oldest. */
  private arm(): void {
    const oldest = this.oldest()?.entry;
    if (!oldest) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= oldest.expiresAt) return;
    this.timer?.cancel();
    this.timerAt = oldest.expiresAt;
    this.timer = this.clock.setTimer(oldest.expiresAt - this.clock.now(), () => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.expire();
    });
  }

  private expire(): void {
    const now = this.clock.now();
    for (let o = this.oldest(); o && o.entry.expiresAt <= now; o = this.oldest()) this.delete(o.key);
    this.arm();
  }

  /** The oldest live entry; the dead ones before it are dropped from `order`. */
  private oldest(): { key: string; entry: Entry } | undefined {
    while (this.head < this.order.length) {
      const o = this.order[this.head]!;
      if (this.entries.get(o.key) === o.entry) {
        this.compact();
        return o;
      }
      this.head++;
    }
    this.order = [];
    this.head = 0;
    return undefined;
  }

  /** Gives back the front of `order` once most of it is behind `head`. */
  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
