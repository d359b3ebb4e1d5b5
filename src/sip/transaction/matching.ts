// Transaction identity (RFC 3261 §17.1.3 and §17.2.3).
import { formatUri, getCallId, getCSeq, getFrom, getTopVia } from "../message/index.ts";
import type { SipMessage, SipRequest, Via } from "../message/types.ts";

/**
 * A copy of `s` that shares no memory with the message it was read from.
 * The parser's strings are slices of the whole message text, and a string
 * built from slices keeps them, so a 60-byte key held for Timer J kept a
 * 1 KB datagram alive (50 000 REGISTER keys: 50 MB instead of 8). Costs about
 * 0.25 µs; for what is kept after its message is gone.
 */
export function detach(s: string): string {
  const copy = Buffer.from(s, "utf8").toString("utf8");
  // Lossless for any string the parser makes; a lone surrogate would not survive, so keep the original then.
  return copy === s ? copy : s;
}

/** RFC 3261 §8.1.1.7: a branch starting with this cookie is unique by construction. */
export const MAGIC_COOKIE = "z9hG4bK";

function sentBy(via: Via): string {
  return via.host.toLowerCase() + ":" + (via.port ?? "");
}

/**
 * §17.2.3, as a string detached from the message (it outlives it: Timer J,
 * the merged-request memory of §8.2.2.2). With an RFC 3261 branch: branch + sent-by + method, where ACK
 * and CANCEL look for the INVITE (pass `asMethod`). Without one (RFC 2543
 * peers): Request-URI, From tag, Call-ID, CSeq number and top Via. The To tag
 * is left out on purpose: an INVITE and its retransmissions carry the same
 * one, and the ACK of a non-2xx carries ours, which must still match.
 * Returns undefined when the request lacks what identifies it.
 */
export function serverKey(req: SipRequest, asMethod: string = req.method): string | undefined {
  try {
    return detach(serverKeyOf(req, asMethod));
  } catch {
    return undefined;
  }
}

function serverKeyOf(req: SipRequest, asMethod: string): string {
  const via = getTopVia(req);
  const cseq = getCSeq(req);
  const method = asMethod === "ACK" ? "INVITE" : asMethod;
  const branch = via.params.branch;
  if (branch?.startsWith(MAGIC_COOKIE)) return "3261 " + branch + " " + sentBy(via) + " " + method;
  const from = getFrom(req);
  return [
    "2543",
    formatUri(req.uri),
    from.params.tag ?? "",
    getCallId(req),
    cseq.seq,
    sentBy(via),
    branch ?? "",
    method,
  ].join(" ");
}

/** §17.1.3: a response matches the client transaction of its top Via branch and CSeq method. */
export function clientKey(msg: SipMessage): string | undefined {
  try {
    const branch = getTopVia(msg).params.branch;
    return branch ? branch + " " + getCSeq(msg).method : undefined;
  } catch {
    return undefined;
  }
}
