// The UA core's request validation (RFC 3261 §8.2.1-§8.2.3), run on every
// request before any dialog, TU or policy sees it. The order is that of a
// proxy's §16.3 (the B2BUA forwards what it accepts, so both roles apply):
// malformed (400), Request-URI scheme (416, §8.2.2.1), Max-Forwards (483,
// §16.3 step 3), merged request (482, §8.2.2.2), extensions (420, §8.2.2.3),
// then content (415/406, §8.2.3).
//
// Choices documented here:
// - These checks run BEFORE authentication. §8.2.1 allows skipping it ("Once
//   a request is authenticated (or authentication is skipped)"), the answers
//   depend on nothing but the message (no tenant or user is revealed), and a
//   request that must fail anyway then costs no nonce, no database lookup
//   and no rate-limiter failure. The UA core cannot authenticate anyway: that
//   is policy, in pbx/.
// - Method inspection (405 with Allow) stays with the TU, which alone knows
//   the out-of-dialog methods it serves (REGISTER is the PBX's, not the UA's).
// - Max-Forwards 0 is refused (483) only on an INVITE outside a dialog: the
//   one request the B2BUA turns into a new request towards another element.
//   OPTIONS is answered as the final recipient (§16.3 step 3, §11; RFC 4475
//   §3.3.11), REGISTER and in-dialog requests end here as at any endpoint.
// - Bodies are inspected for INVITE and UPDATE only, the requests whose body
//   the UA core hands to SDP offer/answer; other bodies (INFO digits, MESSAGE)
//   are the TU's business, which answers 405 to methods it does not serve.
import type { Clock, Timer } from "../../util/clock.ts";
import {
  createResponse,
  getCallId,
  getCSeq,
  getFrom,
  getHeader,
  getHeaders,
  getMaxForwards,
  getTo,
  newTag,
  splitList,
} from "../message/index.ts";
import type { HeaderField, SipRequest, SipResponse } from "../message/types.ts";
import { detach, serverKey } from "../transaction/matching.ts";

export interface RequestChecksOptions {
  clock: Clock;
  /** Host named in the Warning header of a 406 (§20.43 warn-agent). */
  agent: string;
  /** Option tags we implement (§19.2), compared case-insensitively. Default none. */
  supported?: readonly string[];
  /** URI schemes accepted in a Request-URI (§8.2.2.1). Default sip, sips, tel. */
  schemes?: readonly string[];
  /** How long a request is remembered for merged-request detection: one transaction lifetime, 64*T1. */
  rememberMs: number;
  /** Bound on remembered requests (memory under a flood); the older half is dropped when reached. */
  maxRemembered?: number;
}

/** Header fields that hold one value (§7.3.1: only list headers may repeat; RFC 4475 §3.3.8, §3.3.9), one bit each. */
const SINGLE = new Map(
  ["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"].map((name, i) => [
    name,
    1 << i,
  ]),
);

/** The only session description type the SDP layer reads (§13.2.1, §20.1). */
const SDP = "application/sdp";

/** Methods whose body the UA core hands to offer/answer (§13, RFC 3311). */
const SESSION_METHODS = new Set(["INVITE", "UPDATE"]);

/** §8.2.3: what a 415 says we can read. */
const READABLE: readonly HeaderField[] = [
  { name: "Accept", value: SDP },
  { name: "Accept-Encoding", value: "identity" },
];

export class RequestChecks {
  private readonly clock: Clock;
  private readonly agent: string;
  private readonly supported: ReadonlySet<string>;
  /** Option tags of the Supported header of our answers. */
  readonly supportedTags: string;
  private readonly schemes: ReadonlySet<string>;
  private readonly rememberMs: number;
  private readonly maxRemembered: number;
  /** Transaction identity per (Call-ID, From tag, CSeq) of recent requests without To tag; two generations. */
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private timer: Timer | undefined;

