// Who is this phone? Digest authentication of requests from registered
// phones (RFC 3261 §22), with the policy the protocol room leaves open:
// which tenant a request belongs to, which extension may use which
// credentials, and how a failure looks from outside (identical whatever went
// wrong, so that domains and extensions cannot be enumerated).

import {
  type DigestAlgorithm,
  type DigestResponse,
  formatChallenge,
  normaliseAlgorithm,
  parseAuthorization,
  parseNonceCount,
  verifyDigest,
} from "../../sip/auth/digest.ts";
import type { NonceManager } from "../../sip/auth/nonce-manager.ts";
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
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Extension, Store, Tenant } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
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
  limiter: AuthRateLimiter;
  /** Offered in this order, preferred first (default MD5, then SHA-256; the PBX's configuration decides). */
  algorithms?: readonly DigestAlgorithm[];
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
  private readonly limiter: AuthRateLimiter;

  private readonly algorithms: readonly DigestAlgorithm[];

  constructor(opts: PhoneAuthenticatorOptions) {
    this.store = opts.store;
    this.nonces = opts.nonces;
    this.log = opts.log;
    this.limiter = opts.limiter;
    this.algorithms = opts.algorithms ?? ["MD5", "SHA-256"];
  }

  /**
   * Authenticates a request from a phone. REGISTER is challenged with 401 and
   * WWW-Authenticate (`kind` "www"), other requests with 407 and
   * Proxy-Authenticate ("proxy"). Never call it for ACK or CANCEL, which
   * cannot be challenged (RFC 3261 §22.1). Never throws for bad input.
   */
  async authenticate(req: SipRequest, remote: RemoteAddress, kind: AuthKind): Promise<AuthResult> {
    if (this.limiter.isBlocked(remote.address)) return { ok: false, response: this.forbidden(req) };

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

    // A request without credentials is the normal first half of the round trip.
    if (raw.length === 0) return { ok: false, response: this.challenge(req, kind, realm, false) };

    const all: DigestResponse[] = [];
    for (const value of raw) {
      const parsed = parseAuthorization(value);
      if (parsed) all.push(parsed);
    }
    const cred = all.find((c) => c.realm === realm) ?? all[0];
    const fail = (reason: string, user: string): AuthResult => {
      this.log.warn(
        { source: formatSource(remote), domain, user, method: req.method, reason },
        "sip auth failed",
      );
      const blocked = this.limiter.recordFailure(remote.address);
      return { ok: false, response: blocked ? this.forbidden(req) : this.challenge(req, kind, realm, false) };
    };
    if (!cred) return fail("malformed credentials", identityUser);

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
    if (reason !== undefined || !tenant || !extension) return fail(reason ?? "unknown user", cred.username);

    // Only a verified digest may advance the nonce-count (NonceManager.check).
    switch (this.nonces.check(cred.nonce, parseNonceCount(cred.nc)!)) {
      case "ok":
        return { ok: true, tenant, extension };
      case "stale":
        // RFC 7616 §3.3: the password was right, only the nonce is old.
        return { ok: false, response: this.challenge(req, kind, realm, true) };
      case "replay":
        return fail("nonce count replayed", cred.username);
      default:
        return fail("invalid nonce", cred.username);
    }
  }

  /**
   * A fresh challenge with one header per algorithm, preferred first
   * (RFC 8760 §2.4), all on the same nonce so that either answer is checked
   * alike. Which algorithms, in which order, is the provider's choice: many
   * phones fail on a SHA-256 challenge rather than skip it.
   */
  private challenge(req: SipRequest, kind: AuthKind, realm: string, stale: boolean): SipResponse {
    const nonce = this.nonces.issue();
    const name = kind === "www" ? "WWW-Authenticate" : "Proxy-Authenticate";
    const headers = this.algorithms.map((algorithm) => ({
      name,
      value: formatChallenge({ realm, nonce, algorithm, qop: "auth", stale }),
    }));
    return kind === "www"
      ? this.reply(req, 401, "Unauthorized", headers)
      : this.reply(req, 407, "Proxy Authentication Required", headers);
  }

  private forbidden(req: SipRequest): SipResponse {
    return this.reply(req, 403, "Forbidden");
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
