// Who is this phone? Digest authentication of requests from registered
// phones (RFC 3261 §22), with the policy the protocol room leaves open:
// which tenant a request belongs to, which extension may use which
// credentials, and how a failure looks from outside (identical whatever went
// wrong, so that domains and extensions cannot be enumerated), what counts
// as a guess, and who is blocked (auth-guard.ts).

import {
  type DigestAlgorithm,
  type DigestResponse,
  formatChallenge,
  normaliseAlgorithm,
  parseAuthorization,
  parseNonceCount,
  verifyDigest,
} from "../../sip/auth/digest.ts";
import type { NonceManager, NonceOrigin } from "../../sip/auth/nonce-manager.ts";
import {
  createResponse,
  getFrom,
  getTo,
  type NameAddr,
  newTag,
  parseUri,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from "../../sip/message/index.ts";
import { sourceKey } from "../../sip/transport/source-key.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Extension, Store, Tenant } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { AuthGuard, DEFAULT_SOURCE_LIMITS } from "./auth-guard.ts";
import type { AuthRateLimiter } from "./auth-rate-limiter.ts";

export type AuthKind = "www" | "proxy";

export type AuthResult =
  | { ok: true; tenant: Tenant; extension: Extension }
  | { ok: false; response: SipResponse };

export interface PhoneAuthenticatorOptions {
  store: Store;
  nonces: NonceManager;
  clock: Clock;
  log: Logger;
  /** Counts failures and keeps blocks. Default: one over `store.authBlocks` with the default limits. */
  guard?: AuthGuard;
  /**
   * Deprecated (pass `guard`): without a guard, its `maxFailures` and
   * `windowMs` become the guard's short per-source limit.
   */
  limiter?: AuthRateLimiter;
  /** Offered in this order, preferred first (default MD5, then SHA-256; the PBX's configuration decides). */
  algorithms?: readonly DigestAlgorithm[];
  /** Called on each successful digest (the TCP transport then treats the connection as an authenticated peer's). */
  onAuthenticated?(remote: RemoteAddress): void;
}

/** HA1 used for unknown users so that they cost the same hashing as known ones. */
const DUMMY_HA1: Record<DigestAlgorithm, string> = {
  MD5: "0".repeat(32),
  "SHA-256": "0".repeat(64),
};

/** "udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5060": the form fail2ban filters match. */
export function formatSource(remote: RemoteAddress): string {
  const host = remote.address.includes(":") ? `[${remote.address}]` : remote.address;
  return `${remote.transport.toLowerCase()}:${host}:${remote.port}`;
}

/**
 * RFC 3261 §22.4: the digest-uri should be the Request-URI. Compared as SIP
 * URIs (§19.1.4: scheme, user, host case-insensitively, port), not as text,
 * since phones differ in how they write parameters.
 */
function sameTarget(digestUri: string, requestUri: SipUri): boolean {
  let uri: SipUri;
  try {
    uri = parseUri(digestUri);
  } catch {
    return false;
  }
  return (
    uri.scheme.toLowerCase() === requestUri.scheme.toLowerCase() &&
    (uri.user ?? "") === (requestUri.user ?? "") &&
    uri.host.toLowerCase() === requestUri.host.toLowerCase() &&
    uri.port === requestUri.port &&
    uri.opaque === requestUri.opaque
  );
}

export class PhoneAuthenticator {
  private readonly store: Store;
  private readonly nonces: NonceManager;
  private readonly log: Logger;
  readonly guard: AuthGuard;
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly onAuthenticated: ((remote: RemoteAddress) => void) | undefined;

  constructor(opts: PhoneAuthenticatorOptions) {
    this.store = opts.store;
    this.nonces = opts.nonces;
    this.log = opts.log;
    this.guard =
      opts.guard ??
      new AuthGuard({
        clock: opts.clock,
        log: opts.log,
        blocks: opts.store.authBlocks,
        sourceLimits: opts.limiter
          ? [
              { failures: opts.limiter.maxFailures, windowMs: opts.limiter.windowMs },
              ...DEFAULT_SOURCE_LIMITS.slice(1),
            ]
          : undefined,
      });
    this.algorithms = opts.algorithms ?? ["MD5", "SHA-256"];
    this.onAuthenticated = opts.onAuthenticated;
  }

  /**
   * Authenticates a request from a phone. REGISTER is challenged with 401 and
   * WWW-Authenticate (`kind` "www"), other requests with 407 and
   * Proxy-Authenticate ("proxy"). Never call it for ACK or CANCEL, which
   * cannot be challenged (RFC 3261 §22.1). Never throws for bad input.
   *
   * Every refusal is a fresh challenge, whatever the reason, a block
   * included: a blocked source or account is answered exactly like a wrong
   * password (same headers, same work done), so a guesser cannot tell that
   * its guesses no longer count, nor that it found the password.
   */
  async authenticate(req: SipRequest, remote: RemoteAddress, kind: AuthKind): Promise<AuthResult> {
    await this.guard.ready();
    // Nonces are issued to, and failures counted against, this subject.
    const source = sourceKey(remote.address);

    let from: NameAddr;
    let to: NameAddr;
    try {
      from = getFrom(req);
      to = getTo(req);
    } catch {
      return { ok: false, response: this.reply(req, 400, "Bad Request") };
    }
    // The tenant is named by the domain of the address of record: To for a
    // REGISTER (RFC 3261 §10.3 step 3), From for what a phone originates; the
    // Request-URI host is the fallback for phones configured with an IP.
    const primaryHost = (req.method === "REGISTER" ? to : from).uri.host.toLowerCase();
    const identityUser = from.uri.user ?? "";
    let tenant = await this.store.tenants.getByDomain(primaryHost);
    const uriHost = req.uri.host.toLowerCase();
    if (!tenant && uriHost !== primaryHost) tenant = await this.store.tenants.getByDomain(uriHost);
    const domain = tenant?.domain ?? primaryHost;

    const headerName = kind === "www" ? "authorization" : "proxy-authorization";
    const raw: string[] = [];
    for (const h of req.headers) if (h.name.toLowerCase() === headerName) raw.push(h.value);

    const extension =
      tenant && identityUser !== "" ? await this.store.extensions.get(tenant.name, identityUser) : undefined;
    const realm = extension?.credentials.realm ?? domain;
    const account = tenant && extension ? `${tenant.name}/${extension.number}` : undefined;
    const challenge = (stale = false): AuthResult => ({
      ok: false,
      response: this.challenge(req, kind, realm, source, stale),
    });

    // A request without credentials is the normal first half of the round trip.
    if (raw.length === 0) return challenge();

    const all: DigestResponse[] = [];
    for (const value of raw) {
      const parsed = parseAuthorization(value);
      if (parsed) all.push(parsed);
    }
    const cred = all.find((c) => c.realm === realm) ?? all[0];
    const context = (user: string, reason: string) => ({
      source: formatSource(remote),
      domain,
      user,
      method: req.method,
      reason,
    });
    // Malformed: nothing shows that this sender ever read a challenge of
    // ours, so not a guess that counts (anyone can forge a UDP source), nor
    // logged as a failure (a fail2ban watching the log would do the lockout).
    if (!cred) {
      this.log.debug(context(identityUser, "malformed credentials"), "sip auth refused");
      return challenge();
    }

    // RFC 7616 §5.5 (nonce bound to the client): ours, issued to this source?
    const origin: NonceOrigin = this.nonces.origin(cred.nonce, source);
    // Whether the account's block applies: only to the account the request names.
    const blockedBy = this.guard.blockedBy(source, account);

    // The digest is computed whatever the outcome, against a dummy HA1 when
    // the user is unknown: the answer time must not tell which case it was.
    const algorithm = normaliseAlgorithm(cred.algorithm);
    const alg = algorithm ?? "MD5";
    const ha1 = extension
      ? alg === "MD5"
        ? extension.credentials.ha1Md5
        : extension.credentials.ha1Sha256
      : "";
    const digestOk = verifyDigest(cred, req.method, ha1 !== "" ? ha1 : DUMMY_HA1[alg], alg);

    let reason: string | undefined;
    if (!tenant) reason = "unknown domain";
    else if (cred.username !== identityUser) reason = "username mismatch";
    else if (!extension) reason = "unknown user";
    else if (cred.realm !== realm) reason = "wrong realm";
    else if (!algorithm) reason = "unsupported algorithm";
    else if (cred.qop?.toLowerCase() !== "auth" || !cred.cnonce || parseNonceCount(cred.nc) === undefined)
      reason = "qop=auth missing";
    else if (!sameTarget(cred.uri, req.uri)) reason = "digest uri does not match request uri";
    else if (ha1 === "" || !digestOk) reason = "wrong password";

    // A nonce we did not issue to this source (made up, altered, from a
    // previous key, or sent to the phone's previous address): nothing shows
    // that the sender reads our replies, so nothing is counted, and the
    // answer is stale=true whether the digest is right or wrong (RFC 7616
    // §3.3 asks stale only for a right one, but an answer that differed
    // would let anyone test passwords on made-up nonces, uncounted). A
    // phone with the right password answers the fresh nonce and is in; a
    // wrong one fails on it, and that failure counts.
    if (origin === "foreign") {
      this.log.debug(
        context(cred.username, reason ?? "nonce not ours"),
        "sip auth on a nonce we did not issue",
      );
      return challenge(true);
    }

    if (reason !== undefined || !tenant || !extension || account === undefined) {
      const why = reason ?? "unknown user";
      // Our nonce, sent to this source, answered wrongly: a failure. An
      // expired one too (it was ours: the sender did read our challenge).
      this.log.warn({ ...context(cred.username, why), blocked: blockedBy }, "sip auth failed");
      // The account is charged only when the credentials were for it.
      await this.guard.recordFailure(source, cred.username === identityUser ? account : undefined);
      return challenge();
    }

    // The password is right. A block still refuses it, as if it were wrong.
    if (blockedBy !== undefined) {
      this.log.warn(context(cred.username, `blocked: ${blockedBy}`), "sip auth refused");
      return challenge();
    }
    // RFC 7616 §3.3: a correct answer on a nonce of ours that expired is
    // told stale=true and is never a failure.
    if (origin === "expired") return challenge(true);

    // Only a verified digest may advance the nonce-count (NonceManager.check).
    switch (this.nonces.check(cred.nonce, parseNonceCount(cred.nc)!, source)) {
      case "ok":
        this.guard.recordSuccess(source, account);
        this.notifyAuthenticated(remote);
        return { ok: true, tenant, extension };
      case "replay":
        // RFC 7616 §5.5: a count that does not increase. The digest was
        // right, so nothing was guessed: refused, logged, not counted.
        this.log.warn(context(cred.username, "nonce count replayed"), "sip auth refused");
        return challenge();
      default:
        // "stale": the count of this nonce is no longer known here (evicted,
        // or issued before this process started).
        return challenge(true);
    }
  }

  private notifyAuthenticated(remote: RemoteAddress): void {
    if (!this.onAuthenticated) return;
    try {
      this.onAuthenticated(remote);
    } catch (err) {
      this.log.error({ err, source: formatSource(remote) }, "onAuthenticated failed");
    }
  }

  /**
   * A fresh challenge with one header per algorithm, preferred first
   * (RFC 8760 §2.4), all on the same nonce so that either answer is checked
   * alike. Which algorithms, in which order, is the provider's choice: many
   * phones fail on a SHA-256 challenge rather than skip it.
   */
  private challenge(
    req: SipRequest,
    kind: AuthKind,
    realm: string,
    source: string,
    stale: boolean,
  ): SipResponse {
    const nonce = this.nonces.issue(source);
    const name = kind === "www" ? "WWW-Authenticate" : "Proxy-Authenticate";
    const headers = this.algorithms.map((algorithm) => ({
      name,
      value: formatChallenge({ realm, nonce, algorithm, qop: "auth", stale }),
    }));
    return kind === "www"
      ? this.reply(req, 401, "Unauthorized", headers)
      : this.reply(req, 407, "Proxy Authentication Required", headers);
  }

  private reply(
    req: SipRequest,
    status: number,
    reason: string,
    headers?: { name: string; value: string }[],
  ): SipResponse {
    // RFC 3261 §8.2.6.2: a To tag on a response outside a dialog (kept if the request had one).
    return createResponse(req, status, reason, { toTag: newTag(), headers });
  }
}
