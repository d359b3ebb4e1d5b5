// Header parameters: *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
// gen-value = token / host / quoted-string (RFC 3261 §25.1). SEMI and EQUAL
// allow whitespace on both sides (SWS), which RFC 4475 §3.1.1.1 (wsinv) exercises.

import { fail, isGenValueCode, isTokenCode, lowerAscii, quotedEnd, skipWs } from "./chars.ts";
import type { Params } from "./types.ts";

/**
 * Parses header parameters from `s[i]` to the end of `s` into `into`.
 * Names are lower-cased; a quoted value keeps its quotes so it can be
 * written back unchanged; the first occurrence of a name wins.
 */
export function parseParams(s: string, i: number, into: Params): void {
  const n = s.length;
  for (;;) {
    i = skipWs(s, i);
    if (i >= n) return;
    if (s.charCodeAt(i) !== 0x3b) fail(`unexpected "${s[i]}" in header parameters`);
    i = skipWs(s, i + 1);
    const nameStart = i;
    while (i < n && isTokenCode(s.charCodeAt(i))) i++;
    if (i === nameStart) fail("empty header parameter name");
    const name = lowerAscii(s.slice(nameStart, i));
    if (name === "__proto__") fail("invalid parameter name");
    i = skipWs(s, i);
    let value: string | null = null;
    if (i < n && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1);
      const valueStart = i;
      if (i < n && s.charCodeAt(i) === 0x22) {
        const end = quotedEnd(s, i);
        if (end < 0) fail("unterminated quoted parameter value");
        i = end;
      } else {
        while (i < n && isGenValueCode(s.charCodeAt(i))) i++;
      }
      if (i === valueStart) fail(`empty value for parameter "${name}"`);
      value = s.slice(valueStart, i);
    }
    if (!Object.hasOwn(into, name)) into[name] = value;
  }
}

/** Writes parameters as ";name=value" / ";name", values as stored. */
export function formatParams(params: Params): string {
  let out = "";
  for (const name in params) {
    const value = params[name];
    out += value === null || value === undefined ? ";" + name : ";" + name + "=" + value;
  }
  return out;
}
