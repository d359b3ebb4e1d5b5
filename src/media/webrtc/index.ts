// The WebRTC room's public face: browser legs terminated by us (ICE-lite,
// DTLS-SRTP, SRTP with rtcp-mux over one UDP port) and their SDP. It knows
// no SIP and no tenants; the PBX picks a WebRtcTransport for a leg whose SDP
// is a browser's (isWebRtcSdp) and uses it where it would use an RtpLeg.
export { type DatagramPort, type RemoteAddress, udpSocketPort } from "./datagram-port.ts";
export { classifyPacket, type PacketKind } from "./demux.ts";
export {
  certificateFingerprint,
  createDtlsCertificate,
  type DtlsCertificate,
  type DtlsFingerprint,
  formatFingerprint,
  matchesFingerprint,
  parseFingerprint,
  processDtlsCertificate,
} from "./dtls-certificate.ts";
export { DtlsFailure, type DtlsFailureReason } from "./dtls-server-endpoint.ts";
export { splitDtlsSrtpKeys } from "./dtls-srtp-keys.ts";
export { generateIceCredentials, type IceCredentials } from "./ice-lite.ts";
export {
  answerWebRtcOffer,
  createWebRtcOffer,
  type DeclinedSection,
  type DtlsSetup,
  isWebRtcProtocol,
  isWebRtcSdp,
  type RemoteCandidate,
  readWebRtcAnswer,
  readWebRtcOffer,
  type WebRtcAnswerOptions,
  type WebRtcDescription,
  type WebRtcLocalParameters,
  type WebRtcOfferOptions,
  type WebRtcRemoteParameters,
} from "./webrtc-sdp.ts";
export {
  type WebRtcLegTransport,
  WebRtcSdpSession,
  type WebRtcSdpSessionOptions,
} from "./webrtc-sdp-session.ts";
export {
  type WebRtcConnection,
  type WebRtcCounters,
  WebRtcFailure,
  type WebRtcFailureReason,
  type WebRtcState,
  WebRtcTransport,
  type WebRtcTransportOptions,
} from "./webrtc-transport.ts";
