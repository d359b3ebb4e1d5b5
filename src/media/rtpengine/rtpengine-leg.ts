// One phone leg of a vpbx call, relayed by rtpengine (docs/RTPENGINE.md).
//
// vpbx is a B2BUA: each phone has its own dialog and its own SDP. Each phone
// leg is one rtpengine call (its own call-id) with two parties: the phone
// (outer side, the ports the phone sees) and vpbx (inner side, facing vpbx's
// own media socket, where apps play, record and collect digits). To bridge two
// legs at rtpengine's speed the inner side of each is pointed at rtpengine's
// inner port of the other — a hairpin inside rtpengine — and to unbridge it is
// pointed at vpbx's socket again. The phones see none of it: their ports stay.
//
// The flags, and why (proven by test/integration/rtpengine-splice.test.ts):
// - `port latching` on every message: without it rtpengine gives the phone's
//   side new local ports when the inner address changes (a new "endpoint
//   map"), and the phone, still sending to the old ones, is answered from a
//   port its SDP never named.
// - `asymmetric` for the inner side: vpbx's addresses are known exactly (no
//   NAT between vpbx and rtpengine), so no endpoint learning there; the SDP is
//   the truth from the first packet, and no packet can move the hairpin.
// - `strict source` for the inner side: once re-pointed, packets from any
//   other source (the tail of a prompt vpbx's socket was still sending) are
//   dropped, not relayed to the phone.
// The phone side keeps rtpengine's learning (symmetric RTP, phones behind NAT).
//
// This class speaks SDP and tags, not SIP: the session that owns the dialog
// calls it with the bodies it receives and sends what it returns.
import type { Logger } from "../../util/log.ts";
import { audioTarget, type RtpTarget, retarget } from "./inner-sdp.ts";
import type { RtpengineClient } from "./ng-client.ts";
import type { NgFlag, NgOfferParams } from "./ng-types.ts";

/** The commands a leg sends (an RtpengineClient). */
export type RtpengineLegClient = Pick<RtpengineClient, "offer" | "answer" | "delete">;

export interface RtpengineLegOptions {
  client: RtpengineLegClient;
  /** The rtpengine call of this leg: the leg's own SIP Call-ID (a B2BUA has one per leg). */
  callId: string;
  /** The phone's tag in this leg's dialog. */
  phoneTag: string;
  /** vpbx's tag in this leg's dialog. */
  innerTag: string;
  /** Shown in rtpengine's logs and query output for the phone's side. */
  label?: string;
  log?: Logger;
}

export const PHONE_FLAGS: readonly NgFlag[] = ["port-latching"];
export const INNER_FLAGS: readonly NgFlag[] = ["port-latching", "asymmetric", "strict-source"];
const COMMON = { replace: ["origin", "session-connection"], ICE: "remove" } as const;

/** What re-pointing the inner side did to the phone's view. */
export interface RepointResult {
  /** rtpengine's SDP for the phone after the change. */
  phoneSdp: string;
  /**
   * The phone must be told (a re-INVITE): rtpengine moved the ports the phone sends to.
   * Never seen with `port latching`; reported rather than assumed.
   */
  phoneSdpChanged: boolean;
}

export class RtpengineLeg {
  readonly callId: string;
  private readonly client: RtpengineLegClient;
  private readonly phoneTag: string;
  private readonly innerTag: string;
  private readonly label?: string;
  private readonly log?: Logger;
  /** Who offered last: the answer of a re-point goes the same way. */
  private offerer: "phone" | "inner" | null = null;
  private established = false;
  /** vpbx's own inner SDP (its socket), as last given. */
  private ownInnerSdp: string | null = null;
  /** The phone's SDP, as last given (replayed as its answer when vpbx re-offers). */
  private phoneSdp: string | null = null;
  /** rtpengine's SDP toward the inner side: where the inner side sends. */
  private innerFacingSdp: string | null = null;
  /** rtpengine's SDP toward the phone, as last returned. */
  private phoneFacingSdp: string | null = null;
  /** While bridged: rtpengine's inner port of the other leg; null: vpbx's own socket. */
  private target: RtpTarget | null = null;

  constructor(opts: RtpengineLegOptions) {
    this.client = opts.client;
    this.callId = opts.callId;
    this.phoneTag = opts.phoneTag;
    this.innerTag = opts.innerTag;
    this.label = opts.label;
    this.log = opts.log?.child({ callId: opts.callId });
  }

  /** The phone offered (an INVITE from it, or a re-INVITE): returns the SDP for vpbx's inner side. */
  async phoneOffer(sdp: string): Promise<string> {
    const r = await this.client.offer({
      ...this.base("phone"),
      fromTag: this.phoneTag,
      toTag: this.established ? this.innerTag : undefined,
      sdp,
    });
    this.phoneSdp = sdp;
    this.offerer = "phone";
    this.innerFacingSdp = r.sdp;
    return r.sdp;
  }

