import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import {
  isSealed,
  parseSecretKey,
  SecretBox,
  SecretKeyMismatch,
  UnsealedSecret,
  WRONG_KEY_MESSAGE,
} from "./secret-box.ts";

const HA1 = "939e7578ed9e3c518a452acee763bce9"; // RFC 2617 §3.5's Mufasa

/** `stored` with one base64 character of part `index` (1: IV, 2: tag, 3: ciphertext) changed. */
function alter(stored: string, index: 1 | 2 | 3): string {
  const parts = stored.split(":");
  const p = parts[index];
  parts[index] = (p[0] === "A" ? "B" : "A") + p.slice(1);
  return parts.join(":");
}

describe("secret box (AES-256-GCM)", () => {
  const box = new SecretBox(randomBytes(32));

  test("round trip, as text of the form v1:<iv>:<tag>:<ct>, a fresh IV each time", () => {
    const sealed = box.seal(HA1, "extension acme/101 ha1_md5");
    assert.match(sealed, /^v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]{22}==:[A-Za-z0-9+/=]+$/);
    assert.ok(!sealed.includes(HA1));
    assert.ok(isSealed(sealed));
    assert.equal(box.open(sealed, "extension acme/101 ha1_md5"), HA1);
    assert.notEqual(box.seal(HA1, "x"), box.seal(HA1, "x"), "a new IV per value");
    for (const plain of ["", "pässwörd 🔑", "a:b:c", "x".repeat(1000)]) {
      assert.equal(box.open(box.seal(plain)), plain);
    }
  });

  test("a modified IV, tag or ciphertext is refused", () => {
    const sealed = box.seal(HA1, "ctx");
    for (const part of [1, 2, 3] as const) {
      const altered = alter(sealed, part);
      assert.ok(isSealed(altered));
      assert.throws(() => box.open(altered, "ctx"), SecretKeyMismatch);
    }
    // One bit of the ciphertext flipped: without the tag check AES-CTR would hand back a changed HA1.
    const [v, iv, tag, ct] = sealed.split(":");
    const bytes = Buffer.from(ct, "base64");
    bytes[0] ^= 1;
    assert.throws(() => box.open([v, iv, tag, bytes.toString("base64")].join(":"), "ctx"), SecretKeyMismatch);
  });

  test("a sealed value opens only in its own context (moved to another row: refused)", () => {
    const sealed = box.seal(HA1, "extension acme/102 ha1_md5");
    assert.throws(() => box.open(sealed, "extension acme/101 ha1_md5"), SecretKeyMismatch);
  });

  test("another key: the clear error an operator acts on", () => {
    const sealed = box.seal(HA1);
    const other = new SecretBox(randomBytes(32));
    assert.throws(
      () => other.open(sealed),
      (err: unknown) => err instanceof SecretKeyMismatch && err.message === WRONG_KEY_MESSAGE,
    );
    assert.equal(
      WRONG_KEY_MESSAGE,
      "the secret key does not open stored credentials: set VPBX_SECRET_KEY to the key this database was written with",
    );
    assert.throws(
      () => other.open(box.seal(HA1, "trunk carrier password"), "trunk carrier password"),
      (err: unknown) =>
        err instanceof Error &&
        err.message.startsWith(WRONG_KEY_MESSAGE) &&
        err.message.includes("trunk carrier password"),
    );
    assert.notEqual(box.fingerprint, other.fingerprint);
    assert.match(box.fingerprint, /^[0-9a-f]{16}$/);
  });

  test("a value in clear is refused, never taken as it is", () => {
    assert.ok(!isSealed(HA1));
    assert.throws(() => box.open(HA1, "extension acme/101 ha1_md5"), UnsealedSecret);
    assert.throws(() => box.open("v1:garbage"), UnsealedSecret);
  });

  test("keys: 32 bytes only; written as 64 hex characters or base64 (url-safe too)", () => {
    assert.throws(() => new SecretBox(randomBytes(16)), RangeError);
    const key = randomBytes(32);
    assert.deepEqual(parseSecretKey(key.toString("hex")), key);
    assert.deepEqual(parseSecretKey(`  ${key.toString("hex").toUpperCase()}\n`), key);
    assert.deepEqual(parseSecretKey(key.toString("base64")), key);
    assert.deepEqual(parseSecretKey(key.toString("base64url")), key);
    for (const bad of [
      "",
      "secret",
      key.toString("hex").slice(2),
      randomBytes(31).toString("base64"),
      "g".repeat(64),
    ]) {
      assert.equal(parseSecretKey(bad), undefined, bad);
    }
  });
});
