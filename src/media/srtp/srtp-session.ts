// One direction of SRTP/SRTCP under one master key (RFC 3711): the session
// keys derived from it and a cryptographic context per SSRC (§3.2), which
// holds the rollover counter and replay window of that source.
//
// With SDES each side sends under the key it put in its own a=crypto line
// (RFC 4568 §6.1), so a call leg holds two sessions: one keyed by our line,
// which protects what we send, and one keyed by the far end's line, which
// unprotects what we receive. A session keeps the contexts of what it sent
// apart from those of what it received, so the same session can also serve
// both directions (a loopback, a test).
//
// Packets are processed in place: protect writes the tag (and the SRTCP
// index) after the packet, unprotect returns the plaintext length, the
// plaintext being at the front of the same buffer. Nothing here throws on a
// packet: a failure is returned as a reason that the caller counts and
// drops the packet for.
import { AesCmHmac } from "./aes-cm-hmac.ts";
import { AesGcm, GCM_TAG_LENGTH } from "./aes-gcm.ts";
import { deriveSessionKeys, type SrtpSessionKeys } from "./key-derivation.ts";
import {
  isRtcpHeader,
  RTCP_CLEAR_PREFIX,
  RTP_FIXED_HEADER,
  readUint32,
  rtpHeaderLength,
  validLength,
  writeUint32,
} from "./packet-layout.ts";
import { PROFILES, SRTCP_INDEX_SIZE, type SrtpProfile } from "./profiles.ts";
import { RtcpStreamState, RtpStreamState } from "./stream-state.ts";

/** The master key and salt of one direction, as an a=crypto line carries them (RFC 4568 §6.1). */
export interface SrtpMasterKey {
  profile: SrtpProfile;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

/**
 * Why a packet was not protected:
 * - `malformed`: not an RTP (or RTCP) packet, or `length` outside the buffer;
 * - `no-room`: the output buffer cannot take the tag (see rtpOverhead, rtcpOverhead);
 * - `replay`: this SSRC already sent this index: protecting it again would
 *   reuse keystream (RFC 3711 §9.1), so a sender must not repeat or rewind
 *   its sequence numbers by more than the window without a new SSRC;
 * - `exhausted`: 2^31 SRTCP packets sent under this key (§3.4, §9.2).
 */
export type SrtpProtectFailure = "malformed" | "no-room" | "replay" | "exhausted";

/**
 * Why a packet was dropped:
 * - `malformed`: too short for its header and tag, or not RTP/RTCP version 2;
 * - `auth`: the authentication tag does not verify (forged, damaged, wrong key);
 * - `replay`: its index was already received, or is older than the window (§3.3.2);
 * - `unknown-ssrc`: the session was limited to a set of SSRCs and this is not one.
 */
export type SrtpUnprotectFailure = "malformed" | "auth" | "replay" | "unknown-ssrc";

export interface SrtpSessionOptions {
  /**
   * SSRCs tracked per direction and protocol; beyond it the context used
   * least recently is forgotten (a returning source then starts again at
   * ROC 0). A context is only created once a packet of that SSRC has been
   * authenticated, so forged packets cannot fill the table. Default 16.
   */
  maxStreams?: number;
  /** When given, unprotect accepts only these SSRCs (`unknown-ssrc` for others). */
  ssrcs?: Iterable<number>;
}

const DEFAULT_MAX_STREAMS = 16;

export class SrtpSession {
  readonly profile: SrtpProfile;
  /** Bytes protectRtp adds to a packet: the SRTP tag. */
  readonly rtpOverhead: number;
  /** Bytes protectRtcp adds: the E flag and SRTCP index word and the SRTCP tag. */
  readonly rtcpOverhead: number;

  private readonly rtpTagLength: number;
  private readonly rtcpTagLength: number;
  private readonly rtpCm: AesCmHmac | null;
  private readonly rtcpCm: AesCmHmac | null;
  private readonly rtpGcm: AesGcm | null;
  private readonly rtcpGcm: AesGcm | null;
  private readonly maxStreams: number;
  private readonly allowed: ReadonlySet<number> | null;
  private readonly sentRtp = new Map<number, RtpStreamState>();
  private readonly receivedRtp = new Map<number, RtpStreamState>();
  private readonly sentRtcp = new Map<number, RtcpStreamState>();
  private readonly receivedRtcp = new Map<number, RtcpStreamState>();
  /** Packets processed, as a clock for least-recently-used eviction. */
  private tick = 0;

