// The SDP side of a browser leg in the B2BUA: what SdpSession is for a
// phone's leg (our origin and its versions, RFC 3264 §8; offers, answers and
// the rewriting of the other leg's SDP), written as a browser must read it
// (webrtc-sdp.ts: UDP/TLS/RTP/SAVPF, ICE-lite, our fingerprint, rtcp-mux).
// The call treats both alike: the other leg's offer is filtered into our
// offer to the browser, the other leg's answer becomes our answer to the
// browser's offer, and what the browser says of its transport (ICE
// credentials, fingerprints) goes to the leg's WebRtcTransport.
//
// One DTLS association per leg for the whole call (RFC 8842 §5.2: none new
// while the fingerprint and the ICE credentials stay): a re-offer of the
// browser (hold, resume) or of ours keeps them; an ICE restart or a new
// certificate is refused with 488, since the transport cannot re-key.
import type { G711Codec } from "../codec/g711.ts";
import {
  DEFAULT_CODECS,
  effectiveDirection,
  g711Of,
  isTelephoneEvent,
  parseSdp,
  pickAudio,
} from "../sdp/parse.ts";
import { SdpSession } from "../sdp/session.ts";
import { type Direction, type MediaDescription, SdpError } from "../sdp/types.ts";
import type { DtlsFingerprint } from "./dtls-certificate.ts";
import type { IceCredentials } from "./ice-lite.ts";
import {
  answerWebRtcOffer,
  createWebRtcOffer,
  type DeclinedSection,
  readWebRtcAnswer,
  readWebRtcOffer,
  sectionAttributes,
  type WebRtcLocalParameters,
  type WebRtcRemoteParameters,
} from "./webrtc-sdp.ts";

/** What the session needs of its leg's transport (a WebRtcTransport). */
export interface WebRtcLegTransport {
  readonly ice: IceCredentials;
  readonly fingerprint: DtlsFingerprint;
  readonly localPort: number;
  /** Throws RangeError on an ICE restart or a new certificate (see WebRtcTransport). */
  setRemoteParameters(remote: WebRtcRemoteParameters): void;
}

export interface WebRtcSdpSessionOptions {
  /** Default: a random number (RFC 4566 §5.2). */
  sessionId?: string;
  /** Codecs we accept or offer, in order of preference (default PCMU, PCMA). */
  codecs?: G711Codec[];
  /** Payload type of telephone-event in our own offers (default 101). */
  telephoneEventPt?: number;
}

export class WebRtcSdpSession extends SdpSession {
  /** The browser's transport as first agreed; later SDP must keep it. */
  private remote: WebRtcRemoteParameters | undefined;
  /** The a=mid of the audio section, once one was agreed. */
  private mid: string | undefined;
  /** The m= lines of the session so far (RFC 3264 §8: a re-offer keeps them). */
  private layout: (DeclinedSection | "audio")[] = ["audio"];
  /** The codec in use, kept by answers to re-offers (no switch in mid-call). */
  private current: G711Codec | undefined;
  /** The telephone-event number agreed, which our re-offers keep. */
  private eventPt: number | undefined;

  constructor(
    readonly transport: WebRtcLegTransport,
    address: string,
    private readonly opts: WebRtcSdpSessionOptions = {},
  ) {
    super(address, transport.localPort, {
      sessionId: opts.sessionId,
      codecs: opts.codecs,
      telephoneEventPt: opts.telephoneEventPt,
      srtp: "off",
    });
  }

  /** The keys of a browser leg come from its DTLS handshake, never from SDP. */
  override get srtp(): undefined {
    return undefined;
  }

  /** The browser's transport parameters once agreed (undefined before). */
  get remoteParameters(): WebRtcRemoteParameters | undefined {
    return this.remote;
  }

  /** Our offer to the browser, for media we terminate or relay at one codec. */
  override offer(opts: { direction?: Direction; codecs?: G711Codec[] } = {}): string {
    const sdp = this.stamp((v) =>
      createWebRtcOffer({
        ...this.local(v),
        codecs: opts.codecs ?? this.preferCurrent(),
        telephoneEventPt: this.eventPt ?? this.opts.telephoneEventPt,
        direction: opts.direction,
        mid: this.mid ?? "0",
        layout: this.layout,
      }),
    );
    this.mid ??= "0";
    return sdp;
  }

  /** The browser's answer to our offer: a=setup:active, its ICE and fingerprint go to the transport. */
  override readAnswer(answer: string, codecs: readonly G711Codec[] = this.codecs): MediaDescription {
    const d = readWebRtcAnswer(answer, codecs);
    this.adopt(d.remote);
    this.agreed(d.media);
    return d.media;
  }

  /** Whether the browser's (re-)offer could be answered on this leg; commits nothing. */
  override checkOffer(offer: string): void {
    this.sameTransport(readWebRtcOffer(offer, DEFAULT_CODECS).remote);
  }

