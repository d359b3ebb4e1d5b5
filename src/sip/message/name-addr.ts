// ( name-addr / addr-spec ) *( SEMI param ), as in From, To, Contact, Route,
// Record-Route, Refer-To (RFC 3261 §20.10, §25.1).

import { fail, isTokenCode, quote, quotedEnd, skipWs, unquote } from "./chars.ts";
import { formatParams, parseParams } from "./params.ts";
import type { NameAddr, Params } from "./types.ts";
import { formatUri, parseUri } from "./uri.ts";

/**
 * True when `s` is *(token LWS) token: a display name that needs no quotes.
 * When reading, non-ASCII letters are let through (phones do send unquoted
 * "Zoë <sip:...>"); they cannot be confused with the delimiters.
 */
function isTokenWords(s: string, lenient = false): boolean {
  let sawToken = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isTokenCode(c) || (lenient && c >= 0x80)) sawToken = true;
    else if (c !== 0x20 && c !== 0x09) return false;
  }
  return sawToken;
}

/**
 * Parses one element (lists are split beforehand by the header accessors).
 * Header parameter values keep their quotes when quoted.
 */
export function parseNameAddr(text: string): NameAddr {
  const n = text.length;
  let i = skipWs(text, 0);
  let displayName: string | undefined;
  if (i < n && text.charCodeAt(i) === 0x22) {
    // display-name = quoted-string, then LAQUOT = SWS "<"
    const end = quotedEnd(text, i);
    if (end < 0) fail("unterminated quoted display name");
    displayName = unquote(text.slice(i, end));
    i = skipWs(text, end);
    if (i >= n || text.charCodeAt(i) !== 0x3c) fail('expected "<" after display name');
  } else {
    const lt = text.indexOf("<", i);
    if (lt >= 0) {
      const words = text.slice(i, lt);
      if (isTokenWords(words, true)) {
        displayName = words.trim();
      } else if (words.trim().length > 0) {
        // Either an addr-spec whose parameters hold a quoted "<", or a display
        // name that is not a token and not quoted (RFC 4475 §3.1.2.15 baddn).
        return parseAddrSpec(text, i);
      }
      i = lt;
    } else {
      return parseAddrSpec(text, i);
    }
  }
  // i is at "<"
  const gt = text.indexOf(">", i + 1);
  if (gt < 0) fail('missing ">"');
  const uri = parseUri(text.slice(i + 1, gt));
  const params: Params = {};
  parseParams(text, gt + 1, params);
  const out: NameAddr = { uri, params };
  if (displayName !== undefined) out.displayName = displayName;
  return out;
}

/**
 * addr-spec without brackets: the URI ends at the first ";" (which starts the
 * header parameters) or whitespace. A URI holding "?" or "," must be in
 * brackets (§20.10; RFC 4475 §3.1.2.13 regbadct).
 */
function parseAddrSpec(text: string, i: number): NameAddr {
  const n = text.length;
  let end = i;
  while (end < n) {
    const c = text.charCodeAt(end);
    if (c === 0x3b || c === 0x20 || c === 0x09) break;
    if (c === 0x3f || c === 0x2c) fail("addr-spec with ? or , must be enclosed in <>");
    end++;
  }
  const uri = parseUri(text.slice(i, end));
  const params: Params = {};
  parseParams(text, end, params);
  return { uri, params };
}

/** Always writes name-addr form "<uri>" so URI parameters never turn into header parameters. */
export function formatNameAddr(n: NameAddr): string {
  let out = "";
  if (n.displayName !== undefined && n.displayName.length > 0) {
    out = (isTokenWords(n.displayName) ? n.displayName : quote(n.displayName)) + " ";
  }
  return out + "<" + formatUri(n.uri) + ">" + formatParams(n.params);
}
