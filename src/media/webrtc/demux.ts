// One UDP port carries STUN, DTLS, SRTP and SRTCP for a WebRTC leg (BUNDLE
// and rtcp-mux): the first byte tells them apart (RFC 7983 §7), and within
// RTP's range the second byte tells RTCP from RTP (RFC 5761 §4).

export type PacketKind = "stun" | "dtls" | "rtp" | "rtcp" | "unknown";

/**
 * RFC 7983 §7: 0–3 STUN, 16–19 ZRTP, 20–63 DTLS, 64–79 TURN channels,
 * 128–191 RTP/RTCP. Within RTP/RTCP, RFC 5761 §4: RTCP packet types 192–223
 * (SR, RR, SDES, BYE, APP, the feedback and XR types) sit where an RTP
 * packet has its marker bit and payload type, which is why those payload
 * types (64–95 with the marker) are never used on a multiplexed port. ZRTP
 * and TURN channels are not used by a WebRTC leg: "unknown".
 */
export function classifyPacket(buf: Uint8Array, len = buf.length): PacketKind {
  if (len < 1) return "unknown";
  const b = buf[0];
  if (b <= 3) return "stun";
  if (b >= 20 && b <= 63) return "dtls";
  if (b >= 128 && b <= 191) {
    if (len < 2) return "unknown";
    const pt = buf[1];
    return pt >= 192 && pt <= 223 ? "rtcp" : "rtp";
  }
  return "unknown";
}
