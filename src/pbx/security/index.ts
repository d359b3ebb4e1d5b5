export { sourceKey } from "../../sip/transport/source-key.ts";
export {
  AuthGuard,
  type AuthGuardOptions,
  DEFAULT_ACCOUNT_LIMITS,
  DEFAULT_SOURCE_LIMITS,
  type FailureLimit,
} from "./auth-guard.ts";
export { AuthRateLimiter, type AuthRateLimiterOptions } from "./auth-rate-limiter.ts";
export { NONCE_SECRET_NAME, nonceSecret } from "./nonce-secret.ts";
export {
  type AuthKind,
  type AuthResult,
  formatSource,
  PhoneAuthenticator,
  type PhoneAuthenticatorOptions,
} from "./phone-authenticator.ts";
export { ProxiedPhoneAuthenticator, TrustedProxies } from "./trusted-proxies.ts";