  /** vpbx answers the phone's offer with its own inner SDP: returns the SDP for the phone. */
  async innerAnswer(ownSdp: string): Promise<string> {
    if (this.offerer !== "phone") throw new Error("rtpengine leg: innerAnswer without a phone offer");
    const r = await this.client.answer({
      ...this.base("inner"),
      fromTag: this.phoneTag,
      toTag: this.innerTag,
      sdp: this.innerSdp(ownSdp),
    });
    this.ownInnerSdp = ownSdp;
    this.established = true;
    this.phoneFacingSdp = r.sdp;
    return r.sdp;
  }

  /** vpbx offers its inner SDP toward the phone (an INVITE to it): returns the SDP for the phone. */
  async innerOffer(ownSdp: string): Promise<string> {
    const r = await this.client.offer({
      ...this.base("inner"),
      fromTag: this.innerTag,
      toTag: this.established ? this.phoneTag : undefined,
      sdp: this.innerSdp(ownSdp),
    });
    this.ownInnerSdp = ownSdp;
    this.offerer = "inner";
    this.phoneFacingSdp = r.sdp;
    return r.sdp;
  }

  /** The phone answered vpbx's offer: returns the SDP for vpbx's inner side. */
  async phoneAnswer(sdp: string): Promise<string> {
    if (this.offerer !== "inner") throw new Error("rtpengine leg: phoneAnswer without an offer of ours");
    const r = await this.client.answer({
      ...this.base("phone"),
      fromTag: this.innerTag,
      toTag: this.phoneTag,
      sdp,
    });
    this.phoneSdp = sdp;
    this.established = true;
    this.innerFacingSdp = r.sdp;
    return r.sdp;
  }

  /**
   * rtpengine's inner port of this leg: where vpbx's socket sends, and where the other
   * leg's inner side points while bridged.
   */
  innerPort(): RtpTarget {
    if (this.innerFacingSdp === null) throw new Error("rtpengine leg: no SDP from rtpengine yet");
    return audioTarget(this.innerFacingSdp);
  }

  /** Bridged (pointing at another leg) or not. */
  get bridged(): boolean {
    return this.target !== null;
  }

  /**
   * Points the inner side at `target` (another leg's innerPort()), or at vpbx's own socket
   * again (null), by repeating the last exchange with the same tags.
   */
  async pointInnerAt(target: RtpTarget | null): Promise<RepointResult> {
    if (
      !this.established ||
      this.ownInnerSdp === null ||
      this.phoneSdp === null ||
      this.phoneFacingSdp === null
    ) {
      throw new Error("rtpengine leg: the offer/answer is not complete");
    }
    const before = audioTarget(this.phoneFacingSdp);
    const previous = this.target;
    this.target = target;
    let phoneSdp: string;
    try {
      if (this.offerer === "phone") {
        // The phone offered: vpbx repeats its answer, naming the new target.
        const r = await this.client.answer({
          ...this.base("inner"),
          fromTag: this.phoneTag,
          toTag: this.innerTag,
          sdp: this.innerSdp(this.ownInnerSdp),
        });
        phoneSdp = r.sdp;
      } else {
        // vpbx offered: it re-offers naming the new target, and the phone's last answer is
        // replayed, so that rtpengine's offer/answer state is complete again.
        const o = await this.client.offer({
          ...this.base("inner"),
          fromTag: this.innerTag,
          toTag: this.phoneTag,
          sdp: this.innerSdp(this.ownInnerSdp),
        });
        phoneSdp = o.sdp;
        const a = await this.client.answer({
          ...this.base("phone"),
          fromTag: this.innerTag,
          toTag: this.phoneTag,
          sdp: this.phoneSdp,
        });
        this.innerFacingSdp = a.sdp;
      }
    } catch (err) {
      this.target = previous;
      throw err;
    }
    this.phoneFacingSdp = phoneSdp;
    const after = audioTarget(phoneSdp);
    const phoneSdpChanged =
      after.address !== before.address ||
      after.rtpPort !== before.rtpPort ||
      after.rtcpPort !== before.rtcpPort;
    if (phoneSdpChanged) {
      this.log?.warn({ before, after }, "rtpengine moved the phone's ports on a re-point");
    }
    return { phoneSdp, phoneSdpChanged };
  }

  /** Ends this leg's rtpengine call; an already forgotten call (timed out) is not an error. */
  async delete(): Promise<void> {
    const r = await this.client.delete({ callId: this.callId, fatal: false });
    if (r.warning) this.log?.info({ warning: r.warning }, "rtpengine delete");
  }

  /** The SDP the inner side signals: vpbx's own, pointed at the hairpin target while bridged. */
  private innerSdp(ownSdp: string): string {
    return this.target === null ? ownSdp : retarget(ownSdp, this.target);
  }

  private base(
    side: "phone" | "inner",
  ): Pick<NgOfferParams, "callId" | "flags" | "replace" | "ICE" | "label"> {
    return {
      callId: this.callId,
      flags: side === "phone" ? PHONE_FLAGS : INNER_FLAGS,
      ...COMMON,
      label: side === "phone" ? this.label : undefined,
    };
  }
}