  constructor(opts: RequestChecksOptions) {
    this.clock = opts.clock;
    this.agent = opts.agent;
    this.supported = new Set((opts.supported ?? []).map((t) => t.toLowerCase()));
    this.supportedTags = (opts.supported ?? []).join(", ");
    this.schemes = new Set((opts.schemes ?? ["sip", "sips", "tel"]).map((s) => s.toLowerCase()));
    this.rememberMs = opts.rememberMs;
    this.maxRemembered = opts.maxRemembered ?? 100_000;
  }

  /**
   * Checks a request that the transaction layer handed up. Returns the
   * response that refuses it, or undefined when it may go on to the dialog
   * or the TU. A request outside a dialog is remembered for §8.2.2.2.
   */
  check(req: SipRequest, inDialog: boolean): SipResponse | undefined {
    try {
      return (
        this.malformed(req) ??
        this.uriScheme(req) ??
        this.hops(req, inDialog) ??
        (inDialog ? undefined : this.merged(req)) ??
        this.extensions(req) ??
        this.content(req)
      );
    } catch (err) {
      // A header the parser let through but an accessor cannot read: still the sender's fault.
      return this.reject(req, 400, err instanceof Error ? err.message : undefined);
    }
  }

  /** Stops the timer that forgets remembered requests. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.current.clear();
    this.previous.clear();
  }

  /** Number of requests remembered for merged-request detection (for tests). */
  get remembered(): number {
    return this.current.size + this.previous.size;
  }

  private malformed(req: SipRequest): SipResponse | undefined {
    let seen = 0;
    for (const h of req.headers) {
      const bit = SINGLE.get(h.name);
      if (bit === undefined) continue;
      if (seen & bit) return this.reject(req, 400, `Multiple ${h.name} header fields`);
      seen |= bit;
    }
    // §8.1.1.5: the parser checks it too; a request built in memory may not have been parsed.
    if (getCSeq(req).method !== req.method) return this.reject(req, 400, "CSeq method does not match");
    // §10.2: the To of a REGISTER is the address of record, a SIP or SIPS URI (RFC 4475 §3.3.4).
    if (req.method === "REGISTER") {
      const scheme = getTo(req).uri.scheme;
      if (scheme !== "sip" && scheme !== "sips") return this.reject(req, 400, "To is not a SIP URI");
    }
    return undefined;
  }

  /** §8.2.2.1: a scheme we cannot route to (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc). */
  private uriScheme(req: SipRequest): SipResponse | undefined {
    if (this.schemes.has(req.uri.scheme)) return undefined;
    return this.reject(req, 416);
  }

  /** §16.3 step 3 (RFC 4475 §3.3.11): no hop left for the request the B2BUA would forward. */
  private hops(req: SipRequest, inDialog: boolean): SipResponse | undefined {
    if (inDialog || req.method !== "INVITE") return undefined;
    return getMaxForwards(req) === 0 ? this.reject(req, 483) : undefined;
  }

  /**
   * §8.2.2.2: the same From tag, Call-ID and CSeq as a live transaction but
   * another transaction identity is a copy that reached us twice through a
   * forking proxy; only the first is served.
   */
  private merged(req: SipRequest): SipResponse | undefined {
    // A registrar is reached by one path: proxies do not fork REGISTER
    // (§10.3 has the registrar answer it, §16.6 forks only to targets of a
    // location service), and a copy would change nothing (§10.3 is
    // idempotent). Remembering each one cost a REGISTER flood two strings
    // and a map slot per request for a minute; OPTIONS is answered alike.
    if (req.method === "REGISTER" || req.method === "OPTIONS") return undefined;
    const tx = serverKey(req);
    if (tx === undefined) return undefined;
    const cseq = getCSeq(req);
    // Detached: a slice of the parsed text would keep the whole datagram alive as long as the key.
    const key = detach(
      getCallId(req) + "\n" + (getFrom(req).params.tag ?? "") + "\n" + cseq.seq + " " + cseq.method,
    );
    const known = this.current.get(key) ?? this.previous.get(key);
    if (known !== undefined) return known === tx ? undefined : this.reject(req, 482);
    if (this.current.size >= this.maxRemembered) this.rotate();
    this.current.set(key, tx);
    this.timer ??= this.clock.setTimer(this.rememberMs, () => this.expire());
    return undefined;
  }

