// HTTP Digest as SIP uses it: RFC 3261 §22.4 with the RFC 7616 algorithms
// (MD5 and SHA-256; RFC 8760 brings SHA-256 to SIP). Protocol only: which
// user exists, which realm applies and what a failure costs are decided in
// src/pbx/security.
import { createHash, timingSafeEqual } from "node:crypto";

export type DigestAlgorithm = "MD5" | "SHA-256";

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["SHA-256", "MD5"];

/** The fields of an Authorization / Proxy-Authorization header with the Digest scheme. */
export interface DigestResponse {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  /** The request-digest, lower-cased hex. */
  response: string;
  /** As written by the client; absent means MD5 (RFC 7616 §3.4). */
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  /** "auth", "auth-int", or absent (RFC 2069 compatibility form). */
  qop?: string;
  /** nonce-count: 8 hex digits as written (RFC 7616 §3.4). */
  nc?: string;
  /** Every auth-param, names lower-cased, values unquoted. */
  params: Record<string, string>;
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  qop: "auth";
  stale?: boolean;
}

/** Bounds the parsing work one header can cost; real headers are a few hundred bytes. */
const MAX_HEADER_LENGTH = 4096;
const MAX_PARAMS = 32;

// RFC 3261 §25.1 token characters.
const TOKEN_CHAR = /[A-Za-z0-9\-.!%*_+`'~]/;

function isWs(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

/**
 * Parses `Digest name=value, ...` (RFC 7235 §2.1 auth-params, RFC 3261 §25.1
 * digest-response and challenge). Names are case-insensitive and returned
 * lower-cased; values are tokens or quoted strings with backslash escapes.
 * Returns null for any other scheme, malformed syntax, an over-long header or
 * a repeated parameter (RFC 7235 §2.1 forbids it). Shared by the server side
 * (Authorization) and the client side (WWW-Authenticate, digest-client.ts).
 */
export function parseDigestParams(value: string): Record<string, string> | null {
  if (value.length > MAX_HEADER_LENGTH) return null;
  let i = 0;
  const n = value.length;
  while (i < n && isWs(value[i])) i++;
  const schemeStart = i;
  while (i < n && TOKEN_CHAR.test(value[i])) i++;
  if (value.slice(schemeStart, i).toLowerCase() !== "digest") return null;
  if (i >= n || !isWs(value[i])) return null;

  const params: Record<string, string> = Object.create(null);
  let count = 0;
  for (;;) {
    while (i < n && isWs(value[i])) i++;
    const nameStart = i;
    while (i < n && TOKEN_CHAR.test(value[i])) i++;
    if (i === nameStart) return null;
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(value[i])) i++;
    if (value[i] !== "=") return null;
    i++;
    while (i < n && isWs(value[i])) i++;
    let val: string;
    if (value[i] === '"') {
      i++;
      let out = "";
      let closed = false;
      while (i < n) {
        const c = value[i];
        if (c === "\\") {
          if (i + 1 >= n) return null;
          out += value[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          out += c;
          i++;
        }
      }
      if (!closed) return null;
      val = out;
    } else {
      const valStart = i;
      while (i < n && TOKEN_CHAR.test(value[i])) i++;
      if (i === valStart) return null;
      val = value.slice(valStart, i);
    }
    if (name in params) return null;
    if (++count > MAX_PARAMS) return null;
    params[name] = val;
    while (i < n && isWs(value[i])) i++;
    if (i >= n) break;
    if (value[i] !== ",") return null;
    i++;
  }
  return params;
}

/**
 * Parses `Digest username="...", realm="...", ...` (RFC 7616 §3.4, RFC 3261
 * §25.1 digest-response). Returns null for what parseDigestParams refuses
 * and for a missing mandatory field.
 */
export function parseAuthorization(value: string): DigestResponse | null {
  const params = parseDigestParams(value);
  if (!params) return null;
  const { username, realm, nonce, uri, response } = params;
  if (username === undefined || realm === undefined || nonce === undefined) return null;
  if (uri === undefined || response === undefined) return null;
  const out: DigestResponse = { username, realm, nonce, uri, response: response.toLowerCase(), params };
  if (params.algorithm !== undefined) out.algorithm = params.algorithm;
  if (params.cnonce !== undefined) out.cnonce = params.cnonce;
  if (params.opaque !== undefined) out.opaque = params.opaque;
  if (params.qop !== undefined) out.qop = params.qop;
  if (params.nc !== undefined) out.nc = params.nc;
  return out;
}

function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => "\\" + c) + '"';
}

/** The value of one WWW-Authenticate / Proxy-Authenticate header (RFC 7616 §3.3). */
export function formatChallenge(ch: DigestChallenge): string {
  let out = `Digest realm=${quote(ch.realm)}, nonce=${quote(ch.nonce)}`;
  if (ch.opaque !== undefined) out += `, opaque=${quote(ch.opaque)}`;
  // RFC 7616 §3.3: algorithm is a token, qop-options a quoted list.
  out += `, algorithm=${ch.algorithm}, qop="${ch.qop}"`;
  if (ch.stale) out += ", stale=true";
  return out;
}

/** Maps the client's algorithm token to one we support; absent means MD5 (RFC 7616 §3.4). */
export function normaliseAlgorithm(algorithm: string | undefined): DigestAlgorithm | undefined {
  if (algorithm === undefined) return "MD5";
  const a = algorithm.toUpperCase();
  if (a === "MD5") return "MD5";
  if (a === "SHA-256") return "SHA-256";
  // The -sess variants and SHA-512-256 are never offered, so never accepted.
  return undefined;
}

/** H(data) of RFC 7616 §3.4 as lower-case hex; a string is hashed as UTF-8. */
export function digestHash(algorithm: DigestAlgorithm, data: string | Buffer): string {
  const h = createHash(algorithm === "MD5" ? "md5" : "sha256");
  if (typeof data === "string") h.update(data, "utf8");
  else h.update(data);
  return h.digest("hex");
}

const hash = digestHash;

/** HA1 = H(username ":" realm ":" password), RFC 7616 §3.4.2; what the store keeps instead of passwords. */
export function computeHa1(
  algorithm: DigestAlgorithm,
  user: string,
  realm: string,
  password: string,
): string {
  return hash(algorithm, `${user}:${realm}:${password}`);
}

/** request-digest with qop=auth (RFC 7616 §3.4.1): H(HA1:nonce:nc:cnonce:qop:H(method:uri)). */
export function computeResponse(
  algorithm: DigestAlgorithm,
  ha1: string,
  nonce: string,
  nc: string,
  cnonce: string,
  method: string,
  uri: string,
): string {
  const ha2 = hash(algorithm, `${method}:${uri}`);
  return hash(algorithm, `${ha1.toLowerCase()}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
}

