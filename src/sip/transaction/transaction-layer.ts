// RFC 3261 §17: matches what the transport delivers to transactions, runs
// their timers on the injected clock, and hands the TU what is new.
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import {
  createResponse,
  getHeader,
  newBranch,
  newTag,
  parseMessage,
  prependHeader,
  serializeMessage,
} from "../message/index.ts";
import type { SipMessage, SipParseError, SipRequest, SipResponse } from "../message/types.ts";
import { responseDestination, topVia } from "../transport/response-destination.ts";
import { stampReceived } from "../transport/transport-layer.ts";
import type { ReceivedMessage, RemoteAddress, SipTransport } from "../transport/types.ts";
import { InviteClientTransaction, NonInviteClientTransaction } from "./client-transaction.ts";
import { type CompletedLimits, CompletedResponses, DEFAULT_COMPLETED_LIMITS } from "./completed-responses.ts";
import { clientKey, MAGIC_COOKIE, serverKey } from "./matching.ts";
import {
  type CompletedHandler,
  InviteServerTransaction,
  NonInviteServerTransaction,
} from "./server-transaction.ts";
import {
  type ClientTransaction,
  DEFAULT_TIMERS,
  type ResponseHandler,
  type ServerTransaction,
  type TimerValues,
  type TransactionContext,
} from "./types.ts";

export interface TransactionLayerOptions {
  transport: SipTransport;
  clock: Clock;
  log: Logger;
  timers?: Partial<TimerValues>;
  /**
   * Bound of the completed non-INVITE server transactions kept for Timer J
   * (completed-responses.ts); beyond it the oldest are forgotten early.
   */
  completedLimits?: Partial<CompletedLimits>;
  /**
   * Server transactions in progress at most (DEFAULT_MAX_SERVER_TRANSACTIONS).
   * Each holds its parsed request until it is answered: when requests come in
   * faster than they are answered (a flood), the backlog, not the rate, is
   * what memory must be bounded by. Beyond it a new request outside a dialog
   * gets a stateless 503 with Retry-After (RFC 3261 §21.5.4); requests inside
   * a dialog and CANCELs, which end calls, only at twice the bound.
   */
  maxServerTransactions?: number;
}

export const DEFAULT_MAX_SERVER_TRANSACTIONS = 10_000;
/** Server transactions of every state, answered INVITEs included, at most: this many times the bound. */
const ANSWERED_FACTOR = 4;
/** Seconds a shed request's sender is asked to wait. */
const SHED_RETRY_AFTER_SECONDS = 5;

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;
type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

export class TransactionLayer {
  /** Each new request (not retransmissions, ACK or CANCEL). */
  onRequest: (req: SipRequest, tx: ServerTransaction) => void = (req, tx) => {
    tx.respond(createResponse(req, 501));
  };
  /** ACKs that belong to no INVITE server transaction: the ACK of a 2xx (§13.3.1.4, §17.2.3). */
  onAck: (ack: SipRequest, remote: RemoteAddress) => void = () => {};
  /** Responses that match no client transaction, e.g. 2xx retransmitted after the transaction ended. */
  onStrayResponse: (res: SipResponse, remote: RemoteAddress) => void = () => {};

