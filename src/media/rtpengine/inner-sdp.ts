// The two SDP operations of the rtpengine splice (docs/RTPENGINE.md): reading
// where an SDP says to send audio, and pointing an SDP of ours at another
// address — rtpengine's inner port of the other leg while bridged, our own
// socket again after. Everything else of the SDP (codecs, payload numbers,
// direction) stays as it was, so rtpengine sees no renegotiation of codecs and
// keeps forwarding packets as they are.
import { parse, write } from "sdp-transform";

/** Where RTP and RTCP of one audio stream go. */
export interface RtpTarget {
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

export class InnerSdpError extends Error {
  constructor(message: string) {
    super(`rtpengine splice: ${message}`);
    this.name = "InnerSdpError";
  }
}

type Session = ReturnType<typeof parse>;
type Media = Session["media"][number];

function firstAudio(session: Session): Media {
  const audio = session.media.find((m) => m.type === "audio" && m.port !== 0);
  if (!audio) throw new InnerSdpError("the SDP has no active audio stream");
  return audio;
}

/** The address and ports an SDP asks audio to be sent to (RFC 4566 §5.7, §5.14; RFC 3605 a=rtcp). */
export function audioTarget(sdp: string): RtpTarget {
  const session = parse(sdp);
  const audio = firstAudio(session);
  const address = audio.connection?.ip ?? session.connection?.ip;
  if (!address) throw new InnerSdpError("the SDP has no c= line for its audio");
  // RFC 3550 §11: without a=rtcp, RTCP is on the next port up.
  const rtcpPort = audio.rtcp?.port ?? audio.port + 1;
  return { address, rtpPort: audio.port, rtcpPort };
}

/**
 * `sdp` with its first audio stream pointed at `target`: c= (session level, the
 * media level one removed), m= port and a=rtcp replaced, and the o= version
 * incremented, since the description changed (RFC 3264 §8).
 */
export function retarget(sdp: string, target: RtpTarget): string {
  const session = parse(sdp);
  const audio = firstAudio(session);
  const ipVer = target.address.includes(":") ? 6 : 4;
  session.connection = { version: ipVer, ip: target.address };
  audio.connection = undefined;
  audio.port = target.rtpPort;
  audio.rtcp = { port: target.rtcpPort, netType: "IN", ipVer, address: target.address };
  if (session.origin) {
    session.origin.sessionVersion = Number(session.origin.sessionVersion) + 1;
  }
  return write(session);
}
