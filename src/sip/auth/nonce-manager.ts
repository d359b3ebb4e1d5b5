// Server nonces for Digest (RFC 7616 §3.3, §5.4–5.5). A nonce carries its
// issue time and an HMAC over it (and over the address it was sent to), so
// any node holding the secret can verify it without having stored it, and a
// restart that keeps the secret keeps the nonces; only the nonce-counts of
// nonces actually used are remembered, to refuse replays.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../../util/clock.ts";

export type NonceCheck = "ok" | "stale" | "invalid" | "replay";

/**
 * Whether a nonce is one of ours: "fresh" (our HMAC, bound to this
 * requester, within its lifetime), "expired" (ours, too old) or "foreign"
 * (made up, altered, made with another secret, or issued to another
 * address: nothing shows that the sender ever read our challenge).
 */
export type NonceOrigin = "fresh" | "expired" | "foreign";

export interface NonceManagerOptions {
  clock: Clock;
  /**
   * HMAC key, at least 16 bytes. Production passes a key kept in the store
   * (`nonceSecret()` in src/pbx/security), the same on every node and across
   * restarts, so that the nonces of the previous process still verify. A
   * random key (when absent) is only for tests and single-shot tools.
   */
  secret?: Buffer;
  /** How long a nonce is accepted; past that the client is told stale=true. Default 300 s. */
  lifetimeMs?: number;
  /** Upper bound of nonces whose count is tracked. Default 100 000. */
  maxTracked?: number;
}

interface Tracked {
  issuedAt: number;
  highestNc: number;
}

const TIME_BYTES = 8;
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** base64url of 32 bytes, without padding. */
const NONCE_LENGTH = 43;
/** Tolerated clock disagreement between nodes for nonces dated in the future. */
const FUTURE_SKEW_MS = 5_000;

export class NonceManager {
  private readonly clock: Clock;
  private readonly secret: Buffer;
  private readonly lifetimeMs: number;
  private readonly maxTracked: number;
  private readonly tracked = new Map<string, Tracked>();
  private lastPurge: number;
  /**
   * Nonces issued at or before this instant that are not tracked may have
   * been evicted under memory pressure, or issued before this process started
   * (by the previous process, or another node, whose counters we never saw):
   * they are answered "stale" rather than accepted again from nc=1, which
   * would let a captured request be replayed once after a restart.
   */
  private evictedUpTo: number;

  constructor(opts: NonceManagerOptions) {
    this.clock = opts.clock;
    if (opts.secret !== undefined && opts.secret.length < 16)
      throw new Error("nonce secret must be at least 16 bytes");
    this.secret = opts.secret ?? randomBytes(32);
    this.lifetimeMs = opts.lifetimeMs ?? 300_000;
    this.maxTracked = opts.maxTracked ?? 100_000;
    this.lastPurge = this.clock.now();
    // Strictly before our first own nonce (issue times are whole milliseconds).
    this.evictedUpTo = this.clock.now() - 1;
  }

  /**
   * A fresh nonce: base64url(time ‖ random ‖ HMAC-SHA-256(secret, time ‖
   * random ‖ bind)[0..16]). `bind` names the requester it is sent to (the
   * PBX passes the source address): RFC 7616 §5.5 suggests a nonce that only
   * its client can use, so that a response on it proves the sender received
   * our challenge (a forged UDP source cannot have).
   */
  issue(bind = ""): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf.writeBigUInt64BE(BigInt(Math.floor(this.clock.now())), 0);
    randomBytes(RANDOM_BYTES).copy(buf, TIME_BYTES);
    this.mac(buf, bind).copy(buf, TIME_BYTES + RANDOM_BYTES, 0, MAC_BYTES);
    return buf.toString("base64url");
  }

  /** Whether `nonce` is ours, issued to `bind`, and still within its lifetime. Records nothing. */
  origin(nonce: string, bind = ""): NonceOrigin {
    const issuedAt = this.verify(nonce, bind);
    if (issuedAt === undefined) return "foreign";
    return this.clock.now() - issuedAt > this.lifetimeMs ? "expired" : "fresh";
  }

  /**
   * Whether a nonce we issued to `bind` may be used with nonce-count `nc`.
   * "ok" records nc as the highest seen, so call this only once the digest
   * itself has been verified: a forged response must not burn a legitimate
   * client's counter.
   */
  check(nonce: string, nc: number, bind = ""): NonceCheck {
    const issuedAt = this.verify(nonce, bind);
    if (issuedAt === undefined) return "invalid";
    const now = this.clock.now();
    // RFC 7616 §3.3: an expired nonce with a correct digest is answered with stale=true.
    if (now - issuedAt > this.lifetimeMs) return "stale";
    if (!Number.isInteger(nc) || nc < 1) return "invalid";
    this.maybePurge(now);
    const entry = this.tracked.get(nonce);
    if (entry) {
      // RFC 7616 §5.5: a count that does not increase is a replay.
      if (nc <= entry.highestNc) return "replay";
      entry.highestNc = nc;
      return "ok";
    }
    if (issuedAt <= this.evictedUpTo) return "stale";
    this.tracked.set(nonce, { issuedAt, highestNc: nc });
    if (this.tracked.size > this.maxTracked) this.evictOldest();
    return "ok";
  }

  /** Nonces whose count is currently remembered (for tests and metrics). */
  get trackedCount(): number {
    return this.tracked.size;
  }

  /** The issue time of a nonce we made for `bind`, or undefined for anything else. */
  private verify(nonce: string, bind: string): number | undefined {
    if (typeof nonce !== "string" || nonce.length !== NONCE_LENGTH) return undefined;
    const buf = Buffer.from(nonce, "base64url");
    if (buf.length !== NONCE_BYTES || buf.toString("base64url") !== nonce) return undefined;
    const expected = this.mac(buf, bind).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(expected, buf.subarray(TIME_BYTES + RANDOM_BYTES))) return undefined;
    const issuedAt = Number(buf.readBigUInt64BE(0));
    if (issuedAt > this.clock.now() + FUTURE_SKEW_MS) return undefined;
    return issuedAt;
  }

  private mac(buf: Buffer, bind: string): Buffer {
    return createHmac("sha256", this.secret)
      .update(buf.subarray(0, TIME_BYTES + RANDOM_BYTES))
      .update(bind, "utf8")
      .digest();
  }

  /** Drops counters of expired nonces, at most a few times per lifetime: they answer "stale" anyway. */
  private maybePurge(now: number): void {
    if (now - this.lastPurge < this.lifetimeMs / 4) return;
    this.lastPurge = now;
    for (const [nonce, entry] of this.tracked) {
      if (now - entry.issuedAt > this.lifetimeMs) this.tracked.delete(nonce);
    }
  }

  private evictOldest(): void {
    const first = this.tracked.entries().next();
    if (first.done) return;
    const [nonce, entry] = first.value;
    this.tracked.delete(nonce);
    if (entry.issuedAt > this.evictedUpTo) this.evictedUpTo = entry.issuedAt;
  }
}
