// The UA core (RFC 3261 §8, §12-§15) shared by the PBX's B2BUA and its
// registrar: routes requests to dialogs, answers what needs no policy
// (481, 500 out of order, OPTIONS, 487 after CANCEL) and drives 2xx/ACK;
// the rest it hands up to the one delegate given at construction.
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { DigestClient, DigestRetry, type SipCredentials } from "../auth/digest-client.ts";
import {
  createResponse,
  formatNameAddr,
  getCallId,
  getCSeq,
  getFrom,
  getHeader,
  getTo,
  newCallId,
  newTag,
} from "../message/index.ts";
import type { CSeq, HeaderField, NameAddr, SipRequest, SipResponse, SipUri } from "../message/types.ts";
import type { TransactionLayer } from "../transaction/transaction-layer.ts";
import {
  type ClientTransaction,
  isSynthetic,
  type ResponseHandler,
  type ServerTransaction,
} from "../transaction/types.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { AnswerRetransmitter } from "./answer-retransmitter.ts";
import { type Dialog, dialogKey } from "./dialog.ts";
import { type BodyOptions, IncomingInvite, type UasCore } from "./incoming-invite.ts";
import { type InviteEvents, OutgoingInvite, type UacCore } from "./outgoing-invite.ts";
import { RequestChecks } from "./request-checks.ts";

export interface UserAgentOptions {
  transactions: TransactionLayer;
  clock: Clock;
  log: Logger;
  /** Host written in our Contact (an IPv6 address without brackets is accepted). */
  contactHost: string;
  contactPort: number;
  /** Methods listed in Allow (answers to OPTIONS, 405). */
  allow?: string[];
  /** Option tags we implement: Require/Proxy-Require with others get 420 (RFC 3261 §8.2.2.3). */
  supported?: string[];
  /**
   * Where the UA core hands up what needs policy. Given once, never
   * overwritten; a method left out gets the UA core's default (see
   * `UserAgentDelegate`). Its methods are looked up on each request, so an
   * object whose fields are reassigned later (a test's) is followed.
   */
  delegate?: Partial<UserAgentDelegate>;
}

/**
 * What the UA core hands up to its user (SIP.js's UserAgentCoreDelegate):
 * the requests it cannot answer without policy. One object given at
 * construction, so that what receives requests is fixed when the UA exists.
 */
export interface UserAgentDelegate {
  /** A new INVITE outside any dialog (§13.3). Default: 480 Temporarily Unavailable. */
  onInvite(inv: IncomingInvite): void;
  /**
   * Every other request outside a dialog (REGISTER, SUBSCRIBE, MESSAGE...);
   * OPTIONS never comes here, the UA core answers it (§11.2).
   * Default: 405 with our Allow (§8.2.1).
   */
  onRequest(req: SipRequest, tx: ServerTransaction): void;
  /**
   * A request inside a known dialog, in CSeq order (§12.2.2). Default: BYE
   * is answered 200 and the dialog forgotten (§15.1.2), anything else 501.
   */
  onDialogRequest(req: SipRequest, tx: ServerTransaction, dialog: Dialog): void;
}

export interface InviteOptions {
  requestUri: SipUri;
  from: NameAddr;
  to: NameAddr;
  remote: RemoteAddress;
  body?: Buffer;
  contentType?: string;
  headers?: HeaderField[];
  callId?: string;
  /**
   * Answer a 401/407 with these (RFC 3261 §22.2): the INVITE is sent again
   * with CSeq + 1 and the digest, the same OutgoingInvite carrying on.
   */
  credentials?: SipCredentials;
}

/** The outcome of a request that may have been sent again with credentials. */
export interface AuthenticatedResult {
  /** The final response to the last attempt (a 401/407 when it could not be answered). */
  response: SipResponse;
  /** The last request sent: its CSeq is the one to continue from (§10.2.4 refreshes). */
  request: SipRequest;
}

export interface InDialogOptions extends BodyOptions {
  /** For a re-INVITE: the body of the ACK (when the offer came in the 2xx). */
  ackBody?: Buffer;
  ackContentType?: string;
}

