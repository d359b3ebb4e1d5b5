// AEAD_AES_128_GCM for one set of session keys (RFC 7714). Node has no way
// to re-key a GCM context with a new IV, so each packet takes its own
// cipher; the key is kept as a KeyObject so that is all it costs.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import type { SessionKeys } from "./key-derivation.ts";

export const GCM_TAG_LENGTH = 16;

export class AesGcm {
  private readonly key: KeyObject;
  private readonly salt: Uint8Array;
  private readonly iv = Buffer.alloc(12);
  /** SRTCP's associated data: the first 8 header bytes and the E flag/index word (§9.2). */
  private readonly rtcpAad = Buffer.alloc(12);

  constructor(keys: SessionKeys) {
    if (keys.cipherKey.length !== 16) throw new RangeError("AEAD_AES_128_GCM takes a 128-bit session key");
    if (keys.salt.length !== 12) throw new RangeError("AEAD_AES_128_GCM takes a 96-bit session salt");
    this.key = createSecretKey(keys.cipherKey);
    this.salt = Uint8Array.from(keys.salt);
  }

  /**
   * The 12-byte IV (§8.1 for SRTP, §9.1 for SRTCP): 2 zero bytes, SSRC, then
   * the ROC and SEQ (SRTP) or 2 zero bytes and the 31-bit SRTCP index, all
   * XORed with the session salt. `high` and `low` are the last 4 and 2 bytes.
   */
  private setIv(ssrc: number, high: number, low: number): Buffer {
    const v = this.iv;
    const s = this.salt;
    v[0] = s[0];
    v[1] = s[1];
    v[2] = s[2] ^ (ssrc >>> 24);
    v[3] = s[3] ^ ((ssrc >>> 16) & 0xff);
    v[4] = s[4] ^ ((ssrc >>> 8) & 0xff);
    v[5] = s[5] ^ (ssrc & 0xff);
    v[6] = s[6] ^ (high >>> 24);
    v[7] = s[7] ^ ((high >>> 16) & 0xff);
    v[8] = s[8] ^ ((high >>> 8) & 0xff);
    v[9] = s[9] ^ (high & 0xff);
    v[10] = s[10] ^ ((low >>> 8) & 0xff);
    v[11] = s[11] ^ (low & 0xff);
    return v;
  }

  /**
   * SRTP (§8): buf[0, headerLength) is the associated data, buf[headerLength,
   * end) is encrypted in place and the 16-byte tag written at buf[end].
   */
  sealRtp(buf: Uint8Array, headerLength: number, end: number, ssrc: number, roc: number, seq: number): void {
    const c = createCipheriv("aes-128-gcm", this.key, this.setIv(ssrc, roc, seq), {
      authTagLength: GCM_TAG_LENGTH,
    });
    c.setAAD(buf.subarray(0, headerLength));
    if (end > headerLength) buf.set(c.update(buf.subarray(headerLength, end)), headerLength);
    c.final();
    buf.set(c.getAuthTag(), end);
  }

  /**
   * Opens buf[headerLength, end) whose tag follows at buf[end]; on success
   * the plaintext replaces the ciphertext. False (buf unchanged) when the
   * tag does not verify.
   */
  openRtp(
    buf: Uint8Array,
    headerLength: number,
    end: number,
    ssrc: number,
    roc: number,
    seq: number,
  ): boolean {
    const d = createDecipheriv("aes-128-gcm", this.key, this.setIv(ssrc, roc, seq), {
      authTagLength: GCM_TAG_LENGTH,
    });
    d.setAAD(buf.subarray(0, headerLength));
    d.setAuthTag(buf.subarray(end, end + GCM_TAG_LENGTH));
    const plain = end > headerLength ? d.update(buf.subarray(headerLength, end)) : null;
    if (!finalOk(d)) return false;
    if (plain) buf.set(plain, headerLength);
    return true;
  }

  /**
   * SRTCP (§9): `encrypted` is the E flag sent with `index`. Encrypted:
   * buf[8, end) is encrypted in place and the AAD is the first 8 header bytes
   * || E flag and index word (§9.2). Not encrypted: the whole packet and the
   * word are AAD (§9.3). The tag is written at buf[end].
   */
  sealRtcp(buf: Uint8Array, end: number, ssrc: number, index: number, encrypted: boolean): void {
    const c = createCipheriv("aes-128-gcm", this.key, this.setIv(ssrc, index >>> 16, index & 0xffff), {
      authTagLength: GCM_TAG_LENGTH,
    });
    const aad = this.rtcpAadOf(buf, index, encrypted);
    if (encrypted) {
      c.setAAD(aad);
      if (end > 8) buf.set(c.update(buf.subarray(8, end)), 8);
    } else {
      c.setAAD(buf.subarray(0, end));
      c.setAAD(aad.subarray(8));
    }
    c.final();
    buf.set(c.getAuthTag(), end);
  }

  /** Opens an SRTCP packet laid out as by sealRtcp; false (buf unchanged) on a bad tag. */
  openRtcp(buf: Uint8Array, end: number, ssrc: number, index: number, encrypted: boolean): boolean {
    const d = createDecipheriv("aes-128-gcm", this.key, this.setIv(ssrc, index >>> 16, index & 0xffff), {
      authTagLength: GCM_TAG_LENGTH,
    });
    d.setAuthTag(buf.subarray(end, end + GCM_TAG_LENGTH));
    const aad = this.rtcpAadOf(buf, index, encrypted);
    let plain: Buffer | null = null;
    if (encrypted) {
      d.setAAD(aad);
      if (end > 8) plain = d.update(buf.subarray(8, end));
    } else {
      d.setAAD(buf.subarray(0, end));
      d.setAAD(aad.subarray(8));
    }
    if (!finalOk(d)) return false;
    if (plain) buf.set(plain, 8);
    return true;
  }

  /** First 8 header bytes, then the E flag and SRTCP index word, in a reused buffer. */
  private rtcpAadOf(buf: Uint8Array, index: number, encrypted: boolean): Buffer {
    const a = this.rtcpAad;
    for (let i = 0; i < 8; i++) a[i] = buf[i];
    a[8] = (encrypted ? 0x80 : 0) | ((index >>> 24) & 0x7f);
    a[9] = (index >>> 16) & 0xff;
    a[10] = (index >>> 8) & 0xff;
    a[11] = index & 0xff;
    return a;
  }
}

/**
 * final() throws when the tag does not verify; that is the expected outcome
 * of a forged or damaged packet, not an error of ours, so it becomes false.
 */
function finalOk(d: ReturnType<typeof createDecipheriv>): boolean {
  try {
    d.final();
    return true;
  } catch {
    return false;
  }
}
