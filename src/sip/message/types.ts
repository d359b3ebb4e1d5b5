// The shapes of a SIP message (RFC 3261 §7, §25). Values are kept as the
// grammar defines them; parsing of individual headers is lazy (see
// headers.ts) so that a proxy-like B2BUA pays only for what it reads.

/** Header and URI parameters. Names are lower-cased; a flag parameter (";lr") has the value null. */
export type Params = Record<string, string | null>;

export interface SipUri {
  /** "sip", "sips" or "tel"; any other absoluteURI scheme keeps its text in `opaque`. */
  scheme: string;
  /** userinfo user part, %-unescaped. */
  user?: string;
  password?: string;
  /** Host name, IPv4 address, or IPv6 reference written with its brackets ("[2001:db8::1]"). */
  host: string;
  port?: number;
  params: Params;
  /** URI headers (?subject=...), %-unescaped. */
  headers: Params;
  /** For schemes other than sip/sips/tel: everything after "scheme:". */
  opaque?: string;
}

/** name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route, Refer-To... */
export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  params: Params;
}

export interface Via {
  /** Set only when the sent-protocol version is not 2.0 (a message we then refuse with 505). */
  version?: string;
  /** "UDP", "TCP", "TLS", "WS", "WSS", "SCTP" or an extension, upper-cased. */
  transport: string;
  host: string;
  port?: number;
  /** branch, received, rport (null when present without value), maddr, ttl... */
  params: Params;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** One header line as received (after unfolding), or as we will write it. */
export interface HeaderField {
  /** Canonical full name: "Via", "Call-ID", "CSeq", "WWW-Authenticate"; compact forms are expanded. */
  name: string;
  /** The value with leading/trailing whitespace removed and folding replaced by one space. */
  value: string;
}

interface MessageBase {
  /** Header fields in order. A line holding "a, b" stays one field; the accessors split lists. */
  headers: HeaderField[];
  body: Buffer;
}

export interface SipRequest extends MessageBase {
  type: "request";
  method: string;
  uri: SipUri;
}

export interface SipResponse extends MessageBase {
  type: "response";
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/**
 * Thrown by the parser, and only this is thrown. When the start line and
 * enough headers were read to answer (Via, From, To, Call-ID, CSeq of a
 * request), `request` holds them so that a server can send 400 with `reason`.
 */
export class SipParseError extends Error {
  constructor(
    message: string,
    readonly request?: SipRequest,
    /** The response a server should send when `request` is set: 400, 505 (version), 513 (too large). */
    readonly status: number = 400,
  ) {
    super(message);
    this.name = "SipParseError";
  }
}

/** Hard limits that bound the work and memory one message can cost. */
export const LIMITS = {
  maxMessageBytes: 65_535,
  maxHeaderCount: 256,
  maxLineLength: 8_192,
} as const;
