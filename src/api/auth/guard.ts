// Who is asking, and may they: one onRequest hook, before any body is read
// or any handler runs, for every path of the API (/api/…) and /metrics.
// Other paths (the console's files, SIP over WebSocket) are not its business.
//
// The principal comes from, in this order:
// 1. `Authorization: Bearer <token>` (RFC 6750 §2.1): the admin token (the
//    provider), or an API token `vpbx_<id>_<secret>` (its tenant's admin, or
//    one extension's user). A wrong one is counted per source by the
//    TokenGuard: after too many, 429 to everything from that source.
// 2. The console's session cookie: the logged-in user. A request that
//    changes something (not GET or HEAD) must also carry the session's CSRF
//    token in `X-CSRF-Token` (OWASP's synchronizer token pattern), else 403.
//    A bearer request needs none: a browser never adds that header by itself.
// Then the route's scope (`Route.access`, kept in the route's config) is
// checked against the URL's `:name` (tenant) and `:number` (extension) with
// mayAccess: 401 with `WWW-Authenticate: Bearer realm="vpbx"` when nothing
// valid was presented, 403 naming the scope when the principal is known but
// out of it (a 404 would hide nothing: the caller knows which tenant it named).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import { ApiError } from "../errors.ts";
import type { TokenGuard } from "../token-guard.ts";
import { looksLikeApiToken, resolveApiToken } from "./api-tokens.ts";
import { type Access, mayAccess, type Principal } from "./principal.ts";
import { CSRF_HEADER, csrfMatches, parseCookies, SESSION_COOKIE, type SessionManager } from "./sessions.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope the route needs (Route.access); a route of /api/ without one is the provider's. */
    access?: Access;
  }
  interface FastifyRequest {
    /** Set by the guard once the request proved who it is; null on public routes. */
    principal: Principal | null;
  }
}

/** Who the audit log names for a change made with the admin token. */
export const ADMIN_TOKEN_ACTOR: Actor = { kind: "api", id: "admin" };

/** The provider, as the admin token proves it. */
export const ADMIN_TOKEN_PRINCIPAL: Principal = {
  role: "provider",
  via: "admin-token",
  actor: ADMIN_TOKEN_ACTOR,
};

export interface GuardDeps {
  store: Parameters<typeof resolveApiToken>[0];
  clock: Clock;
  sessions: SessionManager;
  tokenGuard: TokenGuard;
  /** Constant-time check of the admin token. */
  verifyAdminToken(token: string): boolean;
}

/** The paths the guard decides: the API and the metrics. */
const GUARDED = /^\/(api(\/|$)|metrics$)/;
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** The id hash of the session a request came with (logout, password change keep or end it). */
const sessionOf = new WeakMap<FastifyRequest, string>();

export function sessionIdHashOf(req: FastifyRequest): string | undefined {
  return sessionOf.get(req);
}

function csrfOk(req: FastifyRequest, expected: string): boolean {
  return csrfMatches(expected, req.headers[CSRF_HEADER]);
}

/** The principal of a request that passed the guard; a route the guard let through without one is a bug of ours. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new Error(`no principal on ${req.method} ${req.url}: is the route public?`);
  return req.principal;
}

/** Who the audit log names for this request's changes. */
export function actorOf(req: FastifyRequest): Actor {
  return principalOf(req).actor;
}

/** "the provider", "an administrator of tenant acme", "the user of extension 101 of tenant acme". */
export function describePrincipal(p: Principal): string {
  if (p.role === "provider") return "the provider";
  if (p.role === "admin") return `an administrator of tenant ${p.tenant}`;
  return `the user of extension ${p.extension} of tenant ${p.tenant}`;
}

/** What a scope asks, in words, for the 403. */
export function describeScope(access: Access, params: { name?: string; number?: string }): string {
  switch (access) {
    case "provider":
      return "the provider only";
    case "tenant":
      return `the provider or an administrator of tenant ${params.name}`;
    case "extension":
      return `the provider, an administrator of tenant ${params.name} or the user of its extension ${params.number}`;
    default:
      return "anyone logged in";
  }
}

