// AES-128 counter mode and HMAC-SHA1 for one set of session keys (RFC 3711
// §4.1.1 and §4.2.1), the transforms under AES_CM_128_HMAC_SHA1_80 and _32.
//
// Per-packet cost matters here: every packet of a call goes through this.
// Counter mode needs nothing but AES of counter blocks, and AES of a block
// does not depend on the blocks around it, so one AES-128-ECB cipher per key
// is created once and fed each packet's counter blocks; its output is the
// keystream. That avoids a createCipheriv (a key schedule and an OpenSSL
// context) per packet, which costs about as much as everything else.
// The HMAC key is kept as a KeyObject, and each packet is hashed in one
// update: the ROC that SRTP appends to the authenticated portion (§4.2) is
// written into the bytes the tag will take, rather than hashed apart. That
// measured faster than keeping SHA-1 states after the ipad and opad blocks
// and copying them per packet (RFC 2104 §4), which costs more calls into
// OpenSSL than it saves in compression.
import { type Cipher, createCipheriv, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { SessionKeys } from "./key-derivation.ts";

const BLOCK = 16;
/** The ROC written after the authenticated portion takes 4 bytes: every tag (4 or 10 bytes) has them. */
const ROC_SIZE = 4;

export class AesCmHmac {
  private readonly ecb: Cipher;
  private readonly salt: Uint8Array;
  private readonly authKey: KeyObject;
  /** Counter blocks of the packet being processed; grows for large packets only. */
  private counters = Buffer.alloc(BLOCK * 64);
  /** counters[0, 16·n) for each n met so far, so that a packet size costs one view, once. */
  private views: Buffer[] = [];
  /** The received tag's first bytes, kept while the ROC stands in their place. */
  private readonly saved = new Uint8Array(ROC_SIZE);

  constructor(keys: SessionKeys) {
    if (keys.cipherKey.length !== 16) throw new RangeError("AES-CM takes a 128-bit session key");
    if (keys.salt.length !== 14) throw new RangeError("AES-CM takes a 112-bit session salt");
    if (keys.authKey.length === 0) throw new RangeError("HMAC-SHA1 needs a session authentication key");
    this.ecb = createCipheriv("aes-128-ecb", keys.cipherKey, null);
    this.ecb.setAutoPadding(false);
    this.salt = Uint8Array.from(keys.salt);
    this.authKey = createSecretKey(keys.authKey);
  }

  /**
   * XORs buf[start, end) with the keystream of §4.1.1 for this SSRC and
   * 48-bit index (given as its high 32 bits and low 16 bits: ROC and SEQ for
   * SRTP, 0 and the 31-bit SRTCP index split the same way for SRTCP):
   * IV = (k_s·2^16) XOR (SSRC·2^64) XOR (i·2^16), then IV, IV+1, ... encrypted.
   */
  xorKeystream(
    buf: Uint8Array,
    start: number,
    end: number,
    ssrc: number,
    indexHigh: number,
    indexLow: number,
  ): void {
    const n = end - start;
    if (n <= 0) return;
    const blocks = (n + BLOCK - 1) >>> 4;
    if (blocks * BLOCK > this.counters.length) {
      this.counters = Buffer.alloc(blocks * BLOCK);
      this.views = [];
    }
    const c = this.counters;
    const s = this.salt;
    c[0] = s[0];
    c[1] = s[1];
    c[2] = s[2];
    c[3] = s[3];
    c[4] = s[4] ^ (ssrc >>> 24);
    c[5] = s[5] ^ ((ssrc >>> 16) & 0xff);
    c[6] = s[6] ^ ((ssrc >>> 8) & 0xff);
    c[7] = s[7] ^ (ssrc & 0xff);
    c[8] = s[8] ^ (indexHigh >>> 24);
    c[9] = s[9] ^ ((indexHigh >>> 16) & 0xff);
    c[10] = s[10] ^ ((indexHigh >>> 8) & 0xff);
    c[11] = s[11] ^ (indexHigh & 0xff);
    c[12] = s[12] ^ ((indexLow >>> 8) & 0xff);
    c[13] = s[13] ^ (indexLow & 0xff);
    c[14] = 0;
    c[15] = 0;
    // The block counter runs in the low 16 bits, which the salt leaves zero.
    for (let b = 1, o = BLOCK; b < blocks; b++, o += BLOCK) {
      c.copyWithin(o, 0, 14);
      c[o + 14] = b >>> 8;
      c[o + 15] = b & 0xff;
    }
    let view = this.views[blocks];
    if (view === undefined) {
      view = c.subarray(0, blocks * BLOCK);
      this.views[blocks] = view;
    }
    const ks = this.ecb.update(view);
    for (let i = 0; i < n; i++) buf[start + i] ^= ks[i];
  }

  /** HMAC-SHA1 of buf[0, end). */
  mac(buf: Uint8Array, end: number): Buffer {
    return createHmac("sha1", this.authKey)
      .update(end === buf.length ? buf : buf.subarray(0, end))
      .digest();
  }

  /**
   * Writes at buf[end] the first `tagLength` bytes of the HMAC of
   * buf[0, end), followed by the ROC when `roc` is not negative (SRTP,
   * §4.2: M = authenticated portion || ROC; SRTCP has its index word inside
   * the authenticated portion and no ROC).
   */
  sign(buf: Uint8Array, end: number, roc: number, tagLength: number): void {
    let covered = end;
    if (roc >= 0) {
      writeRoc(buf, end, roc);
      covered += ROC_SIZE;
    }
    const tag = this.mac(buf, covered);
    for (let i = 0; i < tagLength; i++) buf[end + i] = tag[i];
  }

  /**
   * True when buf[end, end + tagLength) is the tag of buf[0, end) (and the
   * ROC, as in sign), compared in constant time. The buffer is left as it
   * was.
   */
  verify(buf: Uint8Array, end: number, roc: number, tagLength: number): boolean {
    let covered = end;
    const saved = this.saved;
    if (roc >= 0) {
      for (let i = 0; i < ROC_SIZE; i++) saved[i] = buf[end + i];
      writeRoc(buf, end, roc);
      covered += ROC_SIZE;
    }
    const tag = this.mac(buf, covered);
    if (roc >= 0) for (let i = 0; i < ROC_SIZE; i++) buf[end + i] = saved[i];
    let diff = 0;
    for (let i = 0; i < tagLength; i++) diff |= tag[i] ^ buf[end + i];
    return diff === 0;
  }
}

function writeRoc(buf: Uint8Array, at: number, roc: number): void {
  buf[at] = roc >>> 24;
  buf[at + 1] = (roc >>> 16) & 0xff;
  buf[at + 2] = (roc >>> 8) & 0xff;
  buf[at + 3] = roc & 0xff;
}
