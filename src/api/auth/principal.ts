// Who is asking, and what they may reach. Every request of the API is made
// by one principal: the provider (the admin token, or a console user with
// the provider role), a company's administrator (a console user or an API
// token of one tenant) or an extension's user (one extension of one
// tenant). Routes say which scope they need (`Route.access`); the check is
// made once, before any handler runs (auth/guard.ts), so a handler never
// sees a request for another company's data.
import type { Actor } from "../../store/types.ts";

export type Role = "provider" | "admin" | "user";

export interface Principal {
  role: Role;
  /** The tenant of an admin or a user; undefined for the provider. */
  tenant?: string;
  /** The extension of a user; undefined for the provider and an admin. */
  extension?: string;
  /** How the request proved who it is. */
  via: "admin-token" | "session" | "api-token";
  /** Who the audit log names for a change made by this request. */
  actor: Actor;
  /** The console user's name, when logged in with a session. */
  username?: string;
  /** The language chosen for this user (fr, de, it, en), when one was. */
  language?: string;
}

/**
 * The scope a route needs. `:name` in its URL is the tenant, `:number` the
 * extension.
 * - public: nobody needs to prove anything (health, OpenAPI, login);
 * - authenticated: anyone logged in; the handler narrows what it returns;
 * - provider: the provider only;
 * - tenant: the provider, or an admin of `:name`;
 * - extension: the provider, an admin of `:name`, or the user of `:number` in `:name`.
 */
export type Access = "public" | "authenticated" | "provider" | "tenant" | "extension";

/** Whether `p` may use a route of scope `access` with these URL parameters. */
export function mayAccess(p: Principal, access: Access, params: { name?: string; number?: string }): boolean {
  if (access === "public" || access === "authenticated") return true;
  if (p.role === "provider") return true;
  if (access === "provider") return false;
  if (params.name === undefined || p.tenant !== params.name) return false;
  if (p.role === "admin") return true;
  return access === "extension" && params.number !== undefined && p.extension === params.number;
}
