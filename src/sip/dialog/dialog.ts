// Dialog state (RFC 3261 §12): identity, sequence numbers, remote target
// and route set, and the construction of requests inside the dialog.
import {
  formatNameAddr,
  formatUri,
  getCallId,
  getContacts,
  getCSeq,
  getFrom,
  getRecordRoutes,
  getTo,
} from "../message/index.ts";
import type {
  CSeq,
  HeaderField,
  NameAddr,
  SipMessage,
  SipRequest,
  SipResponse,
  SipUri,
} from "../message/types.ts";
import type { RemoteAddress } from "../transport/types.ts";

export interface DialogRequestOptions {
  body?: Buffer;
  contentType?: string;
  headers?: HeaderField[];
  /** For ACK: the CSeq number of the INVITE being acknowledged (§13.2.2.4). */
  cseq?: number;
}

/**
 * Everything a dialog is made of (§12.1): what a TU keeps to rebuild it after
 * a restart, e.g. a subscription's (RFC 6665 §4.1.2.4) from the store.
 */
export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: NameAddr;
  remoteUri: NameAddr;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: SipUri;
  routeSet: NameAddr[];
  localContact: NameAddr;
  remote: RemoteAddress;
}

/** Methods that refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.1, RFC 6665 §4.1.2.4). */
const TARGET_REFRESH = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"]);

/** URI parameters that have no place in a Request-URI (RFC 3261 §19.1.1, table 1). */
const NOT_IN_REQUEST_URI = ["method", "ttl"];

