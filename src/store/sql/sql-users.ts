// Logins of the web console over Kysely (SQLite or PostgreSQL). The table
// has no foreign keys (a provider names no tenant), so the references are
// kept here: an admin's tenant and a user's extension must exist when the
// user is made, and removeConsoleAccess (called by SqlTenants.delete and
// SqlExtensions.delete in their transactions) takes a deleted company's or
// phone's users, their sessions and its API tokens with it. Users are
// audited in the transaction of the change ("user.create", "user.update",
// "user.delete"): never the hash, a new password only as changed. A
// tenant's users in its log; provider users, who belong to no tenant, in
// the provider's log.
import type { Selectable } from "kysely";
import {
  type Actor,
  type ConsoleUser,
  type ConsoleUserPatch,
  LANGUAGES,
  type Language,
  type NewConsoleUser,
  StoreConflict,
  USER_ROLES,
  type UserRepository,
  type UserRole,
} from "../types.ts";
import type { UsersTable } from "./schema.ts";
import { appendAudit, appendProviderAudit } from "./sql-audit.ts";
import { constraint, type Db, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";

function toUser(r: Selectable<UsersTable>): ConsoleUser {
  const u: ConsoleUser = {
    username: r.username,
    passwordHash: r.password_hash,
    // A role this vpbx does not know gives the least: a user (whose
    // extension then decides what it reaches, usually nothing).
    role: USER_ROLES.includes(r.role as UserRole) ? (r.role as UserRole) : "user",
    createdAt: r.created_at,
  };
  if (r.tenant !== null) u.tenant = r.tenant;
  if (r.extension !== null) u.extension = r.extension;
  if (r.language !== null && (LANGUAGES as readonly string[]).includes(r.language)) {
    u.language = r.language as Language;
  }
  return u;
}

/** What the audit log keeps of a user: never the password's hash. */
function audited(u: ConsoleUser) {
  return {
    role: u.role,
    extension: u.extension ?? null,
    language: u.language ?? null,
  };
}

/** Appends a user's event to its tenant's log, or to the provider's for a user of no tenant. */
function auditUser(
  trx: Db,
  at: string,
  user: ConsoleUser,
  event: { actor: Actor; action: string; old: unknown; new: unknown },
): Promise<void> {
  const e = { ...event, subject: user.username };
  return user.tenant === undefined
    ? appendProviderAudit(trx, at, e)
    : appendAudit(trx, at, { ...e, tenant: user.tenant });
}

/** RangeError for what the API validates first: a provider names no tenant, an admin a tenant, a user both. */
function checkShape(u: NewConsoleUser): void {
  if (!USER_ROLES.includes(u.role)) throw new RangeError(`user role ${String(u.role)} is unknown`);
  if (u.username === "") throw new RangeError("a user needs a username");
  if (u.passwordHash === "") throw new RangeError(`user ${u.username} needs a password hash`);
  if (u.role === "provider" && (u.tenant !== undefined || u.extension !== undefined)) {
    throw new RangeError(`provider user ${u.username} cannot belong to a tenant or an extension`);
  }
  if (u.role === "admin" && (u.tenant === undefined || u.extension !== undefined)) {
    throw new RangeError(`admin user ${u.username} belongs to one tenant and to no extension`);
  }
  if (u.role === "user" && (u.tenant === undefined || u.extension === undefined)) {
    throw new RangeError(`user ${u.username} belongs to one extension of one tenant`);
  }
}

export class SqlUsers implements UserRepository {
  constructor(private readonly ctx: SqlContext) {}

  async create(input: NewConsoleUser, actor: Actor = UNNAMED_ACTOR): Promise<ConsoleUser> {
    const user: ConsoleUser = { ...input, username: input.username.toLowerCase(), createdAt: this.ctx.iso() };
    checkShape(user);
    return this.ctx.db.transaction().execute(async (trx) => {
      if (user.tenant !== undefined) {
        const t = await trx
          .selectFrom("tenants")
          .select("name")
          .where("name", "=", user.tenant)
          .executeTakeFirst();
        if (!t) throw new StoreConflict(`tenant ${user.tenant} does not exist`);
      }
      if (user.tenant !== undefined && user.extension !== undefined) {
        const e = await trx
          .selectFrom("extensions")
          .select("number")
          .where("tenant", "=", user.tenant)
          .where("number", "=", user.extension)
          .executeTakeFirst();
        if (!e)
          throw new StoreConflict(`extension ${user.extension} does not exist in tenant ${user.tenant}`);
      }
      try {
        await trx
          .insertInto("users")
          .values({
            username: user.username,
            password_hash: user.passwordHash,
            role: user.role,
            tenant: user.tenant ?? null,
            extension: user.extension ?? null,
            language: user.language ?? null,
            created_at: user.createdAt,
          })
          .execute();
      } catch (err) {
        if (constraint(err) === "unique") throw new StoreConflict(`user ${user.username} already exists`);
        throw err;
      }
      await auditUser(trx, user.createdAt, user, {
        actor,
        action: "user.create",
        old: null,
        new: audited(user),
      });
      return user;
    });
  }

  async get(username: string): Promise<ConsoleUser | undefined> {
    const r = await this.ctx.db
      .selectFrom("users")
      .selectAll()
      .where("username", "=", username.toLowerCase())
      .executeTakeFirst();
    return r && toUser(r);
  }

  async list(tenant?: string): Promise<ConsoleUser[]> {
    let q = this.ctx.db.selectFrom("users").selectAll();
    if (tenant !== undefined) q = q.where("tenant", "=", tenant);
    return (await q.orderBy("username").execute()).map(toUser);
  }

  async update(
    username: string,
    patch: ConsoleUserPatch,
    actor: Actor = UNNAMED_ACTOR,
  ): Promise<ConsoleUser | undefined> {
    const name = username.toLowerCase();
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom("users").selectAll().where("username", "=", name).executeTakeFirst();
      if (!row) return undefined;
      const before = toUser(row);
      const set: Partial<UsersTable> = {};
      if (patch.passwordHash !== undefined) {
        if (patch.passwordHash === "") throw new RangeError(`user ${name} needs a password hash`);
        set.password_hash = patch.passwordHash;
      }
      if (patch.language !== undefined) set.language = patch.language;
      if (Object.keys(set).length === 0) return before;
      await trx.updateTable("users").set(set).where("username", "=", name).execute();
      const after = toUser({ ...row, ...set });
      const old: Record<string, unknown> = {};
      const now: Record<string, unknown> = {};
      if (patch.passwordHash !== undefined) {
        old.password = "(set)";
        now.password = "(changed)";
      }
      if (patch.language !== undefined) {
        old.language = before.language ?? null;
        now.language = after.language ?? null;
      }
      await auditUser(trx, at, after, { actor, action: "user.update", old, new: now });
      return after;
    });
  }

  async delete(username: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    const name = username.toLowerCase();
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom("users").selectAll().where("username", "=", name).executeTakeFirst();
      if (!row) return false;
      await trx.deleteFrom("sessions").where("username", "=", name).execute();
      await trx.deleteFrom("users").where("username", "=", name).execute();
      const user = toUser(row);
      await auditUser(trx, at, user, { actor, action: "user.delete", old: audited(user), new: null });
      return true;
    });
  }
}

/**
 * Takes the console users of a deleted tenant (or of one deleted extension
 * of it), their sessions, and the tenant's (or the extension's) API tokens,
 * in the transaction `trx` of the deletion: nobody keeps a login to a
 * company or a phone that is gone, nor gets it back when the name is reused.
 */
export async function removeConsoleAccess(trx: Db, tenant: string, extension?: string): Promise<void> {
  let users = trx.selectFrom("users").select("username").where("tenant", "=", tenant);
  if (extension !== undefined) users = users.where("extension", "=", extension);
  const names = (await users.execute()).map((r) => r.username);
  if (names.length > 0) {
    await trx.deleteFrom("sessions").where("username", "in", names).execute();
    await trx.deleteFrom("users").where("username", "in", names).execute();
  }
  let tokens = trx.deleteFrom("api_tokens").where("tenant", "=", tenant);
  if (extension !== undefined) tokens = tokens.where("extension", "=", extension);
  await tokens.execute();
}
