// Header names (RFC 3261 §7.3, compact forms §7.3.3 and §20) and typed
// accessors. Fields are stored as received; the accessors parse on demand so
// that code pays only for the headers it reads.

import { fail, isDigits, isToken, skipWs, trimLws } from "./chars.ts";
import { parseNameAddr } from "./name-addr.ts";
import type { CSeq, HeaderField, NameAddr, SipMessage, Via } from "./types.ts";
import { parseVia } from "./via.ts";

const KNOWN_NAMES = [
  "Accept",
  "Accept-Contact",
  "Accept-Encoding",
  "Accept-Language",
  "Accept-Resource-Priority",
  "Alert-Info",
  "Allow",
  "Allow-Events",
  "Answer-Mode",
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Call-Info",
  "Contact",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Content-Length",
  "Content-Transfer-Encoding",
  "Content-Type",
  "CSeq",
  "Date",
  "Diversion",
  "Error-Info",
  "Event",
  "Expires",
  "Flow-Timer",
  "From",
  "Geolocation",
  "History-Info",
  "Identity",
  "Identity-Info",
  "In-Reply-To",
  "Join",
  "Max-Breadth",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Min-SE",
  "Organization",
  "P-Access-Network-Info",
  "P-Asserted-Identity",
  "P-Associated-URI",
  "P-Called-Party-ID",
  "P-Charging-Vector",
  "P-Preferred-Identity",
  "P-Visited-Network-ID",
  "Path",
  "Priority",
  "Privacy",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "Proxy-Require",
  "RAck",
  "Reason",
  "Record-Route",
  "Refer-To",
  "Referred-By",
  "Reject-Contact",
  "Remote-Party-ID",
  "Replaces",
  "Reply-To",
  "Request-Disposition",
  "Require",
  "Resource-Priority",
  "Retry-After",
  "Route",
  "RSeq",
  "Security-Client",
  "Security-Server",
  "Security-Verify",
  "Server",
  "Service-Route",
  "Session-Expires",
  "SIP-ETag",
  "SIP-If-Match",
  "Subject",
  "Subscription-State",
  "Supported",
  "Target-Dialog",
  "Timestamp",
  "To",
  "Unsupported",
  "User-Agent",
  "Via",
  "Warning",
  "WWW-Authenticate",
];

/** Compact forms (RFC 3261 §7.3.3 and the IANA SIP header registry). */
const COMPACT: Record<string, string> = {
  a: "Accept-Contact",
  b: "Referred-By",
  c: "Content-Type",
  d: "Request-Disposition",
  e: "Content-Encoding",
  f: "From",
  i: "Call-ID",
  j: "Reject-Contact",
  k: "Supported",
  l: "Content-Length",
  m: "Contact",
  n: "Identity-Info",
  o: "Event",
  r: "Refer-To",
  s: "Subject",
  t: "To",
  u: "Allow-Events",
  v: "Via",
  x: "Session-Expires",
  y: "Identity",
};

const BY_LOWER = new Map<string, string>();
/** Exact spellings seen most on the wire, so the common case costs one lookup. */
const BY_EXACT = new Map<string, string>();
for (const name of KNOWN_NAMES) {
  BY_LOWER.set(name.toLowerCase(), name);
  BY_EXACT.set(name, name);
}
for (const [letter, name] of Object.entries(COMPACT)) {
  BY_LOWER.set(letter, name);
  BY_EXACT.set(letter, name);
  BY_EXACT.set(letter.toUpperCase(), name);
}

/** Expands compact forms and writes the canonical case; unknown names get each dash-separated word capitalised. */
export function canonicalHeaderName(name: string): string {
  const exact = BY_EXACT.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  const known = BY_LOWER.get(lower);
  if (known !== undefined) return known;
  let out = "";
  let upper = true;
  for (let i = 0; i < lower.length; i++) {
    const ch = lower[i];
    out += upper ? ch.toUpperCase() : ch;
    upper = ch === "-";
  }
  return out;
}

