// Character classes of the RFC 3261 §25.1 grammar, as lookup tables so the
// scanners stay linear (no regular expressions that could backtrack on
// hostile input).

import { SipParseError } from "./types.ts";

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") (§25.1) */
const TOKEN = table("-.!%*_+`'~", true);
/** gen-value = token / host / quoted-string (§25.1): host adds "[", "]" and ":" (IPv6). */
const GEN_VALUE = table("-.!%*_+`'~[]:", true);
/** hostname / IPv4address characters; "_" is tolerated because real DNS names carry it. */
const HOST = table("-._", true);

export function isTokenCode(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

export function isGenValueCode(c: number): boolean {
  return c < 128 && GEN_VALUE[c] === 1;
}

export function isHostCode(c: number): boolean {
  return c < 128 && HOST[c] === 1;
}

export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (!isTokenCode(s.charCodeAt(i))) return false;
  return true;
}

export function isDigits(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Index of the first character at or after `i` that is not SP or HTAB (LWS after unfolding). */
export function skipWs(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Removes SP and HTAB at both ends, and nothing else (String.prototype.trim would also eat U+FEFF, U+00A0...). */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Index just after the closing quote of the quoted-string starting at `i`
 * (s[i] === '"'), honouring quoted-pair escapes (§25.1); -1 if unterminated
 * (RFC 4475 §3.1.2.6 quotbal).
 */
export function quotedEnd(s: string, i: number): number {
  const n = s.length;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): CR and LF cannot be escaped.
      const e = s.charCodeAt(j + 1);
      if (j + 1 >= n || e === 0x0a || e === 0x0d) return -1;
      j++;
    } else if (c === 0x22) {
      return j + 1;
    }
  }
  return -1;
}

/** The content of a quoted-string given with its quotes, quoted-pairs resolved. */
export function unquote(raw: string): string {
  const inner = raw.slice(1, -1);
  if (inner.indexOf("\\") < 0) return inner;
  let out = "";
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === "\\" && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Writes `s` as a quoted-string, escaping the two characters that need it. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' || ch === "\\") out += "\\";
    out += ch === "\r" || ch === "\n" ? " " : ch;
  }
  return out + '"';
}

/** ASCII lower-casing that leaves the string untouched (no allocation) when already lower-case. */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.toLowerCase();
  }
  return s;
}

export function fail(message: string): never {
  throw new SipParseError(message);
}
