// API tokens of integrations, scoped to one tenant (admin) or one extension
// of it (user). Only the SHA-256 of the secret is stored. Creation and
// deletion are audited in the tenant's log in the same transaction
// ("token.create", "token.delete"; subject: the token's id). The tenant and
// the extension must exist when the token is made; their deletion takes the
// token with it (removeConsoleAccess in sql-users.ts).
import type { Selectable } from "kysely";
import {
  type Actor,
  type ApiToken,
  type ApiTokenRepository,
  type NewApiToken,
  StoreConflict,
} from "../types.ts";
import type { ApiTokensTable } from "./schema.ts";
import { appendAudit } from "./sql-audit.ts";
import { constraint, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";

function toToken(r: Selectable<ApiTokensTable>): ApiToken {
  const t: ApiToken = {
    id: r.id,
    secretHash: r.secret_hash,
    // Unknown roles give the least (a user token, scoped to its extension).
    role: r.role === "admin" ? "admin" : "user",
    tenant: r.tenant ?? "",
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
  if (r.extension !== null) t.extension = r.extension;
  if (r.last_used_at !== null) t.lastUsedAt = Number(r.last_used_at);
  return t;
}

/** What the audit log keeps of a token: never the secret's hash. */
function audited(t: ApiToken) {
  return { role: t.role, extension: t.extension ?? null, description: t.description, createdBy: t.createdBy };
}

export class SqlApiTokens implements ApiTokenRepository {
  constructor(private readonly ctx: SqlContext) {}

  async create(input: NewApiToken, actor: Actor = UNNAMED_ACTOR): Promise<ApiToken> {
    if (input.role === "user" && input.extension === undefined) {
      throw new RangeError(`a user token names its extension (token ${input.id})`);
    }
    if (input.role === "admin" && input.extension !== undefined) {
      throw new RangeError(`an admin token names no extension (token ${input.id})`);
    }
    const token: ApiToken = { ...input, createdAt: this.ctx.iso() };
    return this.ctx.db.transaction().execute(async (trx) => {
      const t = await trx
        .selectFrom("tenants")
        .select("name")
        .where("name", "=", token.tenant)
        .executeTakeFirst();
      if (!t) throw new StoreConflict(`tenant ${token.tenant} does not exist`);
      if (token.extension !== undefined) {
        const e = await trx
          .selectFrom("extensions")
          .select("number")
          .where("tenant", "=", token.tenant)
          .where("number", "=", token.extension)
          .executeTakeFirst();
        if (!e)
          throw new StoreConflict(`extension ${token.extension} does not exist in tenant ${token.tenant}`);
      }
      try {
        await trx
          .insertInto("api_tokens")
          .values({
            id: token.id,
            secret_hash: token.secretHash,
            role: token.role,
            tenant: token.tenant,
            extension: token.extension ?? null,
            description: token.description,
            created_by: token.createdBy,
            created_at: token.createdAt,
            last_used_at: null,
          })
          .execute();
      } catch (err) {
        if (constraint(err) === "unique") throw new StoreConflict(`API token ${token.id} already exists`);
        throw err;
      }
      await appendAudit(trx, token.createdAt, {
        tenant: token.tenant,
        actor,
        action: "token.create",
        subject: token.id,
        old: null,
        new: audited(token),
      });
      return token;
    });
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const r = await this.ctx.db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
    return r && toToken(r);
  }

  async list(tenant: string): Promise<ApiToken[]> {
    const rows = await this.ctx.db
      .selectFrom("api_tokens")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(toToken);
  }

  async delete(tenant: string, id: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("api_tokens")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst();
      if (!row) return false;
      await trx.deleteFrom("api_tokens").where("id", "=", id).execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "token.delete",
        subject: id,
        old: audited(toToken(row)),
        new: null,
      });
      return true;
    });
  }

  async touch(id: string, at: number): Promise<void> {
    await this.ctx.db
      .updateTable("api_tokens")
      .set({ last_used_at: Math.trunc(at) })
      .where("id", "=", id)
      .execute();
  }
}