const DEFAULT_ALLOW = [
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "INFO",
  "UPDATE",
  "NOTIFY",
  "REFER",
  "MESSAGE",
];

interface PendingAck {
  retransmitter: AnswerRetransmitter;
  onAck: (ack: SipRequest) => void;
}

export class UserAgent implements UasCore, UacCore {
  readonly transactions: TransactionLayer;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly contactHost: string;
  private readonly contactPort: number;
  private readonly allow: string;
  private readonly checks: RequestChecks;
  private readonly delegate: Partial<UserAgentDelegate>;
  /** What a method the delegate leaves out falls back to. */
  private readonly defaults: UserAgentDelegate;
  private readonly dialogs = new Map<string, Dialog>();
  /** 2xx sent and not yet acknowledged, per dialog and CSeq. */
  private readonly pendingAcks = new Map<string, PendingAck>();
  /** The last ACK of a 2xx we sent per dialog, for 2xx retransmissions after the transaction ended. */
  private readonly lastAcks = new Map<string, { seq: number; ack: SipRequest }>();

  constructor(opts: UserAgentOptions) {
    this.transactions = opts.transactions;
    this.clock = opts.clock;
    this.log = opts.log;
    this.contactHost =
      opts.contactHost.includes(":") && !opts.contactHost.startsWith("[")
        ? "[" + opts.contactHost + "]"
        : opts.contactHost;
    this.contactPort = opts.contactPort;
    this.allow = (opts.allow ?? DEFAULT_ALLOW).join(", ");
    this.delegate = opts.delegate ?? {};
    this.defaults = defaultUserAgentDelegate(this);
    this.checks = new RequestChecks({
      clock: opts.clock,
      agent: this.contactHost,
      supported: opts.supported,
      // §17.2.2 Timer J: the longest a server transaction can be alive.
      rememberMs: 64 * opts.transactions.timers.T1,
    });
    this.transactions.onRequest = (req, tx) => this.receiveRequest(req, tx);
    this.transactions.onAck = (ack) => this.receiveAck(ack);
    this.transactions.onStrayResponse = (res) => this.receiveStray(res);
  }

  /** The methods we list in Allow (OPTIONS answers, 405s), comma-separated. */
  get allowed(): string {
    return this.allow;
  }

  /** Number of dialogs known (for tests and metrics). */
  get dialogCount(): number {
    return this.dialogs.size;
  }

  /** The dialog a request from the peer belongs to, if known. */
  findDialog(req: SipRequest): Dialog | undefined {
    try {
      const toTag = getTo(req).params.tag;
      if (!toTag) return undefined;
      return this.dialogs.get(dialogKey(getCallId(req), toTag, getFrom(req).params.tag ?? ""));
    } catch {
      return undefined;
    }
  }

  register(dialog: Dialog): void {
    this.dialogs.set(dialog.id, dialog);
  }

  /** Drops a dialog (after BYE, or when the TU gives up on it) and its pending 2xx. */
  forget(dialog: Dialog): void {
    this.dialogs.delete(dialog.id);
    this.lastAcks.delete(dialog.id);
    const prefix = dialog.id + " ";
    for (const [key, pending] of this.pendingAcks) {
      if (key.startsWith(prefix)) {
        pending.retransmitter.stop();
        this.pendingAcks.delete(key);
      }
    }
  }

  /** Our Contact for messages exchanged with `remote`. */
  contactFor(remote: RemoteAddress): NameAddr {
    return {
      uri: {
        scheme: "sip",
        host: this.contactHost,
        // A TLS dialog's in-dialog requests (ACK, BYE) must come back to the
        // TLS listener, not to the port of UDP and TCP (RFC 3261 §26.2.1); a
        // WebSocket's name the HTTP port, with transport=ws or wss (RFC 7118
        // §5.2; a browser sends them on its connection anyway).
        port:
          remote.transport === "UDP" || remote.transport === "TCP"
            ? this.contactPort
            : (this.transactions.transport.portFor?.(remote.transport) ?? this.contactPort),
        params: remote.transport === "UDP" ? {} : { transport: remote.transport.toLowerCase() },
        headers: {},
      },
      params: {},
    };
  }

