// Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length, which is
// mandatory on streams (RFC 3261 §18.3), and recognises the RFC 5626 §4.4.1
// keep-alive: a CRLFCRLF "ping" between messages, to be answered by a CRLF "pong".

import { LIMITS, SipParseError } from "./types.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY: Buffer = Buffer.alloc(0);

export interface StreamLimits {
  /** Largest whole message (header section and body). */
  maxMessageBytes: number;
  /** Largest header section, counted up to and including the empty line. */
  maxHeaderBytes: number;
}

/** Reads Content-Length (or its compact form "l") from a header section given as latin1 text. */
function contentLengthOf(head: string): number {
  let found = -1;
  let pos = head.indexOf("\r\n") + 2;
  while (pos > 1 && pos < head.length) {
    let end = head.indexOf("\r\n", pos);
    if (end < 0) end = head.length;
    const colon = head.indexOf(":", pos);
    if (colon > pos && colon < end) {
      const name = head.slice(pos, colon).trimEnd().toLowerCase();
      if (name === "content-length" || name === "l") {
        let value = head.slice(colon + 1, end);
        // A folded value continues on lines starting with whitespace (§7.3.1).
        while (
          end + 2 < head.length &&
          (head.charCodeAt(end + 2) === 0x20 || head.charCodeAt(end + 2) === 0x09)
        ) {
          const next = head.indexOf("\r\n", end + 2);
          const stop = next < 0 ? head.length : next;
          value += " " + head.slice(end + 2, stop);
          end = stop;
        }
        value = value.trim();
        if (!/^\d{1,10}$/.test(value)) throw new SipParseError("invalid Content-Length on stream");
        const length = Number(value);
        if (found >= 0 && found !== length) throw new SipParseError("conflicting Content-Length on stream");
        found = length;
      }
    }
    pos = end + 2;
  }
  if (found < 0) throw new SipParseError("missing Content-Length on stream");
  return found;
}

/**
 * Feed it the chunks of one connection in order; it returns the complete
 * messages (each a Buffer for parseMessage) and "ping" for each keep-alive.
 * Throws SipParseError when the stream cannot be framed any more: the
 * transport then closes the connection.
 *
 * The bytes of an unfinished message are kept in one buffer that grows by
 * doubling, so a message arriving in n small pieces costs O(n) copying, not
 * O(n²) as concatenating everything held on every chunk would (a 65 KB
 * message sent byte by byte was a cheap way to burn CPU). Messages are handed
 * out as views of that buffer: only bytes past the live region are ever
 * written, so a view handed out is never overwritten.
 */
export class StreamFramer {
  private readonly limits: StreamLimits;
  /** Backing storage; the bytes held are store[start, end). */
  private store: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** True when `store` is our own allocation, so that bytes may be appended after `end`. */
  private owned = false;
  /** Where the search for CRLFCRLF resumes (relative to `start`), so a slow sender costs linear time. */
  private scanFrom = 0;
  /** Size of the message being received once its header section is known, else -1. */
  private need = -1;
  private copied = 0;

  constructor(limits?: Partial<StreamLimits>) {
    this.limits = {
      maxMessageBytes: limits?.maxMessageBytes ?? LIMITS.maxMessageBytes,
      maxHeaderBytes: limits?.maxHeaderBytes ?? limits?.maxMessageBytes ?? LIMITS.maxMessageBytes,
    };
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Bytes copied so far to keep unfinished messages together (a cost measure for tests). */
  get bytesCopied(): number {
    return this.copied;
  }

  push(chunk: Buffer): Array<Buffer | "ping"> {
    const out: Array<Buffer | "ping"> = [];
    if (chunk.length === 0) return out;
    this.append(chunk);
    for (;;) {
      const buf = this.held();
      if (this.need < 0) {
        // Between messages: keep-alives and stray line ends (§7.5).
        let i = 0;
        let wait = false;
        while (i < buf.length) {
          const c = buf[i];
          if (c === 10) {
            i++;
          } else if (c === 13) {
            const rest = buf.length - i;
            if (rest >= 4 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
              out.push("ping");
              i += 4;
            } else if (rest === 1 || (rest < 4 && buf[i + 1] === 10 && (rest === 2 || buf[i + 2] === 13))) {
              // Possibly the start of a ping: decide when more bytes come.
              wait = true;
              break;
            } else {
              i += buf[i + 1] === 10 ? 2 : 1;
            }
          } else {
            break;
          }
        }
        if (i > 0) {
          this.consume(i);
          this.scanFrom = 0;
        }
        if (wait || this.buffered === 0) return out;
        const b = this.held();
        const idx = b.indexOf(CRLFCRLF, this.scanFrom);
        if (idx < 0) {
          if (b.length > this.limits.maxHeaderBytes) throw new SipParseError("header section too large");
          this.scanFrom = Math.max(0, b.length - 3);
          return out;
        }
        const headBytes = idx + 4;
        if (headBytes > this.limits.maxHeaderBytes) throw new SipParseError("header section too large");
        const total = headBytes + contentLengthOf(b.toString("latin1", 0, idx));
        if (total > this.limits.maxMessageBytes) throw new SipParseError("message too large");
        this.need = total;
      }
      const b = this.held();
      if (b.length < this.need) return out;
      out.push(b.subarray(0, this.need));
      this.consume(this.need);
      this.need = -1;
      this.scanFrom = 0;
    }
  }

  /** The bytes held, as a view (no copy). */
  private held(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  private consume(n: number): void {
    this.start += n;
    if (this.start === this.end) {
      // Nothing held: let go of the storage (views handed out keep what they need).
      this.store = EMPTY;
      this.start = this.end = 0;
      this.owned = false;
    }
  }

  private append(chunk: Buffer): void {
    const held = this.end - this.start;
    if (held === 0) {
      // The common case: nothing pending, so the chunk itself is read in place.
      this.store = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    if (this.owned && this.store.length - this.end >= chunk.length) {
      chunk.copy(this.store, this.end);
      this.end += chunk.length;
      this.copied += chunk.length;
      return;
    }
    // Once the header section has given the message's size, the storage is
    // made that size (the body is then copied once, and a message handed out
    // holds no slack); before, it doubles. Either way the total copied stays
    // under a small multiple of the bytes received, and the size is bounded:
    // push() throws once what is held exceeds the limits, and one chunk is at
    // most what the socket read at once.
    const size = held + chunk.length;
    const next = Buffer.allocUnsafe(this.need > size ? this.need : Math.max(2 * size, 256));
    this.store.copy(next, 0, this.start, this.end);
    chunk.copy(next, held);
    this.copied += held + chunk.length;
    this.store = next;
    this.start = 0;
    this.end = held + chunk.length;
    this.owned = true;
  }
}
