export { AuthRateLimiter, type AuthRateLimiterOptions } from "./auth-rate-limiter.ts";
export {
  type AuthKind,
  type AuthResult,
  formatSource,
  PhoneAuthenticator,
  type PhoneAuthenticatorOptions,
} from "./phone-authenticator.ts";
