// The RFC 5764 §4.2 split of exported keying material, and that the two
// roles' halves fit together in SRTP.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SrtpTransform } from "../rtp/srtp-transform.ts";
import { dtlsSrtpProfileId, keyingMaterialLength, splitDtlsSrtpKeys } from "./dtls-srtp-keys.ts";

/** Bytes 0, 1, 2, ...: each part of the split is recognisable by where it starts. */
const counting = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

test("AES_CM_128_HMAC_SHA1_80: client key | server key | client salt | server salt (16, 16, 14, 14)", () => {
  const material = counting(keyingMaterialLength("AES_CM_128_HMAC_SHA1_80"));
  assert.equal(material.length, 60);
  const server = splitDtlsSrtpKeys(material, "AES_CM_128_HMAC_SHA1_80", "server");
  assert.deepEqual(
    [...server.remote.masterKey],
    [...counting(16)],
    "the client's key unprotects what it sends",
  );
  assert.deepEqual([...server.local.masterKey], [...counting(32).slice(16)]);
  assert.deepEqual([...server.remote.masterSalt], [...counting(46).slice(32)]);
  assert.deepEqual([...server.local.masterSalt], [...counting(60).slice(46)]);
  const client = splitDtlsSrtpKeys(material, "AES_CM_128_HMAC_SHA1_80", "client");
  assert.deepEqual(client.local, server.remote);
  assert.deepEqual(client.remote, server.local);
});

test("AEAD_AES_128_GCM: 16-byte keys and 12-byte salts (RFC 7714 §12)", () => {
  const material = counting(keyingMaterialLength("AEAD_AES_128_GCM"));
  assert.equal(material.length, 56);
  const server = splitDtlsSrtpKeys(material, "AEAD_AES_128_GCM", "server");
  assert.equal(server.local.profile, "AEAD_AES_128_GCM");
  assert.deepEqual([...server.remote.masterSalt], [...counting(44).slice(32)]);
  assert.deepEqual([...server.local.masterSalt], [...counting(56).slice(44)]);
});

test("what the server protects the client unprotects, and back", () => {
  for (const profile of ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"] as const) {
    const material = Uint8Array.from(
      { length: keyingMaterialLength(profile) },
      (_, i) => (i * 37 + 11) & 0xff,
    );
    const server = new SrtpTransform(splitDtlsSrtpKeys(material, profile, "server"));
    const client = new SrtpTransform(splitDtlsSrtpKeys(material, profile, "client"));
    const rtp = Buffer.alloc(172, 0x55);
    rtp[0] = 0x80;
    rtp.writeUInt16BE(7, 2);
    rtp.writeUInt32BE(0xabcdef01, 8);
    const wire = server.protectRtp(rtp, 0, 172)!;
    assert.equal(client.unprotectRtp(Buffer.from(wire), wire.length), 172, profile);
    const back = client.protectRtp(rtp, 0, 172)!;
    assert.equal(server.unprotectRtp(Buffer.from(back), back.length), 172);
  }
});

test("wrong lengths and profiles are refused", () => {
  assert.throws(() => splitDtlsSrtpKeys(new Uint8Array(59), "AES_CM_128_HMAC_SHA1_80", "server"), RangeError);
  assert.equal(dtlsSrtpProfileId("AES_CM_128_HMAC_SHA1_80"), 1);
  assert.equal(dtlsSrtpProfileId("AES_CM_128_HMAC_SHA1_32"), 2);
  assert.equal(dtlsSrtpProfileId("AEAD_AES_128_GCM"), 7);
});
