import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { aesCmPrf, deriveSessionKeys, LABEL } from "./key-derivation.ts";
import { hex } from "./testing.ts";

// RFC 3711 Appendix B.3.
const MASTER_KEY = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
const MASTER_SALT = hex("0EC675AD498AFEEBB6960B3AABE6");

describe("RFC 3711 key derivation (AES-CM PRF, kdr 0)", () => {
  it("derives the B.3 cipher key, salt and authentication key", () => {
    assert.deepEqual(
      aesCmPrf(MASTER_KEY, MASTER_SALT, LABEL.rtpCipher, 16),
      hex("C61E7A93744F39EE10734AFE3FF7A087"),
    );
    assert.deepEqual(
      aesCmPrf(MASTER_KEY, MASTER_SALT, LABEL.rtpSalt, 14),
      hex("30CBBC08863D8C85D49DB34A9AE1"),
    );
    // B.3 lists 94 bytes of the authentication key stream, six AES blocks.
    assert.deepEqual(
      aesCmPrf(MASTER_KEY, MASTER_SALT, LABEL.rtpAuth, 94),
      hex(`CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
           E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
           6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2`),
    );
  });

  it("gives each profile keys of its lengths, distinct for SRTP and SRTCP", () => {
    const cm = deriveSessionKeys("AES_CM_128_HMAC_SHA1_80", MASTER_KEY, MASTER_SALT);
    assert.deepEqual(Buffer.from(cm.rtp.cipherKey), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    assert.deepEqual(Buffer.from(cm.rtp.salt), hex("30CBBC08863D8C85D49DB34A9AE1"));
    assert.deepEqual(Buffer.from(cm.rtp.authKey), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    assert.equal(cm.rtcp.cipherKey.length, 16);
    assert.equal(cm.rtcp.salt.length, 14);
    assert.equal(cm.rtcp.authKey.length, 20);
    assert.notDeepEqual(cm.rtcp.cipherKey, cm.rtp.cipherKey);

    const gcm = deriveSessionKeys("AEAD_AES_128_GCM", MASTER_KEY, MASTER_SALT.subarray(0, 12));
    assert.equal(gcm.rtp.salt.length, 12);
    assert.equal(gcm.rtp.authKey.length, 0);
  });

  it("refuses master keys and salts of the wrong length", () => {
    assert.throws(
      () => deriveSessionKeys("AES_CM_128_HMAC_SHA1_80", MASTER_KEY.subarray(1), MASTER_SALT),
      RangeError,
    );
    assert.throws(
      () => deriveSessionKeys("AES_CM_128_HMAC_SHA1_32", MASTER_KEY, MASTER_SALT.subarray(2)),
      RangeError,
    );
    assert.throws(() => deriveSessionKeys("AEAD_AES_128_GCM", MASTER_KEY, MASTER_SALT), RangeError);
  });
});