export function forbidden(
  p: Principal,
  access: Access,
  params: { name?: string; number?: string },
): ApiError {
  return new ApiError(
    403,
    "forbidden",
    `this route is for ${describeScope(access, params)}; you are ${describePrincipal(p)}`,
  );
}

/** Installs the guard (an onRequest hook) on the API's root instance. */
export function addGuard(app: FastifyInstance, deps: GuardDeps): void {
  app.decorateRequest("principal", null);

  /** 429 with Retry-After (RFC 6585 §4) for a source blocked after wrong tokens. */
  const tooManyTokens = (reply: FastifyReply, waitMs: number): ApiError => {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header("retry-after", String(seconds));
    return new ApiError(
      429,
      "too_many_requests",
      `too many wrong tokens from this address: try again in ${seconds} s`,
    );
  };
  const unauthorized = (reply: FastifyReply, why: string): ApiError => {
    reply.header("www-authenticate", 'Bearer realm="vpbx"');
    return new ApiError(401, "unauthorized", why);
  };

  /** The principal a bearer token proves, or undefined (counted as a guess). */
  const fromBearer = async (token: string): Promise<Principal | undefined> => {
    if (looksLikeApiToken(token)) {
      const t = await resolveApiToken(deps.store, deps.clock, token);
      if (!t) return undefined;
      return {
        role: t.role,
        tenant: t.tenant,
        ...(t.extension === undefined ? {} : { extension: t.extension }),
        via: "api-token",
        actor: { kind: "api", id: `token:${t.id}` },
      };
    }
    return deps.verifyAdminToken(token) ? ADMIN_TOKEN_PRINCIPAL : undefined;
  };

  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?", 1)[0];
    if (!GUARDED.test(path)) return;
    // A route found without a scope: /metrics is left to its own token; any
    // other route of the API is the provider's (closed unless said open).
    const matched = req.routeOptions.url !== undefined;
    const declared = req.routeOptions.config?.access;
    if (declared === undefined && path === "/metrics") return;
    const access: Access = declared ?? (matched ? "provider" : "authenticated");
    if (access === "public") return;

    // A blocked source hears 429 whatever it sends: a right token tells it nothing.
    const wait = deps.tokenGuard.blockedFor(req.ip);
    if (wait > 0) throw tooManyTokens(reply, wait);

    let principal: Principal | undefined;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer +([^\s]+) *$/i.exec(header);
      principal = m ? await fromBearer(m[1]) : undefined;
      if (!principal) {
        const blockMs = deps.tokenGuard.failed(req.ip);
        if (blockMs > 0) {
          req.log.warn(
            { source: req.ip, failures: deps.tokenGuard.limits.maxFailures, blockSeconds: blockMs / 1000 },
            "API: too many wrong admin tokens or API tokens, source blocked",
          );
          throw tooManyTokens(reply, blockMs);
        }
        throw unauthorized(
          reply,
          "the bearer token is not valid: Authorization: Bearer <admin token or API token>",
        );
      }
    } else {
      const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      if (cookie !== undefined) {
        const found = await deps.sessions.resolve(cookie);
        if (!found) {
          // Expired or ended: the browser forgets it, the console shows its login.
          reply.header("set-cookie", deps.sessions.clearedCookie());
          throw unauthorized(reply, "the session has ended: log in again (POST /api/v1/session)");
        }
        if (!SAFE_METHODS.has(req.method) && !csrfOk(req, found.session.csrfToken)) {
          throw new ApiError(403, "forbidden", "missing or wrong CSRF token");
        }
        const { user, session } = found;
        principal = {
          role: user.role,
          ...(user.tenant === undefined ? {} : { tenant: user.tenant }),
          ...(user.extension === undefined ? {} : { extension: user.extension }),
          via: "session",
          actor: { kind: "user", id: user.username },
          username: user.username,
          ...(user.language === undefined ? {} : { language: user.language }),
        };
        sessionOf.set(req, session.idHash);
      }
    }
    if (!principal) {
      throw unauthorized(
        reply,
        "authentication required: Authorization: Bearer <admin token or API token>, or log in (POST /api/v1/session)",
      );
    }
    req.principal = principal;
    const params = (req.params ?? {}) as { name?: string; number?: string };
    if (!mayAccess(principal, access, params)) throw forbidden(principal, access, params);
  });
}
