// The SDP room's public face: offer/answer for legs we terminate, rewriting
// for the B2BUA, and per-side origin versioning.
export { type AnswerOptions, answerOffer } from "./answer.ts";
export { createOffer, type OfferOptions, parseAnswer } from "./offer.ts";
export {
  type FilterOptions,
  filterOffer,
  isHold,
  offersEncryptedMedia,
  type RewriteOptions,
  rewriteAnswer,
  sdpDirection,
} from "./rewrite.ts";
export { readOffer, SdpSession, type SdpSessionOptions } from "./session.ts";
export { type Direction, type G711Codec, type MediaDescription, SdpError } from "./types.ts";