  // --- UAC -----------------------------------------------------------------

  /** Sends an initial INVITE (§13.2.1). */
  invite(opts: InviteOptions, events: InviteEvents = {}): OutgoingInvite {
    const headers: HeaderField[] = [
      { name: "Max-Forwards", value: "70" },
      {
        name: "From",
        value: formatNameAddr({ ...opts.from, params: { ...opts.from.params, tag: newTag() } }),
      },
      { name: "To", value: formatNameAddr(withoutTag(opts.to)) },
      { name: "Call-ID", value: opts.callId ?? newCallId() },
      { name: "CSeq", value: newSeq() + " INVITE" },
      { name: "Contact", value: formatNameAddr(this.contactFor(opts.remote)) },
      { name: "Allow", value: this.allow },
      ...(opts.headers ?? []),
    ];
    const body = opts.body ?? Buffer.alloc(0);
    if (body.length > 0 && opts.contentType) headers.push({ name: "Content-Type", value: opts.contentType });
    const request: SipRequest = { type: "request", method: "INVITE", uri: opts.requestUri, headers, body };
    const auth = opts.credentials ? new DigestRetry(new DigestClient(opts.credentials)) : undefined;
    const out = new OutgoingInvite(this, request, opts.remote, events, auth);
    out.start();
    return out;
  }

  sendInvite(request: SipRequest, remote: RemoteAddress, handler: ResponseHandler): ClientTransaction {
    return this.transactions.sendRequest(request, remote, handler);
  }

  /**
   * A request inside a dialog (§12.2.1). Resolves with the final response,
   * synthetic 408/503 included; 481 and 408 are left to the TU to act on.
   * For a re-INVITE the UA core sends the ACK of the 2xx.
   */
  request(dialog: Dialog, method: string, opts: InDialogOptions = {}): Promise<SipResponse> {
    if (method === "ACK" || method === "CANCEL") throw new Error(method + " is sent by the UA core itself");
    const req = dialog.createRequest(method, opts);
    const seq = dialog.localSeq;
    return new Promise((resolve) => {
      let settled = false;
      this.transactions.sendRequest(req, dialog.remote, (res) => {
        if (res.status < 200) return;
        const ok = res.status < 300;
        if (ok && (method === "INVITE" || method === "UPDATE") && dialog.matches(res))
          dialog.refreshTarget(res);
        if (ok && method === "INVITE") {
          const last = this.lastAcks.get(dialog.id);
          if (settled && last?.seq === seq) {
            this.sendAck(dialog, last.ack, false);
            return;
          }
          const ack = dialog.createRequest("ACK", {
            cseq: seq,
            body: opts.ackBody,
            contentType: opts.ackContentType,
          });
          this.sendAck(dialog, ack, true);
        }
        if (!settled) {
          settled = true;
          resolve(res);
        }
      });
    });
  }

  /** An out-of-dialog non-INVITE request (OPTIONS, NOTIFY, MESSAGE...); resolves with the final response. */
  sendRequest(req: SipRequest, remote: RemoteAddress): Promise<SipResponse> {
    return new Promise((resolve) => {
      this.transactions.sendRequest(req, remote, (res) => {
        if (res.status >= 200) resolve(res);
      });
    });
  }

