// SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), other absolute
// URIs kept opaque (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc, §3.3.4 unksm2).

import { fail, isHostCode, lowerAscii } from "./chars.ts";
import type { Params, SipUri } from "./types.ts";
import { LIMITS } from "./types.ts";

const HEX = "0123456789ABCDEF";

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Resolves %XX escapes (§19.1.2: escaped and unescaped forms are equivalent,
 * RFC 4475 §3.1.1.3 esc01 and §3.1.1.4 escnull). Escapes are decoded as
 * UTF-8 octets; a "%" not followed by two hex digits is kept literally.
 */
export function unescapeUri(s: string): string {
  if (s.indexOf("%") < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c === 0x25 &&
      i + 2 < s.length &&
      hexVal(s.charCodeAt(i + 1)) >= 0 &&
      hexVal(s.charCodeAt(i + 2)) >= 0
    ) {
      bytes.push(hexVal(s.charCodeAt(i + 1)) * 16 + hexVal(s.charCodeAt(i + 2)));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      const code = s.codePointAt(i)!;
      if (code > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(code), "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function allowedTable(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  const unreserved = "-_.!~*'()";
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of unreserved + extra) t[ch.charCodeAt(0)] = 1;
  return t;
}

/** user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? / */
const USER_OK = allowedTable("&=+$,;?/");
/** password = *( unreserved / escaped / & = + $ , ) */
const PASSWORD_OK = allowedTable("&=+$,");
/** paramchar = param-unreserved / unreserved / escaped, param-unreserved = [ ] / : & + $ */
const PARAM_OK = allowedTable("[]/:&+$");
/** hname/hvalue characters: hnv-unreserved = [ ] / ? : + $ */
const HEADER_OK = allowedTable("[]/?:+$");

/** Escapes every character outside `ok` as UTF-8 %XX (§19.1.2). */
function escapeWith(s: string, ok: Uint8Array): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || ok[c] !== 1) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (const b of Buffer.from(s.slice(i), "utf8")) {
    if (b < 128 && ok[b] === 1) out += String.fromCharCode(b);
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

function parseUriParams(text: string, i: number, params: Params): number {
  const n = text.length;
  while (i < n && text.charCodeAt(i) === 0x3b) {
    let j = i + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 0x3b || c === 0x3f) break;
      j++;
    }
    const eq = text.indexOf("=", i + 1);
    const hasValue = eq >= 0 && eq < j;
    const name = lowerAscii(unescapeUri(text.slice(i + 1, hasValue ? eq : j)));
    if (name.length === 0) fail("empty URI parameter name");
    if (name === "__proto__") fail("invalid URI parameter name");
    if (!Object.hasOwn(params, name)) params[name] = hasValue ? unescapeUri(text.slice(eq + 1, j)) : null;
    i = j;
  }
  return i;
}

function parseUriHeaders(text: string, i: number, headers: Params): void {
  // headers = "?" header *( "&" header ), header = hname "=" hvalue (§25.1)
  const n = text.length;
  while (i < n) {
    let j = text.indexOf("&", i + 1);
    if (j < 0) j = n;
    const eq = text.indexOf("=", i + 1);
    if (eq < 0 || eq >= j) fail("URI header without value");
    const name = lowerAscii(unescapeUri(text.slice(i + 1, eq)));
    if (name.length === 0 || name === "__proto__") fail("invalid URI header name");
    if (!Object.hasOwn(headers, name)) headers[name] = unescapeUri(text.slice(eq + 1, j));
    i = j;
  }
}

function parseSipUri(text: string, scheme: string, start: number): SipUri {
  const n = text.length;
  let i = start;
  let user: string | undefined;
  let password: string | undefined;
  // user and password cannot hold an unescaped "@", nor can params or
  // headers: the first "@" ends the userinfo (§25.1), even after ";" or "?"
  // (RFC 4475 §3.1.1.9 semiuri, §3.1.1.2 intmeth).
  const at = text.indexOf("@", i);
  if (at >= 0) {
    const colon = text.indexOf(":", i);
    const userEnd = colon >= 0 && colon < at ? colon : at;
    if (userEnd === i) fail("empty user part in URI");
    user = unescapeUri(text.slice(i, userEnd));
    if (userEnd < at) password = unescapeUri(text.slice(userEnd + 1, at));
    i = at + 1;
  }
  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    // IPv6reference = "[" IPv6address "]" (§25.1, RFC 5118)
    const close = text.indexOf("]", i);
    if (close < 0) fail("unterminated IPv6 reference");
    let colons = 0;
    for (let k = i + 1; k < close; k++) {
      const c = text.charCodeAt(k);
      if (c === 0x3a) colons++;
      else if (
        !(c === 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
      )
        fail("invalid IPv6 reference");
    }
    if (colons < 2) fail("invalid IPv6 reference");
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const hostStart = i;
    while (i < n && isHostCode(text.charCodeAt(i))) i++;
    if (i === hostStart) fail("missing host in URI");
    host = text.slice(hostStart, i);
  }
  let port: number | undefined;
  if (i < n && text.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    let value = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      if (value > 65535) fail("URI port out of range");
      i++;
    }
    if (i === portStart) fail("empty URI port");
    port = value;
  }
  const params: Params = {};
  const headers: Params = {};
  i = parseUriParams(text, i, params);
  if (i < n) {
    if (text.charCodeAt(i) !== 0x3f) fail(`unexpected "${text[i]}" in URI`);
    parseUriHeaders(text, i, headers);
  }
  const uri: SipUri = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

