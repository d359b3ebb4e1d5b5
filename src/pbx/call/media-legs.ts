// RTP port pairs for call legs, from the pool of VPBX_RTP_PORTS. A call
// takes its legs here and gives them back when it ends, whatever the path.
import type { RtpLeg } from "../../media/rtp/rtp-leg.ts";

export interface MediaLegs {
  /** Our address as written in SDP. */
  readonly address: string;
  allocate(): Promise<RtpLeg>;
  release(leg: RtpLeg): void;
}
