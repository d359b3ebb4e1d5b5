// Building responses (RFC 3261 §8.2.6) and the random identifiers of §8.1.1:
// branch (§8.1.1.7), tags (§19.3) and Call-IDs (§8.1.1.4).

import { randomFillSync } from "node:crypto";
import { formatNameAddr, parseNameAddr } from "./name-addr.ts";
import type { HeaderField, NameAddr, SipRequest, SipResponse, SipUri } from "./types.ts";

const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  199: "Early Dialog Terminated",
  200: "OK",
  202: "Accepted",
  204: "No Notification",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  412: "Conditional Request Failed",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  417: "Unknown Resource-Priority",
  420: "Bad Extension",
  421: "Extension Required",
  422: "Session Interval Too Small",
  423: "Interval Too Brief",
  428: "Use Identity Header",
  429: "Provide Referrer Identity",
  433: "Anonymity Disallowed",
  436: "Bad Identity-Info",
  437: "Unsupported Certificate",
  438: "Invalid Identity Header",
  439: "First Hop Lacks Outbound Support",
  440: "Max-Breadth Exceeded",
  470: "Consent Needed",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  489: "Bad Event",
  491: "Request Pending",
  493: "Undecipherable",
  494: "Security Agreement Required",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  580: "Precondition Failure",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
  607: "Unwanted",
};

const CLASS_REASONS = [
  "",
  "Provisional",
  "Success",
  "Redirection",
  "Client Error",
  "Server Error",
  "Global Failure",
];

/** The reason phrase of RFC 3261 §21 and its extensions; a class name for unlisted codes. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? CLASS_REASONS[Math.floor(status / 100)] ?? "Unknown";
}

/** Header fields a response copies from its request, in order (§8.2.6.2). */
const COPIED = new Set(["Via", "From", "To", "Call-ID", "CSeq"]);

/**
 * A response to `req`: Via fields in order, From, To (with our tag added when
 * it has none), Call-ID and CSeq copied (§8.2.6.2); a 100 also echoes
 * Timestamp (§8.2.6.1). Content-Length is written by the serialiser.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts?: { toTag?: string; headers?: HeaderField[]; body?: Buffer; contentType?: string },
): SipResponse {
  const headers: HeaderField[] = [];
  for (const h of req.headers) {
    if (!COPIED.has(h.name) && !(status === 100 && h.name === "Timestamp")) continue;
    if (h.name === "To" && opts?.toTag !== undefined && !hasTag(h.value)) {
      headers.push({ name: "To", value: h.value + ";tag=" + opts.toTag });
    } else {
      headers.push({ name: h.name, value: h.value });
    }
  }
  if (opts?.headers) for (const h of opts.headers) headers.push({ name: h.name, value: h.value });
  const body = opts?.body ?? Buffer.alloc(0);
  if (opts?.contentType !== undefined) headers.push({ name: "Content-Type", value: opts.contentType });
  return { type: "response", status, reason: reason ?? reasonPhrase(status), headers, body };
}

function hasTag(to: string): boolean {
  try {
    return Object.hasOwn(parseNameAddr(to).params, "tag");
  } catch {
    // A To we cannot read: look for the parameter textually rather than adding a second tag.
    return /;\s*tag\s*=/i.test(to);
  }
}

/** Random bytes drawn from a pool refilled in blocks, so an identifier costs no system call. */
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const out = POOL.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return out;
}

/** "z9hG4bK" (the RFC 3261 magic cookie, §8.1.1.7) and 96 random bits. */
export function newBranch(): string {
  return "z9hG4bK" + randomHex(12);
}

/** A tag with 64 random bits (§19.3 asks for at least 32). */
export function newTag(): string {
  return randomHex(8);
}

/** A globally unique Call-ID: 128 random bits (§8.1.1.4). */
export function newCallId(): string {
  return randomHex(16);
}

/**
 * A request outside any dialog (RFC 3261 §8.1.1): Max-Forwards, From with a
 * fresh tag, To without one, Call-ID, CSeq, then the caller's headers. The
 * transaction layer adds the Via when it sends it.
 */
export function createRequest(
  method: string,
  uri: SipUri,
  opts: {
    from: NameAddr;
    to: NameAddr;
    callId?: string;
    cseq?: number;
    headers?: HeaderField[];
    body?: Buffer;
  },
): SipRequest {
  return {
    type: "request",
    method,
    uri,
    headers: [
      { name: "Max-Forwards", value: "70" },
      {
        name: "From",
        value: formatNameAddr({ ...opts.from, params: { ...opts.from.params, tag: newTag() } }),
      },
      { name: "To", value: formatNameAddr(opts.to) },
      { name: "Call-ID", value: opts.callId ?? newCallId() },
      { name: "CSeq", value: `${opts.cseq ?? 1} ${method}` },
      ...(opts.headers ?? []),
    ],
    body: opts.body ?? Buffer.alloc(0),
  };
}
