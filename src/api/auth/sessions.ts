// Console sessions (OWASP Session Management Cheat Sheet). The cookie
// `vpbx_session` holds 32 random bytes (base64url); the store keeps only
// their SHA-256, so a copy of the database opens no session. The cookie is
// HttpOnly (no script reads it), SameSite=Strict (RFC 6265bis §5.4.7: no
// other site's page sends it), Path=/, and Secure when the API is HTTPS.
// Each session has its own CSRF token, asked in `X-CSRF-Token` of every
// change made with the cookie (a second line behind SameSite, for browsers
// that ignore it), compared in constant time. A session ends after 2 hours
// without a request or 12 hours after the login, whichever comes first, by
// the injected clock; at logout; and, for the other sessions of a user, when
// the password changes.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ConsoleSession, ConsoleUser, Store } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";

export const SESSION_COOKIE = "vpbx_session";
export const CSRF_HEADER = "x-csrf-token";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface SessionLimits {
  /** A session ends after this long without a request. Default 2 hours. */
  idleMs: number;
  /** A session ends this long after the login whatever the activity. Default 12 hours. */
  maxMs: number;
  /** The last request is written at most this often (one write per request would be one per click). Default 1 minute. */
  touchEveryMs: number;
  /** Expired sessions are deleted from the store at most this often (at a login). Default 1 hour. */
  purgeEveryMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleMs: 2 * HOUR,
  maxMs: 12 * HOUR,
  touchEveryMs: MINUTE,
  purgeEveryMs: HOUR,
};

/** 32 random bytes in base64url: 43 characters. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Hex SHA-256 of a session token: the only form the store sees. */
export function hashSessionToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * The cookies of a Cookie header (RFC 6265 §5.4: `name=value` pairs
 * separated by `;`), first one of a name wins; quotes around a value are
 * taken off (§4.1.1 allows them). Nothing is decoded: our values are base64url.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (typeof header !== "string") return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== "" && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** Constant-time comparison of a presented CSRF token with the session's (hashes: equal lengths). */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== "string" || presented === "") return false;
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(a, b);
}

export interface StartedSession {
  /** The cookie's value: given to the browser once, never stored. */
  token: string;
  session: ConsoleSession;
}

export class SessionManager {
  readonly limits: SessionLimits;
  private lastPurge = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<Store, "sessions" | "users">,
    private readonly clock: Clock,
    /** The API is HTTPS: the cookie is Secure. */
    private readonly secure: boolean,
    limits: Partial<SessionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...limits };
  }

  /** A new session for `username` (after a good password). */
  async start(username: string): Promise<StartedSession> {
    const now = this.clock.now();
    const token = randomBytes(32).toString("base64url");
    const session: ConsoleSession = {
      idHash: hashSessionToken(token),
      username,
      csrfToken: randomBytes(32).toString("base64url"),
      createdAt: now,
      expiresAt: now + this.limits.maxMs,
      lastSeenAt: now,
    };
    await this.store.sessions.create(session);
    return { token, session };
  }

  /**
   * The live session of a cookie's token with its user; undefined when the
   * token is malformed, unknown, expired (then deleted) or its user gone.
   * Notes the request as activity (at most every `touchEveryMs`).
   */
  async resolve(token: string): Promise<{ session: ConsoleSession; user: ConsoleUser } | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const idHash = hashSessionToken(token);
    const session = await this.store.sessions.get(idHash);
    if (!session) return undefined;
    const now = this.clock.now();
    if (now >= session.expiresAt || now - session.lastSeenAt >= this.limits.idleMs) {
      await this.store.sessions.delete(idHash);
      return undefined;
    }
    const user = await this.store.users.get(session.username);
    if (!user) {
      await this.store.sessions.delete(idHash);
      return undefined;
    }
    if (now - session.lastSeenAt >= this.limits.touchEveryMs) {
      await this.store.sessions.touch(idHash, now);
      session.lastSeenAt = now;
    }
    return { session, user };
  }

  /** Logout: the session of this token ends. */
  async end(token: string): Promise<void> {
    if (TOKEN_SHAPE.test(token)) await this.store.sessions.delete(hashSessionToken(token));
  }

  /** Ends every session of a user but the one of `keepIdHash`; returns how many ended. */
  endOthers(username: string, keepIdHash?: string): Promise<number> {
    return this.store.sessions.deleteForUser(username, keepIdHash);
  }

  /** Deletes expired sessions when the last purge is `purgeEveryMs` old; returns how many. */
  async purgeIfDue(): Promise<number> {
    const now = this.clock.now();
    if (now - this.lastPurge < this.limits.purgeEveryMs) return 0;
    this.lastPurge = now;
    return this.store.sessions.purgeExpired(now, now - this.limits.idleMs);
  }

  /** The Set-Cookie value that gives the browser the session (gone with the session's absolute end). */
  cookie(token: string): string {
    return this.cookieWith(token, Math.floor(this.limits.maxMs / 1000));
  }

  /** The Set-Cookie value that makes the browser forget the cookie. */
  clearedCookie(): string {
    return this.cookieWith("", 0);
  }

  private cookieWith(value: string, maxAgeSeconds: number): string {
    const secure = this.secure ? "; Secure" : "";
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
  }
}
