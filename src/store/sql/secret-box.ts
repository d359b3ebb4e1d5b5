// Credentials at rest: the digest HA1 values of extensions, the trunks'
// passwords and the secrets every node shares (the nonce key) are stored
// sealed with AES-256-GCM (NIST SP 800-38D) under a key that is kept apart
// from the database (VPBX_SECRET_KEY, or a key file: secret-key.ts). An HA1
// is as good as the password to a digest verifier (RFC 7616 §3.4.2: the
// response is computed from HA1 alone), so a copied database file must not
// hold one in clear.
//
// A sealed value is text, so that the columns stay text on both engines:
//   "v1:" <IV, 12 bytes> ":" <tag, 16 bytes> ":" <ciphertext>, each base64.
// A fresh random 96-bit IV per value (SP 800-38D §8.2.2: random IVs are safe
// far beyond the number of values a PBX seals under one key). The context
// (which row and column the value belongs to) is the additional
// authenticated data: a sealed value copied into another row does not open
// there, so an HA1 cannot be moved onto another account by whoever can write
// the database without the key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** AES-256: a key of 32 bytes. */
export const SECRET_KEY_BYTES = 32;
/** SP 800-38D §5.2.1.1: 96-bit IVs are the recommended (and most efficient) length. */
const IV_BYTES = 12;
/** The full 128-bit tag (SP 800-38D §5.2.1.2): a shorter one would weaken the tamper check. */
const TAG_BYTES = 16;
const VERSION = "v1";

const B64 = "[A-Za-z0-9+/]";
/** v1:<16 base64 chars = 12 bytes>:<22 chars + "==" = 16 bytes>:<any base64, possibly empty>. */
const SEALED = new RegExp(
  `^${VERSION}:(${B64}{16}):(${B64}{22}==):((?:${B64}{4})*(?:${B64}{2}==|${B64}{3}=)?)$`,
);

/**
 * Opened values remembered at most (oldest dropped): an extension's two HA1
 * values are opened on each read of it, several times per call, and AES-GCM
 * with its tag check cost more than the query.
 */
export const OPENED_MEMO_ENTRIES = 20_000;

/** The message an operator sees when the key at hand is not the one the database was written with. */
export const WRONG_KEY_MESSAGE =
  "the secret key does not open stored credentials: set VPBX_SECRET_KEY to the key this database was written with";

/** A sealed value that this key does not open: another key, or a value altered in the database. */
export class SecretKeyMismatch extends Error {
  constructor(detail?: string, options?: ErrorOptions) {
    super(detail === undefined ? WRONG_KEY_MESSAGE : `${WRONG_KEY_MESSAGE} (${detail})`, options);
    this.name = "SecretKeyMismatch";
  }
}

/**
 * A credential stored in clear where a sealed one is expected: written by an
 * older vpbx (sealed at the next start) or straight into the database. It is
 * refused rather than used, so that nobody who can write the database but
 * lacks the key can plant a credential of their own.
 */
export class UnsealedSecret extends Error {
  constructor(context: string) {
    super(
      `a stored credential is not sealed (${context}): it was written by an older vpbx or straight into the database; restart vpbx to seal it`,
    );
    this.name = "UnsealedSecret";
  }
}

/** Whether `stored` has the shape of a sealed value (it may still fail to open). */
export function isSealed(stored: string): boolean {
  return SEALED.test(stored);
}

/**
 * A key as an operator writes it: 64 hex characters, or the base64 (or
 * base64url) of 32 bytes, surrounding white space ignored (a key file ends
 * with a newline). undefined: not a key.
 */
export function parseSecretKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, "hex");
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t) || /^[A-Za-z0-9_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    return key.length === SECRET_KEY_BYTES ? key : undefined;
  }
  return undefined;
}

/** A new random key, as a key file holds it (hex, one line). */
export function generateSecretKey(): { key: Buffer; text: string } {
  const key = randomBytes(SECRET_KEY_BYTES);
  return { key, text: `${key.toString("hex")}\n` };
}

/** Seals and opens credentials under one key. */
export class SecretBox {
  readonly #key: Buffer;
  /**
   * Plain values by context and sealed text: open() is a pure function of
   * (key, sealed text, context), so a value that opened once opens the same
   * again. Only successes are kept: an altered value, or one under another
   * key or context, is another text or context, not found here, and opening
   * it fails as before. (The plain values are in memory anyway whenever an
   * extension or trunk is read.)
   */
  readonly #opened = new Map<string, string>();
  readonly #memoEntries: number;
  /**
   * A short digest of the key, safe to log: nodes of one PostgreSQL store
   * must show the same one. Domain-separated so that it says nothing of any
   * other use of the key.
   */
  readonly fingerprint: string;

  constructor(key: Buffer, opts: { memoEntries?: number } = {}) {
    this.#memoEntries = opts.memoEntries ?? OPENED_MEMO_ENTRIES;
    if (key.length !== SECRET_KEY_BYTES) {
      throw new RangeError(`a secret key has ${SECRET_KEY_BYTES} bytes, not ${key.length}`);
    }
    this.#key = Buffer.from(key); // a copy: the caller may wipe or reuse its buffer
    this.fingerprint = createHash("sha256")
      .update("vpbx secret key fingerprint\0")
      .update(this.#key)
      .digest("hex")
      .slice(0, 16);
  }

  /** `plain` sealed for the place named by `context` (the additional authenticated data). */
  seal(plain: string, context = ""): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `${VERSION}:${iv.toString("base64")}:${cipher.getAuthTag().toString("base64")}:${ct.toString("base64")}`;
  }

  /**
   * The plain value of a sealed one. UnsealedSecret when `stored` is not
   * sealed; SecretKeyMismatch when it does not open: another key, another
   * context, or altered bytes (GCM's tag covers all three).
   */
  open(stored: string, context = ""): string {
    // The context's length first: no other (context, stored) pair spells the same key.
    const memo = `${context.length}:${context}${stored}`;
    const known = this.#opened.get(memo);
    if (known !== undefined) return known;
    const plain = this.#open(stored, context);
    if (this.#opened.size >= this.#memoEntries) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(memo, plain);
    return plain;
  }

  /** Values remembered as opened (at most OPENED_MEMO_ENTRIES). */
  get memoSize(): number {
    return this.#opened.size;
  }

  #open(stored: string, context: string): string {
    const m = SEALED.exec(stored);
    if (!m) throw new UnsealedSecret(context || "a stored value");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(m[1], "base64"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(m[2], "base64"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(m[3], "base64")), decipher.final()]).toString("utf8");
    } catch (err) {
      // final() throws "Unsupported state or unable to authenticate data": the tag did not match.
      throw new SecretKeyMismatch(
        context === "" ? undefined : `${context}: another key, or the stored value was altered`,
        { cause: err },
      );
    }
  }
}
