// Console login sessions. The cookie holds a random token; only its SHA-256
// is stored (a copy of the database opens no session), with the session's
// CSRF token and its times. The expiry rules are the API's (auth/sessions.ts):
// this repository stores and purges. On the settings-grade database: a
// logout or a password change that was answered must stay done.
import type { Selectable } from "kysely";
import type { ConsoleSession, SessionRepository } from "../types.ts";
import type { SessionsTable } from "./schema.ts";
import type { SqlContext } from "./sql-context.ts";

function toSession(r: Selectable<SessionsTable>): ConsoleSession {
  return {
    idHash: r.id_hash,
    username: r.username,
    csrfToken: r.csrf_token,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    lastSeenAt: Number(r.last_seen_at),
  };
}

export class SqlSessions implements SessionRepository {
  constructor(private readonly ctx: SqlContext) {}

  async create(s: ConsoleSession): Promise<void> {
    await this.ctx.db
      .insertInto("sessions")
      .values({
        id_hash: s.idHash,
        username: s.username.toLowerCase(),
        csrf_token: s.csrfToken,
        created_at: Math.trunc(s.createdAt),
        expires_at: Math.trunc(s.expiresAt),
        last_seen_at: Math.trunc(s.lastSeenAt),
      })
      .execute();
  }

  async get(idHash: string): Promise<ConsoleSession | undefined> {
    const r = await this.ctx.db
      .selectFrom("sessions")
      .selectAll()
      .where("id_hash", "=", idHash)
      .executeTakeFirst();
    return r && toSession(r);
  }

  async touch(idHash: string, at: number): Promise<void> {
    await this.ctx.db
      .updateTable("sessions")
      .set({ last_seen_at: Math.trunc(at) })
      .where("id_hash", "=", idHash)
      .execute();
  }

  async delete(idHash: string): Promise<boolean> {
    const r = await this.ctx.db.deleteFrom("sessions").where("id_hash", "=", idHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteForUser(username: string, except?: string): Promise<number> {
    let q = this.ctx.db.deleteFrom("sessions").where("username", "=", username.toLowerCase());
    if (except !== undefined) q = q.where("id_hash", "!=", except);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async purgeExpired(now: number, idleSince: number): Promise<number> {
    const r = await this.ctx.db
      .deleteFrom("sessions")
      .where((eb) =>
        eb.or([eb("expires_at", "<=", Math.trunc(now)), eb("last_seen_at", "<", Math.trunc(idleSince))]),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
