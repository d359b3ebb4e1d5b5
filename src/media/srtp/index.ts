// The SRTP room's public face: SRTP/SRTCP protection under one master key
// per direction (RFC 3711, RFC 7714) and SDES keying (RFC 4568). Pure: no
// sockets, no SDP bodies beyond the a=crypto lines.
export { deriveSessionKeys, type SessionKeys, type SrtpSessionKeys } from "./key-derivation.ts";
export {
  isSrtpProfile,
  PROFILES,
  type ProfileParameters,
  SRTCP_MAX_OVERHEAD,
  SRTP_MAX_OVERHEAD,
  SRTP_PROFILES,
  type SrtpProfile,
} from "./profiles.ts";
export { REPLAY_WINDOW_SIZE } from "./replay-window.ts";
export {
  cryptoAttributesByMedia,
  formatCryptoAttribute,
  parseCryptoAttribute,
  type SdesCrypto,
  type SdesParseResult,
  type SdesRejection,
} from "./sdes.ts";
export {
  acceptAnswerCrypto,
  answerCrypto,
  generateCrypto,
  offerCrypto,
  SDES_PREFERENCE,
  type SdesAgreement,
  type SdesAnswer,
  type SdesAnswerCheck,
  type SdesAnswerResult,
  type SdesRejectedLine,
} from "./sdes-negotiation.ts";
export {
  type SrtpMasterKey,
  type SrtpProtectFailure,
  SrtpSession,
  type SrtpSessionOptions,
  type SrtpUnprotectFailure,
} from "./srtp-session.ts";
