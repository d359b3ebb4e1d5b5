// Client side of SIP digest authentication (RFC 3261 §22.4 with the
// RFC 7616 §3.4 qop=auth computation; MD5 preferred when offered, since
// SIPp and most phones use it, SHA-256 otherwise).
import { createHash, randomBytes } from "node:crypto";

export interface Challenge {
  realm: string;
  nonce: string;
  algorithm: string;
  qop?: string;
  opaque?: string;
}

/** Parses one WWW-/Proxy-Authenticate value; undefined when it is not Digest. */
export function parseChallenge(value: string): Challenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[1].matchAll(/([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    params[p[1].toLowerCase()] = p[2] ?? p[3] ?? "";
  }
  if (!params.realm || !params.nonce) return undefined;
  return {
    realm: params.realm,
    nonce: params.nonce,
    algorithm: params.algorithm ?? "MD5",
    qop: params.qop,
    opaque: params.opaque,
  };
}

/** Picks MD5 among several challenges (RFC 8760 lets a server offer one per algorithm). */
export function pickChallenge(values: string[]): Challenge | undefined {
  const all = values.map(parseChallenge).filter((c): c is Challenge => c !== undefined);
  return all.find((c) => c.algorithm.toUpperCase() === "MD5") ?? all[0];
}

export function authorization(
  ch: Challenge,
  user: string,
  password: string,
  method: string,
  uri: string,
): string {
  const alg = ch.algorithm.toUpperCase() === "SHA-256" ? "sha256" : "md5";
  const h = (s: string) => createHash(alg).update(s).digest("hex");
  const ha1 = h(`${user}:${ch.realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const cnonce = randomBytes(8).toString("hex");
  const nc = "00000001";
  const qopAuth = (ch.qop ?? "").split(",").some((q) => q.trim().toLowerCase() === "auth");
  const response = qopAuth
    ? h(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${ha2}`)
    : h(`${ha1}:${ch.nonce}:${ha2}`);
  let out = `Digest username="${user}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", response="${response}", algorithm=${ch.algorithm}`;
  if (qopAuth) out += `, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  if (ch.opaque !== undefined) out += `, opaque="${ch.opaque}"`;
  return out;
}
