export type { DigestAlgorithm, DigestChallenge, DigestResponse } from "./digest.ts";
export {
  computeHa1,
  computeResponse,
  DIGEST_ALGORITHMS,
  digestHash,
  formatChallenge,
  normaliseAlgorithm,
  parseAuthorization,
  parseDigestParams,
  parseNonceCount,
  verifyDigest,
} from "./digest.ts";
export type { DigestClientOptions, ReceivedChallenge, SipCredentials } from "./digest-client.ts";
export {
  chooseChallenges,
  DigestClient,
  DigestRetry,
  parseChallenge,
  withCredentials,
} from "./digest-client.ts";
export type { NonceCheck, NonceManagerOptions, NonceOrigin } from "./nonce-manager.ts";
export { NonceManager } from "./nonce-manager.ts";