/** The first Contact of a message, if it has a usable one. */
export function firstContact(msg: SipMessage): NameAddr | undefined {
  try {
    const contacts = getContacts(msg);
    return contacts === "*" ? undefined : contacts[0];
  } catch {
    return undefined;
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return callId + "\u0000" + localTag + "\u0000" + remoteTag;
}

function withoutTag(na: NameAddr): NameAddr {
  const params = { ...na.params };
  delete params.tag;
  return { ...na, params };
}

function withTag(na: NameAddr, tag: string): string {
  return formatNameAddr({ ...na, params: { ...na.params, tag } });
}

/** A fresh local CSeq: §8.1.1.5 wants it below 2^31; random so a restarted UA does not repeat itself. */
function initialSeq(): number {
  return 1 + Math.floor(Math.random() * 0x7fff);
}

export class Dialog {
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: SipUri;
  readonly routeSet: NameAddr[];
  localContact: NameAddr;
  /**
   * The next hop for requests in this dialog. It starts as where the peer's
   * messages came from (or where the initial request went), which is what
   * reaches a phone behind NAT; the TU may override it.
   */
  remote: RemoteAddress;
  /** Called for the ACK of a 2xx to a re-INVITE that this side answered. */
  onAck?: (ack: SipRequest) => void;
  /** Called when a 2xx to a re-INVITE was never acknowledged (64·T1): the TU should send BYE. */
  onAckTimeout?: () => void;

  private constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    init: {
      localUri: NameAddr;
      remoteUri: NameAddr;
      localSeq: number;
      remoteSeq: number | undefined;
      remoteTarget: SipUri;
      routeSet: NameAddr[];
      localContact: NameAddr;
      remote: RemoteAddress;
    },
  ) {
    this.localUri = withoutTag(init.localUri);
    this.remoteUri = withoutTag(init.remoteUri);
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localContact = init.localContact;
    this.remote = init.remote;
  }

  /** §12.1.1: the UAS side, created when it sends a 2xx (or 101-199 with a tag) to `req`. */
  static asUas(req: SipRequest, localTag: string, localContact: NameAddr, remote: RemoteAddress): Dialog {
    const from = getFrom(req);
    const to = getTo(req);
    const callId = getCallId(req);
    const cseq = getCSeq(req);
    const contact = firstContact(req);
    return new Dialog(callId, localTag, from.params.tag ?? "", {
      localUri: to,
      remoteUri: from,
      localSeq: initialSeq(),
      remoteSeq: cseq.seq,
      // A request without Contact leaves only the From URI to reach the peer.
      remoteTarget: contact?.uri ?? from.uri,
      routeSet: getRecordRoutes(req),
      localContact,
      remote,
    });
  }

  /** §12.1.2: the UAC side, from the request we sent and a 2xx (or tagged 1xx) to it. */
  static asUac(req: SipRequest, res: SipResponse, remote: RemoteAddress): Dialog {
    const from = getFrom(req);
    const to = getTo(res);
    const callId = getCallId(req);
    const cseq = getCSeq(req);
    const contact = firstContact(res);
    const localContact = firstContact(req) ?? { uri: from.uri, params: {} };
    return new Dialog(callId, from.params.tag ?? "", to.params.tag ?? "", {
      localUri: from,
      remoteUri: to,
      localSeq: cseq.seq,
      remoteSeq: undefined,
      remoteTarget: contact?.uri ?? req.uri,
      // The UAC sees the Record-Route in the order the proxies wrote it,
      // which is the reverse of the path towards the UAS.
      routeSet: getRecordRoutes(res).reverse(),
      localContact,
      remote,
    });
  }

  /**
   * A dialog rebuilt from its kept state (see DialogState). The caller must
   * make sure `localSeq` is not below what the peer has seen from us:
   * §12.2.1.1 wants our CSeq to keep rising.
   */
  static restore(state: DialogState): Dialog {
    return new Dialog(state.callId, state.localTag, state.remoteTag, {
      localUri: state.localUri,
      remoteUri: state.remoteUri,
      localSeq: state.localSeq,
      remoteSeq: state.remoteSeq,
      remoteTarget: state.remoteTarget,
      routeSet: [...state.routeSet],
      localContact: state.localContact,
      remote: { ...state.remote },
    });
  }

  get id(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /** Whether `msg` belongs to this dialog: a request from the peer, or a response to one of ours. */
  matches(msg: SipMessage): boolean {
    try {
      if (getCallId(msg) !== this.callId) return false;
      const fromTag = getFrom(msg).params.tag ?? "";
      const toTag = getTo(msg).params.tag ?? "";
      return msg.type === "request"
        ? toTag === this.localTag && fromTag === this.remoteTag
        : fromTag === this.localTag && toTag === this.remoteTag;
    } catch {
      return false;
    }
  }

  /**
   * §12.2.1.1: a request inside the dialog. The local CSeq goes up by one
   * except for ACK and CANCEL, which reuse the number of what they refer to.
   */
  createRequest(method: string, opts: DialogRequestOptions = {}): SipRequest {
    let seq: number;
    if (method === "ACK" || method === "CANCEL") seq = opts.cseq ?? this.localSeq;
    else seq = ++this.localSeq;

    let uri: SipUri;
    const routes: string[] = [];
    const first = this.routeSet[0];
    if (!first || "lr" in first.uri.params) {
      // Loose routing (or no route): the remote target is the Request-URI.
      uri = this.remoteTarget;
      for (const r of this.routeSet) routes.push(formatNameAddr(r));
    } else {
      // A strict router (RFC 2543) expects itself in the Request-URI and the
      // remote target at the end of the Route list.
      const params = { ...first.uri.params };
      for (const p of NOT_IN_REQUEST_URI) delete params[p];
      uri = { ...first.uri, params, headers: {} };
      for (const r of this.routeSet.slice(1)) routes.push(formatNameAddr(r));
      routes.push("<" + formatUri(this.remoteTarget) + ">");
    }

    const headers: HeaderField[] = [
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: withTag(this.localUri, this.localTag) },
      { name: "To", value: withTag(this.remoteUri, this.remoteTag) },
      { name: "Call-ID", value: this.callId },
      { name: "CSeq", value: seq + " " + method },
    ];
    for (const r of routes) headers.push({ name: "Route", value: r });
    if (TARGET_REFRESH.has(method))
      headers.push({ name: "Contact", value: formatNameAddr(this.localContact) });
    if (opts.headers) headers.push(...opts.headers);
    const body = opts.body ?? Buffer.alloc(0);
    if (body.length > 0 && opts.contentType) headers.push({ name: "Content-Type", value: opts.contentType });
    return { type: "request", method, uri: { ...uri, params: { ...uri.params } }, headers, body };
  }

  /**
   * §12.2.2: checks the CSeq of a request from the peer and applies a target
   * refresh. "out-of-order" means the TU must answer 500.
   */
  acceptRequest(req: SipRequest): "ok" | "out-of-order" {
    let cseq: CSeq;
    try {
      cseq = getCSeq(req);
    } catch {
      return "out-of-order";
    }
    if (this.remoteSeq !== undefined && cseq.seq < this.remoteSeq) return "out-of-order";
    this.remoteSeq = cseq.seq;
    if (TARGET_REFRESH.has(req.method)) this.refreshTarget(req);
    return "ok";
  }

  /** Takes the remote target from the Contact of a target refresh request or its 2xx (§12.2.1.2). */
  refreshTarget(msg: SipMessage): void {
    const contact = firstContact(msg);
    if (contact) this.remoteTarget = contact.uri;
  }
}
