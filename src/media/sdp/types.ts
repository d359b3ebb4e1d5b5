// What the media rooms need to know from an SDP body, and the one error the
// PBX turns into 488 Not Acceptable Here (RFC 3261 §21.4.26).
import type { G711Codec } from "../codec/g711.ts";
import type { SdesAgreement } from "../srtp/index.ts";

export type { G711Codec };

export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/**
 * One audio stream as described by the SDP of one side. For an offer or
 * answer received from a phone it says where to send RTP (`address`,
 * `port`, `rtcpPort`) and with which payload numbers (`payloadType`,
 * `telephoneEventPt`), which are the numbers that side chose (RFC 3264 §6.1).
 * `direction` is that side's own view: "sendonly" means it will send and
 * does not want to receive (hold, RFC 3264 §8.4); the RFC 2543 hold
 * `c=0.0.0.0` is folded into it ("sendrecv" becomes "sendonly", "recvonly"
 * becomes "inactive").
 */
export interface MediaDescription {
  codec: G711Codec;
  payloadType: number;
  telephoneEventPt?: number;
  address: string;
  port: number;
  rtcpPort: number;
  direction: Direction;
  ptime?: number;
  /**
   * SRTP keys of this leg (SDES, RFC 4568) when its stream is encrypted:
   * `local` protects what we send to the phone, `remote` unprotects what it
   * sends. Set by the side of the leg that negotiated them (SdpSession).
   */
  srtp?: SdesAgreement;
}

/** The SDP cannot be accepted: unparsable, no audio, no common codec. Maps to 488. */
export class SdpError extends Error {
  /** The SIP status the PBX answers with (RFC 3261 §21.4.26). */
  readonly status = 488;

  constructor(message: string) {
    super(message);
    this.name = "SdpError";
  }
}