const NC_FORMAT = /^[0-9a-fA-F]{8}$/;

/** The nonce-count as a number, or undefined when it is not 8 hex digits (RFC 7616 §3.4). */
export function parseNonceCount(nc: string | undefined): number | undefined {
  if (nc === undefined || !NC_FORMAT.test(nc)) return undefined;
  return Number.parseInt(nc, 16);
}

/**
 * True when `resp.response` is the request-digest for `method` with the given
 * HA1. qop=auth is required: the RFC 2069 form without cnonce/nc has no
 * replay protection, and auth-int is not offered. The comparison takes the
 * same time wherever the first differing byte is.
 */
export function verifyDigest(
  resp: DigestResponse,
  method: string,
  ha1: string,
  algorithm: DigestAlgorithm,
): boolean {
  if (normaliseAlgorithm(resp.algorithm) !== algorithm) return false;
  if (resp.qop?.toLowerCase() !== "auth") return false;
  if (resp.cnonce === undefined || resp.nc === undefined || !NC_FORMAT.test(resp.nc)) return false;
  const expected = computeResponse(algorithm, ha1, resp.nonce, resp.nc, resp.cnonce, method, resp.uri);
  const a = Buffer.from(expected, "latin1");
  const b = Buffer.from(resp.response, "latin1");
  if (a.length !== b.length) {
    // Still spend the compare so that a wrong-length answer costs the same.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
