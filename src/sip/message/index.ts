// The SIP message room: parse and serialise SIP (RFC 3261 §7, §25).

export { createRequest, createResponse, newBranch, newCallId, newTag, reasonPhrase } from "./build.ts";
export { StreamFramer, type StreamLimits } from "./framer.ts";
export {
  addHeader,
  canonicalHeaderName,
  getCallId,
  getContacts,
  getContentType,
  getCSeq,
  getExpires,
  getFrom,
  getHeader,
  getHeaders,
  getMaxForwards,
  getRecordRoutes,
  getRoutes,
  getTo,
  getTopVia,
  getVias,
  isListHeader,
  parseCSeq,
  prependHeader,
  removeHeader,
  setHeader,
  splitList,
} from "./headers.ts";
export { formatNameAddr, parseNameAddr } from "./name-addr.ts";
export { parseMessage } from "./parse.ts";
export { serializeMessage } from "./serialize.ts";
export type {
  CSeq,
  HeaderField,
  NameAddr,
  Params,
  SipMessage,
  SipRequest,
  SipResponse,
  SipUri,
  Via,
} from "./types.ts";
export { LIMITS, SipParseError } from "./types.ts";
export { formatUri, parseUri, unescapeUri, uriEquals } from "./uri.ts";
export { formatVia, parseVia } from "./via.ts";
