// The o= line of one side of a call across re-INVITEs. RFC 3264 §8: every
// new SDP from the same side keeps the session id and carries a version one
// higher than the previous one; an SDP sent again unchanged may keep its
// version, which we do so that session-refresh re-INVITEs do not look like
// media changes to the far end (§8: "the SDP MUST be identical").
import { randomInt } from "node:crypto";
import type { G711Codec } from "../codec/g711.ts";
import { offerCrypto, type SdesAgreement, type SdesCrypto } from "../srtp/index.ts";
import { answerOffer } from "./answer.ts";
import { createOffer, parseAnswer } from "./offer.ts";
import { DEFAULT_CODECS, parseSdp, pickAudio } from "./parse.ts";
import { filterOffer, rewriteAnswer } from "./rewrite.ts";
import { answerStreamKeys } from "./sdes-streams.ts";
import type { Direction, MediaDescription } from "./types.ts";

export interface SdpSessionOptions {
  /** Default: a random number (RFC 4566 §5.2 only asks that it be unique). */
  sessionId?: string;
  /** Version of the first SDP sent (default 1). */
  firstVersion?: number;
  /** Codecs we accept or offer, in order of preference (default PCMU, PCMA). */
  codecs?: G711Codec[];
  /** Payload type of telephone-event in our own offers (default 101). */
  telephoneEventPt?: number;
  /**
   * SRTP with SDES keys on this leg (RFC 4568): "off" refuses RTP/SAVP
   * offers (488) and offers plain RTP; "accept" answers RTP/SAVP offers with
   * keys and offers plain RTP; "offer" also makes its own offers RTP/SAVP.
   * Keys travel in the SDP, so anything but "off" is for a leg whose
   * signalling is encrypted (SIP over TLS). "best-effort" offers the keys
   * in an RTP/AVP offer, which a phone without SRTP answers plain (a phone
   * over TLS that may or may not do SRTP). Default "off".
   */
  srtp?: "off" | "accept" | "offer" | "best-effort";
}

export class SdpSession {
  readonly sessionId: string;
  private nextVersion: number;
  private lastText: string | undefined;
  private lastBody: string | undefined;
  private lastVersion = 0;
  /** Codec of our last answer, kept on re-offers (see AnswerOptions.current). */
  private codec: G711Codec | undefined;
  /** The SRTP keys agreed with this leg's phone; undefined while plain. */
  private keys: SdesAgreement | undefined;
  /** The a=crypto keys of our last offer to this leg, for its answer. */
  private offered: SdesCrypto[] | undefined;

  constructor(
    public address: string,
    public port: number,
    private readonly options: SdpSessionOptions = {},
  ) {
    this.sessionId = options.sessionId ?? String(randomInt(1, 2 ** 47));
    this.nextVersion = options.firstVersion ?? 1;
  }

  /** Version of the last SDP handed out (0 before the first). */
  get version(): number {
    return this.lastVersion;
  }

  /** The SRTP keys of this leg (what the RTP leg must protect and unprotect with); undefined: plain RTP. */
  get srtp(): SdesAgreement | undefined {
    return this.keys;
  }

  /** An offer for media we terminate (RFC 3264 §5, re-offers §8). */
  offer(opts: { direction?: Direction; codecs?: G711Codec[] } = {}): string {
    const crypto = this.offerKeys();
    return this.stamp((sessionVersion) =>
      createOffer({
        address: this.address,
        port: this.port,
        sessionId: this.sessionId,
        sessionVersion,
        codecs: opts.codecs ?? this.options.codecs,
        telephoneEventPt: this.options.telephoneEventPt,
        direction: opts.direction,
        crypto,
        bestEffort: this.bestEffort,
      }),
    );
  }

  /**
   * The phone's answer to our last offer (RFC 3264 §7): its side of the
   * stream, with the SRTP keys agreed when we offered them. Throws SdpError.
   */
  readAnswer(
    answer: string,
    codecs: readonly G711Codec[] = this.options.codecs ?? DEFAULT_CODECS,
  ): MediaDescription {
    const media = parseAnswer(answer, codecs, this.offered, this.bestEffort);
    this.agree(media.srtp, answer);
    return media;
  }

  /**
   * Whether this leg could answer the phone's offer (its protocol and keys),
   * before the offer travels on to another leg; throws the SdpError (488)
   * it would get. Commits nothing.
   */
  checkOffer(offer: string): void {
    answerStreamKeys(
      pickAudio(parseSdp(offer), DEFAULT_CODECS, this.acceptsSrtp).stream,
      undefined,
      this.acceptsSrtp,
    );
  }

