// Our DTLS certificate and the SDP fingerprints that bind certificates to
// the signalling (RFC 8122 §5, RFC 5763 §5). WebRTC certificates are
// self-signed: nobody checks who issued them, only that the certificate
// presented in the handshake hashes to the a=fingerprint of the SDP that the
// signalling (here SIP over a secure WebSocket) carried.
import { createHash, getHashes, X509Certificate } from "node:crypto";
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from "./werift-dtls.ts";

/** An a=fingerprint value (RFC 8122 §5): hash function name and the colon-separated hex digest. */
export interface DtlsFingerprint {
  /** Lower case as registered: "sha-256", "sha-1", ... */
  algorithm: string;
  /** Upper-case hex pairs separated by colons. */
  value: string;
}

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  /** The certificate's DER bytes, what the handshake sends. */
  der: Buffer;
  /** Its sha-256 fingerprint, for our a=fingerprint line. */
  fingerprint: DtlsFingerprint;
}

/**
 * Hash functions we accept in a peer's a=fingerprint. RFC 8122 §5 names
 * sha-1 ... sha-512 (and md5/md2, which RFC 8122 says must not be used);
 * browsers send sha-256.
 */
const HASHES: Readonly<Record<string, string>> = {
  "sha-1": "sha1",
  "sha-224": "sha224",
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
};

/**
 * A fresh ECDSA P-256 self-signed certificate (what browsers make for
 * themselves, and cheaper to sign with than RSA: one signature per
 * handshake).
 */
export async function createDtlsCertificate(): Promise<DtlsCertificate> {
  const made = await CipherContext.createSelfSignedCertificateWithKey(
    { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  const der = new X509Certificate(made.certPem).raw;
  return {
    certPem: made.certPem,
    keyPem: made.keyPem,
    der,
    fingerprint: { algorithm: "sha-256", value: certificateFingerprint(der, "sha-256") },
  };
}

let shared: Promise<DtlsCertificate> | undefined;

/**
 * The process's certificate, made on first use. One per process is enough
 * (browsers keep theirs across calls too: the fingerprint in each SDP is
 * what binds a certificate to a call) and saves a key generation per call.
 */
export function processDtlsCertificate(): Promise<DtlsCertificate> {
  if (!shared) {
    shared = createDtlsCertificate();
    // A failure must not stick for the life of the process: the next call tries again.
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** The RFC 8122 fingerprint of a DER certificate under `algorithm` ("sha-256"...). */
export function certificateFingerprint(der: Buffer, algorithm: string): string {
  const hash = HASHES[algorithm.toLowerCase()];
  if (!hash || !getHashes().includes(hash)) throw new RangeError(`unsupported fingerprint hash ${algorithm}`);
  const digest = createHash(hash).update(der).digest("hex").toUpperCase();
  return digest.match(/../g)!.join(":");
}

/**
 * Reads an a=fingerprint value ("sha-256 AB:CD:..."); undefined when it is
 * not one we can check (unknown or forbidden hash, malformed digest).
 */
export function parseFingerprint(text: string): DtlsFingerprint | undefined {
  const m = /^\s*([A-Za-z0-9-]+)\s+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)\s*$/.exec(text);
  if (!m) return undefined;
  const algorithm = m[1].toLowerCase();
  if (!HASHES[algorithm]) return undefined;
  return { algorithm, value: m[2].toUpperCase() };
}

/** The a=fingerprint attribute value for a fingerprint. */
export function formatFingerprint(fp: DtlsFingerprint): string {
  return `${fp.algorithm} ${fp.value}`;
}

/**
 * True when the certificate hashes to one of `fingerprints` (RFC 8122 §5:
 * several lines may be given, one per hash function; RFC 5763 §5: a
 * certificate that matches none must be refused).
 */
export function matchesFingerprint(der: Buffer, fingerprints: readonly DtlsFingerprint[]): boolean {
  return fingerprints.some((fp) => {
    if (!HASHES[fp.algorithm]) return false;
    return certificateFingerprint(der, fp.algorithm) === fp.value.toUpperCase();
  });
}
