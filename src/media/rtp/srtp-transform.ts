// SRTP on one leg (RFC 3711): what the phone sends is authenticated and
// decrypted as it arrives, what we send it is encrypted as it leaves. The
// B2BUA terminates SRTP per leg, so a relay, an endpoint or a recorder above
// the leg only ever sees plain RTP, and an encrypted phone can talk to a plain
// one. A packet that fails authentication or is replayed is dropped here and
// counted: it is never relayed (RFC 3711 §3.3 steps 5-6).
import {
  type SdesAgreement,
  SRTCP_MAX_OVERHEAD,
  SRTP_MAX_OVERHEAD,
  SrtpSession,
  type SrtpUnprotectFailure,
} from "../srtp/index.ts";

export interface SrtpCounters {
  /** Packets (RTP and RTCP) that failed authentication. */
  authFailed: number;
  /** Packets seen before (RFC 3711 §3.3.2) or too old for the window. */
  replayed: number;
  /** Too short or not RTP/RTCP at all. */
  malformed: number;
  /** Our own packets the protect step refused (an index that would repeat). */
  protectFailed: number;
}

export class SrtpTransform {
  readonly counters: SrtpCounters = { authFailed: 0, replayed: 0, malformed: 0, protectFailed: 0 };
  private readonly inbound: SrtpSession;
  private readonly outbound: SrtpSession;

  /** `keys.remote` unprotects what the phone sends; `keys.local` protects what we send it. */
  constructor(readonly keys: SdesAgreement) {
    this.inbound = new SrtpSession(keys.remote);
    this.outbound = new SrtpSession(keys.local);
  }

  /** True when `keys` are the ones this transform uses (a re-offer that kept them). */
  uses(keys: SdesAgreement): boolean {
    return sameKey(keys.local, this.keys.local) && sameKey(keys.remote, this.keys.remote);
  }

  /** Decrypts an SRTP packet in place; its plain length, or undefined when it must be dropped. */
  unprotectRtp(buf: Buffer, len: number): number | undefined {
    return this.accept(this.inbound.unprotectRtp(buf, len));
  }

  unprotectRtcp(buf: Buffer, len: number): number | undefined {
    return this.accept(this.inbound.unprotectRtcp(buf, len));
  }

  /**
   * A protected copy of an outgoing RTP packet (the caller's buffer may be a
   * shared prompt frame or a relay's received packet: it is not touched),
   * or undefined when it cannot be protected.
   */
  protectRtp(buf: Buffer, offset: number, length: number): Buffer | undefined {
    const out = Buffer.allocUnsafe(length + SRTP_MAX_OVERHEAD);
    buf.copy(out, 0, offset, offset + length);
    const n = this.outbound.protectRtp(out, length);
    if (typeof n === "string") {
      this.counters.protectFailed++;
      return undefined;
    }
    return out.subarray(0, n);
  }

  protectRtcp(buf: Buffer, offset: number, length: number): Buffer | undefined {
    const out = Buffer.allocUnsafe(length + SRTCP_MAX_OVERHEAD);
    buf.copy(out, 0, offset, offset + length);
    const n = this.outbound.protectRtcp(out, length);
    if (typeof n === "string") {
      this.counters.protectFailed++;
      return undefined;
    }
    return out.subarray(0, n);
  }

  private accept(r: number | SrtpUnprotectFailure): number | undefined {
    if (typeof r === "number") return r;
    if (r === "auth" || r === "unknown-ssrc") this.counters.authFailed++;
    else if (r === "replay") this.counters.replayed++;
    else this.counters.malformed++;
    return undefined;
  }
}

function sameKey(a: SdesAgreement["local"], b: SdesAgreement["local"]): boolean {
  return (
    a.profile === b.profile &&
    Buffer.from(a.masterKey).equals(Buffer.from(b.masterKey)) &&
    Buffer.from(a.masterSalt).equals(Buffer.from(b.masterSalt))
  );
}
