// SDP through the B2BUA. The PBX anchors media (every RTP packet passes
// through our relay) but does not transcode: the two phones agree on the
// codec end to end, so an offer from one leg goes to the other with only our
// address and port in it and only the formats our relay understands.
import type { G711Codec } from "../codec/g711.ts";
import type { SdesAgreement, SdesCrypto } from "../srtp/index.ts";
import { rejected } from "./answer.ts";
import { buildSdp } from "./build.ts";
import {
  DEFAULT_CODECS,
  effectiveDirection,
  g711Of,
  isTelephoneEvent,
  type ParsedSdp,
  parseSdp,
  pickAudio,
  plainProfile,
  type Stream,
} from "./parse.ts";
import { answerStreamKeys, offerSection, type SecuredSection } from "./sdes-streams.ts";
import { type Direction, type MediaDescription, SdpError } from "./types.ts";

export interface RewriteOptions {
  /** Our relay address and port for this leg. */
  address: string;
  port: number;
  /** Session id and version for our o= line; default: the incoming ones (see SdpSession). */
  sessionId?: string;
  sessionVersion?: number;
}

export interface FilterOptions extends RewriteOptions {
  /** Codecs the relay may pass (default PCMU, PCMA). */
  codecs?: G711Codec[];
  /** This leg's SDES keys: the offer sent to it is RTP/SAVP with them; without, plain RTP. */
  crypto?: SdesCrypto[];
  /** The keys in an RTP/AVP offer (best effort). */
  bestEffort?: boolean;
}

export interface RewriteAnswerOptions extends RewriteOptions {
  codecs?: G711Codec[];
  /**
   * The offer this leg's phone made, which the rewritten answer answers: its
   * stream's protocol and keys decide ours (RFC 4568 §7.1.2), whatever the
   * other leg answered with.
   */
  offer?: string;
  /** This leg may carry SRTP keys (its signalling is encrypted). */
  srtp?: boolean;
  /** The key this leg already sends with (see answerStreamKeys). */
  keepCrypto?: SdesCrypto;
}

/**
 * The offer to send to the other leg: c=, m= port and o= are ours, the
 * first usable audio stream keeps its PCMU/PCMA formats (offerer's order
 * and numbers) and telephone-event, every other m= line goes out declined
 * with port 0. Hold is carried as a direction attribute even when the
 * offerer used c=0.0.0.0, since our address replaces theirs. `media` is the
 * offerer's side. Throws SdpError when nothing usable remains.
 */
export function filterOffer(offer: string, opts: FilterOptions): { sdp: string; media: MediaDescription } {
  const parsed = parseSdp(offer);
  const codecs = opts.codecs ?? DEFAULT_CODECS;
  // The offering leg's own keys (SDES, or a browser's DTLS) were checked by
  // its side (its SdpSession); here only its codecs and direction travel.
  const { stream, media } = pickAudio(parsed, codecs, true, true);
  delete media.srtp;
  return {
    sdp: rebuild(
      parsed.streams,
      parsed,
      stream,
      stream,
      codecs,
      opts,
      offerSection(stream.protocol, opts.crypto, opts.bestEffort),
    ),
    media,
  };
}

/**
 * The answer to send back to the offering leg, rewritten like filterOffer,
 * with this leg's protocol and keys answering its phone's `offer`. `media`
 * is the answerer's side; `srtp` the keys agreed with this leg's phone.
 * Throws SdpError if the answerer declined the audio stream or kept no G.711
 * codec, or this leg's offer cannot be answered.
 */
export function rewriteAnswer(
  answer: string,
  opts: RewriteAnswerOptions,
): { sdp: string; media: MediaDescription; srtp?: SdesAgreement } {
  const parsed = parseSdp(answer);
  const codecs = opts.codecs ?? DEFAULT_CODECS;
  // The answerer may be a browser (DTLS-SRTP, terminated on its own leg).
  const { stream, media } = pickAudio(parsed, codecs, true, true);
  delete media.srtp;
  if (opts.offer === undefined) {
    const section = { protocol: plainProfile(stream.protocol) };
    return { sdp: rebuild(parsed.streams, parsed, stream, stream, codecs, opts, section), media };
  }
  // RFC 3264 §6: the answer has the m= lines of the offer it answers, this
  // leg's phone's, whatever the other leg's answer had (a browser answers
  // our one-section offer with one section).
  const offered = parseSdp(opts.offer);
  const own = pickAudio(offered, DEFAULT_CODECS, opts.srtp).stream;
  const keys = answerStreamKeys(own, opts.keepCrypto, opts.srtp ?? false);
  const sdp = rebuild(offered.streams, parsed, own, stream, codecs, opts, keys.section);
  return keys.srtp ? { sdp, media, srtp: keys.srtp } : { sdp, media };
}

/**
 * Our SDP: the m= lines of `layout` (the offer's, or the SDP's own), with
 * `slot` carrying the audio of `stream` (its G.711 formats, numbers,
 * telephone-event, direction and ptime) and every other line declined.
 */
function rebuild(
  layout: readonly Stream[],
  parsed: ParsedSdp,
  slot: Stream,
  stream: Stream,
  codecs: readonly G711Codec[],
  opts: RewriteOptions,
  secured: SecuredSection,
): string {
  const kept: { codec: G711Codec; pt: number }[] = [];
  for (const f of stream.formats) {
    const c = g711Of(f);
    if (c && codecs.includes(c)) kept.push({ codec: c, pt: f.pt });
  }
  const te = stream.formats.find(isTelephoneEvent);
  return buildSdp({
    sessionId: opts.sessionId ?? parsed.origin.sessionId,
    sessionVersion: opts.sessionVersion ?? parsed.origin.sessionVersion,
    address: opts.address,
    sections: layout.map((s) =>
      s === slot
        ? {
            kind: "audio" as const,
            port: opts.port,
            ...secured,
            codecs: kept,
            telephoneEventPt: te?.pt,
            direction: effectiveDirection(stream),
            ptime: stream.ptime,
          }
        : rejected(s),
    ),
  });
}

/**
 * The direction of the first active audio stream as its sender means it,
 * with the RFC 2543 c=0.0.0.0 hold folded in (RFC 3264 §8.4); "inactive"
 * when there is no active audio stream. Throws SdpError if unparsable.
 */
export function sdpDirection(sdp: string): Direction {
  const parsed = parseSdp(sdp);
  const s = parsed.streams.find((x) => x.type === "audio" && x.port > 0);
  return s ? effectiveDirection(s) : "inactive";
}

/** True when the SDP puts the call on hold: its sender will not receive (sendonly, inactive, c=0.0.0.0). */
export function isHold(sdp: string): boolean {
  const d = sdpDirection(sdp);
  return d === "sendonly" || d === "inactive";
}

/**
 * True when the SDP's active audio is encrypted: SDES SRTP (RTP/SAVP) or
 * DTLS-SRTP (UDP/TLS/RTP/SAVPF, a browser's). What a company that requires
 * encryption asks of its phones' offers. False when unparsable.
 */
export function offersEncryptedMedia(sdp: string): boolean {
  let parsed: ReturnType<typeof parseSdp>;
  try {
    parsed = parseSdp(sdp);
  } catch (err) {
    if (err instanceof SdpError) return false;
    throw err;
  }
  const audio = parsed.streams.filter((x) => x.type === "audio" && x.port > 0);
  return audio.length > 0 && audio.every((x) => /SAVP/i.test(x.protocol));
}
