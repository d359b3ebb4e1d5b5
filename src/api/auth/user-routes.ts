// The console's users. The provider manages everyone (and is the only one
// who makes provider users: the first with the admin token or `vpbx user
// add --provider`); a company's administrator manages the admins and users
// of its own company; everyone may change their own password (giving the
// current one) and language. A user outside one's reach is answered 404,
// like one that does not exist: usernames of other companies stay unknown.
// Passwords are strength-checked (the 400 names the reason, never the
// password) and kept as argon2id hashes; a new password ends the user's
// other sessions.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ConsoleUser, Language, NewConsoleUser, Store, UserRole } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import type { Route } from "../route.ts";
import * as S from "../schemas.ts";
import { ValidationError } from "../validation.ts";
import { actorOf, describePrincipal, principalOf, sessionIdHashOf } from "./guard.ts";
import type { LoginGuard } from "./login-guard.ts";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";
import type { Principal } from "./principal.ts";
import type { SessionManager } from "./sessions.ts";
import { normaliseUsername, usernameProblem } from "./usernames.ts";

export interface UserRouteDeps {
  store: Store;
  sessions: SessionManager;
  loginGuard: LoginGuard;
}

export function userView(u: ConsoleUser) {
  return {
    username: u.username,
    role: u.role,
    tenant: u.tenant ?? null,
    extension: u.extension ?? null,
    language: u.language ?? null,
    createdAt: u.createdAt,
  };
}

/** Whether `p` manages `u` (the provider: everyone; an admin: its company's users). */
function manages(p: Principal, u: ConsoleUser): boolean {
  if (p.role === "provider") return true;
  return p.role === "admin" && u.role !== "provider" && u.tenant !== undefined && u.tenant === p.tenant;
}

const isSelf = (p: Principal, u: ConsoleUser): boolean => p.via === "session" && p.username === u.username;

/** Only the provider and administrators manage users. */
function managerOr403(p: Principal): void {
  if (p.role === "user") {
    throw new ApiError(
      403,
      "forbidden",
      `only the provider or a company's administrator manages users; you are ${describePrincipal(p)}`,
    );
  }
}