  /** §8.2.2.3: Require (and Proxy-Require, the B2BUA being the proxy of its caller) with tags we lack. */
  private extensions(req: SipRequest): SipResponse | undefined {
    let unknown: string[] | undefined;
    for (const h of req.headers) {
      if (h.name !== "Require" && h.name !== "Proxy-Require") continue;
      for (const tag of splitList(h.value)) {
        if (tag.length === 0 || this.supported.has(tag.toLowerCase())) continue;
        unknown ??= [];
        if (!unknown.includes(tag)) unknown.push(tag);
      }
    }
    if (!unknown) return undefined;
    return this.reject(req, 420, undefined, [{ name: "Unsupported", value: unknown.join(", ") }]);
  }

  /** §8.2.3: a body we cannot read (RFC 4475 §3.3.6 invut) or an answer type we cannot write (§3.3.15 sdp01). */
  private content(req: SipRequest): SipResponse | undefined {
    if (!SESSION_METHODS.has(req.method)) return undefined;
    if (hasBody(req.body)) {
      for (const coding of getHeaders(req, "Content-Encoding")) {
        if (coding.toLowerCase() !== "identity") return this.reject(req, 415, undefined, [...READABLE]);
      }
      const type = contentType(req);
      if (type === undefined) return this.reject(req, 400, "Body without Content-Type");
      if (type !== SDP && !optionalBody(req)) return this.reject(req, 415, undefined, [...READABLE]);
    }
    // §20.1: the answer (a 2xx, or a reliable 18x) carries SDP; no acceptable type, no answer.
    if (getHeader(req, "Accept") !== undefined && !getHeaders(req, "Accept").some(acceptsSdp)) {
      return this.reject(req, 406, undefined, [
        { name: "Accept", value: SDP },
        { name: "Warning", value: `399 ${this.agent} "Only ${SDP} bodies can be sent"` },
      ]);
    }
    return undefined;
  }

  private reject(req: SipRequest, status: number, reason?: string, headers?: HeaderField[]): SipResponse {
    // §8.2.6.2: a response outside a dialog gets a To tag (createResponse keeps one that is there).
    return createResponse(req, status, reason, { toTag: newTag(), headers });
  }

  private rotate(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  private expire(): void {
    this.timer = undefined;
    this.rotate();
    if (this.previous.size > 0) this.timer = this.clock.setTimer(this.rememberMs, () => this.expire());
  }
}

/** A body of only line ends or spaces is left over framing, not content (§7.5 tolerance). */
function hasBody(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return true;
  }
  return false;
}

/** "type/subtype" lower-cased without parameters; undefined when absent or empty. */
function contentType(req: SipRequest): string | undefined {
  const value = getHeader(req, "Content-Type");
  if (value === undefined) return undefined;
  const type = value.split(";", 1)[0].replace(/\s+/g, "").toLowerCase();
  return type.length > 0 ? type : undefined;
}

/** §20.11: handling=optional lets a UAS ignore a body part it does not understand. */
function optionalBody(req: SipRequest): boolean {
  const disposition = getHeader(req, "Content-Disposition");
  return disposition !== undefined && /;\s*handling\s*=\s*optional\s*(;|$)/i.test(disposition);
}

/** One media-range of Accept (§20.1): matches application/sdp unless its q is zero. */
function acceptsSdp(range: string): boolean {
  const parts = range.split(";");
  const type = parts[0].replace(/\s+/g, "").toLowerCase();
  if (type !== SDP && type !== "application/*" && type !== "*/*") return false;
  for (let i = 1; i < parts.length; i++) {
    const [name, value] = parts[i].split("=", 2);
    if (name.trim().toLowerCase() === "q" && Number(value) === 0) return false;
  }
  return true;
}
