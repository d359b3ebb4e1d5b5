// The two client transaction state machines of RFC 3261 §17.1, with the
// Accepted state of RFC 6026 §7.2 for INVITE so that the 2xx of every fork
// reaches the TU.
import type { Timer } from "../../util/clock.ts";
import { createResponse, getHeader } from "../message/index.ts";
import type { HeaderField, SipRequest, SipResponse } from "../message/types.ts";
import { isReliable, type RemoteAddress } from "../transport/types.ts";
import {
  type ClientTransaction,
  markSynthetic,
  type ResponseHandler,
  type TransactionContext,
} from "./types.ts";

type InviteClientState = "calling" | "proceeding" | "completed" | "accepted" | "terminated";
type NonInviteClientState = "trying" | "proceeding" | "completed" | "terminated";

/** §17.1.1.2 Timer D: at least 32 s on UDP to absorb retransmitted final responses. */
const TIMER_D_MS = 32_000;

/** What §9.1 fixes in a CANCEL: extra fields from the TU never replace these. */
const CANCEL_OWN_HEADERS = new Set(["Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Route"]);

abstract class ClientBase {
  protected done = false;

  constructor(
    protected readonly ctx: TransactionContext,
    readonly request: SipRequest,
    readonly remote: RemoteAddress,
    readonly key: string,
    protected readonly handler: ResponseHandler,
    protected readonly onTerminated: (key: string) => void,
  ) {}

  protected get reliable(): boolean {
    return isReliable(this.remote.transport);
  }

  protected transmit(msg: SipRequest): void {
    this.ctx.transport.send(msg, this.remote, (err) => this.onTransportError(err));
  }

  /** Delivers to the TU without letting its exceptions unwind into the state machine. */
  protected deliver(res: SipResponse): void {
    try {
      this.handler(res);
    } catch (err) {
      this.ctx.log.error({ err, callId: getHeader(this.request, "Call-ID") }, "response handler threw");
    }
  }

  /** A final response that never crossed the network (RFC 3261 §8.1.3.1). */
  protected synthesise(status: number): void {
    this.deliver(markSynthetic(createResponse(this.request, status)));
  }

  abstract onTransportError(err: Error): void;
}

export class InviteClientTransaction extends ClientBase implements ClientTransaction {
  state: InviteClientState = "calling";
  private timerA: Timer | undefined;
  private timerB: Timer | undefined;
  private timerEnd: Timer | undefined;
  private ack: SipRequest | undefined;
  private cancelWanted = false;
  private cancelSent = false;
  /** Extra header fields of the CANCEL (e.g. RFC 3326 Reason), set by cancel(). */
  private cancelHeaders: HeaderField[] = [];

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    remote: RemoteAddress,
    key: string,
    handler: ResponseHandler,
    onTerminated: (key: string) => void,
    private readonly sendCancel: (cancel: SipRequest, remote: RemoteAddress) => void,
  ) {
    super(ctx, request, remote, key, handler, onTerminated);
  }

  start(): void {
    const { T1 } = this.ctx.timers;
    this.transmit(this.request);
    if (!this.reliable) {
      // §17.1.1.2 Timer A: doubles each time, with no cap, until Timer B.
      let interval = T1;
      const fire = () => {
        if (this.state !== "calling") return;
        this.transmit(this.request);
        interval *= 2;
        this.timerA = this.ctx.clock.setTimer(interval, fire);
      };
      this.timerA = this.ctx.clock.setTimer(interval, fire);
    }
    this.timerB = this.ctx.clock.setTimer(64 * T1, () => {
      if (this.state !== "calling") return;
      this.terminate();
      this.synthesise(408);
    });
  }

  cancel(headers: readonly HeaderField[] = []): void {
    if (this.cancelWanted) return;
    this.cancelWanted = true;
    this.cancelHeaders = headers.map((h) => ({ name: h.name, value: h.value }));
    // §9.1: a CANCEL before any provisional may cross the INVITE; it waits.
    if (this.state === "proceeding") this.fireCancel();
  }

  onResponse(res: SipResponse): void {
    const status = res.status;
    switch (this.state) {
      case "calling":
      case "proceeding":
        if (status < 200) {
          this.state = "proceeding";
          this.stopRetransmission();
          this.deliver(res);
          if (this.cancelWanted) this.fireCancel();
        } else if (status < 300) {
          this.state = "accepted";
          this.stopRetransmission();
          // RFC 6026 §7.2 Timer M: further 2xx from other forks still go to the TU.
          this.timerEnd = this.ctx.clock.setTimer(64 * this.ctx.timers.T1, () => this.terminate());
          this.deliver(res);
        } else {
          this.state = "completed";
          this.stopRetransmission();
          this.ack = this.buildAck(res);
          this.transmit(this.ack);
          this.timerEnd = this.ctx.clock.setTimer(this.reliable ? 0 : TIMER_D_MS, () => this.terminate());
          this.deliver(res);
        }
        return;
      case "accepted":
        if (status >= 200 && status < 300) this.deliver(res);
        return;
      case "completed":
        // §17.1.1.2: a retransmitted final response is answered by the same ACK.
        if (status >= 300 && this.ack) this.transmit(this.ack);
        return;
      default:
        return;
    }
  }

  onTransportError(err: Error): void {
    if (this.state !== "calling" && this.state !== "proceeding") return;
    this.ctx.log.info({ err, callId: getHeader(this.request, "Call-ID") }, "INVITE could not be sent");
    this.terminate();
    this.synthesise(503);
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.stopRetransmission();
    this.timerEnd?.cancel();
    this.onTerminated(this.key);
  }

  private stopRetransmission(): void {
    this.timerA?.cancel();
    this.timerB?.cancel();
    this.timerA = undefined;
    this.timerB = undefined;
  }

  /**
   * §17.1.1.3: the ACK of a non-2xx final response belongs to the INVITE
   * transaction: same branch (top Via), Request-URI, Call-ID, From, CSeq
   * number and Route; To from the response, so it carries the To tag.
   */
  private buildAck(res: SipResponse): SipRequest {
    const headers: HeaderField[] = [];
    headers.push(this.request.headers.find((h) => h.name === "Via")!);
    headers.push({ name: "Max-Forwards", value: "70" });
    for (const h of this.request.headers) {
      if (h.name === "From" || h.name === "Call-ID" || h.name === "Route") headers.push(h);
    }
    const to = res.headers.find((h) => h.name === "To");
    if (to) headers.push(to);
    headers.push({ name: "CSeq", value: cseqNumber(this.request) + " ACK" });
    return { type: "request", method: "ACK", uri: this.request.uri, headers, body: Buffer.alloc(0) };
  }

  /**
   * §9.1: the CANCEL has the INVITE's Request-URI, Call-ID, From, To, CSeq
   * number and Route, and only its top Via, so that the server matches it to
   * the INVITE transaction by branch. The TU's extra fields (RFC 3326
   * Reason, "call completed elsewhere") follow: §9.1 allows any header the
   * CANCEL's own semantics do not forbid.
   */
  private fireCancel(): void {
    if (this.cancelSent) return;
    this.cancelSent = true;
    const headers: HeaderField[] = [];
    headers.push(this.request.headers.find((h) => h.name === "Via")!);
    headers.push({ name: "Max-Forwards", value: "70" });
    for (const h of this.request.headers) {
      if (h.name === "From" || h.name === "To" || h.name === "Call-ID" || h.name === "Route") headers.push(h);
    }
    headers.push({ name: "CSeq", value: cseqNumber(this.request) + " CANCEL" });
    for (const h of this.cancelHeaders) if (!CANCEL_OWN_HEADERS.has(h.name)) headers.push(h);
    const cancel: SipRequest = {
      type: "request",
      method: "CANCEL",
      uri: this.request.uri,
      headers,
      body: Buffer.alloc(0),
    };
    this.sendCancel(cancel, this.remote);
  }
}

