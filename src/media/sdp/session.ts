// The o= line of one side of a call across re-INVITEs. RFC 3264 §8: every
// new SDP from the same side keeps the session id and carries a version one
// higher than the previous one; an SDP sent again unchanged may keep its
// version, which we do so that session-refresh re-INVITEs do not look like
// media changes to the far end (§8: "the SDP MUST be identical").
import { randomInt } from "node:crypto";
import type { G711Codec } from "../codec/g711.ts";
import { answerOffer } from "./answer.ts";
import { createOffer } from "./offer.ts";
import { filterOffer, rewriteAnswer } from "./rewrite.ts";
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
}

export class SdpSession {
  readonly sessionId: string;
  private nextVersion: number;
  private lastText: string | undefined;
  private lastBody: string | undefined;
  private lastVersion = 0;
  /** Codec of our last answer, kept on re-offers (see AnswerOptions.current). */
  private codec: G711Codec | undefined;

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

  /** An offer for media we terminate (RFC 3264 §5, re-offers §8). */
  offer(opts: { direction?: Direction; codecs?: G711Codec[] } = {}): string {
    return this.stamp((sessionVersion) =>
      createOffer({
        address: this.address,
        port: this.port,
        sessionId: this.sessionId,
        sessionVersion,
        codecs: opts.codecs ?? this.options.codecs,
        telephoneEventPt: this.options.telephoneEventPt,
        direction: opts.direction,
      }),
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
      });
      media = r.media;
      return r.answer;
    });
    this.codec = media!.codec;
    return { answer, media: media! };
  }

  /** B2BUA: the other leg's offer, rewritten to this side's address and origin. Throws SdpError. */
  filterOffer(offer: string): { sdp: string; media: MediaDescription } {
    return this.relay(offer, filterOffer);
  }

  /** B2BUA: the other leg's answer, rewritten to this side's address and origin. Throws SdpError. */
  rewriteAnswer(answer: string): { sdp: string; media: MediaDescription } {
    return this.relay(answer, rewriteAnswer);
  }

  private relay(text: string, fn: typeof filterOffer): { sdp: string; media: MediaDescription } {
    let media: MediaDescription | undefined;
    const sdp = this.stamp((sessionVersion) => {
      const r = fn(text, {
        address: this.address,
        port: this.port,
        sessionId: this.sessionId,
        sessionVersion,
        codecs: this.options.codecs,
      });
      media = r.media;
      return r.sdp;
    });
    return { sdp, media: media! };
  }

  /**
   * Builds with the next version; if everything but the o= line equals the
   * last SDP sent, the last one is sent again instead (same version).
   * Nothing is committed if `build` throws.
   */
  private stamp(build: (version: number) => string): string {
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