/** Headers whose value is a comma-separated list (the `#element` rules of §25.1), so one line may hold several values. */
const LIST_HEADERS = new Set([
  "Via",
  "Contact",
  "Route",
  "Record-Route",
  "Allow",
  "Supported",
  "Require",
  "Proxy-Require",
  "Unsupported",
  "Accept",
  "Accept-Encoding",
  "Accept-Language",
  "Allow-Events",
  "Content-Encoding",
  "Path",
  "Service-Route",
]);

export function isListHeader(canonicalName: string): boolean {
  return LIST_HEADERS.has(canonicalName);
}

/**
 * Splits a list value on commas outside quoted strings and angle brackets
 * (a URI in <> may hold commas, §20.10). Elements are trimmed; empty
 * elements are kept so that strict callers can reject them.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(",") < 0) return [trimLws(value)];
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (inAngle) {
      if (c === 0x3e) inAngle = false;
    } else if (c === 0x22) {
      inQuote = true;
    } else if (c === 0x3c) {
      inAngle = true;
    } else if (c === 0x2c) {
      out.push(trimLws(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimLws(value.slice(start)));
  return out;
}

/** First value of the named header (any case, compact or full), as one unsplit line. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  const headers = msg.headers;
  for (let i = 0; i < headers.length; i++) if (headers[i].name === canonical) return headers[i].value;
  return undefined;
}

/** All values of the named header; list headers are split into their elements (empty ones dropped). */
export function getHeaders(msg: SipMessage, name: string): string[] {
  const canonical = canonicalHeaderName(name);
  const list = LIST_HEADERS.has(canonical);
  const out: string[] = [];
  for (const h of msg.headers) {
    if (h.name !== canonical) continue;
    if (!list) out.push(h.value);
    else for (const element of splitList(h.value)) if (element.length > 0) out.push(element);
  }
  return out;
}

/** Replaces all fields of that name by one at the position of the first, or appends it. */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  const canonical = canonicalHeaderName(name);
  const headers = msg.headers;
  let first = -1;
  let w = 0;
  for (let r = 0; r < headers.length; r++) {
    const h = headers[r];
    if (h.name === canonical) {
      if (first >= 0) continue;
      first = w;
    }
    headers[w++] = h;
  }
  headers.length = w;
  const field: HeaderField = { name: canonical, value };
  if (first >= 0) headers[first] = field;
  else headers.push(field);
}

export function addHeader(msg: SipMessage, name: string, value: string): void {
  msg.headers.push({ name: canonicalHeaderName(name), value });
}

/** Inserts before the first field of that name; a new Via goes on top (§16.6 step 8, §18.1.1). */
export function prependHeader(msg: SipMessage, name: string, value: string): void {
  const canonical = canonicalHeaderName(name);
  const field: HeaderField = { name: canonical, value };
  const index = msg.headers.findIndex((h) => h.name === canonical);
  if (index >= 0) msg.headers.splice(index, 0, field);
  else if (canonical === "Via") msg.headers.unshift(field);
  else msg.headers.push(field);
}

export function removeHeader(msg: SipMessage, name: string): void {
  const canonical = canonicalHeaderName(name);
  const headers = msg.headers;
  let w = 0;
  for (let r = 0; r < headers.length; r++) if (headers[r].name !== canonical) headers[w++] = headers[r];
  headers.length = w;
}

function required(msg: SipMessage, name: string): string {
  const value = getHeader(msg, name);
  if (value === undefined) fail(`missing ${name} header`);
  return value;
}

/** Elements of all fields of a list header, rejecting empty elements. */
function strictElements(msg: SipMessage, canonical: string): string[] {
  const out: string[] = [];
  for (const h of msg.headers) {
    if (h.name !== canonical) continue;
    for (const element of splitList(h.value)) {
      if (element.length === 0) fail(`empty element in ${canonical}`);
      out.push(element);
    }
  }
  return out;
}

export function getVias(msg: SipMessage): Via[] {
  return strictElements(msg, "Via").map(parseVia);
}

