// The two server transaction state machines of RFC 3261 §17.2, with the
// Accepted state of RFC 6026 §7.1 for INVITE: a 2xx no longer ends the
// transaction at once, so that a retransmitted INVITE is absorbed instead of
// reaching the TU as a new call.
import type { Timer } from "../../util/clock.ts";
import { createResponse, getHeader } from "../message/index.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import { responseDestination, topVia } from "../transport/response-destination.ts";
import { isReliable, type RemoteAddress } from "../transport/types.ts";
import type { RespondOptions, ServerTransaction, TransactionContext } from "./types.ts";

/** §17.2.1: the TU has 200 ms to answer before the transaction sends 100 Trying itself. */
const TRYING_DELAY_MS = 200;

type InviteServerState = "proceeding" | "completed" | "confirmed" | "accepted" | "terminated";
type NonInviteServerState = "trying" | "proceeding" | "completed" | "terminated";

abstract class ServerBase {
  protected readonly destination: RemoteAddress;
  protected lastResponse: SipResponse | undefined;

  constructor(
    protected readonly ctx: TransactionContext,
    readonly request: SipRequest,
    readonly remote: RemoteAddress,
    readonly key: string,
    protected readonly onTerminated: (key: string) => void,
  ) {
    this.destination = responseDestination(topVia(request), remote);
  }

  /** The To tag of the last response sent, so that a CANCEL's 200 can carry the same one. */
  get lastToTag(): string | undefined {
    const to = this.lastResponse?.headers.find((h) => h.name === "To")?.value;
    const m = to ? /;\s*tag=([^;,\s]+)/i.exec(to) : null;
    return m ? m[1] : undefined;
  }

  /** For the logs: every line about a call carries its Call-ID. */
  protected get callId(): string | undefined {
    return getHeader(this.request, "Call-ID");
  }

  protected get reliable(): boolean {
    return isReliable(this.remote.transport);
  }

  /** Where responses go (RFC 3261 §18.2.2), worked out once from the request's top Via. */
  get responseDestination(): RemoteAddress {
    return this.destination;
  }

  protected transmit(res: SipResponse): void {
    this.ctx.transport.send(res, this.destination, (err) => {
      // §17.2.4: without a backup destination (RFC 3263) the failure is only logged.
      this.ctx.log.info({ err, status: res.status, callId: this.callId }, "response could not be sent");
    });
  }
}

