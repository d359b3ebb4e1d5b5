// Writes a message in the form of RFC 3261 §7: start line, header fields with
// their full names (compact forms are allowed but never required, §7.3.3),
// Content-Length always present and equal to the body (§20.14, mandatory on
// streams, §18.3), CRLF line ends.

import { canonicalHeaderName } from "./headers.ts";
import type { SipMessage } from "./types.ts";
import { formatUri } from "./uri.ts";

/** CR or LF inside a value would let text inject header lines; they become spaces. */
function clean(value: string): string {
  return value.indexOf("\r") < 0 && value.indexOf("\n") < 0 ? value : value.replace(/[\r\n]/g, " ");
}

export function serializeMessage(msg: SipMessage): Buffer {
  let head =
    msg.type === "request"
      ? msg.method + " " + formatUri(msg.uri) + " SIP/2.0\r\n"
      : "SIP/2.0 " + msg.status + " " + clean(msg.reason) + "\r\n";
  const headers = msg.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const name = canonicalHeaderName(h.name);
    if (name === "Content-Length") continue;
    head += name + ": " + clean(h.value) + "\r\n";
  }
  const body = msg.body;
  head += "Content-Length: " + body.length + "\r\n\r\n";
  const headLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headLength + body.length);
  out.write(head, 0, headLength, "utf8");
  body.copy(out, headLength);
  return out;
}
