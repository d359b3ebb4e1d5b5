// Bencoding (BEP 3, "The BitTorrent Protocol Specification", section
// "bencoding"): the dictionary format of rtpengine's ng control protocol.
// Four kinds of value: byte strings (`<length>:<bytes>`), integers
// (`i<decimal>e`), lists (`l...e`) and dictionaries (`d<key><value>...e`,
// keys are byte strings).
//
// The decoder reads datagrams from the network, so it trusts nothing: every
// length is checked against the bytes that are really there before anything
// is sliced or allocated, nesting is bounded (a datagram of 60000 `l` must not
// exhaust the stack), and every flaw is a BencodeError naming the offset. It
// never throws anything else and never loops without consuming input.

/** A decoded or encodable value. Strings decode as UTF-8 text unless `bytes` is asked for. */
export type BencodeValue = string | Buffer | number | bigint | BencodeValue[] | BencodeDict;
export interface BencodeDict {
  [key: string]: BencodeValue;
}

/** What `encode` accepts: dictionary members that are `undefined` are left out (optional parameters). */
export type BencodeInput =
  | string
  | Buffer
  | Uint8Array
  | number
  | bigint
  | readonly BencodeInput[]
  | { readonly [key: string]: BencodeInput | undefined };

export class BencodeError extends Error {
  constructor(
    message: string,
    /** Byte offset of the flaw in the decoded input; -1 for encoding errors. */
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `bencode: ${message} at byte ${offset}` : `bencode: ${message}`);
    this.name = "BencodeError";
  }
}

/** Deeper nesting than this is refused; rtpengine's replies nest about six levels (query). */
export const DEFAULT_MAX_DEPTH = 32;

export interface DecodeOptions {
  /** Byte strings as Buffers instead of UTF-8 text (dictionary keys are always text). */
  bytes?: boolean;
  /** Largest nesting of lists and dictionaries accepted. Default DEFAULT_MAX_DEPTH. */
  maxDepth?: number;
}

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;
/** Longer decimal lengths or integers than this cannot be valid here (safe integers have 16 digits). */
const MAX_DIGITS = 16;

// ---------------------------------------------------------------- encoding

/** Encodes a value; dictionary keys are written in sorted byte order, as BEP 3 asks. */
export function encode(value: BencodeInput, maxDepth = DEFAULT_MAX_DEPTH): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts, 0, maxDepth);
  return Buffer.concat(parts);
}

function encodeInto(value: BencodeInput, parts: Buffer[], depth: number, maxDepth: number): void {
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    parts.push(Buffer.from(`${bytes.length}:`, "latin1"), bytes);
    return;
  }
  if (value instanceof Uint8Array) {
    // Buffer is a Uint8Array; a plain Uint8Array is wrapped without copying.
    const bytes = Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    parts.push(Buffer.from(`${bytes.length}:`, "latin1"), bytes);
    return;
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new BencodeError(`cannot encode ${value}: only safe integers exist in bencode`);
    }
    parts.push(Buffer.from(`i${value}e`, "latin1"));
    return;
  }
  if (typeof value === "bigint") {
    parts.push(Buffer.from(`i${value}e`, "latin1"));
    return;
  }
  if (depth >= maxDepth) throw new BencodeError(`nesting deeper than ${maxDepth} (a cycle?)`);
  if (Array.isArray(value)) {
    parts.push(Buffer.from("l", "latin1"));
    for (const item of value as readonly BencodeInput[]) {
      if (item === undefined || item === null) throw new BencodeError("cannot encode a missing list item");
      encodeInto(item, parts, depth + 1, maxDepth);
    }
    parts.push(Buffer.from("e", "latin1"));
    return;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as { [key: string]: BencodeInput | undefined })
      .filter((e): e is [string, BencodeInput] => e[1] !== undefined)
      .map(([k, v]) => [Buffer.from(k, "utf8"), v] as const)
      .sort((a, b) => Buffer.compare(a[0], b[0]));
    parts.push(Buffer.from("d", "latin1"));
    for (const [key, item] of entries) {
      if (item === null) throw new BencodeError(`cannot encode null (key "${key.toString("utf8")}")`);
      parts.push(Buffer.from(`${key.length}:`, "latin1"), key);
      encodeInto(item, parts, depth + 1, maxDepth);
    }
    parts.push(Buffer.from("e", "latin1"));
    return;
  }
  throw new BencodeError(`cannot encode a value of type ${value === null ? "null" : typeof value}`);
}