  readonly timers: TimerValues;
  readonly transport: SipTransport;
  private readonly ctx: TransactionContext;
  private readonly servers = new Map<string, ServerTx>();
  /** INVITE server transactions that sent their final response (they no longer count as backlog). */
  private readonly answered = new Set<ServerTx>();
  private readonly clients = new Map<string, ClientTx>();
  /** Non-INVITE server transactions in their Completed state over UDP: key → response bytes. */
  private readonly completed: CompletedResponses;
  private readonly onCompleted: CompletedHandler;
  private closed = false;
  private readonly maxServers: number;
  /** Requests refused at the bound since the last warning (one line a second at most). */
  private shed = 0;
  private shedWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(opts: TransactionLayerOptions) {
    this.maxServers = opts.maxServerTransactions ?? DEFAULT_MAX_SERVER_TRANSACTIONS;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.transport = opts.transport;
    this.ctx = { transport: opts.transport, clock: opts.clock, log: opts.log, timers: this.timers };
    this.completed = new CompletedResponses(
      opts.clock,
      { ...DEFAULT_COMPLETED_LIMITS, ...opts.completedLimits },
      (data, destination) => this.resendCompleted(data, destination),
    );
    this.onCompleted = (tx, res) => {
      if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
      if (this.closed) return;
      // A challenge is not kept: a retransmission of its request is
      // challenged again (any nonce of ours is as good as the first, RFC 3261
      // §22.4), which costs what resending a kept one does, and a flood of
      // requests without credentials holds nothing for Timer J.
      if (res.status === 401 || res.status === 407) return;
      let data: Buffer;
      try {
        data = serializeMessage(res);
      } catch (err) {
        // The transport could not send it either (and logged why): nothing to repeat.
        this.ctx.log.debug({ err, callId: getHeader(res, "Call-ID") }, "completed response not kept");
        return;
      }
      // §17.2.2 Timer J: retransmissions are absorbed for 64·T1.
      this.completed.add(tx.key, data, tx.responseDestination, 64 * this.timers.T1);
    };
    opts.transport.onMessage = (m) => this.receive(m);
    opts.transport.onParseError = (err, remote) => this.parseError(err, remote);
  }

  /** Number of live transactions (for tests and metrics); `server` counts the completed ones kept for Timer J. */
  get size(): { server: number; client: number } {
    return { server: this.servers.size + this.completed.size, client: this.clients.size };
  }

  /**
   * The completed non-INVITE server transactions kept for Timer J: how many,
   * their estimated bytes, and how many were forgotten early to stay within
   * `completedLimits` (for metrics and tests).
   */
  get completedStats(): { count: number; bytes: number; evicted: number } {
    return { count: this.completed.size, bytes: this.completed.bytes, evicted: this.completed.evicted };
  }

  /**
   * Starts a client transaction. Pushes our Via with a fresh branch and
   * rport (RFC 3581 §3) and sends. Every response, and a synthetic 408 or
   * 503 when none can come, reaches `handler`.
   */
  sendRequest(req: SipRequest, remote: RemoteAddress, handler: ResponseHandler): ClientTransaction {
    const branch = this.pushVia(req, remote);
    return this.startClient(req, remote, branch, handler);
  }

  /**
   * Sends outside any transaction: the ACK of a 2xx (§13.2.2.4) and the TU's
   * 2xx retransmissions (§13.3.1.4). A request without a Via gets ours (kept
   * in the message, so that sending it again repeats the same branch). A
   * response goes where its top Via says, `remote` being where the request
   * came from.
   */
  sendStateless(msg: SipMessage, remote: RemoteAddress): void {
    if (this.closed) return;
    if (msg.type === "request") {
      if (!msg.headers.some((h) => h.name === "Via")) this.pushVia(msg, remote);
      this.ctx.transport.send(msg, remote);
    } else {
      this.ctx.transport.send(msg, responseDestination(topVia(msg), remote));
    }
  }

  /** Cancels every timer and forgets every transaction. */
  close(): void {
    this.closed = true;
    for (const tx of [...this.servers.values()]) tx.terminate();
    for (const tx of [...this.clients.values()]) tx.terminate();
    this.servers.clear();
    this.clients.clear();
    this.completed.clear();
  }

