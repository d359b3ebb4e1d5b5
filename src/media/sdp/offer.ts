// Making an offer (RFC 3264 §5) for a leg whose media we terminate, and
// reading the answer to it (§7).
import type { G711Codec } from "../codec/g711.ts";
import type { SdesCrypto } from "../srtp/index.ts";
import { buildSdp } from "./build.ts";
import { DEFAULT_CODECS, parseSdp, pickAudio } from "./parse.ts";
import { answeredKeys, offerSection } from "./sdes-streams.ts";
import type { Direction, MediaDescription } from "./types.ts";

export interface OfferOptions {
  address: string;
  port: number;
  sessionId: string;
  sessionVersion: number;
  /** Codecs in our order of preference (default PCMU, PCMA). */
  codecs?: G711Codec[];
  /** Dynamic payload type for RFC 4733 events (default 101). */
  telephoneEventPt?: number;
  direction?: Direction;
  /** Packetisation we want to receive, ms (default 20). */
  ptime?: number;
  /** Our SDES keys: the offer is RTP/SAVP with one a=crypto line each (RFC 4568 §7.1.1). */
  crypto?: SdesCrypto[];
  /** The keys in an RTP/AVP offer instead (best effort: a phone without SRTP answers plain). */
  bestEffort?: boolean;
}

/** Static payload types of RFC 3551 §6. */
const STATIC_PT: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };

export function createOffer(local: OfferOptions): string {
  const codecs = local.codecs ?? DEFAULT_CODECS;
  if (codecs.length === 0) throw new RangeError("an offer needs at least one codec");
  const te = local.telephoneEventPt ?? 101;
  if (!Number.isInteger(te) || te < 96 || te > 127)
    throw new RangeError(`telephone-event PT ${te} not dynamic`);
  return buildSdp({
    sessionId: local.sessionId,
    sessionVersion: local.sessionVersion,
    address: local.address,
    sections: [
      {
        kind: "audio",
        port: local.port,
        ...offerSection("RTP/AVP", local.crypto, local.bestEffort),
        codecs: codecs.map((codec) => ({ codec, pt: STATIC_PT[codec] })),
        telephoneEventPt: te,
        direction: local.direction ?? "sendrecv",
        ptime: local.ptime ?? 20,
      },
    ],
  });
}

/**
 * Reads the answer to our offer: the first accepted audio stream and the
 * codec to send, the first G.711 one the answerer listed (§7), and the SRTP
 * keys agreed when we offered `crypto`. Throws SdpError when the audio
 * stream was declined or has no G.711 codec, or the keys do not answer ours.
 */
export function parseAnswer(
  answer: string,
  codecs: readonly G711Codec[] = DEFAULT_CODECS,
  crypto?: readonly SdesCrypto[],
  bestEffort = false,
): MediaDescription {
  const { stream, media } = pickAudio(parseSdp(answer), codecs, crypto !== undefined && crypto.length > 0);
  const srtp = answeredKeys(stream, crypto, bestEffort);
  if (srtp) media.srtp = srtp;
  return media;
}
