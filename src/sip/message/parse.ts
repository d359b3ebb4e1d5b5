// The message parser: RFC 3261 §7 framing and §25 grammar for the start line
// and the headers every layer relies on, with the tolerance and strictness
// that RFC 4475 (SIP torture tests) asks for. Other headers are kept as text
// and parsed on demand by the accessors in headers.ts.

import { isToken, trimLws } from "./chars.ts";
import {
  canonicalHeaderName,
  parseBoundedInt,
  parseCSeq,
  parseDeltaSeconds,
  splitList,
  validateCallId,
} from "./headers.ts";
import { parseNameAddr } from "./name-addr.ts";
import type { CSeq, HeaderField, SipMessage, SipRequest, SipUri } from "./types.ts";
import { LIMITS, SipParseError } from "./types.ts";
import { parseUri } from "./uri.ts";
import { parseVia } from "./via.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY: Buffer = Buffer.alloc(0);
/** rfc1123-date, which SIP restricts to GMT (§20.17; RFC 4475 §3.1.2.12 baddate). Anchored and without nested repetition. */
const DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Where the header section ends when it is not the plain CRLFCRLF case. */
function findHeadEndSlow(data: Buffer, start: number): { headEnd: number; bodyStart: number } {
  let pos = start;
  for (;;) {
    const nl = data.indexOf(10, pos);
    if (nl < 0) {
      // No empty line: over a datagram, the header section runs to its end.
      return { headEnd: data.length, bodyStart: data.length };
    }
    if (nl === pos || (nl === pos + 1 && data[pos] === 13)) return { headEnd: pos, bodyStart: nl + 1 };
    pos = nl + 1;
  }
}

// The first problem found in the message being parsed. Parsing is synchronous,
// so module state is safe, and spares a closure per message.
let error: string | undefined;
let errorStatus = 400;

function note(message: string, status = 400): void {
  if (error === undefined) {
    error = message;
    errorStatus = status;
  }
}

function placeholderUri(text: string): SipUri {
  return { scheme: "", host: "", params: {}, headers: {}, opaque: text };
}

/**
 * Parses one message from a datagram or a frame cut by StreamFramer. The body
 * is exactly Content-Length bytes; without Content-Length it is the rest of the
 * datagram; bytes after the body are ignored (§18.3, RFC 4475 §3.1.1.8 dblreq).
 * Throws only SipParseError; when the message is a request whose top Via could
 * be read, the error carries the readable part so that a 400 can be answered.
 */
export function parseMessage(data: Buffer): SipMessage {
  try {
    return parse(data);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    throw new SipParseError(`internal parser error: ${(e as Error)?.message}`);
  }
}