export class NonInviteClientTransaction extends ClientBase implements ClientTransaction {
  state: NonInviteClientState = "trying";
  private timerE: Timer | undefined;
  private timerF: Timer | undefined;
  private timerK: Timer | undefined;

  start(): void {
    const { T1, T2 } = this.ctx.timers;
    this.transmit(this.request);
    if (!this.reliable) {
      // §17.1.2.2 Timer E: doubles up to T2 while Trying; T2 once Proceeding.
      let interval = T1;
      const fire = () => {
        if (this.state !== "trying" && this.state !== "proceeding") return;
        this.transmit(this.request);
        interval = this.state === "proceeding" ? T2 : Math.min(2 * interval, T2);
        this.timerE = this.ctx.clock.setTimer(interval, fire);
      };
      this.timerE = this.ctx.clock.setTimer(interval, fire);
    }
    this.timerF = this.ctx.clock.setTimer(64 * T1, () => {
      if (this.state !== "trying" && this.state !== "proceeding") return;
      this.terminate();
      this.synthesise(408);
    });
  }

  /** Non-INVITE requests cannot be cancelled in any useful way (RFC 3261 §9.1). */
  cancel(_headers?: readonly HeaderField[]): void {}

  onResponse(res: SipResponse): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    if (res.status < 200) {
      this.state = "proceeding";
      this.deliver(res);
      return;
    }
    this.state = "completed";
    this.timerE?.cancel();
    this.timerF?.cancel();
    // Timer K: absorb retransmitted final responses for T4 on UDP.
    this.timerK = this.ctx.clock.setTimer(this.reliable ? 0 : this.ctx.timers.T4, () => this.terminate());
    this.deliver(res);
  }

  onTransportError(err: Error): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    this.ctx.log.info(
      { err, method: this.request.method, callId: getHeader(this.request, "Call-ID") },
      "request could not be sent",
    );
    this.terminate();
    this.synthesise(503);
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.timerE?.cancel();
    this.timerF?.cancel();
    this.timerK?.cancel();
    this.onTerminated(this.key);
  }
}

function cseqNumber(req: SipRequest): string {
  const value = req.headers.find((h) => h.name === "CSeq")?.value ?? "";
  return value.trim().split(/\s+/)[0] ?? "1";
}
