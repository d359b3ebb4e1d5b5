// Reading SDP (RFC 4566) on top of sdp-transform, which is lenient and never
// rejects anything: the checks that make a body acceptable live here.
import { parse } from "sdp-transform";
import type { G711Codec } from "../codec/g711.ts";
import { cryptoAttributesByMedia } from "../srtp/index.ts";
import { type Direction, type MediaDescription, SdpError } from "./types.ts";

/** Larger bodies are refused rather than parsed: no phone sends one. */
const MAX_SDP_LENGTH = 65536;

export interface Format {
  pt: number;
  /** Encoding name as in a=rtpmap, or the RFC 3551 §6 name of a static type; "" if unknown. */
  name: string;
  rate: number;
  channels: number;
  fmtp?: string;
}

export interface Stream {
  /** Position of the m= line; answers keep the same order (RFC 3264 §6). */
  index: number;
  type: string;
  port: number;
  protocol: string;
  /** The format list of the m= line, verbatim. */
  formatList: string;
  formats: Format[];
  /** Media-level c= if present, else session-level; "" if neither. */
  address: string;
  /** RFC 3605 a=rtcp port, else RTP port + 1 (RFC 3550 §11). */
  rtcpPort: number;
  /** a= direction at media level, else session level, else sendrecv (RFC 3264 §5.1). */
  direction: Direction;
  ptime?: number;
  /**
   * The stream's a=crypto values (RFC 4568), verbatim: read by the srtp
   * room's parser, since sdp-transform keeps only the first session
   * parameter of a line and could hide one that must be refused.
   */
  crypto: string[];
}

export interface ParsedSdp {
  origin: { username: string; sessionId: string; sessionVersion: string; address: string };
  streams: Stream[];
}

/** RFC 3551 §6 static payload types we may meet without a=rtpmap. */
const STATIC_TYPES: Record<number, [string, number]> = {
  0: ["PCMU", 8000],
  3: ["GSM", 8000],
  4: ["G723", 8000],
  8: ["PCMA", 8000],
  9: ["G722", 8000],
  18: ["G729", 8000],
};

function toPort(value: unknown): number | null {
  const n = typeof value === "number" ? value : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
}

export function parseSdp(text: string): ParsedSdp {
  if (typeof text !== "string" || text.length === 0) throw new SdpError("empty SDP");
  if (text.length > MAX_SDP_LENGTH) throw new SdpError("SDP too large");
  // RFC 4566 §5: the first line is v=0.
  if (!/^\s*v=0\s*(\r\n|\r|\n|$)/.test(text)) throw new SdpError("SDP does not start with v=0");
  let session: ReturnType<typeof parse>;
  try {
    session = parse(text);
  } catch (err) {
    throw new SdpError(`SDP does not parse: ${(err as Error).message}`);
  }
  const o = session.origin as Partial<typeof session.origin> | undefined;
  if (!o || o.sessionId === undefined || o.sessionVersion === undefined) {
    throw new SdpError("SDP has no valid o= line");
  }
  const cryptoLines = cryptoAttributesByMedia(text);
  const sessionAddress = session.connection?.ip ?? "";
  const sessionDirection: Direction = session.direction ?? "sendrecv";
  const streams: Stream[] = [];
  (session.media ?? []).forEach((m, index) => {
    const port = toPort(m.port);
    if (typeof m.type !== "string" || m.type === "" || port === null) {
      throw new SdpError(`m= line ${index + 1} does not parse`);
    }
    const formatList = m.payloads === undefined ? "" : String(m.payloads).trim();
    const formats: Format[] = [];
    for (const token of formatList.split(/\s+/)) {
      if (!/^\d{1,3}$/.test(token)) continue;
      const pt = Number(token);
      if (pt > 127) continue;
      const map = m.rtp.find((r) => r.payload === pt);
      const fmtp = m.fmtp.find((f) => f.payload === pt)?.config;
      if (map) {
        formats.push({
          pt,
          name: String(map.codec),
          rate: Number(map.rate ?? 0),
          channels: map.encoding === undefined ? 1 : Number(map.encoding),
          fmtp,
        });
      } else if (STATIC_TYPES[pt]) {
        formats.push({ pt, name: STATIC_TYPES[pt][0], rate: STATIC_TYPES[pt][1], channels: 1, fmtp });
      } else {
        formats.push({ pt, name: "", rate: 0, channels: 1, fmtp });
      }
    }
    const rtcp = toPort(m.rtcp?.port);
    const ptime = typeof m.ptime === "number" && m.ptime > 0 ? m.ptime : undefined;
    streams.push({
      index,
      type: m.type,
      port,
      protocol: String(m.protocol ?? ""),
      formatList,
      formats,
      address: m.connection?.ip ?? sessionAddress,
      rtcpPort: rtcp !== null && rtcp > 0 ? rtcp : port + 1,
      direction: m.direction ?? sessionDirection,
      ptime,
      crypto: cryptoLines[index] ?? [],
    });
  });
  return {
    origin: {
      username: String(o.username ?? "-"),
      sessionId: String(o.sessionId),
      sessionVersion: String(o.sessionVersion),
      address: String(o.address ?? ""),
    },
    streams,
  };
}

