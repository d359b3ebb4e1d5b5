// SIP transports (RFC 3261 §18): UDP and TCP on one port, TLS on its own (§26.2, RFC 5630),
// WebSocket on the HTTP port (RFC 7118).
export { responseDestination, topVia, unbracket } from "./response-destination.ts";
export { sourceKey } from "./source-key.ts";
export {
  serverSecureContext,
  serverTlsOptions,
  TLS_POLL_MS,
  TLS_VERSIONS,
  TlsCredentials,
  type TlsCredentialsOptions,
} from "./tls-credentials.ts";
export { stampReceived, TCP_DEFAULTS, TransportLayer, type TransportOptions } from "./transport-layer.ts";
export {
  defaultPort,
  isReliable,
  isWebSocket,
  type ReceivedMessage,
  type RemoteAddress,
  type SendErrorHandler,
  type SipTransport,
  type TransportName,
} from "./types.ts";
export { remoteOfUri, transportOfUri } from "./uri-destination.ts";
export {
  SIP_WEBSOCKET_PROTOCOL,
  type WebSocketData,
  type WebSocketLike,
} from "./web-socket.ts";