export function getTopVia(msg: SipMessage): Via {
  const value = required(msg, "Via");
  const comma = value.indexOf(",");
  return parseVia(comma < 0 ? value : splitList(value)[0]);
}

export function getFrom(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, "From"));
}

export function getTo(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, "To"));
}

/** callid = word [ "@" word ]; we only insist on no whitespace or controls, as real Call-IDs stray from `word`. */
export function validateCallId(value: string): void {
  if (value.length === 0) fail("empty Call-ID");
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) fail("invalid character in Call-ID");
  }
}

export function getCallId(msg: SipMessage): string {
  const value = required(msg, "Call-ID");
  validateCallId(value);
  return value;
}

/** CSeq = 1*DIGIT LWS Method; the number is below 2**31 (§8.1.1.5, RFC 4475 §3.1.2.4 scalar02). */
export function parseCSeq(value: string): CSeq {
  let i = 0;
  const n = value.length;
  let seq = 0;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    if (seq >= 2 ** 31) fail("CSeq number out of range");
    i++;
  }
  if (i === 0) fail("CSeq without number");
  const methodStart = skipWs(value, i);
  if (methodStart === i) fail("CSeq without method");
  const method = value.slice(methodStart);
  if (!isToken(method)) fail("invalid CSeq method");
  return { seq, method };
}

export function getCSeq(msg: SipMessage): CSeq {
  return parseCSeq(required(msg, "CSeq"));
}

/** Contact: "*" (only in a REGISTER removing all bindings, §10.2.2) or a list of name-addr. */
export function getContacts(msg: SipMessage): NameAddr[] | "*" {
  const elements = strictElements(msg, "Contact");
  if (elements.includes("*")) {
    if (elements.length !== 1) fail('Contact "*" mixed with other contacts');
    return "*";
  }
  return elements.map(parseNameAddr);
}

/** Parses 1*DIGIT bounded by `max` (checked while reading, so long inputs cannot overflow). */
export function parseBoundedInt(value: string, max: number, what: string): number {
  if (!isDigits(value)) fail(`invalid ${what}`);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    n = n * 10 + (value.charCodeAt(i) - 0x30);
    if (n > max) fail(`${what} out of range`);
  }
  return n;
}

/** Max-Forwards = 1*DIGIT, at most 255 (§20.22; RFC 4475 §3.1.2.4). */
export function getMaxForwards(msg: SipMessage): number | undefined {
  const value = getHeader(msg, "Max-Forwards");
  return value === undefined ? undefined : parseBoundedInt(value, 255, "Max-Forwards");
}

export function getRoutes(msg: SipMessage): NameAddr[] {
  return strictElements(msg, "Route").map(parseNameAddr);
}

export function getRecordRoutes(msg: SipMessage): NameAddr[] {
  return strictElements(msg, "Record-Route").map(parseNameAddr);
}

/** delta-seconds; values above 2**32-1 are read as 2**32-1 (§20.19, RFC 4475 §3.1.2.4). */
export function parseDeltaSeconds(value: string): number {
  if (!isDigits(value)) fail("invalid delta-seconds");
  let i = 0;
  while (i < value.length - 1 && value.charCodeAt(i) === 0x30) i++;
  const digits = value.slice(i);
  if (digits.length > 10) return 2 ** 32 - 1;
  return Math.min(Number(digits), 2 ** 32 - 1);
}

export function getExpires(msg: SipMessage): number | undefined {
  const value = getHeader(msg, "Expires");
  return value === undefined ? undefined : parseDeltaSeconds(value);
}

/** media-type as lower-case "type/subtype", parameters dropped (§20.15). */
export function getContentType(msg: SipMessage): string | undefined {
  const value = getHeader(msg, "Content-Type");
  if (value === undefined) return undefined;
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).toLowerCase();
  const slash = type.indexOf("/");
  if (slash < 0) return type.trim();
  return type.slice(0, slash).trim() + "/" + type.slice(slash + 1).trim();
}