export function userRoutes(deps: UserRouteDeps): Route[] {
  const { store, sessions, loginGuard } = deps;

  const notFound = (username: string) => new ApiError(404, "not_found", `user ${username} does not exist`);

  /** The user named in the URL, when the principal may see it (itself, or one it manages). */
  const visibleOr404 = async (req: FastifyRequest<{ Params: Record<string, string> }>) => {
    const p = principalOf(req);
    const name = normaliseUsername(req.params.username);
    const u = await store.users.get(name);
    if (!u || !(manages(p, u) || isSelf(p, u))) throw notFound(name);
    return { p, u };
  };

  /** Words an attacker knows, which a password must not be built on. */
  const knownWords = async (username: string, tenant?: string): Promise<string[]> => {
    const t = tenant === undefined ? undefined : await store.tenants.get(tenant);
    return [username, ...(t ? [t.name, t.domain] : [])];
  };

  const strongOr400 = async (password: string, username: string, tenant?: string) => {
    const problem = passwordProblem(password, await knownWords(username, tenant));
    if (problem) throw new ValidationError([problem]);
  };

  /** A user who changes their own password proves the current one, behind the login lockout. */
  const checkCurrent = async (req: FastifyRequest, reply: FastifyReply, u: ConsoleUser, current?: string) => {
    const wait = await loginGuard.blockedFor(req.ip, u.username);
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      reply.header("retry-after", String(seconds));
      throw new ApiError(429, "too_many_requests", `too many wrong passwords: try again in ${seconds} s`);
    }
    if (current === undefined) {
      throw new ValidationError(["currentPassword is required to change one's own password"]);
    }
    if (!(await verifyPassword(u.passwordHash, current))) {
      await loginGuard.failed(req.ip, u.username);
      throw new ApiError(403, "forbidden", "currentPassword is wrong");
    }
  };

  return [
    {
      method: "GET",
      url: "/api/v1/users",
      access: "authenticated",
      summary:
        "Console users: all (or of ?tenant=) for the provider, its company's for an administrator; never a password",
      schema: { querystring: S.UsersQuery, response: { 200: S.arrayOf(S.User) } },
      errors: [403],
      async handler(req) {
        const p = principalOf(req);
        managerOr403(p);
        const asked = req.query.tenant;
        if (p.role === "admin" && asked !== undefined && asked !== p.tenant) {
          throw new ApiError(
            403,
            "forbidden",
            `the users of tenant ${asked} are for the provider or its administrators; you are ${describePrincipal(p)}`,
          );
        }
        const tenant = p.role === "provider" ? asked : p.tenant;
        return (await store.users.list(tenant)).map(userView);
      },
    },
    {
      method: "POST",
      url: "/api/v1/users",
      access: "authenticated",
      summary:
        "Create a console user: provider (by the provider only; the first one with the admin token), admin of a tenant, or user of one extension; an administrator creates admins and users of its own company",
      schema: { body: S.NewUser, response: { 201: S.User } },
      errors: [403, 404, 409],
      async handler(req, reply) {
        const p = principalOf(req);
        managerOr403(p);
        const body = req.body as {
          username: string;
          password: string;
          role: UserRole;
          tenant?: string;
          extension?: string;
          language?: Language;
        };
        const problems = [usernameProblem(body.username)].filter((x): x is string => x !== undefined);
        const username = normaliseUsername(body.username);
        const tenant = body.tenant ?? (p.role === "admin" ? p.tenant : undefined);
        if (body.role === "provider") {
          if (p.role !== "provider") {
            throw new ApiError(403, "forbidden", "only the provider creates provider users");
          }
          if (body.tenant !== undefined || body.extension !== undefined) {
            problems.push("a provider user belongs to no tenant and no extension");
          }
        } else {
          if (tenant === undefined) problems.push(`an ${body.role} user needs its tenant`);
          if (body.role === "user" && body.extension === undefined)
            problems.push("a user needs its extension");
          if (body.role === "admin" && body.extension !== undefined) {
            problems.push("an admin user belongs to no extension (it manages the whole tenant)");
          }
        }
        if (problems.length > 0) throw new ValidationError(problems);
        if (p.role === "admin" && tenant !== p.tenant) {
          throw new ApiError(
            403,
            "forbidden",
            `an administrator creates users of its own tenant only; you are ${describePrincipal(p)}`,
          );
        }
        if (tenant !== undefined && !(await store.tenants.get(tenant))) {
          throw new ApiError(404, "not_found", `tenant ${tenant} does not exist`);
        }
        if (
          tenant !== undefined &&
          body.extension !== undefined &&
          !(await store.extensions.get(tenant, body.extension))
        ) {
          throw new ApiError(
            404,
            "not_found",
            `extension ${body.extension} does not exist in tenant ${tenant}`,
          );
        }
        await strongOr400(body.password, username, tenant);
        const input: NewConsoleUser = {
          username,
          passwordHash: await hashPassword(body.password),
          role: body.role,
          ...(body.role === "provider" || tenant === undefined ? {} : { tenant }),
          ...(body.role === "user" && body.extension !== undefined ? { extension: body.extension } : {}),
          ...(body.language === undefined ? {} : { language: body.language }),
        };
        const u = await store.users.create(input, actorOf(req));
        req.log.info(
          { username: u.username, role: u.role, tenant: u.tenant, by: actorOf(req) },
          "console user created",
        );
        return reply.code(201).send(userView(u));
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/users/:username",
      access: "authenticated",
      summary:
        "Change a user's password or language (the provider: anyone; an administrator: its company's users; anyone: oneself, giving currentPassword for a new password); a new password ends the user's other sessions",
      schema: { params: S.params.user, body: S.UserPatch, response: { 200: S.User } },
      errors: [403, 404],
      async handler(req, reply) {
        const { p, u } = await visibleOr404(req);
        const body = req.body as { password?: string; currentPassword?: string; language?: Language | null };
        let passwordHash: string | undefined;
        if (body.password !== undefined) {
          if (isSelf(p, u)) await checkCurrent(req, reply, u, body.currentPassword);
          await strongOr400(body.password, u.username, u.tenant);
          passwordHash = await hashPassword(body.password);
        }
        const updated = await store.users.update(
          u.username,
          {
            ...(passwordHash === undefined ? {} : { passwordHash }),
            ...(body.language === undefined ? {} : { language: body.language }),
          },
          actorOf(req),
        );
        if (!updated) throw notFound(u.username);
        if (passwordHash !== undefined) {
          // Whoever knew the old password is logged out everywhere but here.
          const ended = await sessions.endOthers(u.username, isSelf(p, u) ? sessionIdHashOf(req) : undefined);
          req.log.info(
            { username: u.username, by: actorOf(req), sessionsEnded: ended },
            "console password changed",
          );
        }
        return userView(updated);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/users/:username",
      access: "authenticated",
      summary:
        "Delete a console user and its sessions (the provider: anyone; an administrator: its company's users)",
      schema: { params: S.params.user },
      errors: [403, 404],
      async handler(req, reply) {
        const p = principalOf(req);
        managerOr403(p);
        const name = normaliseUsername(req.params.username);
        const u = await store.users.get(name);
        if (!u || !manages(p, u)) throw notFound(name);
        if (!(await store.users.delete(u.username, actorOf(req)))) throw notFound(name);
        req.log.info({ username: u.username, by: actorOf(req) }, "console user deleted");
        return reply.code(204).send();
      },
    },
  ];
}