  /**
   * An out-of-dialog non-INVITE request (a REGISTER toward a carrier) that
   * answers 401/407 challenges with `auth` (§22.2): each retry is the same
   * request with CSeq + 1, a new branch and the digest; a challenge is
   * answered once, again only when stale. Pass one DigestClient per account
   * to keep its nonce counts across requests. Never rejects: a transport
   * failure or timeout is the synthetic 503/408 of the transaction layer.
   */
  async sendAuthenticated(
    req: SipRequest,
    remote: RemoteAddress,
    auth: SipCredentials | DigestClient,
  ): Promise<AuthenticatedResult> {
    if (req.method === "INVITE" || req.method === "ACK" || req.method === "CANCEL")
      throw new Error(req.method + " is not sent through sendAuthenticated");
    const retry = new DigestRetry(auth instanceof DigestClient ? auth : new DigestClient(auth));
    let request = req;
    for (;;) {
      const response = await this.sendRequest(request, remote);
      if (isSynthetic(response)) return { response, request };
      let next: SipRequest | undefined;
      try {
        next = retry.next(request, response);
      } catch (err) {
        this.log.error({ err, callId: getHeader(request, "Call-ID") }, "could not answer a challenge");
        next = undefined;
      }
      if (!next) return { response, request };
      this.log.debug(
        { method: req.method, status: response.status, callId: getHeader(request, "Call-ID") },
        "challenge answered, request sent again",
      );
      request = next;
    }
  }

  /** Answers a request through its transaction. */
  respond(tx: ServerTransaction, status: number, opts: BodyOptions & { reason?: string } = {}): void {
    tx.respond(
      createResponse(tx.request, status, opts.reason, {
        headers: opts.headers,
        body: opts.body,
        contentType: opts.contentType,
      }),
    );
  }

  /**
   * Accepts a re-INVITE inside `dialog` with 200 and our Contact, and repeats
   * the 2xx until its ACK (§13.3.1.4; `dialog.onAck` / `dialog.onAckTimeout`).
   */
  acceptReinvite(tx: ServerTransaction, dialog: Dialog, opts: BodyOptions = {}): void {
    const res = createResponse(tx.request, 200, undefined, {
      headers: [{ name: "Contact", value: formatNameAddr(dialog.localContact) }, ...(opts.headers ?? [])],
      body: opts.body,
      contentType: opts.contentType,
    });
    this.sendAnswer(
      tx,
      dialog,
      res,
      (ack) => dialog.onAck?.(ack),
      () => dialog.onAckTimeout?.(),
    );
  }

  sendAnswer(
    tx: ServerTransaction,
    dialog: Dialog,
    res: SipResponse,
    onAck: (ack: SipRequest) => void,
    onTimeout: () => void,
  ): void {
    const key = dialog.id + " " + cseqOf(tx.request);
    tx.respond(res);
    this.pendingAcks.get(key)?.retransmitter.stop();
    const retransmitter = new AnswerRetransmitter(this.transactions, this.clock, res, tx.remote, () => {
      this.pendingAcks.delete(key);
      this.log.info({ callId: dialog.callId }, "2xx never acknowledged");
      this.safely(onTimeout);
    });
    this.pendingAcks.set(key, { retransmitter, onAck });
  }

  sendAck(dialog: Dialog, ack: SipRequest, remember: boolean): void {
    if (remember) this.lastAcks.set(dialog.id, { seq: cseqOf(ack), ack });
    this.transactions.sendStateless(ack, dialog.remote);
  }

  sendBye(dialog: Dialog): void {
    const bye = dialog.createRequest("BYE");
    this.transactions.sendRequest(bye, dialog.remote, () => {});
  }

  report(what: string, err: unknown): void {
    this.log.error({ err }, what);
  }

  /** Stops every 2xx retransmission; the transaction layer is closed separately. */
  close(): void {
    for (const p of this.pendingAcks.values()) p.retransmitter.stop();
    this.pendingAcks.clear();
    this.checks.close();
  }

  // --- UAS -----------------------------------------------------------------

