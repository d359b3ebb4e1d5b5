export type { DigestAlgorithm, DigestChallenge, DigestResponse } from "./digest.ts";
export {
  computeHa1,
  computeResponse,
  DIGEST_ALGORITHMS,
  formatChallenge,
  normaliseAlgorithm,
  parseAuthorization,
  parseNonceCount,
  verifyDigest,
} from "./digest.ts";
export type { NonceCheck, NonceManagerOptions } from "./nonce-manager.ts";
export { NonceManager } from "./nonce-manager.ts";
