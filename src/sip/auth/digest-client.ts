// The client side of HTTP Digest as SIP uses it: answering a 401
// (WWW-Authenticate → Authorization) or a 407 (Proxy-Authenticate →
// Proxy-Authorization) from a carrier, RFC 3261 §22.2-§22.4 with the RFC 7616
// algorithms (MD5, SHA-256; RFC 8760 for SIP). Protocol only: which
// credentials belong to which carrier is decided in src/pbx/trunks.
import { randomBytes } from "node:crypto";
import { formatUri, getCSeq, getHeaders } from "../message/index.ts";
import type { HeaderField, SipRequest, SipResponse } from "../message/types.ts";
import { type DigestAlgorithm, digestHash, normaliseAlgorithm, parseDigestParams } from "./digest.ts";

/** What we authenticate with toward a server that challenges us. */
export interface SipCredentials {
  username: string;
  password: string;
}

/** One WWW-Authenticate / Proxy-Authenticate value we are able to answer (RFC 7616 §3.3). */
export interface ReceivedChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** qop-options offered, lower-cased; empty for the RFC 2069 form (no qop at all). */
  qop: string[];
  opaque?: string;
  /** RFC 7616 §3.3: the previous nonce expired but the credentials were right. */
  stale: boolean;
}

/**
 * Reads one challenge. Null for another scheme, malformed syntax, a missing
 * realm or nonce, an algorithm we do not implement (the -sess variants,
 * SHA-512-256, AKA) or qop-options naming neither auth nor auth-int: those
 * cannot be answered, and guessing would only earn another 401.
 */
export function parseChallenge(value: string): ReceivedChallenge | null {
  const params = parseDigestParams(value);
  if (!params) return null;
  const { realm, nonce } = params;
  if (realm === undefined || nonce === undefined) return null;
  // RFC 7616 §3.3: no algorithm parameter means MD5.
  const algorithm = normaliseAlgorithm(params.algorithm);
  if (!algorithm) return null;
  const qop =
    params.qop === undefined
      ? []
      : params.qop
          .split(",")
          .map((q) => q.trim().toLowerCase())
          .filter((q) => q.length > 0);
  if (params.qop !== undefined && !qop.includes("auth") && !qop.includes("auth-int")) return null;
  const out: ReceivedChallenge = {
    realm,
    nonce,
    algorithm,
    qop,
    stale: params.stale?.toLowerCase() === "true",
  };
  if (params.opaque !== undefined) out.opaque = params.opaque;
  return out;
}

/**
 * The challenges to answer among the values of one response: one per realm
 * (RFC 3261 §22.3: a request forked through several proxies may be
 * challenged by each), and within a realm SHA-256 over MD5 when both are
 * offered (RFC 8760 §2.4: the server lists the algorithms it accepts; the
 * stronger one is what it prefers us to use). Values we cannot answer are
 * skipped.
 */
export function chooseChallenges(values: readonly string[]): ReceivedChallenge[] {
  const byRealm = new Map<string, ReceivedChallenge>();
  for (const value of values) {
    const ch = parseChallenge(value);
    if (!ch) continue;
    const known = byRealm.get(ch.realm);
    if (!known || (known.algorithm === "MD5" && ch.algorithm === "SHA-256")) byRealm.set(ch.realm, ch);
  }
  return [...byRealm.values()];
}

function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => "\\" + c) + '"';
}

export interface DigestClientOptions {
  /** The client nonce of each answer; random 96 bits by default (tests pin it to check vectors). */
  cnonce?: () => string;
  /** How many nonces keep their count; older ones start again at 1 (the server then says stale). Default 32. */
  maxNonces?: number;
}

/**
 * Computes Authorization values for one set of credentials. It remembers the
 * nonce-count per nonce (RFC 7616 §3.4: nc counts the requests sent with one
 * nonce, and servers refuse a count that does not grow), so keep one client
 * per account, e.g. per trunk, across its requests.
 */
export class DigestClient {
  private readonly counts = new Map<string, number>();
  private readonly cnonce: () => string;
  private readonly maxNonces: number;

  constructor(
    readonly credentials: SipCredentials,
    opts: DigestClientOptions = {},
  ) {
    this.cnonce = opts.cnonce ?? (() => randomBytes(12).toString("hex"));
    this.maxNonces = opts.maxNonces ?? 32;
  }