  /** Answers the browser's offer with media we terminate (or, via rewriteAnswer, relay). */
  override answer(
    offer: string,
    opts: { direction?: Direction; codecs?: G711Codec[] } = {},
  ): { answer: string; media: MediaDescription } {
    const allowed = opts.codecs ?? this.codecs;
    const read = readWebRtcOffer(offer, allowed);
    this.sameTransport(read.remote);
    // Keep the codec in use when the re-offer still has it (AnswerOptions.current).
    const keep =
      this.current !== undefined &&
      allowed.includes(this.current) &&
      parseSdp(offer).streams[read.streamIndex]?.formats.some((f) => g711Of(f) === this.current);
    let result: ReturnType<typeof answerWebRtcOffer> | undefined;
    const answer = this.stamp((v) => {
      result = answerWebRtcOffer(offer, {
        ...this.local(v),
        codecs: keep ? [this.current!] : allowed,
        direction: opts.direction,
      });
      return result.answer;
    });
    const r = result!;
    this.adopt(r.remote);
    this.agreed(r.media);
    this.mid = r.remote.mid;
    this.layout = layoutOf(offer, r.streamIndex);
    return { answer, media: r.media };
  }

  /**
   * The other leg's offer (a phone's, plain or SDES, or another browser's)
   * as our offer to this browser: its G.711 formats with their numbers,
   * telephone-event and direction; `media` is the offerer's side.
   */
  override filterOffer(offer: string): { sdp: string; media: MediaDescription } {
    const codecs = this.codecs;
    const { stream, media } = pickAudio(parseSdp(offer), codecs, true, true);
    delete media.srtp;
    const formats: { codec: G711Codec; pt: number }[] = [];
    for (const f of stream.formats) {
      const c = g711Of(f);
      if (c && codecs.includes(c)) formats.push({ codec: c, pt: f.pt });
    }
    const te = stream.formats.find(isTelephoneEvent)?.pt ?? null;
    const sdp = this.stamp((v) =>
      createWebRtcOffer({
        ...this.local(v),
        formats,
        telephoneEventPt: te,
        direction: effectiveDirection(stream),
        mid: this.mid ?? "0",
        layout: this.layout,
      }),
    );
    this.mid ??= "0";
    return { sdp, media };
  }

  /**
   * The other leg's answer as our answer to the browser's `offer`: the
   * codec the other side took, its direction as seen from here; `media` is
   * the answering side's. Throws SdpError.
   */
  override rewriteAnswer(answer: string, offer?: string): { sdp: string; media: MediaDescription } {
    if (offer === undefined) throw new SdpError("a browser leg answers only the browser's own offer");
    const { stream, media } = pickAudio(parseSdp(answer), this.codecs, true, true);
    delete media.srtp;
    const r = this.answer(offer, { codecs: [media.codec], direction: effectiveDirection(stream) });
    return { sdp: r.answer, media };
  }

  private agreed(media: MediaDescription): void {
    this.current = media.codec;
    if (media.telephoneEventPt !== undefined) this.eventPt = media.telephoneEventPt;
  }

  /** Our codecs, the one in use first: a re-offer does not switch codec in mid-call. */
  private preferCurrent(): G711Codec[] {
    const current = this.current;
    if (current === undefined || !this.codecs.includes(current)) return this.codecs;
    return [current, ...this.codecs.filter((c) => c !== current)];
  }

  private get codecs(): G711Codec[] {
    return this.opts.codecs ?? [...DEFAULT_CODECS];
  }

  private local(sessionVersion: number): WebRtcLocalParameters {
    return {
      address: this.address,
      port: this.port,
      ice: this.transport.ice,
      fingerprint: this.transport.fingerprint,
      sessionId: this.sessionId,
      sessionVersion,
    };
  }

  /** RFC 8842 §5.2: the same credentials and fingerprints keep the association; others we cannot take. */
  private sameTransport(remote: WebRtcRemoteParameters): void {
    const known = this.remote;
    if (!known) return;
    const key = (f: DtlsFingerprint) => `${f.algorithm} ${f.value.toUpperCase()}`;
    const fingerprints = new Set(known.fingerprints.map(key));
    const same =
      known.ice.ufrag === remote.ice.ufrag &&
      known.ice.pwd === remote.ice.pwd &&
      remote.fingerprints.length === known.fingerprints.length &&
      remote.fingerprints.every((f) => fingerprints.has(key(f)));
    if (!same) {
      throw new SdpError(
        "ICE restart or new DTLS certificate on a browser leg: not supported (RFC 8842 §5.2)",
      );
    }
  }

  private adopt(remote: WebRtcRemoteParameters): void {
    try {
      this.transport.setRemoteParameters(remote);
    } catch (err) {
      if (err instanceof RangeError) throw new SdpError(err.message);
      throw err;
    }
    this.remote ??= remote;
  }
}

/** The m= lines of a browser's offer as a re-offer of ours must repeat them. */
function layoutOf(offer: string, audioIndex: number): (DeclinedSection | "audio")[] {
  const sections = sectionAttributes(offer).media;
  return parseSdp(offer).streams.map((s, i) => {
    if (i === audioIndex) return "audio";
    const mid = (sections[i] ?? [])
      .find((a) => a.toLowerCase().startsWith("mid:"))
      ?.slice(4)
      .trim();
    const declined: DeclinedSection = { type: s.type, protocol: s.protocol, formatList: s.formatList };
    if (mid !== undefined) declined.mid = mid;
    return declined;
  });
}
