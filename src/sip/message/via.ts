// via-parm = sent-protocol LWS sent-by *( SEMI via-params ) (RFC 3261 §20.42, §25.1).
// SLASH and COLON allow whitespace around them (SWS), as RFC 4475 §3.1.1.1 wsinv shows.

import { fail, isHostCode, isTokenCode, skipWs } from "./chars.ts";
import { formatParams, parseParams } from "./params.ts";
import type { Params, Via } from "./types.ts";

function readToken(s: string, i: number): number {
  const n = s.length;
  while (i < n && isTokenCode(s.charCodeAt(i))) i++;
  return i;
}

function expectSlash(s: string, i: number): number {
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 0x2f) fail('expected "/" in Via sent-protocol');
  return skipWs(s, i + 1);
}

/** Parses one via-parm; the list is split by the header accessors. */
export function parseVia(text: string): Via {
  const n = text.length;
  let i = skipWs(text, 0);
  let j = readToken(text, i);
  // Only SIP/2.0 is ours, but another version is still read, so that the
  // message can be answered with 505 (RFC 4475 §3.1.2.16 badvers).
  if (
    j - i !== 3 ||
    (text.charCodeAt(i) | 0x20) !== 0x73 ||
    (text.charCodeAt(i + 1) | 0x20) !== 0x69 ||
    (text.charCodeAt(i + 2) | 0x20) !== 0x70
  )
    fail("Via protocol is not SIP");
  i = expectSlash(text, j);
  j = readToken(text, i);
  const version = text.slice(i, j);
  if (!/^[0-9]+\.[0-9]+$/.test(version)) fail("Via version is not a number");
  i = expectSlash(text, j);
  j = readToken(text, i);
  if (j === i) fail("missing Via transport");
  const raw = text.slice(i, j);
  const transport = raw === "UDP" || raw === "TCP" || raw === "TLS" ? raw : raw.toUpperCase();
  i = skipWs(text, j);
  if (i === j) fail("missing whitespace before Via sent-by");
  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf("]", i);
    if (close < 0) fail("unterminated IPv6 reference in Via");
    for (let k = i + 1; k < close; k++) {
      const c = text.charCodeAt(k) | 0x20;
      if (!(c === 0x3a || c === 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)))
        fail("invalid IPv6 reference in Via");
    }
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const start = i;
    while (i < n && isHostCode(text.charCodeAt(i))) i++;
    if (i === start) fail("missing Via sent-by host");
    host = text.slice(start, i);
  }
  let port: number | undefined;
  const afterHost = skipWs(text, i);
  if (afterHost < n && text.charCodeAt(afterHost) === 0x3a) {
    i = skipWs(text, afterHost + 1);
    const start = i;
    let value = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      if (value > 65535) fail("Via port out of range");
      i++;
    }
    if (i === start) fail("empty Via port");
    port = value;
  }
  const params: Params = {};
  parseParams(text, i, params);
  const via: Via = { transport, host, params };
  if (version !== "2.0") via.version = version;
  if (port !== undefined) via.port = port;
  return via;
}

export function formatVia(v: Via): string {
  let out = "SIP/" + (v.version ?? "2.0") + "/" + v.transport + " " + v.host;
  if (v.port !== undefined) out += ":" + v.port;
  return out + formatParams(v.params);
}
