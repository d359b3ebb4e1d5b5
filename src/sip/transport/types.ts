// What the transport hands upwards and what it needs to send a message back.
import type { SipMessage, SipParseError } from "../message/types.ts";

/** WS and WSS: SIP over WebSocket (RFC 7118), accepted on the HTTP(S) port. */
export type TransportName = "UDP" | "TCP" | "TLS" | "WS" | "WSS";

/**
 * The port a URI or Via without one means: 5061 for TLS, else 5060 (RFC
 * 3261 §19.1.2); 80 and 443 for WS and WSS, the HTTP ports a WebSocket URI
 * defaults to (RFC 6455 §3, RFC 7118 §5.2).
 */
export function defaultPort(transport: string): number {
  switch (transport.toUpperCase()) {
    case "TLS":
      return 5061;
    case "WS":
      return 80;
    case "WSS":
      return 443;
    default:
      return 5060;
  }
}

/**
 * WebSocket transports: a WebSocket server never opens a connection to a
 * client (RFC 7118 §5: the client opens it), so a peer reached over WS is
 * reached over the connection it opened, or not at all.
 */
export function isWebSocket(transport: TransportName): transport is "WS" | "WSS" {
  return transport === "WS" || transport === "WSS";
}

/** The peer of one message: where it came from, or where it must go. */
export interface RemoteAddress {
  transport: TransportName;
  /** IP literal without brackets ("192.0.2.1", "2001:db8::1"). */
  address: string;
  port: number;
  /** The TCP, TLS or WebSocket connection the message came in on; reused for responses and in-dialog requests while open. */
  connectionId?: number;
  /**
   * TLS only, for a connection we open: the name the peer's certificate must
   * carry (a trunk's host name or address), verified against the system's
   * CAs. Unset: the certificate is not verified (phones rarely have one that
   * a CA signed). Ignored when a connection is already open.
   */
  tlsVerifyName?: string;
}

export interface ReceivedMessage {
  message: SipMessage;
  remote: RemoteAddress;
}

/** Called when a message could not be handed to the network (connect refused, socket closed...). */
export type SendErrorHandler = (err: Error) => void;

/**
 * What the transaction layer needs from a transport. The real one is
 * TransportLayer; tests use a fake that records what was sent.
 */
export interface SipTransport {
  readonly publicAddress: string;
  readonly port: number;
  onMessage: (m: ReceivedMessage) => void;
  onParseError: (err: SipParseError, remote: RemoteAddress) => void;
  /**
   * Sends one message. Never throws for network reasons: failures are logged
   * and reported through `onError` (asynchronously for TCP connects).
   */
  send(msg: SipMessage, remote: RemoteAddress, onError?: SendErrorHandler): void;
  /**
   * The peer at `remote` has authenticated: a stream connection it came on is
   * kept for the long idle timeout. Optional: fakes and UDP-only transports
   * have nothing to do.
   */
  markAuthenticated?(remote: RemoteAddress): void;
  /**
   * The port we listen on for `transport`, for our Via sent-by and Contact
   * (the TLS listener has its own, RFC 3261 §26.2); undefined when we do not
   * listen on it. Optional: fakes listen on `port` only.
   */
  portFor?(transport: TransportName): number | undefined;
}

/** Reliable transports carry their own retransmission (RFC 3261 §17.1.1.2, §17.1.2.2). */
export function isReliable(transport: TransportName): boolean {
  return transport !== "UDP";
}

/**
 * The hop is encrypted (RFC 3261 §26.2: TLS; RFC 7118 §10: a WebSocket over
 * TLS). Keys exchanged in SDP (SDES) are only taken over such a hop.
 */
export function isEncrypted(transport: TransportName): boolean {
  return transport === "TLS" || transport === "WSS";
}
