// The SRTP protection profiles we implement, under their SDES crypto-suite
// names (RFC 4568 §6.2, RFC 7714 §14.1), with the lengths each one fixes.

export type SrtpProfile = "AES_CM_128_HMAC_SHA1_80" | "AES_CM_128_HMAC_SHA1_32" | "AEAD_AES_128_GCM";

export interface ProfileParameters {
  /** Master and session cipher key length in bytes (AES-128). */
  readonly keyLength: number;
  /** Master and session salt length: 112 bits for AES-CM (RFC 3711 §8.2), 96 for GCM (RFC 7714 §12). */
  readonly saltLength: number;
  /** HMAC-SHA1 session key length (RFC 3711 §8.2: n_a = 160 bits); 0 for AEAD. */
  readonly authKeyLength: number;
  /** SRTP authentication tag length in bytes. */
  readonly rtpTagLength: number;
  /**
   * SRTCP tag length: always 80 bits for the AES-CM suites, _32 included
   * (RFC 4568 §6.2, RFC 3711 §3.4: SRTCP authentication is mandatory and
   * the short tag is only meant for RTP over narrow links); 16 bytes for GCM.
   */
  readonly rtcpTagLength: number;
  readonly aead: boolean;
}

export const PROFILES: Readonly<Record<SrtpProfile, ProfileParameters>> = {
  AES_CM_128_HMAC_SHA1_80: {
    keyLength: 16,
    saltLength: 14,
    authKeyLength: 20,
    rtpTagLength: 10,
    rtcpTagLength: 10,
    aead: false,
  },
  AES_CM_128_HMAC_SHA1_32: {
    keyLength: 16,
    saltLength: 14,
    authKeyLength: 20,
    rtpTagLength: 4,
    rtcpTagLength: 10,
    aead: false,
  },
  // RFC 7714 §14.2: 128-bit key, 96-bit salt, 16-octet tag for SRTP and SRTCP.
  AEAD_AES_128_GCM: {
    keyLength: 16,
    saltLength: 12,
    authKeyLength: 0,
    rtpTagLength: 16,
    rtcpTagLength: 16,
    aead: true,
  },
};

export const SRTP_PROFILES: readonly SrtpProfile[] = Object.keys(PROFILES) as SrtpProfile[];

export function isSrtpProfile(name: string): name is SrtpProfile {
  return Object.hasOwn(PROFILES, name);
}

/** Size of the SRTCP index word that every SRTCP packet carries (RFC 3711 §3.4). */
export const SRTCP_INDEX_SIZE = 4;

/** The most bytes protect adds to an RTP (16) or RTCP (20) packet, whatever the profile: for sizing buffers. */
export const SRTP_MAX_OVERHEAD = 16;
export const SRTCP_MAX_OVERHEAD = SRTCP_INDEX_SIZE + 16;
