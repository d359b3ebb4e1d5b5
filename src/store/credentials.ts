// SIP secrets are never stored, only the digest HA1 values that a verifier
// needs. HA1 = H(username ":" realm ":" password), RFC 7616 §3.4.2; MD5 for
// the phones of RFC 2617, SHA-256 for those that offer it (RFC 8760 §2.6).
import { createHash } from "node:crypto";
import type { DigestCredentials } from "./types.ts";

export function makeCredentials(username: string, realm: string, password: string): DigestCredentials {
  const a1 = `${username}:${realm}:${password}`;
  return {
    realm,
    ha1Md5: createHash("md5").update(a1, "utf8").digest("hex"),
    ha1Sha256: createHash("sha256").update(a1, "utf8").digest("hex"),
  };
}
