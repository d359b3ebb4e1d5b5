// The faces of RFC 3261 §17 transactions that the transaction user sees.
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { HeaderField, SipRequest, SipResponse } from "../message/types.ts";
import type { RemoteAddress, SipTransport } from "../transport/types.ts";

/** RFC 3261 §17.1.1.1 timer base values, in milliseconds. */
export interface TimerValues {
  T1: number;
  T2: number;
  T4: number;
}

export const DEFAULT_TIMERS: TimerValues = { T1: 500, T2: 4000, T4: 5000 };

export interface ServerTransaction {
  readonly request: SipRequest;
  /** Where the request came from (responses go per RFC 3261 §18.2.2 from there). */
  readonly remote: RemoteAddress;
  readonly isInvite: boolean;
  /** Sends a response; a final response moves the transaction to Completed (or Accepted for a 2xx to INVITE). */
  respond(res: SipResponse, opts?: RespondOptions): void;
  /** Set by the TU: a CANCEL matched this INVITE before its final response (RFC 3261 §9.2). */
  onCancel?: () => void;
}

/** How one response is sent by its server transaction. */
export interface RespondOptions {
  /**
   * INVITE over UDP, final non-2xx response: `false` sends it once, without
   * the Timer G retransmissions of RFC 3261 §17.2.1 (11 copies over 32 s).
   * For answers to senders that have not authenticated (a 401/407 challenge):
   * their Via may be forged, and one datagram must not make eleven toward
   * whoever it names. Nothing is lost for a real client: if the response is
   * lost, its own INVITE retransmissions (Timer A) reach the transaction,
   * which answers each of them again. Default true.
   */
  retransmit?: boolean;
}

export interface ClientTransaction {
  readonly request: SipRequest;
  /**
   * INVITE only: sends a CANCEL (RFC 3261 §9.1) once a provisional response
   * has arrived; before that the CANCEL waits for one; after a final response
   * it does nothing. `headers` are added to the CANCEL, e.g. RFC 3326
   * `Reason: SIP;cause=200;text="Call completed elsewhere"`; the fields §9.1
   * copies from the INVITE cannot be overridden.
   */
  cancel(headers?: readonly HeaderField[]): void;
}

export type ResponseHandler = (res: SipResponse) => void;

/** What the transaction state machines share with their layer. */
export interface TransactionContext {
  readonly transport: SipTransport;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timers: TimerValues;
}

const synthetic = new WeakSet<SipResponse>();

/**
 * Marks a response that the transaction layer made up (408 on timeout, 503 on
 * a transport failure, RFC 3261 §8.1.3.1); such a response never crossed the
 * network and must not be relayed as if it had.
 */
export function markSynthetic(res: SipResponse): SipResponse {
  synthetic.add(res);
  return res;
}

export function isSynthetic(res: SipResponse): boolean {
  return synthetic.has(res);
}
