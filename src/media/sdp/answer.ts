// Answering an offer (RFC 3264 §6) for a call leg whose media we terminate.
import type { G711Codec } from "../codec/g711.ts";
import type { SdesCrypto } from "../srtp/index.ts";
import { buildSdp, type RejectedSection } from "./build.ts";
import { answerDirection, DEFAULT_CODECS, describeStream, parseSdp, pickAudio } from "./parse.ts";
import { answerStreamKeys } from "./sdes-streams.ts";
import type { Direction, MediaDescription } from "./types.ts";

export interface AnswerOptions {
  address: string;
  port: number;
  sessionId: string;
  sessionVersion: number;
  /** Codecs we accept, in our order of preference (default PCMU, PCMA). */
  codecs?: G711Codec[];
  /** What we would like; the answer is narrowed by what was offered (§6.1). */
  direction?: Direction;
  /** Packetisation we want to receive, ms (default 20). */
  ptime?: number;
  /**
   * The codec in use on this stream when answering a re-offer: kept if
   * still offered, so that a re-INVITE (hold, refresh) does not switch
   * codec in the middle of a call.
   */
  current?: G711Codec;
  /** RTP/SAVP streams may be answered (the leg's signalling is encrypted); default no. */
  srtp?: boolean;
  /** The key this leg already sends with, kept when the suite allows (see answerStreamKeys). */
  keepCrypto?: SdesCrypto;
}

/**
 * Answers with one audio stream: the first offered audio stream that has a
 * codec we accept, with the first such codec in the offerer's order and the
 * offerer's payload numbers (§6.1), telephone-event if offered. Every other
 * m= line is declined with port 0 (§6). Returns the answer and the offerer's
 * side of the stream: where and what to send. Throws SdpError (488).
 */
export function answerOffer(
  offer: string,
  local: AnswerOptions,
): { answer: string; media: MediaDescription } {
  const parsed = parseSdp(offer);
  const codecs = local.codecs ?? DEFAULT_CODECS;
  let { stream, media } = pickAudio(parsed, codecs, local.srtp);
  if (local.current && local.current !== media.codec && codecs.includes(local.current)) {
    media = describeStream(stream, [local.current]) ?? media;
  }
  const keys = answerStreamKeys(stream, local.keepCrypto, local.srtp ?? false);
  if (keys.srtp) media.srtp = keys.srtp;
  const sections = parsed.streams.map((s) =>
    s === stream
      ? {
          kind: "audio" as const,
          port: local.port,
          ...keys.section,
          codecs: [{ codec: media.codec, pt: media.payloadType }],
          telephoneEventPt: media.telephoneEventPt,
          direction: answerDirection(media.direction, local.direction ?? "sendrecv"),
          ptime: local.ptime ?? 20,
        }
      : rejected(s),
  );
  const answer = buildSdp({
    sessionId: local.sessionId,
    sessionVersion: local.sessionVersion,
    address: local.address,
    sections,
  });
  return { answer, media };
}

export function rejected(s: { type: string; protocol: string; formatList: string }): RejectedSection {
  return { kind: "rejected", type: s.type, protocol: s.protocol, formatList: s.formatList };
}