  /**
   * Answers an offer for media we terminate (RFC 3264 §6); `codecs` narrows
   * our choice for this answer (a call joined to another that already talks
   * one codec). Throws SdpError.
   */
  answer(
    offer: string,
    opts: { direction?: Direction; codecs?: G711Codec[] } = {},
  ): { answer: string; media: MediaDescription } {
    let media: MediaDescription | undefined;
    const answer = this.stamp((sessionVersion) => {
      const r = answerOffer(offer, {
        address: this.address,
        port: this.port,
        sessionId: this.sessionId,
        sessionVersion,
        codecs: opts.codecs ?? this.options.codecs,
        direction: opts.direction,
        current: this.codec,
        srtp: this.acceptsSrtp,
        keepCrypto: this.keys?.local,
      });
      media = r.media;
      return r.answer;
    });
    this.codec = media!.codec;
    this.agree(media!.srtp, answer);
    return { answer, media: media! };
  }

  /**
   * B2BUA: the other leg's offer, rewritten to this side's address, origin
   * and keys (this leg's protocol). `media` is the offering side's, without
   * keys. Throws SdpError.
   */
  filterOffer(offer: string): { sdp: string; media: MediaDescription } {
    const crypto = this.offerKeys();
    let media: MediaDescription | undefined;
    const sdp = this.stamp((sessionVersion) => {
      const r = filterOffer(offer, {
        ...this.relayOptions(sessionVersion),
        crypto,
        bestEffort: this.bestEffort,
      });
      media = r.media;
      return r.sdp;
    });
    return { sdp, media: media! };
  }

  /**
   * B2BUA: the other leg's answer, rewritten to this side's address and
   * origin, answering `offer` — what this leg's phone offered — with this
   * leg's protocol and keys (see `srtp` for the agreed ones); without
   * `offer`, plain RTP. `media` is the answering side's, without keys.
   * Throws SdpError.
   */
  rewriteAnswer(answer: string, offer?: string): { sdp: string; media: MediaDescription } {
    let r: ReturnType<typeof rewriteAnswer> | undefined;
    const sdp = this.stamp((sessionVersion) => {
      r = rewriteAnswer(answer, {
        ...this.relayOptions(sessionVersion),
        offer,
        srtp: this.acceptsSrtp,
        keepCrypto: this.keys?.local,
      });
      return r.sdp;
    });
    this.agree(r!.srtp, sdp);
    return { sdp, media: r!.media };
  }

  /** Keys were agreed on an RTP/AVP stream (best effort): our re-offers keep that protocol. */
  private keysOnPlain = false;

  /** Our keys go in RTP/AVP offers: best effort before an agreement, or the agreement made so. */
  private get bestEffort(): boolean {
    return this.keys === undefined ? this.options.srtp === "best-effort" : this.keysOnPlain;
  }

  /** Records the agreed keys and whether the stream that carries them is plain RTP/AVP. */
  private agree(keys: SdesAgreement | undefined, sdp: string): void {
    this.keys = keys;
    this.keysOnPlain = keys !== undefined && !/^m=audio \d+ RTP\/SAVP/m.test(sdp);
  }

  private get acceptsSrtp(): boolean {
    return (this.options.srtp ?? "off") !== "off";
  }

  /**
   * The keys our offers carry: once a leg is encrypted, its agreed key (a
   * re-offer neither re-keys nor drops to plain RTP); before, fresh keys
   * under "offer" and none otherwise.
   */
  private offerKeys(): SdesCrypto[] | undefined {
    if (this.keys) this.offered = [{ ...this.keys.local, tag: 1 }];
    else
      this.offered =
        this.options.srtp === "offer" || this.options.srtp === "best-effort" ? offerCrypto() : undefined;
    return this.offered;
  }

  private relayOptions(sessionVersion: number) {
    return {
      address: this.address,
      port: this.port,
      sessionId: this.sessionId,
      sessionVersion,
      codecs: this.options.codecs,
    };
  }

  /**
   * Builds with the next version; if everything but the o= line equals the
   * last SDP sent, the last one is sent again instead (same version).
   * Nothing is committed if `build` throws. (Protected: a browser leg's
   * session, media/webrtc's WebRtcSdpSession, versions its SDP the same way.)
   */
  protected stamp(build: (version: number) => string): string {
    const text = build(this.nextVersion);
    const body = text.replace(/^o=.*$/m, "");
    if (this.lastText !== undefined && body === this.lastBody) return this.lastText;
    this.lastText = text;
    this.lastBody = body;
    this.lastVersion = this.nextVersion;
    this.nextVersion++;
    return text;
  }
}

/**
 * What an offer says of its sender's side (where it receives, its codec),
 * keys aside, for a leg that may (`srtp`) or may not carry SDES keys; with
 * `dtls` a browser's offer is read too (its codecs: which it shares with
 * another offer, for a pickup). Throws the SdpError (488) an answer would meet.
 */
export function readOffer(
  offer: string,
  srtp: boolean,
  codecs: readonly G711Codec[] = DEFAULT_CODECS,
  dtls = false,
): MediaDescription {
  const { stream, media } = pickAudio(parseSdp(offer), codecs, srtp, dtls);
  answerStreamKeys(stream, undefined, srtp);
  delete media.srtp;
  return media;
}
