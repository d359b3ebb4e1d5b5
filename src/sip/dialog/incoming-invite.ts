// The UAS side of an initial INVITE (RFC 3261 §13.3): provisional answers,
// the 2xx that creates the dialog, rejection, and CANCEL (§9.2).
import { createResponse, formatNameAddr, getCSeq, newTag } from "../message/index.ts";
import type { HeaderField, NameAddr, SipRequest, SipResponse } from "../message/types.ts";
import type { ServerTransaction } from "../transaction/types.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { Dialog } from "./dialog.ts";

export type IncomingInviteState = "received" | "early" | "accepted" | "confirmed" | "rejected" | "cancelled";

export interface BodyOptions {
  body?: Buffer;
  contentType?: string;
  headers?: HeaderField[];
}

/** What an IncomingInvite needs from its UA core. */
export interface UasCore {
  contactFor(remote: RemoteAddress): NameAddr;
  register(dialog: Dialog): void;
  /** Sends the 2xx and repeats it until the ACK (§13.3.1.4). */
  sendAnswer(
    tx: ServerTransaction,
    dialog: Dialog,
    res: SipResponse,
    onAck: (ack: SipRequest) => void,
    onTimeout: () => void,
  ): void;
}

export class IncomingInvite {
  state: IncomingInviteState = "received";
  /** Our To tag, the same on every provisional and the final response. */
  readonly localTag = newTag();
  dialog: Dialog | undefined;
  /** The caller cancelled; the UA core has already answered 487. */
  onCancel?: () => void;
  /** The ACK of our 2xx arrived. */
  onAck?: (ack: SipRequest) => void;
  /** No ACK within 64·T1 of the 2xx: the TU should send BYE (§13.3.1.4). */
  onAckTimeout?: () => void;

  constructor(
    private readonly core: UasCore,
    readonly request: SipRequest,
    readonly tx: ServerTransaction,
  ) {
    tx.onCancel = () => this.cancelled();
  }

  get remote(): RemoteAddress {
    return this.tx.remote;
  }

  /** True until a final response went out. */
  get pending(): boolean {
    return this.state === "received" || this.state === "early";
  }

  /** A provisional response with our To tag: 180 Ringing, or 183 with early media SDP. */
  ringing(status = 180, opts: BodyOptions = {}): void {
    if (!this.pending) return;
    if (status <= 100 || status >= 200) throw new RangeError("ringing() takes a 101-199 status");
    const headers: HeaderField[] = [
      ...this.recordRoute(),
      { name: "Contact", value: this.contactValue() },
      ...(opts.headers ?? []),
    ];
    this.tx.respond(
      createResponse(this.request, status, undefined, {
        toTag: this.localTag,
        headers,
        body: opts.body,
        contentType: opts.contentType,
      }),
    );
    this.state = "early";
  }

  /** Sends 200 OK with Contact and the answer, and creates the dialog (§12.1.1). */
  accept(opts: { body: Buffer; contentType: string; headers?: HeaderField[] }): Dialog {
    if (!this.pending) throw new Error("INVITE already answered (" + this.state + ")");
    const localContact = this.core.contactFor(this.remote);
    const dialog = Dialog.asUas(this.request, this.localTag, localContact, this.remote);
    const res = createResponse(this.request, 200, undefined, {
      toTag: this.localTag,
      headers: [
        ...this.recordRoute(),
        { name: "Contact", value: this.contactValue() },
        ...(opts.headers ?? []),
      ],
      body: opts.body,
      contentType: opts.contentType,
    });
    this.dialog = dialog;
    this.state = "accepted";
    this.core.register(dialog);
    this.core.sendAnswer(
      this.tx,
      dialog,
      res,
      (ack) => {
        this.state = "confirmed";
        this.onAck?.(ack);
      },
      () => this.onAckTimeout?.(),
    );
    return dialog;
  }

  /** A final non-2xx response (486 Busy Here, 480, 603...). */
  reject(status: number, opts: { reason?: string; headers?: HeaderField[] } = {}): void {
    if (!this.pending) return;
    if (status < 300 || status > 699) throw new RangeError("reject() takes a 300-699 status");
    this.tx.respond(
      createResponse(this.request, status, opts.reason, { toTag: this.localTag, headers: opts.headers }),
    );
    this.state = "rejected";
  }

  get cseq(): number {
    return getCSeq(this.request).seq;
  }

  /**
   * RFC 3261 §12.1.1: a response that creates a dialog carries the
   * request's Record-Route, in order, so that the caller learns the route
   * set too; without it a caller behind a record-routing proxy (Kamailio in
   * front of the nodes) sends its ACK and BYE around the proxy.
   */
  private recordRoute(): HeaderField[] {
    return this.request.headers.filter((h) => h.name === "Record-Route");
  }

  private contactValue(): string {
    return formatNameAddr(this.core.contactFor(this.remote));
  }

  /** §9.2: the transaction layer answered 200 to the CANCEL; the INVITE gets 487. */
  private cancelled(): void {
    if (!this.pending) return;
    this.tx.respond(createResponse(this.request, 487, undefined, { toTag: this.localTag }));
    this.state = "cancelled";
    this.onCancel?.();
  }
}
