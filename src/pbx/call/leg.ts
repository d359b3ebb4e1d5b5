// One side of a call through the PBX: the dialog with one party, the RTP
// port of ours that this party talks to, and our SDP origin toward it. The
// B2BUA has two of them when bridged; a transfer moves them between calls.
import type { MediaLeg } from "../../media/rtp/media-leg.ts";
import type { MediaDescription, SdpSession } from "../../media/sdp/index.ts";
import type { Dialog } from "../../sip/dialog/index.ts";
import type { Trunk } from "../../store/types.ts";
import type { Party } from "./steps.ts";

export class Leg {
  dialog: Dialog | undefined;
  /**
   * This party's media as it last described it (where it receives, with the
   * codec agreed): the codec an app speaks to it, or offers on its behalf.
   */
  media: MediaDescription | undefined;
  /** We put this party on hold for the other one (a relayed hold offer); a transfer takes it off. */
  held = false;

  constructor(
    readonly rtp: MediaLeg,
    /** Our origin toward this party: one per side, versions rising (RFC 3264 §8). */
    readonly sdp: SdpSession,
    public party: Party,
    /** Set when the party is one of the tenant's phones. */
    readonly extension: string | undefined,
    /** Set when the party is on the public network. */
    readonly trunk: Trunk | undefined,
  ) {}

  get callId(): string {
    return this.dialog?.callId ?? "";
  }
}
