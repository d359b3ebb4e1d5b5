// Session keys from a master key and salt (RFC 3711 §4.3), with a key
// derivation rate of 0: the keys are derived once, when the session starts
// (§4.3.1: "index DIV kdr" is then 0 for every packet), which is all SDES
// offers without the KDR session parameter (RFC 4568 §6.3.1).
import { createCipheriv } from "node:crypto";
import { PROFILES, type SrtpProfile } from "./profiles.ts";

/** The three keys of one direction and one protocol (SRTP or SRTCP). */
export interface SessionKeys {
  /** k_e: the AES-128 session key. */
  cipherKey: Uint8Array;
  /** k_s: 14 bytes for AES-CM, 12 for GCM. */
  salt: Uint8Array;
  /** k_a: the HMAC-SHA1 key (20 bytes); empty for GCM (RFC 7714 §11: no separate auth key). */
  authKey: Uint8Array;
}

export interface SrtpSessionKeys {
  rtp: SessionKeys;
  rtcp: SessionKeys;
}

/** Key derivation labels (RFC 3711 §4.3.1 and §4.3.2). */
export const LABEL = {
  rtpCipher: 0x00,
  rtpAuth: 0x01,
  rtpSalt: 0x02,
  rtcpCipher: 0x03,
  rtcpAuth: 0x04,
  rtcpSalt: 0x05,
} as const;

/**
 * The AES-CM PRF of §4.3.3: `length` bytes of AES-128 counter-mode
 * keystream under the master key, starting from x·2^16 where
 * x = (label || index DIV kdr) XOR master salt (§4.3.1). With kdr = 0 the
 * index part is zero, so the label alone lands at byte 7 of the 14-byte x.
 * A 12-byte GCM master salt is padded with two zero bytes on the right to
 * the 112 bits this construction takes (RFC 7714 §11).
 */
export function aesCmPrf(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  length: number,
): Buffer {
  if (masterKey.length !== 16) throw new RangeError("the AES-CM PRF takes a 128-bit master key");
  if (masterSalt.length > 14) throw new RangeError("the master salt is at most 112 bits");
  const iv = Buffer.alloc(16);
  iv.set(masterSalt, 0);
  iv[7] ^= label;
  const ctr = createCipheriv("aes-128-ctr", masterKey, iv);
  return ctr.update(Buffer.alloc(length));
}

/** Derives the SRTP and SRTCP session keys of `profile` (RFC 3711 §4.3, RFC 7714 §11). */
export function deriveSessionKeys(
  profile: SrtpProfile,
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
): SrtpSessionKeys {
  const p = PROFILES[profile];
  if (!p) throw new RangeError(`unknown SRTP profile ${String(profile)}`);
  if (masterKey.length !== p.keyLength) {
    throw new RangeError(`${profile} takes a ${p.keyLength}-byte master key, not ${masterKey.length}`);
  }
  if (masterSalt.length !== p.saltLength) {
    throw new RangeError(`${profile} takes a ${p.saltLength}-byte master salt, not ${masterSalt.length}`);
  }
  const derive = (label: number, length: number) =>
    length === 0 ? new Uint8Array(0) : new Uint8Array(aesCmPrf(masterKey, masterSalt, label, length));
  return {
    rtp: {
      cipherKey: derive(LABEL.rtpCipher, p.keyLength),
      salt: derive(LABEL.rtpSalt, p.saltLength),
      authKey: derive(LABEL.rtpAuth, p.authKeyLength),
    },
    rtcp: {
      cipherKey: derive(LABEL.rtcpCipher, p.keyLength),
      salt: derive(LABEL.rtcpSalt, p.saltLength),
      authKey: derive(LABEL.rtcpAuth, p.authKeyLength),
    },
  };
}