  /**
   * The sent-by of our Via: RFC 3261 §18.1.1, an IPv6 address in brackets,
   * and the port of the transport the request goes over (a TLS listener has
   * its own), where responses to a new connection would come.
   */
  sentBy(transport: RemoteAddress["transport"]): string {
    const host = this.ctx.transport.publicAddress;
    const port = this.ctx.transport.portFor?.(transport) ?? this.ctx.transport.port;
    return (host.includes(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }

  private pushVia(req: SipRequest, remote: RemoteAddress): string {
    const fresh = newBranch();
    const branch = fresh.startsWith(MAGIC_COOKIE) ? fresh : MAGIC_COOKIE + fresh;
    prependHeader(
      req,
      "Via",
      "SIP/2.0/" + remote.transport + " " + this.sentBy(remote.transport) + ";branch=" + branch + ";rport",
    );
    return branch;
  }

  private startClient(
    req: SipRequest,
    remote: RemoteAddress,
    branch: string,
    handler: ResponseHandler,
  ): ClientTx {
    const key = branch + " " + req.method;
    const onTerminated = (k: string) => this.clients.delete(k);
    let tx: ClientTx;
    if (req.method === "INVITE") {
      tx = new InviteClientTransaction(this.ctx, req, remote, key, handler, onTerminated, (cancel, to) => {
        this.startClient(cancel, to, branch, (res) => {
          this.ctx.log.debug({ status: res.status }, "response to CANCEL");
        });
      });
    } else {
      tx = new NonInviteClientTransaction(this.ctx, req, remote, key, handler, onTerminated);
    }
    if (this.closed) {
      // A closed layer sends nothing; the TU still hears that the request failed.
      queueMicrotask(() => tx.onTransportError(new Error("transaction layer closed")));
      return tx;
    }
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  private receive(m: ReceivedMessage): void {
    if (this.closed) return;
    try {
      if (m.message.type === "request") this.receiveRequest(m.message, m.remote);
      else this.receiveResponse(m.message, m.remote);
    } catch (err) {
      this.ctx.log.error(
        { err, callId: getHeader(m.message, "Call-ID") },
        "failure while handling a SIP message",
      );
    }
  }

  private receiveResponse(res: SipResponse, remote: RemoteAddress): void {
    const key = clientKey(res);
    const tx = key ? this.clients.get(key) : undefined;
    if (tx) tx.onResponse(res);
    else this.onStrayResponse(res, remote);
  }

  private receiveRequest(req: SipRequest, remote: RemoteAddress): void {
    const method = req.method;
    if (method === "ACK") {
      const key = serverKey(req);
      const tx = key ? this.servers.get(key) : undefined;
      if (tx instanceof InviteServerTransaction && !tx.onAck()) return;
      this.onAck(req, remote);
      return;
    }
    const key = serverKey(req);
    if (!key) {
      this.ctx.log.debug({ method }, "request without Via or CSeq dropped");
      return;
    }
    const existing = this.servers.get(key);
    if (existing) {
      existing.onRetransmission();
      return;
    }
    if (this.completed.retransmit(key)) return;
    if (this.overBound(req, remote)) return;
    const onTerminated = (k: string) => {
      const tx = this.servers.get(k);
      if (tx) this.answered.delete(tx);
      this.servers.delete(k);
    };
    if (method === "CANCEL") {
      // §9.2: the CANCEL has a transaction of its own, answered here.
      const tx = new NonInviteServerTransaction(this.ctx, req, remote, key, onTerminated, this.onCompleted);
      this.servers.set(key, tx);
      const inviteKey = serverKey(req, "INVITE");
      const invite = inviteKey ? this.servers.get(inviteKey) : undefined;
      if (!(invite instanceof InviteServerTransaction)) {
        tx.respond(createResponse(req, 481));
        return;
      }
      tx.respond(createResponse(req, 200, undefined, { toTag: invite.lastToTag }));
      if (invite.cancellable) {
        try {
          invite.onCancel?.();
        } catch (err) {
          this.ctx.log.error({ err, callId: getHeader(req, "Call-ID") }, "onCancel handler threw");
        }
      }
      return;
    }
    const tx =
      method === "INVITE"
        ? new InviteServerTransaction(this.ctx, req, remote, key, onTerminated, () => this.answered.add(tx))
        : new NonInviteServerTransaction(this.ctx, req, remote, key, onTerminated, this.onCompleted);
    this.servers.set(key, tx);
    try {
      this.onRequest(req, tx);
    } catch (err) {
      this.ctx.log.error({ err, method, callId: getHeader(req, "Call-ID") }, "request handler threw");
      tx.respond(createResponse(req, 500));
    }
  }

  /**
   * True (and the request answered 503 statelessly) when the backlog of
   * server transactions is at its bound; see maxServerTransactions.
   */
  private overBound(req: SipRequest, remote: RemoteAddress): boolean {
    const inDialog = req.method === "CANCEL" || hasToTag(req);
    const bound = inDialog ? 2 * this.maxServers : this.maxServers;
    // INVITEs already answered only absorb retransmissions (Timer L keeps an
    // accepted one 32 s): they are not waiting for us, and at a few hundred
    // calls a second they alone would fill the bound.
    // Those still count toward a wider bound: memory stays bounded whatever
    // the rate.
    if (this.servers.size - this.answered.size < bound && this.servers.size < ANSWERED_FACTOR * bound)
      return false;
    this.shed++;
    const now = this.ctx.clock.now();
    if (now - this.shedWarnedAt >= 1000) {
      this.ctx.log.warn(
        { inProgress: this.servers.size, shed: this.shed, bound: this.maxServers },
        "requests arrive faster than they are answered: new ones get 503 until the backlog shrinks",
      );
      this.shedWarnedAt = now;
      this.shed = 0;
    }
    const res = createResponse(req, 503, "Overloaded", {
      toTag: hasToTag(req) ? undefined : newTag(),
      headers: [{ name: "Retry-After", value: String(SHED_RETRY_AFTER_SECONDS) }],
    });
    this.ctx.transport.send(res, responseDestination(topVia(res), remote));
    return true;
  }

  /**
   * A retransmission in the Completed state: the response is kept as bytes,
   * read again here to go through the one send path the transport offers.
   */
  private resendCompleted(data: Buffer, destination: RemoteAddress): void {
    let res: SipMessage;
    try {
      res = parseMessage(data);
    } catch (err) {
      // Our own serialisation always reads back; if it ever did not, say so.
      this.ctx.log.error({ err }, "kept response could not be read back for a retransmission");
      return;
    }
    this.ctx.transport.send(res, destination, (err) => {
      this.ctx.log.info(
        { err, status: res.type === "response" ? res.status : undefined, callId: getHeader(res, "Call-ID") },
        "response could not be sent",
      );
    });
  }

  /**
   * §21.4.1: a request we could read far enough to answer gets a 400 naming
   * the problem, or the status the parser chose: 505 for a SIP version we do
   * not speak (§8.2.1 end, RFC 4475 §3.1.2.16), 513 for a message too large
   * (§21.5.7). Statelessly: there is no transaction to match a request whose
   * identity we could not read, and its retransmissions get the same answer.
   * An ACK is never answered (§17.2.1), and without a readable Via there is no
   * way back at all: those are dropped.
   */
  private parseError(err: SipParseError, remote: RemoteAddress): void {
    const req = err.request;
    if (!req || req.method === "ACK" || this.closed) {
      this.ctx.log.debug({ err: err.message, remote }, "unparseable message dropped");
      return;
    }
    try {
      if (!stampReceived(req, remote)) return;
      const reason = err.message.replace(/[\r\n]+/g, " ").slice(0, 200);
      const status = err.status >= 400 && err.status < 600 ? err.status : 400;
      // §8.2.6.2: a final response outside a dialog carries a To tag (one already there is kept).
      const res = createResponse(req, status, reason, { toTag: newTag() });
      this.ctx.transport.send(res, responseDestination(topVia(res), remote));
    } catch (e) {
      this.ctx.log.debug({ err: e }, "could not answer an unparseable request");
    }
  }
}

/** A request inside a dialog carries the To tag of its other side (RFC 3261 §12.2.1.1). */
function hasToTag(req: SipRequest): boolean {
  return /;\s*tag=/i.test(getHeader(req, "To") ?? "");
}