function parse(data: Buffer): SipMessage {
  const len = data.length;
  if (len > LIMITS.maxMessageBytes) throw new SipParseError("message too large", undefined, 513);
  // Implementations SHOULD ignore CRLFs before the start line (§7.5).
  let start = 0;
  while (start < len && (data[start] === 13 || data[start] === 10)) start++;
  if (start === len) throw new SipParseError("empty message");

  let head: string;
  let bodyStart: number;
  const idx = data.indexOf(CRLFCRLF, start);
  if (idx >= 0) {
    head = data.toString("utf8", start, idx);
    bodyStart = idx + 4;
    // Lines ended by a bare LF (tolerated) may put the empty line earlier.
    if (head.indexOf("\n\n") >= 0 || head.indexOf("\n\r\n") >= 0 || head.charCodeAt(head.length - 1) === 10) {
      const slow = findHeadEndSlow(data, start);
      head = data.toString("utf8", start, slow.headEnd);
      bodyStart = slow.bodyStart;
    }
  } else {
    const slow = findHeadEndSlow(data, start);
    head = data.toString("utf8", start, slow.headEnd);
    bodyStart = slow.bodyStart;
  }
  if (head.charCodeAt(head.length - 1) === 10)
    head = head.slice(0, head.charCodeAt(head.length - 2) === 13 ? -2 : -1);

  error = undefined;
  errorStatus = 400;

  // ---- start line (§7.1, §7.2) ----
  const n = head.length;
  let lineEnd = head.indexOf("\n");
  if (lineEnd < 0) lineEnd = n;
  const startLine = head.slice(0, head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
  if (startLine.length > LIMITS.maxLineLength) throw new SipParseError("start line too long");
  if (startLine.indexOf("\r") >= 0) throw new SipParseError("bare CR in start line");

  let isRequest = false;
  let method = "";
  let uri: SipUri | undefined;
  let status = 0;
  let reason = "";
  if (startLine.length >= 4 && startLine.slice(0, 4).toUpperCase() === "SIP/") {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; Status-Code = 3DIGIT (RFC 4475 §3.1.2.19 bigcode)
    if (startLine.slice(0, 8).toUpperCase() !== "SIP/2.0 ")
      throw new SipParseError("unsupported SIP version");
    const code = startLine.slice(8, 11);
    if (!/^[1-6]\d\d$/.test(code)) throw new SipParseError("invalid status code");
    if (startLine.length > 11 && startLine.charCodeAt(11) !== 0x20)
      throw new SipParseError("invalid status code");
    status = Number(code);
    reason = startLine.slice(12);
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version, single spaces
    // (RFC 4475 §3.1.2.8 lwsruri, §3.1.2.9 lwsstart, §3.1.2.10 trws).
    const sp1 = startLine.indexOf(" ");
    if (sp1 <= 0) throw new SipParseError("malformed start line");
    method = startLine.slice(0, sp1);
    if (!isToken(method)) throw new SipParseError("invalid request method");
    isRequest = true;
    const sp2 = startLine.lastIndexOf(" ");
    const version = sp2 > sp1 ? startLine.slice(sp2 + 1) : "";
    const uriText = sp2 > sp1 ? startLine.slice(sp1 + 1, sp2) : startLine.slice(sp1 + 1);
    if (version.toUpperCase() !== "SIP/2.0") {
      if (/^SIP\/\d+\.\d+$/i.test(version)) note("SIP version not supported", 505);
      else note("malformed request line");
    }
    if (uriText.length === 0 || uriText.indexOf(" ") >= 0) {
      note("whitespace in Request-URI");
    } else {
      try {
        uri = parseUri(uriText);
        // Headers are not allowed in a Request-URI (§19.1.1 table 1; RFC 4475 §3.1.2.11 escruri).
        for (const _ in uri.headers) {
          note("headers in Request-URI");
          break;
        }
      } catch (e) {
        note(`invalid Request-URI: ${(e as Error).message}`);
      }
    }
    if (uri === undefined) uri = placeholderUri(uriText);
  }

  // ---- header fields, unfolding continuation lines (§7.3.1) ----
  const headers: HeaderField[] = [];
  let curName: string | undefined;
  let curValue = "";
  let pos = lineEnd + 1;
  while (pos < n) {
    let nl = head.indexOf("\n", pos);
    if (nl < 0) nl = n;
    const end = nl > pos && head.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end - pos > LIMITS.maxLineLength) throw new SipParseError("header line too long");
    // CR is only allowed as part of a line end (§7.3.1, TEXT-UTF8 excludes it).
    const cr = head.indexOf("\r", pos);
    if (cr >= 0 && cr < end) note("bare CR in header line");
    const c0 = head.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) {
      if (curName !== undefined) {
        const cont = trimLws(head.slice(pos, end));
        if (cont.length > 0) {
          const prev = trimLws(curValue);
          curValue = prev.length > 0 ? prev + " " + cont : cont;
        }
      } else if (headers.length === 0) {
        note("continuation line without a header");
      }
    } else {
      if (curName !== undefined) headers.push({ name: curName, value: trimLws(curValue) });
      curName = undefined;
      const colon = head.indexOf(":", pos);
      if (colon < 0 || colon >= end) {
        note("header line without colon");
      } else {
        let nameEnd = colon;
        while (
          nameEnd > pos &&
          (head.charCodeAt(nameEnd - 1) === 0x20 || head.charCodeAt(nameEnd - 1) === 0x09)
        )
          nameEnd--;
        const rawName = head.slice(pos, nameEnd);
        if (!isToken(rawName)) {
          note("invalid header name");
        } else {
          if (headers.length >= LIMITS.maxHeaderCount) throw new SipParseError("too many header fields");
          curName = canonicalHeaderName(rawName);
          curValue = head.slice(colon + 1, end);
        }
      }
    }
    pos = nl + 1;
  }
  if (curName !== undefined) headers.push({ name: curName, value: trimLws(curValue) });

  // ---- the headers every layer depends on, checked now (§8.1.1, §8.2.2, §20) ----
  let bad: Set<number> | undefined;
  let firstVia = -1;
  let froms = 0;
  let tos = 0;
  let callIds = 0;
  let cseq: CSeq | undefined;
  let cseqs = 0;
  let contentLength = -1;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    try {
      switch (h.name) {
        case "Via":
          if (firstVia < 0) firstVia = i;
          for (const element of splitList(h.value)) {
            if (element.length === 0) throw new SipParseError("empty Via element");
            if (parseVia(element).version !== undefined) note("SIP version not supported", 505);
          }
          break;
        case "From":
          froms++;
          parseNameAddr(h.value);
          break;
        case "To":
          tos++;
          parseNameAddr(h.value);
          break;
        case "Call-ID":
          callIds++;
          validateCallId(h.value);
          break;
        case "CSeq": {
          cseqs++;
          const parsed = parseCSeq(h.value);
          if (cseq === undefined) cseq = parsed;
          break;
        }
        case "Max-Forwards":
          parseBoundedInt(h.value, 255, "Max-Forwards");
          break;
        case "Content-Length": {
          const value = parseBoundedInt(h.value, LIMITS.maxMessageBytes, "Content-Length");
          if (contentLength < 0) contentLength = value;
          break;
        }
        case "Expires":
          parseDeltaSeconds(h.value);
          break;
        case "Date":
          if (!DATE.test(h.value)) throw new SipParseError("Date is not an RFC 1123 date in GMT");
          break;
        case "Contact":
          if (h.value === "*") break;
          for (const element of splitList(h.value)) {
            if (element.length === 0) throw new SipParseError("empty Contact element");
            parseNameAddr(element);
          }
          break;
      }
    } catch (e) {
      note(`invalid ${h.name}: ${(e as Error).message}`);
      if (bad === undefined) bad = new Set();
      bad.add(i);
    }
  }
  if (firstVia < 0) note("missing Via");
  if (froms === 0) note("missing From");
  if (tos === 0) note("missing To");
  if (callIds === 0) note("missing Call-ID");
  if (cseqs === 0) note("missing CSeq");
  // The CSeq method must be the request's method (§8.1.1.5; RFC 4475 §3.1.2.17 mismatch01, §3.1.2.18 mismatch02).
  if (isRequest && cseq !== undefined && cseq.method !== method)
    note("CSeq method does not match request method");

  // ---- body (§7.4, §18.3) ----
  let body: Buffer = EMPTY;
  if (contentLength >= 0) {
    if (bodyStart + contentLength > len) note("Content-Length larger than the message");
    else if (contentLength > 0) body = data.subarray(bodyStart, bodyStart + contentLength);
  } else if (bodyStart < len) {
    body = data.subarray(bodyStart);
  }

  if (error !== undefined) {
    let partial: SipRequest | undefined;
    if (isRequest && firstVia >= 0 && !bad?.has(firstVia)) {
      const kept = bad === undefined ? headers : headers.filter((_, i) => !bad.has(i));
      partial = { type: "request", method, uri: uri!, headers: kept, body: EMPTY };
    }
    const e = new SipParseError(error, partial, errorStatus);
    error = undefined;
    throw e;
  }
  if (isRequest) return { type: "request", method, uri: uri!, headers, body };
  return { type: "response", status, reason, headers, body };
}