  /** Derives the session keys from the master key and salt (RFC 3711 §4.3); RangeError on wrong lengths. */
  constructor(master: SrtpMasterKey, options?: SrtpSessionOptions);
  /** Uses session keys as given (test vectors such as RFC 7714 §16 start from them). */
  constructor(profile: SrtpProfile, keys: SrtpSessionKeys, options?: SrtpSessionOptions);
  constructor(
    a: SrtpMasterKey | SrtpProfile,
    b?: SrtpSessionKeys | SrtpSessionOptions,
    c?: SrtpSessionOptions,
  ) {
    let keys: SrtpSessionKeys;
    let options: SrtpSessionOptions | undefined;
    if (typeof a === "string") {
      this.profile = a;
      keys = b as SrtpSessionKeys;
      options = c;
    } else {
      this.profile = a.profile;
      keys = deriveSessionKeys(a.profile, a.masterKey, a.masterSalt);
      options = b as SrtpSessionOptions | undefined;
    }
    const p = PROFILES[this.profile];
    if (!p) throw new RangeError(`unknown SRTP profile ${String(this.profile)}`);
    this.rtpTagLength = p.rtpTagLength;
    this.rtcpTagLength = p.rtcpTagLength;
    this.rtpOverhead = p.rtpTagLength;
    this.rtcpOverhead = SRTCP_INDEX_SIZE + p.rtcpTagLength;
    this.rtpCm = p.aead ? null : new AesCmHmac(keys.rtp);
    this.rtcpCm = p.aead ? null : new AesCmHmac(keys.rtcp);
    this.rtpGcm = p.aead ? new AesGcm(keys.rtp) : null;
    this.rtcpGcm = p.aead ? new AesGcm(keys.rtcp) : null;
    const max = options?.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError("maxStreams must be a positive integer");
    this.maxStreams = max;
    this.allowed = options?.ssrcs ? new Set(Array.from(options.ssrcs, (s) => s >>> 0)) : null;
  }

  /**
   * Protects the RTP packet packet[0, length) (RFC 3711 §3.3): encrypts
   * its payload and appends the tag, into `out` (by default in place: the
   * buffer needs rtpOverhead spare bytes after the packet; otherwise `out`
   * must not overlap `packet`). Returns the SRTP packet's length.
   */
  protectRtp(packet: Uint8Array, length: number, out: Uint8Array = packet): number | SrtpProtectFailure {
    if (!validLength(packet, length)) return "malformed";
    const headerLength = rtpHeaderLength(packet, length);
    if (headerLength < 0) return "malformed";
    const total = length + this.rtpTagLength;
    if (out.length < total) return "no-room";
    const ssrc = readUint32(packet, 8);
    const seq = (packet[2] << 8) | packet[3];
    const stream = this.streamOf(this.sentRtp, ssrc, RtpStreamState);
    // The sender estimates its own index like a receiver would (§3.3.1), so
    // that relayed packets arriving slightly out of order keep their ROC.
    const v = stream.estimateRoc(seq);
    if (v < 0 || !stream.window.check(v * 65536 + seq)) return "replay";
    stream.update(v, seq);
    if (out !== packet) out.set(length === packet.length ? packet : packet.subarray(0, length));
    if (this.rtpGcm) {
      this.rtpGcm.sealRtp(out, headerLength, length, ssrc, v, seq);
    } else {
      const cm = this.rtpCm!;
      cm.xorKeystream(out, headerLength, length, ssrc, v, seq);
      cm.sign(out, length, v, this.rtpTagLength);
    }
    return total;
  }

  /**
   * Unprotects the SRTP packet packet[0, length) in place (RFC 3711 §3.3):
   * index estimation, replay check, authentication, then decryption; the
   * ROC and replay window move only for an authenticated packet. Returns
   * the length of the RTP packet now at the front of `packet`, or why it
   * was dropped (the buffer is then unchanged).
   */
  unprotectRtp(packet: Uint8Array, length: number): number | SrtpUnprotectFailure {
    if (!validLength(packet, length) || length < RTP_FIXED_HEADER + this.rtpTagLength) return "malformed";
    const end = length - this.rtpTagLength;
    const headerLength = rtpHeaderLength(packet, end);
    if (headerLength < 0) return "malformed";
    const ssrc = readUint32(packet, 8);
    if (this.allowed && !this.allowed.has(ssrc)) return "unknown-ssrc";
    const seq = (packet[2] << 8) | packet[3];
    let stream = this.receivedRtp.get(ssrc);
    const v = stream ? stream.estimateRoc(seq) : 0;
    if (v < 0 || (stream && !stream.window.check(v * 65536 + seq))) return "replay";
    if (this.rtpGcm) {
      if (!this.rtpGcm.openRtp(packet, headerLength, end, ssrc, v, seq)) return "auth";
    } else {
      const cm = this.rtpCm!;
      // §3.3 step 5 before step 6: nothing is decrypted unless it is authentic.
      if (!cm.verify(packet, end, v, this.rtpTagLength)) return "auth";
      cm.xorKeystream(packet, headerLength, end, ssrc, v, seq);
    }
    stream ??= this.streamOf(this.receivedRtp, ssrc, RtpStreamState);
    stream.lastUsed = ++this.tick;
    stream.update(v, seq);
    return end;
  }

