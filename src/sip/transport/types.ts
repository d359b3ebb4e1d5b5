// What the transport hands upwards and what it needs to send a message back.
import type { SipMessage, SipParseError } from "../message/types.ts";

export type TransportName = "UDP" | "TCP";

/** The peer of one message: where it came from, or where it must go. */
export interface RemoteAddress {
  transport: TransportName;
  /** IP literal without brackets ("192.0.2.1", "2001:db8::1"). */
  address: string;
  port: number;
  /** The TCP connection the message came in on; reused for responses and in-dialog requests while open. */
  connectionId?: number;
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
}

/** Reliable transports carry their own retransmission (RFC 3261 §17.1.1.2, §17.1.2.2). */
export function isReliable(transport: TransportName): boolean {
  return transport !== "UDP";
}