/** The G.711 codec a format stands for, if any (RFC 3551 §4.5.14: 8000 Hz, mono). */
export function g711Of(f: Format): G711Codec | undefined {
  if (f.rate !== 8000 || f.channels !== 1) return undefined;
  const name = f.name.toUpperCase();
  return name === "PCMU" || name === "PCMA" ? name : undefined;
}

/** RFC 4733 §7.1.1: telephone-event at the stream's 8000 Hz clock. */
export function isTelephoneEvent(f: Format): boolean {
  return f.name.toLowerCase() === "telephone-event" && f.rate === 8000;
}

/** Plain RTP profiles we can terminate. */
export function isPlainRtp(protocol: string): boolean {
  const p = protocol.toUpperCase();
  return p === "RTP/AVP" || p === "RTP/AVPF";
}

/**
 * SRTP keyed in the SDP itself (SDES, RFC 4568 §5 uses RTP/SAVP). DTLS-SRTP's
 * UDP/TLS/RTP/SAVP(F) is another matter (keys from a handshake) and is not this.
 */
export function isSdesRtp(protocol: string): boolean {
  const p = protocol.toUpperCase();
  return p === "RTP/SAVP" || p === "RTP/SAVPF";
}

/**
 * DTLS-SRTP over UDP (RFC 5764 §8, RFC 5124 for the F): a browser's stream,
 * whose keys come from a handshake (media/webrtc terminates it), and whose
 * c=/m= address is a placeholder (RFC 8829 §5.2.1: c=IN IP4 0.0.0.0, port 9):
 * where the browser is comes from ICE.
 */
export function isDtlsSrtp(protocol: string): boolean {
  const p = protocol.toUpperCase();
  return p === "UDP/TLS/RTP/SAVPF" || p === "UDP/TLS/RTP/SAVP";
}

/**
 * The plain profile of the same family: what an SRTP stream becomes on a
 * plain leg. A browser's stream becomes RTP/AVP: its feedback (the F) is
 * the browser's and ours to decline, never relayed to a desk phone.
 */
export function plainProfile(protocol: string): string {
  if (isDtlsSrtp(protocol)) return "RTP/AVP";
  return protocol.toUpperCase().endsWith("F") ? "RTP/AVPF" : "RTP/AVP";
}

/** The SDES profile of the same family: what a plain stream becomes on an encrypted leg. */
export function sdesProfile(protocol: string): string {
  if (isDtlsSrtp(protocol)) return "RTP/SAVP";
  return protocol.toUpperCase().endsWith("F") ? "RTP/SAVPF" : "RTP/SAVP";
}

