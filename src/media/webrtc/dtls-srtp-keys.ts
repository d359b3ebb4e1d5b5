// DTLS-SRTP keying (RFC 5764 §4.2): after the handshake both sides export
// the same keying material with the RFC 5705 exporter and cut it into the
// client's and the server's SRTP master key and salt. Each side protects
// what it sends with its own half and unprotects with the other's, exactly
// as with SDES keys (RFC 4568), so the result feeds our SrtpTransform.
import { PROFILES, type SdesAgreement, type SrtpProfile } from "../srtp/index.ts";

/** RFC 5764 §4.2: the exporter label for DTLS-SRTP keys. */
export const DTLS_SRTP_EXPORTER_LABEL = "EXTRACTOR-dtls_srtp";

/**
 * use_srtp protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2) of
 * the profiles our SRTP implements, under their SDES names.
 */
export const DTLS_SRTP_PROFILE_IDS: Readonly<Record<number, SrtpProfile>> = {
  1: "AES_CM_128_HMAC_SHA1_80",
  2: "AES_CM_128_HMAC_SHA1_32",
  7: "AEAD_AES_128_GCM",
};

/** The use_srtp number of a profile. */
export function dtlsSrtpProfileId(profile: SrtpProfile): number {
  const id = Object.entries(DTLS_SRTP_PROFILE_IDS).find(([, p]) => p === profile)?.[0];
  if (id === undefined) throw new RangeError(`no use_srtp number for ${profile}`);
  return Number(id);
}

/** Bytes of keying material a profile needs: two keys and two salts. */
export function keyingMaterialLength(profile: SrtpProfile): number {
  const p = PROFILES[profile];
  return 2 * (p.keyLength + p.saltLength);
}

/**
 * Splits exported keying material (RFC 5764 §4.2):
 *   client_write_SRTP_master_key | server_write_SRTP_master_key |
 *   client_write_SRTP_master_salt | server_write_SRTP_master_salt
 * The DTLS server (our role when we answer with a=setup:passive) sends with
 * the server key and receives with the client's; the client the reverse.
 */
export function splitDtlsSrtpKeys(
  material: Uint8Array,
  profile: SrtpProfile,
  role: "client" | "server",
): SdesAgreement {
  const p = PROFILES[profile];
  if (!p) throw new RangeError(`unknown SRTP profile ${String(profile)}`);
  if (material.length !== keyingMaterialLength(profile)) {
    throw new RangeError(`${profile} needs ${keyingMaterialLength(profile)} bytes of keying material`);
  }
  const k = p.keyLength;
  const s = p.saltLength;
  const clientKey = material.slice(0, k);
  const serverKey = material.slice(k, 2 * k);
  const clientSalt = material.slice(2 * k, 2 * k + s);
  const serverSalt = material.slice(2 * k + s, 2 * k + 2 * s);
  // tag 0: DTLS-SRTP has no a=crypto line, so no tag to repeat (SdesCrypto's field is unused here).
  const client = { tag: 0, profile, masterKey: clientKey, masterSalt: clientSalt, sessionParams: [] };
  const server = { tag: 0, profile, masterKey: serverKey, masterSalt: serverSalt, sessionParams: [] };
  return role === "server" ? { local: server, remote: client } : { local: client, remote: server };
}
