import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import {
  certificateFingerprint,
  createDtlsCertificate,
  formatFingerprint,
  matchesFingerprint,
  parseFingerprint,
  processDtlsCertificate,
} from "./dtls-certificate.ts";

test("our certificate is ECDSA P-256, self-signed, with its sha-256 fingerprint", async () => {
  const cert = await createDtlsCertificate();
  const x509 = new X509Certificate(cert.certPem);
  assert.equal(x509.publicKey.asymmetricKeyType, "ec");
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.ok(x509.verify(x509.publicKey), "self-signed");
  assert.equal(cert.fingerprint.algorithm, "sha-256");
  assert.match(cert.fingerprint.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(cert.fingerprint.value, x509.fingerprint256);
  assert.ok(matchesFingerprint(cert.der, [cert.fingerprint]));
});

test("one certificate per process", async () => {
  assert.equal(await processDtlsCertificate(), await processDtlsCertificate());
});

test("a=fingerprint values parse, print and match under any registered hash", async () => {
  const cert = await processDtlsCertificate();
  const sha1 = { algorithm: "sha-1", value: certificateFingerprint(cert.der, "sha-1") };
  assert.deepEqual(parseFingerprint(`SHA-256 ${cert.fingerprint.value.toLowerCase()}`), cert.fingerprint);
  assert.equal(formatFingerprint(cert.fingerprint), `sha-256 ${cert.fingerprint.value}`);
  assert.ok(matchesFingerprint(cert.der, [sha1]));
  const other = await createDtlsCertificate();
  assert.equal(matchesFingerprint(other.der, [cert.fingerprint, sha1]), false);
  assert.ok(matchesFingerprint(other.der, [cert.fingerprint, other.fingerprint]), "any of several lines");
  assert.equal(parseFingerprint("md5 AB:CD"), undefined, "RFC 8122: md5 must not be used");
  assert.equal(parseFingerprint("sha-256 nothex"), undefined);
  assert.equal(parseFingerprint("sha-256"), undefined);
  assert.throws(() => certificateFingerprint(cert.der, "md5"), RangeError);
});