/** RFC 2543 §B.5 hold: a zero connection address means "do not send to me". */
export function isNullAddress(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * The side's effective direction with the RFC 2543 null address folded in:
 * it cannot receive, so what remains is at most sending (RFC 3264 §8.4).
 */
export function effectiveDirection(s: Stream): Direction {
  // A browser's c=0.0.0.0 is JSEP's placeholder (RFC 8829 §5.2.1), not RFC 2543 hold.
  if (!isNullAddress(s.address) || isDtlsSrtp(s.protocol)) return s.direction;
  if (s.direction === "sendrecv" || s.direction === "sendonly") return "sendonly";
  return "inactive";
}

/** The direction that answers `offered` for a side that would like `local` (RFC 3264 §6.1). */
export function answerDirection(offered: Direction, local: Direction): Direction {
  const canSend =
    (offered === "sendrecv" || offered === "recvonly") && (local === "sendrecv" || local === "sendonly");
  const canRecv =
    (offered === "sendrecv" || offered === "sendonly") && (local === "sendrecv" || local === "recvonly");
  if (canSend && canRecv) return "sendrecv";
  if (canSend) return "sendonly";
  if (canRecv) return "recvonly";
  return "inactive";
}

/**
 * A usable audio stream: not rejected (port 0), with an address, plain RTP,
 * or SRTP keyed by SDES when `srtp` says that this leg may carry keys (its
 * signalling is encrypted: RFC 4568 §8.3, keys sent in clear are no keys),
 * or a browser's DTLS-SRTP stream when `dtls` says so: only where the SDP is
 * another leg's, read for its codecs and direction (the B2BUA's relay), since
 * a leg that terminates DTLS-SRTP is media/webrtc's (WebRtcSdpSession).
 */
export function isUsableAudio(s: Stream, srtp = false, dtls = false): boolean {
  if (s.type !== "audio" || s.port === 0) return false;
  if (dtls && isDtlsSrtp(s.protocol)) return true;
  if (s.address === "") return false;
  return isPlainRtp(s.protocol) || (srtp && isSdesRtp(s.protocol));
}

/**
 * The MediaDescription of stream `s` using the first of its formats that is
 * one of `codecs` (RFC 3264 §6.1: the first listed is the preferred one),
 * or undefined when it has none.
 */
export function describeStream(s: Stream, codecs: readonly G711Codec[]): MediaDescription | undefined {
  const chosen = s.formats.find((f) => {
    const c = g711Of(f);
    return c !== undefined && codecs.includes(c);
  });
  if (!chosen) return undefined;
  const te = s.formats.find(isTelephoneEvent);
  const media: MediaDescription = {
    codec: g711Of(chosen)!,
    payloadType: chosen.pt,
    address: s.address,
    port: s.port,
    rtcpPort: s.rtcpPort,
    direction: effectiveDirection(s),
  };
  if (te) media.telephoneEventPt = te.pt;
  if (s.ptime !== undefined) media.ptime = s.ptime;
  return media;
}

/**
 * The first usable audio stream offering one of `codecs` (see isUsableAudio
 * for `srtp` and `dtls`); SdpError saying why there is none.
 */
export function pickAudio(
  parsed: ParsedSdp,
  codecs: readonly G711Codec[],
  srtp = false,
  dtls = false,
): { stream: Stream; media: MediaDescription } {
  let sawAudio = false;
  let sawSrtp = false;
  for (const s of parsed.streams) {
    if (!isUsableAudio(s, srtp, dtls)) {
      if (s.type === "audio" && s.port > 0 && isSdesRtp(s.protocol)) sawSrtp = true;
      continue;
    }
    sawAudio = true;
    const media = describeStream(s, codecs);
    if (media) return { stream: s, media };
  }
  if (!sawAudio && sawSrtp) {
    throw new SdpError(
      "SRTP keys offered over unencrypted signalling: use SIP over TLS (sips:, transport=tls)",
    );
  }
  throw new SdpError(sawAudio ? "no common audio codec" : "no usable audio stream");
}

export const DEFAULT_CODECS: readonly G711Codec[] = ["PCMU", "PCMA"];
