// SIP transports (RFC 3261 §18): UDP and TCP on one port.
export { responseDestination, topVia, unbracket } from "./response-destination.ts";
export { sourceKey } from "./source-key.ts";
export { stampReceived, TCP_DEFAULTS, TransportLayer, type TransportOptions } from "./transport-layer.ts";
export {
  isReliable,
  type ReceivedMessage,
  type RemoteAddress,
  type SendErrorHandler,
  type SipTransport,
  type TransportName,
} from "./types.ts";