  /**
   * Protects the RTCP (compound) packet packet[0, length) (RFC 3711 §3.4;
   * RFC 7714 §9 for GCM): everything after the sender's SSRC is encrypted,
   * the E flag and SRTCP index word and the tag are appended, into `out`
   * as for protectRtp. Returns the SRTCP packet's length.
   */
  protectRtcp(packet: Uint8Array, length: number, out: Uint8Array = packet): number | SrtpProtectFailure {
    if (!validLength(packet, length) || !isRtcpHeader(packet, length)) return "malformed";
    const total = length + this.rtcpOverhead;
    if (out.length < total) return "no-room";
    const ssrc = readUint32(packet, 4);
    const stream = this.streamOf(this.sentRtcp, ssrc, RtcpStreamState);
    const index = stream.nextIndex;
    if (index > 0x7fffffff) return "exhausted";
    stream.nextIndex = index + 1;
    if (out !== packet) out.set(length === packet.length ? packet : packet.subarray(0, length));
    if (this.rtcpGcm) {
      // RFC 7714 §9.1: header | ciphertext | tag | E flag and index.
      this.rtcpGcm.sealRtcp(out, length, ssrc, index, true);
      writeUint32(out, length + GCM_TAG_LENGTH, (0x80000000 | index) >>> 0);
    } else {
      // RFC 3711 §3.4: header | ciphertext | E flag and index | tag over all before it.
      const cm = this.rtcpCm!;
      cm.xorKeystream(out, RTCP_CLEAR_PREFIX, length, ssrc, index >>> 16, index & 0xffff);
      writeUint32(out, length, (0x80000000 | index) >>> 0);
      cm.sign(out, length + SRTCP_INDEX_SIZE, -1, this.rtcpTagLength);
    }
    return total;
  }

  /**
   * Unprotects the SRTCP packet packet[0, length) in place. Packets sent
   * with the E flag clear (not encrypted, RFC 3711 §3.4) are authenticated
   * and accepted too. Returns the length of the RTCP packet now at the
   * front of `packet`, or why it was dropped (the buffer is then unchanged).
   */
  unprotectRtcp(packet: Uint8Array, length: number): number | SrtpUnprotectFailure {
    const tagLength = this.rtcpTagLength;
    if (!validLength(packet, length) || length < RTCP_CLEAR_PREFIX + SRTCP_INDEX_SIZE + tagLength) {
      return "malformed";
    }
    if (!isRtcpHeader(packet, length)) return "malformed";
    const end = length - SRTCP_INDEX_SIZE - tagLength;
    const wordAt = this.rtcpGcm ? length - SRTCP_INDEX_SIZE : end;
    const word = readUint32(packet, wordAt);
    const encrypted = word >>> 31 === 1;
    const index = word & 0x7fffffff;
    const ssrc = readUint32(packet, 4);
    if (this.allowed && !this.allowed.has(ssrc)) return "unknown-ssrc";
    let stream = this.receivedRtcp.get(ssrc);
    if (stream && !stream.window.check(index)) return "replay";
    if (this.rtcpGcm) {
      if (!this.rtcpGcm.openRtcp(packet, end, ssrc, index, encrypted)) return "auth";
    } else {
      const cm = this.rtcpCm!;
      if (!cm.verify(packet, length - tagLength, -1, tagLength)) return "auth";
      if (encrypted) cm.xorKeystream(packet, RTCP_CLEAR_PREFIX, end, ssrc, index >>> 16, index & 0xffff);
    }
    stream ??= this.streamOf(this.receivedRtcp, ssrc, RtcpStreamState);
    stream.lastUsed = ++this.tick;
    stream.window.accept(index);
    return end;
  }

  /** The ROC of a received (or, with `sent`, a sent) SSRC; undefined if unknown. For diagnostics and tests. */
  rolloverCounter(ssrc: number, sent = false): number | undefined {
    return (sent ? this.sentRtp : this.receivedRtp).get(ssrc >>> 0)?.roc;
  }

  /** The SRTCP index the next protectRtcp of this SSRC will use (0 for a new one). */
  nextSrtcpIndex(ssrc: number): number {
    return this.sentRtcp.get(ssrc >>> 0)?.nextIndex ?? 0;
  }

  /** The context of `ssrc` in `map`, created (evicting the least recently used beyond maxStreams) if new. */
  private streamOf<T extends { lastUsed: number }>(map: Map<number, T>, ssrc: number, Kind: new () => T): T {
    let s = map.get(ssrc);
    if (!s) {
      if (map.size >= this.maxStreams) evictOldest(map);
      s = new Kind();
      map.set(ssrc, s);
    }
    s.lastUsed = ++this.tick;
    return s;
  }
}

function evictOldest<T extends { lastUsed: number }>(map: Map<number, T>): void {
  let oldest = -1;
  let when = Number.POSITIVE_INFINITY;
  for (const [ssrc, s] of map) {
    if (s.lastUsed < when) {
      when = s.lastUsed;
      oldest = ssrc;
    }
  }
  map.delete(oldest);
}