// ---------------------------------------------------------------- decoding

/** Decodes exactly one value that fills `input` entirely (trailing bytes are an error). */
export function decode(input: Buffer, options: DecodeOptions = {}): BencodeValue {
  const d = new Decoder(input, options.bytes === true, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = d.value(0);
  if (d.pos !== input.length) throw new BencodeError("trailing bytes after the value", d.pos);
  return value;
}

/** Decodes one value that must be a dictionary (an ng message body). */
export function decodeDict(input: Buffer, options: DecodeOptions = {}): BencodeDict {
  if (input.length === 0 || input[0] !== CH_D) throw new BencodeError("expected a dictionary", 0);
  return decode(input, options) as BencodeDict;
}

class Decoder {
  pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly bytes: boolean,
    private readonly maxDepth: number,
  ) {}

  value(depth: number): BencodeValue {
    const c = this.peek("a value");
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) {
      const raw = this.string();
      return this.bytes ? raw : raw.toString("utf8");
    }
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) throw new BencodeError(`nesting deeper than ${this.maxDepth}`, this.pos);
      return c === CH_L ? this.list(depth) : this.dict(depth);
    }
    throw new BencodeError(`unexpected byte 0x${c.toString(16).padStart(2, "0")}`, this.pos);
  }

  private peek(what: string): number {
    if (this.pos >= this.buf.length)
      throw new BencodeError(`input ends where ${what} was expected`, this.pos);
    return this.buf[this.pos];
  }

  /** `i<decimal>e`: no leading zeros, no "-0", no empty number (BEP 3). */
  private integer(): number {
    const start = this.pos;
    this.pos++; // 'i'
    let negative = false;
    if (this.peek("an integer") === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const digitsAt = this.pos;
    const n = this.digits("an integer");
    if (this.peek("the end of an integer") !== CH_E) {
      throw new BencodeError("integer not terminated by 'e'", this.pos);
    }
    this.pos++;
    if (n === 0 && negative) throw new BencodeError("negative zero", start);
    if (this.pos - 1 - digitsAt > 1 && this.buf[digitsAt] === CH_0) {
      throw new BencodeError("integer with a leading zero", start);
    }
    return negative ? -n : n;
  }

  /** One or more decimal digits as a safe integer. */
  private digits(what: string): number {
    const start = this.pos;
    let n = 0;
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos];
      if (c < CH_0 || c > CH_9) break;
      if (this.pos - start >= MAX_DIGITS) throw new BencodeError(`${what} too large`, start);
      n = n * 10 + (c - CH_0);
      this.pos++;
    }
    if (this.pos === start) throw new BencodeError(`expected digits of ${what}`, start);
    if (!Number.isSafeInteger(n)) throw new BencodeError(`${what} too large`, start);
    return n;
  }

  /** `<length>:<bytes>`; the slice shares the input's memory. */
  private string(): Buffer {
    const start = this.pos;
    const length = this.digits("a string length");
    if (this.pos - start > 1 && this.buf[start] === CH_0) {
      throw new BencodeError("string length with a leading zero", start);
    }
    if (this.peek("':' after a string length") !== CH_COLON) {
      throw new BencodeError("string length not followed by ':'", this.pos);
    }
    this.pos++;
    if (length > this.buf.length - this.pos) {
      throw new BencodeError(
        `string of ${length} bytes but only ${this.buf.length - this.pos} remain`,
        start,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  private list(depth: number): BencodeValue[] {
    this.pos++; // 'l'
    const out: BencodeValue[] = [];
    while (this.peek("a list item or 'e'") !== CH_E) out.push(this.value(depth + 1));
    this.pos++;
    return out;
  }

  private dict(depth: number): BencodeDict {
    this.pos++; // 'd'
    const out: BencodeDict = {};
    while (this.peek("a dictionary key or 'e'") !== CH_E) {
      const keyAt = this.pos;
      const c = this.buf[this.pos];
      if (c < CH_0 || c > CH_9) throw new BencodeError("dictionary key is not a string", keyAt);
      const key = this.string().toString("utf8");
      if (Object.hasOwn(out, key)) throw new BencodeError(`duplicate dictionary key "${key}"`, keyAt);
      const item = this.value(depth + 1);
      // defineProperty, not assignment: a key "__proto__" from the network
      // must become a plain member, never the object's prototype.
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    }
    this.pos++;
    return out;
  }
}
