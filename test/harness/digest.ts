// The harness's own HTTP digest client (RFC 7616 §3.4, RFC 3261 §22.4),
// written apart from src/sip/auth on purpose: a test phone that shared the
// PBX's digest code would agree with its bugs instead of exposing them.
import { createHash, randomBytes } from "node:crypto";

export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess";

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** The qop options the server offered ("auth", "auth-int"), empty for RFC 2069 style. */
  qop: string[];
  opaque?: string;
  stale: boolean;
}

/**
 * Parses one WWW-Authenticate / Proxy-Authenticate value (RFC 7616 §3.3).
 * Returns undefined for another scheme or a value without realm and nonce.
 */
export function parseChallenge(value: string): DigestChallenge | undefined {
  const m = /^\s*Digest\s+/i.exec(value);
  if (!m) return undefined;
  const params = parseAuthParams(value.slice(m[0].length));
  const realm = params.get("realm");
  const nonce = params.get("nonce");
  if (realm === undefined || nonce === undefined) return undefined;
  const alg = (params.get("algorithm") ?? "MD5").toUpperCase();
  const algorithm: DigestAlgorithm | undefined =
    alg === "MD5"
      ? "MD5"
      : alg === "MD5-SESS"
        ? "MD5-sess"
        : alg === "SHA-256"
          ? "SHA-256"
          : alg === "SHA-256-SESS"
            ? "SHA-256-sess"
            : undefined;
  if (!algorithm) return undefined;
  const qop = (params.get("qop") ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  return {
    realm,
    nonce,
    algorithm,
    qop,
    opaque: params.get("opaque"),
    stale: (params.get("stale") ?? "").toLowerCase() === "true",
  };
}

/** auth-param list: name=token or name="quoted \"string\"", comma separated (RFC 7235 §2.1). */
export function parseAuthParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const raw = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    out.set(m[1].toLowerCase(), raw);
    if (re.lastIndex >= text.length) break;
  }
  return out;
}

function hash(alg: DigestAlgorithm, text: string): string {
  return createHash(alg.startsWith("SHA-256") ? "sha256" : "md5")
    .update(text, "utf8")
    .digest("hex");
}

export interface DigestCredentials {
  username: string;
  password: string;
}

/**
 * Keeps the nonce count per nonce, as RFC 7616 §3.4 requires nc to grow for
 * every request that reuses a nonce (replay protection on the server).
 */
export class DigestClient {
  private readonly counts = new Map<string, number>();

  constructor(private readonly creds: DigestCredentials) {}

  /**
   * The Authorization / Proxy-Authorization value answering `challenge` for
   * a request `method` on `uri` (RFC 7616 §3.4.1, RFC 3261 §22.4).
   */
  authorize(challenge: DigestChallenge, method: string, uri: string, body: Buffer = Buffer.alloc(0)): string {
    const { algorithm, realm, nonce } = challenge;
    const qop = challenge.qop.includes("auth")
      ? "auth"
      : challenge.qop.includes("auth-int")
        ? "auth-int"
        : undefined;
    const nc = (this.counts.get(nonce) ?? 0) + 1;
    this.counts.set(nonce, nc);
    const ncHex = nc.toString(16).padStart(8, "0");
    const cnonce = randomBytes(8).toString("hex");
    const response = digestResponse({
      algorithm,
      username: this.creds.username,
      password: this.creds.password,
      realm,
      nonce,
      method,
      uri,
      qop,
      nc: ncHex,
      cnonce,
      body,
    });
    const parts = [
      `username="${quote(this.creds.username)}"`,
      `realm="${quote(realm)}"`,
      `nonce="${quote(nonce)}"`,
      `uri="${quote(uri)}"`,
      `response="${response}"`,
      `algorithm=${algorithm}`,
    ];
    if (qop) parts.push(`qop=${qop}`, `nc=${ncHex}`, `cnonce="${cnonce}"`);
    if (challenge.opaque !== undefined) parts.push(`opaque="${quote(challenge.opaque)}"`);
    return `Digest ${parts.join(", ")}`;
  }
}

function quote(s: string): string {
  return s.replace(/(["\\])/g, "\\$1");
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: "auth" | "auth-int";
  nc?: string;
  cnonce?: string;
  body?: Buffer;
}

/** The request-digest of RFC 7616 §3.4.1 (and RFC 2617 §3.2.2.1 without qop). */
export function digestResponse(d: DigestInput): string {
  let ha1 = hash(d.algorithm, `${d.username}:${d.realm}:${d.password}`);
  if (d.algorithm.endsWith("-sess")) ha1 = hash(d.algorithm, `${ha1}:${d.nonce}:${d.cnonce ?? ""}`);
  const a2 =
    d.qop === "auth-int"
      ? `${d.method}:${d.uri}:${hashBody(d.algorithm, d.body ?? Buffer.alloc(0))}`
      : `${d.method}:${d.uri}`;
  const ha2 = hash(d.algorithm, a2);
  return d.qop
    ? hash(d.algorithm, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`)
    : hash(d.algorithm, `${ha1}:${d.nonce}:${ha2}`);
}

function hashBody(alg: DigestAlgorithm, body: Buffer): string {
  return createHash(alg.startsWith("SHA-256") ? "sha256" : "md5")
    .update(body)
    .digest("hex");
}

/**
 * Server side, for tests where the harness plays a registrar (e.g. to check
 * that baresip answers a challenge): checks an Authorization value against
 * the password. Returns the parsed parameters when the response is right.
 */
export function verifyAuthorization(
  value: string,
  method: string,
  password: string,
  expect: { realm: string; nonce: string },
): Map<string, string> | undefined {
  const m = /^\s*Digest\s+/i.exec(value);
  if (!m) return undefined;
  const p = parseAuthParams(value.slice(m[0].length));
  const alg = (p.get("algorithm") ?? "MD5").toUpperCase();
  const algorithm: DigestAlgorithm = alg === "SHA-256" ? "SHA-256" : "MD5";
  if (p.get("realm") !== expect.realm || p.get("nonce") !== expect.nonce) return undefined;
  const qop = p.get("qop");
  const expected = digestResponse({
    algorithm,
    username: p.get("username") ?? "",
    password,
    realm: expect.realm,
    nonce: expect.nonce,
    method,
    uri: p.get("uri") ?? "",
    qop: qop === "auth" ? "auth" : undefined,
    nc: p.get("nc"),
    cnonce: p.get("cnonce"),
  });
  return expected === (p.get("response") ?? "").toLowerCase() ? p : undefined;
}
