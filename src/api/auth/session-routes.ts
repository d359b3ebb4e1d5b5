// Logging in and out of the console: POST /api/v1/session checks the
// password (argon2id; an unknown username costs the same and is answered
// the same) behind the lockout of login-guard.ts, and gives a session cookie
// and the session's CSRF token; GET says who is logged in (the console asks
// after a reload: the cookie is HttpOnly, so the page cannot read it);
// DELETE logs out.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ConsoleUser, Store } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import type { Route } from "../route.ts";
import * as S from "../schemas.ts";
import { principalOf, sessionIdHashOf } from "./guard.ts";
import type { LoginGuard } from "./login-guard.ts";
import { verifyPassword } from "./passwords.ts";
import { parseCookies, SESSION_COOKIE, type SessionManager } from "./sessions.ts";
import { normaliseUsername } from "./usernames.ts";

export interface SessionRouteDeps {
  store: Store;
  sessions: SessionManager;
  loginGuard: LoginGuard;
}

/** The words of every refused login: the same for an unknown user and a wrong password. */
const WRONG_LOGIN = "wrong username or password";

/** What the console is told of the logged-in user; the language is the user's, else the tenant's. */
export async function sessionUserView(store: Store, u: ConsoleUser) {
  let language = u.language ?? null;
  if (language === null && u.tenant !== undefined)
    language = (await store.tenants.get(u.tenant))?.language ?? null;
  return {
    username: u.username,
    role: u.role,
    tenant: u.tenant ?? null,
    extension: u.extension ?? null,
    language,
  };
}

export function sessionRoutes(deps: SessionRouteDeps): Route[] {
  const { store, sessions, loginGuard } = deps;

  /** 429 with Retry-After (RFC 6585 §4) while the source or the username is blocked. */
  const locked = (reply: FastifyReply, waitMs: number): ApiError => {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header("retry-after", String(seconds));
    return new ApiError(
      429,
      "too_many_requests",
      `too many wrong passwords: logging in is blocked, try again in ${seconds} s`,
    );
  };

  /** The user and session of a request that came with the cookie; 401 for a bearer request. */
  const ownSession = async (req: FastifyRequest) => {
    const p = principalOf(req);
    const idHash = sessionIdHashOf(req);
    const session = idHash === undefined ? undefined : await store.sessions.get(idHash);
    const user = p.username === undefined ? undefined : await store.users.get(p.username);
    if (p.via !== "session" || !session || !user) {
      throw new ApiError(401, "unauthorized", "no console session: log in with POST /api/v1/session");
    }
    return { user, session };
  };

  return [
    {
      method: "POST",
      url: "/api/v1/session",
      access: "public",
      summary:
        "Log in to the console: sets the session cookie (HttpOnly, SameSite=Strict) and returns the CSRF token; 401 for a wrong username or password, 429 with Retry-After after too many",
      schema: { body: S.Login, response: { 200: S.Session } },
      errors: [401, 429],
      async handler(req, reply) {
        const { username: typed, password } = req.body as { username: string; password: string };
        const username = normaliseUsername(typed);
        const wait = await loginGuard.blockedFor(req.ip, username);
        // Blocked: 429 before the password is even looked at, right or wrong.
        if (wait > 0) throw locked(reply, wait);
        const user = await store.users.get(username);
        if (!(await verifyPassword(user?.passwordHash, password))) {
          await loginGuard.failed(req.ip, username);
          req.log.info({ source: req.ip, username }, "console login refused: wrong username or password");
          const now = await loginGuard.blockedFor(req.ip, username);
          if (now > 0) throw locked(reply, now);
          throw new ApiError(401, "unauthorized", WRONG_LOGIN);
        }
        if (!user) throw new ApiError(401, "unauthorized", WRONG_LOGIN); // unreachable: verifyPassword said no
        loginGuard.succeeded(req.ip, username);
        // A cookie of an earlier session in this browser ends: the login gets a fresh one.
        const earlier = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
        if (earlier !== undefined) await sessions.end(earlier);
        const { token, session } = await sessions.start(user.username);
        try {
          const purged = await sessions.purgeIfDue();
          if (purged > 0) req.log.info({ purged }, "expired console sessions deleted");
        } catch (err) {
          // The login stands; the next one purges.
          req.log.error({ err }, "deleting expired console sessions failed");
        }
        req.log.info({ source: req.ip, username: user.username, role: user.role }, "console login");
        reply.header("set-cookie", sessions.cookie(token));
        return { user: await sessionUserView(store, user), csrfToken: session.csrfToken };
      },
    },
    {
      method: "GET",
      url: "/api/v1/session",
      access: "authenticated",
      summary: "Who is logged in with this session cookie, and its CSRF token; 401 when nobody",
      schema: { response: { 200: S.Session } },
      async handler(req) {
        const { user, session } = await ownSession(req);
        return { user: await sessionUserView(store, user), csrfToken: session.csrfToken };
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/session",
      access: "authenticated",
      summary: "Log out: the session ends and the cookie is cleared (needs X-CSRF-Token)",
      schema: {},
      async handler(req, reply) {
        const { session } = await ownSession(req);
        await store.sessions.delete(session.idHash);
        reply.header("set-cookie", sessions.clearedCookie());
        return reply.code(204).send();
      },
    },
  ];
}