/**
 * Parses a URI as found in a Request-URI or between "<" and ">". Whitespace,
 * quotes and angle brackets are never part of a URI (RFC 4475 §3.1.2.7
 * ltgtruri, §3.1.2.8 lwsruri, §3.1.2.14 badaspec).
 */
export function parseUri(text: string): SipUri {
  const n = text.length;
  if (n === 0) fail("empty URI");
  if (n > LIMITS.maxLineLength) fail("URI too long");
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) fail("invalid character in URI");
  }
  if (text.startsWith("sip:")) return parseSipUri(text, "sip", 4);
  const colon = text.indexOf(":");
  if (colon <= 0) fail("URI without scheme");
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  for (let i = 0; i < colon; i++) {
    const c = text.charCodeAt(i) | 0x20;
    const alpha = c >= 0x61 && c <= 0x7a;
    const other = i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e);
    if (!alpha && !other) fail("invalid URI scheme");
  }
  const scheme = lowerAscii(text.slice(0, colon));
  if (scheme === "sip" || scheme === "sips") return parseSipUri(text, scheme, colon + 1);
  if (colon + 1 >= n) fail("empty URI after scheme");
  if (scheme === "tel") {
    // RFC 3966: telephone-subscriber *( ";" par )
    let end = text.indexOf(";", colon + 1);
    if (end < 0) end = n;
    if (end === colon + 1) fail("empty tel number");
    const params: Params = {};
    const stop = parseUriParams(text, end, params);
    if (stop < n) fail("unexpected character in tel URI");
    return { scheme, user: unescapeUri(text.slice(colon + 1, end)), host: "", params, headers: {} };
  }
  return { scheme, host: "", params: {}, headers: {}, opaque: text.slice(colon + 1) };
}

function formatUriParams(params: Params): string {
  let out = "";
  for (const name in params) {
    const value = params[name];
    out += ";" + escapeWith(name, PARAM_OK);
    if (value !== null && value !== undefined) out += "=" + escapeWith(value, PARAM_OK);
  }
  return out;
}

/** Writes a URI back, escaping user, password, parameters and headers where the grammar requires it. */
export function formatUri(uri: SipUri): string {
  const scheme = uri.scheme;
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") return scheme + ":" + (uri.opaque ?? "");
  if (scheme === "tel") return "tel:" + escapeWith(uri.user ?? "", USER_OK) + formatUriParams(uri.params);
  let out = scheme + ":";
  if (uri.user !== undefined) {
    out += escapeWith(uri.user, USER_OK);
    if (uri.password !== undefined) out += ":" + escapeWith(uri.password, PASSWORD_OK);
    out += "@";
  }
  out += uri.host;
  if (uri.port !== undefined) out += ":" + uri.port;
  out += formatUriParams(uri.params);
  let sep = "?";
  for (const name in uri.headers) {
    const value = uri.headers[name];
    out += sep + escapeWith(name, HEADER_OK) + "=" + escapeWith(value ?? "", HEADER_OK);
    sep = "&";
  }
  return out;
}

/** Parameters that make two URIs differ when present in only one of them (§19.1.4). */
const SIGNIFICANT = ["user", "ttl", "method", "maddr", "transport"];

function paramValueEquals(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return a.toLowerCase() === b.toLowerCase();
}

/** URI comparison of RFC 3261 §19.1.4. */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme !== "sip" && a.scheme !== "sips" && a.scheme !== "tel") return a.opaque === b.opaque;
  // userinfo is compared case-sensitively, after unescaping (done at parse).
  if (a.user !== b.user || a.password !== b.password) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  // "a URI omitting [a component] will not match a URI explicitly containing it"
  if (a.port !== b.port) return false;
  for (const name of SIGNIFICANT) {
    const inA = Object.hasOwn(a.params, name);
    if (inA !== Object.hasOwn(b.params, name)) return false;
    if (inA && !paramValueEquals(a.params[name], b.params[name])) return false;
  }
  // Any other parameter appearing in both must match; appearing in one only is ignored.
  for (const name in a.params) {
    if (Object.hasOwn(b.params, name) && !paramValueEquals(a.params[name], b.params[name])) return false;
  }
  // URI header components are never ignored.
  const ha = Object.keys(a.headers);
  if (ha.length !== Object.keys(b.headers).length) return false;
  for (const name of ha) {
    if (!Object.hasOwn(b.headers, name) || a.headers[name] !== b.headers[name]) return false;
  }
  return true;
}