export class InviteServerTransaction extends ServerBase implements ServerTransaction {
  readonly isInvite = true;
  onCancel?: () => void;
  state: InviteServerState = "proceeding";
  private trying: Timer | undefined;
  private timerG: Timer | undefined;
  private timerH: Timer | undefined;
  private timerEnd: Timer | undefined;

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    remote: RemoteAddress,
    key: string,
    onTerminated: (key: string) => void,
    /** Told once, when the first final response goes out: the TU has answered. */
    private readonly onAnswered?: () => void,
  ) {
    super(ctx, request, remote, key, onTerminated);
    this.trying = ctx.clock.setTimer(TRYING_DELAY_MS, () => {
      this.trying = undefined;
      if (this.state === "proceeding" && !this.lastResponse) this.respond(createResponse(request, 100));
    });
  }

  /** True while the INVITE has had no final response: a CANCEL still means something. */
  get cancellable(): boolean {
    return this.state === "proceeding";
  }

  respond(res: SipResponse, opts: RespondOptions = {}): void {
    this.trying?.cancel();
    this.trying = undefined;
    const { T1, T2 } = this.ctx.timers;
    if (this.state === "accepted" && res.status >= 200 && res.status < 300) {
      // RFC 6026 §7.1: the TU retransmits its 2xx through the Accepted state.
      this.lastResponse = res;
      this.transmit(res);
      return;
    }
    if (this.state !== "proceeding") {
      this.ctx.log.debug(
        { status: res.status, state: this.state },
        "late response on INVITE transaction ignored",
      );
      return;
    }
    this.lastResponse = res;
    this.transmit(res);
    if (res.status < 200) return;
    // §9.2: after a final response a CANCEL no longer affects the INVITE.
    // Dropping the TU's handler also lets the call it belongs to be
    // collected while the transaction absorbs retransmissions (Timer L, I).
    this.onCancel = undefined;
    this.onAnswered?.();
    if (res.status < 300) {
      this.state = "accepted";
      // RFC 6026 §8.7 Timer L.
      this.timerEnd = this.ctx.clock.setTimer(64 * T1, () => this.terminate());
      return;
    }
    this.state = "completed";
    if (!this.reliable && opts.retransmit !== false) {
      // §17.2.1 Timer G: retransmit the final response, backing off to T2.
      let interval = T1;
      const fire = () => {
        if (this.state !== "completed" || !this.lastResponse) return;
        this.transmit(this.lastResponse);
        interval = Math.min(2 * interval, T2);
        this.timerG = this.ctx.clock.setTimer(interval, fire);
      };
      this.timerG = this.ctx.clock.setTimer(interval, fire);
    }
    // Timer H: no ACK ever came; give up.
    this.timerH = this.ctx.clock.setTimer(64 * T1, () => {
      this.ctx.log.info(
        { status: res.status, callId: this.callId },
        "no ACK for final INVITE response (Timer H)",
      );
      this.terminate();
    });
  }

  /** A retransmission of the INVITE: re-send the last provisional or final response. */
  onRetransmission(): void {
    if ((this.state === "proceeding" || this.state === "completed") && this.lastResponse) {
      this.transmit(this.lastResponse);
    }
  }

  /**
   * An ACK that matched this transaction. Returns true when the ACK belongs
   * to the TU (the ACK of a 2xx, RFC 6026 §7.1), false when absorbed here.
   */
  onAck(): boolean {
    if (this.state === "accepted") return true;
    if (this.state !== "completed") return false;
    this.state = "confirmed";
    this.timerG?.cancel();
    this.timerH?.cancel();
    // Timer I: absorb further ACK retransmissions for T4 on UDP.
    this.timerEnd = this.ctx.clock.setTimer(this.reliable ? 0 : this.ctx.timers.T4, () => this.terminate());
    return false;
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.trying?.cancel();
    this.timerG?.cancel();
    this.timerH?.cancel();
    this.timerEnd?.cancel();
    this.onTerminated(this.key);
  }
}

/**
 * Hands a non-INVITE transaction's Completed state over UDP to its layer,
 * which keeps only what a retransmission needs (completed-responses.ts).
 */
export type CompletedHandler = (tx: NonInviteServerTransaction, res: SipResponse) => void;

export class NonInviteServerTransaction extends ServerBase implements ServerTransaction {
  readonly isInvite = false;
  state: NonInviteServerState = "trying";

  constructor(
    ctx: TransactionContext,
    request: SipRequest,
    remote: RemoteAddress,
    key: string,
    onTerminated: (key: string) => void,
    private readonly onCompleted: CompletedHandler,
  ) {
    super(ctx, request, remote, key, onTerminated);
  }

  /** The options are for INVITE; a non-INVITE final response is sent once and repeated only on request. */
  respond(res: SipResponse, _opts?: RespondOptions): void {
    if (this.state === "completed" || this.state === "terminated") {
      this.ctx.log.debug({ status: res.status }, "late response on non-INVITE transaction ignored");
      return;
    }
    this.lastResponse = res;
    this.transmit(res);
    if (res.status < 200) {
      this.state = "proceeding";
      return;
    }
    this.state = "completed";
    // §17.2.2: over a reliable transport Timer J is zero, the transaction ends now.
    if (this.reliable) {
      this.terminate();
      return;
    }
    // Over UDP the layer absorbs retransmissions until Timer J (64·T1) from
    // the serialised response alone; this object, with the parsed request
    // and response, is done and can be collected once the TU lets it go.
    this.state = "terminated";
    this.lastResponse = undefined;
    this.onCompleted(this, res);
  }

  onRetransmission(): void {
    if (this.lastResponse && (this.state === "proceeding" || this.state === "completed")) {
      this.transmit(this.lastResponse);
    }
  }

  terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.onTerminated(this.key);
  }
}
