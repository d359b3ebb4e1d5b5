// The UAC side of an initial INVITE (RFC 3261 §13.2): creates the dialog on
// the first 2xx, acknowledges every 2xx, and ends extra forks (§13.2.2.4).
// With credentials it answers a 401/407 by sending the INVITE again
// (§22.2, §8.1.3.5): one OutgoingInvite for its user across the attempts.
import type { DigestRetry } from "../auth/digest-client.ts";
import { getCSeq, getTo } from "../message/index.ts";
import type { HeaderField, SipRequest, SipResponse } from "../message/types.ts";
import { type ClientTransaction, isSynthetic, type ResponseHandler } from "../transaction/types.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { Dialog } from "./dialog.ts";

export interface InviteEvents {
  onProvisional?(res: SipResponse): void;
  /** Each 2xx of the winning fork: the dialog exists and the ACK is sent. */
  onAnswer?(res: SipResponse, dialog: Dialog): void;
  /**
   * A final non-2xx, including the synthetic 408 and 503 of the transaction
   * layer. A 401/407 that was answered with credentials is not reported: the
   * next attempt's outcome is.
   */
  onFailure?(res: SipResponse): void;
}

/** What an OutgoingInvite needs from its UA core. */
export interface UacCore {
  /** Starts the INVITE client transaction of one attempt. */
  sendInvite(request: SipRequest, remote: RemoteAddress, handler: ResponseHandler): ClientTransaction;
  register(dialog: Dialog): void;
  /** Sends an ACK of a 2xx and remembers it for 2xx retransmissions that arrive later. */
  sendAck(dialog: Dialog, ack: SipRequest, remember: boolean): void;
  /** Ends a dialog we never wanted (a second fork's 2xx). */
  sendBye(dialog: Dialog): void;
  report(what: string, err: unknown): void;
}

/** What an OutgoingInvite reports once its outcome is known: nothing more. */
const SETTLED: InviteEvents = Object.freeze({});

export class OutgoingInvite {
  /** The dialog of the first 2xx. */
  dialog: Dialog | undefined;
  /** Set when a final non-2xx ended the attempt. */
  failure: SipResponse | undefined;
  /** How many times the INVITE was sent again with credentials. */
  authRetries = 0;
  private current: SipRequest;
  private tx: ClientTransaction | undefined;
  private cancelled = false;
  /** ACK per To tag, re-sent when that fork retransmits its 2xx. */
  private readonly acks = new Map<string, { dialog: Dialog; ack: SipRequest }>();

  constructor(
    private readonly core: UacCore,
    request: SipRequest,
    readonly remote: RemoteAddress,
    private events: InviteEvents,
    /** Answers 401/407 challenges; absent: they are failures like any other. */
    private readonly auth?: DigestRetry,
  ) {
    this.current = request;
  }

  /** The INVITE of the current attempt (a retry with credentials has a higher CSeq and a new branch). */
  get request(): SipRequest {
    return this.current;
  }

  /** Sends the current request in a new client transaction. */
  start(): void {
    this.attach(this.core.sendInvite(this.current, this.remote, (res) => this.handle(res)));
  }

  /** Called once the transaction of the current attempt exists. */
  attach(tx: ClientTransaction): void {
    this.tx = tx;
  }

  /**
   * §9.1: CANCEL before a final response; harmless (no-op) afterwards.
   * `headers` go into the CANCEL, e.g. RFC 3326
   * `Reason: SIP;cause=200;text="Call completed elsewhere"` when another
   * fork answered, so that the phone does not count a missed call.
   */
  cancel(headers?: HeaderField[]): void {
    if (this.dialog || this.failure || this.cancelled) return;
    this.cancelled = true;
    this.tx?.cancel(headers);
  }

  /** The transaction's response handler. */
  handle(res: SipResponse): void {
    try {
      if (res.status < 200) {
        this.events.onProvisional?.(res);
      } else if (res.status < 300) {
        this.answered(res);
      } else if (!this.dialog && !this.failure) {
        if (this.retryWithCredentials(res)) return;
        this.failure = res;
        const events = this.events;
        this.settle();
        events.onFailure?.(res);
      }
    } catch (err) {
      this.core.report("INVITE event handler threw", err);
    }
  }

  /**
   * §22.2: a 401/407 with credentials at hand is answered by the same INVITE
   * with CSeq + 1 and the Authorization, in a new transaction (the old one
   * has already acknowledged the 401/407). Not after the user cancelled:
   * the call is no longer wanted, and the challenge is its final answer.
   */
  private retryWithCredentials(res: SipResponse): boolean {
    if (!this.auth || this.cancelled || isSynthetic(res)) return false;
    if (res.status !== 401 && res.status !== 407) return false;
    let next: SipRequest | undefined;
    try {
      next = this.auth.next(this.current, res);
    } catch (err) {
      this.core.report("could not answer the INVITE's challenge", err);
      return false;
    }
    if (!next) return false;
    this.current = next;
    this.authRetries++;
    this.start();
    return true;
  }

  private answered(res: SipResponse): void {
    const toTag = getTo(res).params.tag ?? "";
    const known = this.acks.get(toTag);
    if (known) {
      // A retransmitted 2xx: our ACK was lost; repeat it (§13.2.2.4).
      this.core.sendAck(known.dialog, known.ack, false);
      return;
    }
    const dialog = Dialog.asUac(this.current, res, this.remote);
    const ack = dialog.createRequest("ACK", { cseq: getCSeq(this.current).seq });
    const winner = !this.dialog && !this.failure;
    this.acks.set(toTag, { dialog, ack });
    this.core.sendAck(dialog, ack, winner);
    if (winner) {
      this.dialog = dialog;
      this.core.register(dialog);
      const events = this.events;
      this.settle();
      events.onAnswer?.(res, dialog);
    } else {
      // §13.2.2.4: a second fork answered too; acknowledge it, then end it.
      this.core.sendBye(dialog);
    }
  }

  /**
   * The outcome is reported once: from then on a 2xx retransmission only
   * needs its ACK repeated (acks), and a late fork only a BYE. The TU's
   * handlers go, so that the call they close over can be collected while the
   * transaction still absorbs retransmissions (RFC 6026 §7.2 Timer M, 32 s).
   */
  private settle(): void {
    this.events = SETTLED;
  }
}