  /**
   * The Authorization / Proxy-Authorization value answering `challenge` for
   * a request `method` on `uri` (the Request-URI as written, RFC 3261
   * §22.4). qop=auth when offered (with cnonce and nc), auth-int when that
   * is all the server takes (the body enters the hash), else the RFC 2069
   * form H(HA1:nonce:HA2) that old servers still send.
   */
  authorize(
    challenge: ReceivedChallenge,
    method: string,
    uri: string,
    body: Buffer = Buffer.alloc(0),
  ): string {
    const { algorithm, realm, nonce } = challenge;
    const { username, password } = this.credentials;
    const qop = challenge.qop.includes("auth")
      ? "auth"
      : challenge.qop.includes("auth-int")
        ? "auth-int"
        : undefined;
    const ha1 = digestHash(algorithm, `${username}:${realm}:${password}`);
    // RFC 7616 §3.4.3: auth-int adds H(entity-body) to A2.
    const a2 = qop === "auth-int" ? `${method}:${uri}:${digestHash(algorithm, body)}` : `${method}:${uri}`;
    const ha2 = digestHash(algorithm, a2);
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
    ];
    let response: string;
    let tail = "";
    if (qop) {
      const nc = this.nextCount(nonce).toString(16).padStart(8, "0");
      const cnonce = this.cnonce();
      response = digestHash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
      // RFC 7616 §3.4: qop and nc are tokens, cnonce a quoted string.
      tail = `, cnonce=${quote(cnonce)}, qop=${qop}, nc=${nc}`;
    } else {
      // RFC 2069 §2.1.2, kept by RFC 2617 §3.2.2.1 for servers that offer no qop.
      response = digestHash(algorithm, `${ha1}:${nonce}:${ha2}`);
    }
    parts.push(`response=${quote(response)}`, `algorithm=${algorithm}`);
    if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
    return `Digest ${parts.join(", ")}${tail}`;
  }

  private nextCount(nonce: string): number {
    const nc = (this.counts.get(nonce) ?? 0) + 1;
    // Re-inserted so that the map's order is least recently used first.
    this.counts.delete(nonce);
    this.counts.set(nonce, nc);
    if (this.counts.size > this.maxNonces) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    return nc;
  }
}

/**
 * The same request sent again with credentials: RFC 3261 §8.1.3.5 and §22.2
 * keep Call-ID, From (with its tag), To and Request-URI, increase the CSeq
 * by one, and the transaction layer gives it a new branch (our Via is left
 * out here). Authorization headers of the earlier attempt are replaced by
 * `auth`.
 */
export function withCredentials(req: SipRequest, auth: readonly HeaderField[]): SipRequest {
  const cseq = getCSeq(req);
  const headers: HeaderField[] = [];
  for (const h of req.headers) {
    if (h.name === "Via" || h.name === "Authorization" || h.name === "Proxy-Authorization") continue;
    if (h.name === "CSeq") headers.push({ name: "CSeq", value: `${cseq.seq + 1} ${cseq.method}` });
    else headers.push({ name: h.name, value: h.value });
  }
  for (const h of auth) headers.push({ name: h.name, value: h.value });
  return { type: "request", method: req.method, uri: req.uri, headers, body: req.body };
}

/**
 * Answers the challenges met by one request (an INVITE, a REGISTER), attempt
 * after attempt. Each realm's challenge is answered once; a new challenge
 * for a realm already answered means the credentials were refused, unless
 * it says stale=true (RFC 7616 §3.3: only the nonce had expired). The
 * answers for other realms are carried into every later attempt (§22.3:
 * a 407 from a proxy after a 401 from the registrar needs both).
 */
export class DigestRetry {
  private readonly answered = new Map<string, HeaderField>();
  private retries = 0;

  constructor(
    private readonly client: DigestClient,
    /** Bounds a server that keeps saying stale. */
    private readonly maxRetries = 4,
  ) {}

  /** The request to send next, or undefined when `res` is to be taken as the final answer. */
  next(req: SipRequest, res: SipResponse): SipRequest | undefined {
    if (res.status !== 401 && res.status !== 407) return undefined;
    if (this.retries >= this.maxRetries) return undefined;
    const proxy = res.status === 407;
    const challenges = chooseChallenges(getHeaders(res, proxy ? "Proxy-Authenticate" : "WWW-Authenticate"));
    if (challenges.length === 0) return undefined;
    const name = proxy ? "Proxy-Authorization" : "Authorization";
    for (const ch of challenges) {
      if (this.answered.has(name + " " + ch.realm) && !ch.stale) return undefined;
    }
    const uri = formatUri(req.uri);
    for (const ch of challenges) {
      this.answered.set(name + " " + ch.realm, {
        name,
        value: this.client.authorize(ch, req.method, uri, req.body),
      });
    }
    this.retries++;
    return withCredentials(req, [...this.answered.values()]);
  }
}
