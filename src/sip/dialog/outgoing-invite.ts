// The UAC side of an initial INVITE (RFC 3261 §13.2): creates the dialog on
// the first 2xx, acknowledges every 2xx, and ends extra forks (§13.2.2.4).
import { getCSeq, getTo } from "../message/index.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import type { ClientTransaction } from "../transaction/types.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { Dialog } from "./dialog.ts";

export interface InviteEvents {
  onProvisional?(res: SipResponse): void;
  /** Each 2xx of the winning fork: the dialog exists and the ACK is sent. */
  onAnswer?(res: SipResponse, dialog: Dialog): void;
  /** A final non-2xx, including the synthetic 408 and 503 of the transaction layer. */
  onFailure?(res: SipResponse): void;
}

/** What an OutgoingInvite needs from its UA core. */
export interface UacCore {
  register(dialog: Dialog): void;
  /** Sends an ACK of a 2xx and remembers it for 2xx retransmissions that arrive later. */
  sendAck(dialog: Dialog, ack: SipRequest, remember: boolean): void;
  /** Ends a dialog we never wanted (a second fork's 2xx). */
  sendBye(dialog: Dialog): void;
  report(what: string, err: unknown): void;
}

export class OutgoingInvite {
  /** The dialog of the first 2xx. */
  dialog: Dialog | undefined;
  /** Set when a final non-2xx ended the attempt. */
  failure: SipResponse | undefined;
  private tx: ClientTransaction | undefined;
  /** ACK per To tag, re-sent when that fork retransmits its 2xx. */
  private readonly acks = new Map<string, { dialog: Dialog; ack: SipRequest }>();

  constructor(
    private readonly core: UacCore,
    readonly request: SipRequest,
    readonly remote: RemoteAddress,
    private readonly events: InviteEvents,
  ) {}

  /** Called by the UA core once the transaction exists. */
  attach(tx: ClientTransaction): void {
    this.tx = tx;
  }

  /** §9.1: CANCEL before a final response; harmless (no-op) afterwards. */
  cancel(): void {
    if (this.dialog || this.failure) return;
    this.tx?.cancel();
  }

  /** The transaction's response handler. */
  handle(res: SipResponse): void {
    try {
      if (res.status < 200) {
        this.events.onProvisional?.(res);
      } else if (res.status < 300) {
        this.answered(res);
      } else if (!this.dialog && !this.failure) {
        this.failure = res;
        this.events.onFailure?.(res);
      }
    } catch (err) {
      this.core.report("INVITE event handler threw", err);
    }
  }

  private answered(res: SipResponse): void {
    const toTag = getTo(res).params.tag ?? "";
    const known = this.acks.get(toTag);
    if (known) {
      // A retransmitted 2xx: our ACK was lost; repeat it (§13.2.2.4).
      this.core.sendAck(known.dialog, known.ack, false);
      return;
    }
    const dialog = Dialog.asUac(this.request, res, this.remote);
    const ack = dialog.createRequest("ACK", { cseq: getCSeq(this.request).seq });
    const winner = !this.dialog && !this.failure;
    this.acks.set(toTag, { dialog, ack });
    this.core.sendAck(dialog, ack, winner);
    if (winner) {
      this.dialog = dialog;
      this.core.register(dialog);
      this.events.onAnswer?.(res, dialog);
    } else {
      // §13.2.2.4: a second fork answered too; acknowledge it, then end it.
      this.core.sendBye(dialog);
    }
  }
}
