// The checks of the DTLS client's flight that werift-dtls 0.5.8 leaves out
// as a server, made by us on its handshake transcript before any key is used:
//
// - CertificateVerify (RFC 5246 §7.4.8): the client signs the handshake so
//   far with the private key of the certificate it sent. werift stores the
//   certificate and does not verify the signature; without this check anyone
//   who saw the browser's certificate (it travels in clear in DTLS 1.2) could
//   present it, and the a=fingerprint check (RFC 5763 §5) would prove
//   nothing.
// - The client's Finished (RFC 5246 §7.4.9): verify_data must be the PRF of
//   the master secret over the whole transcript, which is what detects a
//   tampered handshake (a downgraded profile, a changed random). werift
//   only decrypts it.
import { createHash, createHmac, timingSafeEqual, verify, X509Certificate } from "node:crypto";

/** One handshake message as it enters the transcript hash. */
export interface TranscriptMessage {
  /** HandshakeType (RFC 5246 §7.4). */
  type: number;
  /** The message as hashed: DTLS handshake header (RFC 6347 §4.2.6, unfragmented) and body. */
  bytes: Buffer;
  /** The body alone. */
  body: Buffer;
}

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const;

/** RFC 5246 §7.4.1.4.1: HashAlgorithm values and their node:crypto names. */
const HASH_NAMES: Readonly<Record<number, string>> = { 4: "sha256", 5: "sha384", 6: "sha512" };
const RSA = 1;
const ECDSA = 3;
/** RFC 5246 §7.4.9: verify_data is 12 bytes for every cipher suite we speak. */
const VERIFY_DATA_LENGTH = 12;

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5): P_SHA256(secret, label + seed),
 * the PRF of every cipher suite werift negotiates (AES-128-GCM-SHA256).
 */
export function tlsPrf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, "ascii"), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let size = 0;
  while (size < length) {
    a = createHmac("sha256", secret).update(a).digest();
    const block = createHmac("sha256", secret).update(a).update(labelSeed).digest();
    out.push(block);
    size += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/**
 * Checks the client's CertificateVerify against `certificateDer` (the
 * certificate the client sent). Returns why it fails, or undefined when
 * the signature is good.
 */
export function checkCertificateVerify(
  transcript: readonly TranscriptMessage[],
  certificateDer: Buffer,
): string | undefined {
  const at = transcript.findIndex((m) => m.type === HandshakeType.certificateVerify);
  if (at < 0) return "no CertificateVerify";
  const body = transcript[at].body;
  if (body.length < 4) return "CertificateVerify too short";
  const hash = HASH_NAMES[body[0]];
  const algorithm = body[1];
  const sigLength = body.readUInt16BE(2);
  if (body.length !== 4 + sigLength) return "CertificateVerify length does not add up";
  if (!hash || (algorithm !== RSA && algorithm !== ECDSA)) {
    return `CertificateVerify with an unsupported algorithm ${body[0]}/${algorithm}`;
  }
  const signature = body.subarray(4);
  // §7.4.8: the signature covers every handshake message before this one, headers included.
  const signed = Buffer.concat(transcript.slice(0, at).map((m) => m.bytes));
  let ok: boolean;
  try {
    const key = new X509Certificate(certificateDer).publicKey;
    const keyType = key.asymmetricKeyType;
    if ((algorithm === ECDSA) !== (keyType === "ec"))
      return "CertificateVerify algorithm does not fit the key";
    ok =
      algorithm === ECDSA
        ? verify(hash, signed, { key, dsaEncoding: "der" }, signature)
        : verify(hash, signed, key, signature);
  } catch (err) {
    return `CertificateVerify cannot be checked: ${(err as Error).message}`;
  }
  return ok ? undefined : "CertificateVerify signature does not verify";
}

/**
 * Checks the client's Finished (RFC 5246 §7.4.9): verify_data =
 * PRF(master_secret, "client finished", SHA-256(messages before it))[0..11].
 * Returns why it fails, or undefined when it is right.
 */
export function checkClientFinished(
  transcript: readonly TranscriptMessage[],
  masterSecret: Buffer,
): string | undefined {
  const at = transcript.findIndex((m) => m.type === HandshakeType.finished);
  if (at < 0) return "no client Finished";
  const got = transcript[at].body;
  if (got.length !== VERIFY_DATA_LENGTH) return "client Finished has the wrong length";
  const hash = createHash("sha256")
    .update(Buffer.concat(transcript.slice(0, at).map((m) => m.bytes)))
    .digest();
  const expected = tlsPrf(masterSecret, "client finished", hash, VERIFY_DATA_LENGTH);
  return timingSafeEqual(expected, got) ? undefined : "client Finished does not verify";
}