  private receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    let toTag: string | null | undefined;
    try {
      toTag = getTo(req).params.tag;
    } catch (err) {
      tx.respond(createResponse(req, 400, err instanceof Error ? err.message : "Bad To"));
      return;
    }
    // §8.2: what every UAS checks before the request means anything (request-checks.ts).
    const refusal = this.checks.check(req, toTag !== undefined);
    if (refusal) {
      // An INVITE's refusal goes out once: a forged Via must not get Timer G's repeats (no amplification).
      tx.respond(refusal, req.method === "INVITE" ? { retransmit: false } : undefined);
      return;
    }
    if (toTag !== undefined) {
      const dialog = this.findDialog(req);
      if (!dialog) {
        // §12.2.2: a request for a dialog we do not know.
        tx.respond(createResponse(req, 481));
        return;
      }
      if (dialog.acceptRequest(req) === "out-of-order") {
        tx.respond(createResponse(req, 500, "Out of Order CSeq"));
        return;
      }
      const d = this.delegate;
      if (d.onDialogRequest) d.onDialogRequest(req, tx, dialog);
      else this.defaults.onDialogRequest(req, tx, dialog);
      return;
    }
    if (req.method === "INVITE") {
      const inv = new IncomingInvite(this, req, tx);
      const d = this.delegate;
      if (d.onInvite) d.onInvite(inv);
      else this.defaults.onInvite(inv);
      return;
    }
    if (req.method === "OPTIONS") {
      // §11.2: what we can do, answered without asking the TU (also a keep-alive probe).
      // §8.2.6.2: with a To tag, as every response outside a dialog.
      tx.respond(
        createResponse(req, 200, undefined, {
          toTag: newTag(),
          headers: [
            { name: "Allow", value: this.allow },
            { name: "Accept", value: "application/sdp" },
            { name: "Supported", value: this.checks.supportedTags },
          ],
        }),
      );
      return;
    }
    const d = this.delegate;
    if (d.onRequest) d.onRequest(req, tx);
    else this.defaults.onRequest(req, tx);
  }

  private receiveAck(ack: SipRequest): void {
    const dialog = this.findDialog(ack);
    if (!dialog) {
      this.log.debug({ callId: getCallId(ack) }, "ACK for no known dialog");
      return;
    }
    const key = dialog.id + " " + cseqOf(ack);
    const pending = this.pendingAcks.get(key);
    if (!pending) return; // a retransmitted ACK
    this.pendingAcks.delete(key);
    pending.retransmitter.stop();
    this.safely(() => pending.onAck(ack));
  }

  private receiveStray(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    let id: string;
    let cseq: CSeq;
    try {
      cseq = getCSeq(res);
      if (cseq.method !== "INVITE") return;
      id = dialogKey(getCallId(res), getFrom(res).params.tag ?? "", getTo(res).params.tag ?? "");
    } catch {
      return;
    }
    const dialog = this.dialogs.get(id);
    const last = this.lastAcks.get(id);
    // §13.2.2.4: a 2xx retransmitted after the transaction ended gets the same ACK again.
    if (dialog && last && last.seq === cseq.seq) this.transactions.sendStateless(last.ack, dialog.remote);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, "TU callback threw");
    }
  }
}

/**
 * What the UA core does with a request nobody took: decline an INVITE
 * (480), refuse another method outside a dialog with 405 and our Allow
 * (§8.2.1; with a To tag, §8.2.6.2), end a dialog on BYE (§15.1.2) and
 * answer anything else in it 501. A delegate may call these for the
 * requests it leaves alone.
 */
export function defaultUserAgentDelegate(ua: Pick<UserAgent, "allowed" | "forget">): UserAgentDelegate {
  return {
    onInvite: (inv) => inv.reject(480),
    onRequest: (req, tx) =>
      tx.respond(
        createResponse(req, 405, undefined, {
          toTag: newTag(),
          headers: [{ name: "Allow", value: ua.allowed }],
        }),
      ),
    onDialogRequest: (req, tx, dialog) => {
      if (req.method === "BYE") {
        ua.forget(dialog);
        tx.respond(createResponse(req, 200));
      } else tx.respond(createResponse(req, 501));
    },
  };
}

function cseqOf(msg: SipRequest): number {
  try {
    return getCSeq(msg).seq;
  } catch {
    return 0;
  }
}

function withoutTag(na: NameAddr): NameAddr {
  const params = { ...na.params };
  delete params.tag;
  return { ...na, params };
}

/** §8.1.1.5: an initial CSeq below 2^31; random so that restarts do not repeat numbers. */
function newSeq(): number {
  return 1 + Math.floor(Math.random() * 0x7fff);
}
