// The audit log: every repository that changes a setting appends its event
// with `appendAudit` on the transaction of the change, so a change is never
// without its record (and a failed change leaves none).

import type { Actor, AuditEvent, AuditRepository } from "../types.ts";
import type { Db, SqlContext } from "./sql-context.ts";
import { readJson } from "./stored-json.ts";

/** How many audit events `list` returns when no limit is asked. */
export const DEFAULT_AUDIT_LIMIT = 100;

export async function appendAudit(db: Db, at: string, event: Omit<AuditEvent, "id" | "at">): Promise<void> {
  const actor: Actor = { kind: event.actor.kind, id: event.actor.id };
  if (event.actor.source !== undefined) actor.source = event.actor.source;
  await db
    .insertInto("audit")
    .values({
      tenant: event.tenant,
      at,
      actor: JSON.stringify(actor),
      action: event.action,
      subject: event.subject,
      old: JSON.stringify(event.old ?? null),
      new: JSON.stringify(event.new ?? null),
    })
    .execute();
}

export class SqlAudit implements AuditRepository {
  constructor(private readonly ctx: SqlContext) {}

  append(event: Omit<AuditEvent, "id" | "at">): Promise<void> {
    return appendAudit(this.ctx.db, this.ctx.iso(), event);
  }

  async list(tenant: string, opts: { limit?: number } = {}): Promise<AuditEvent[]> {
    const rows = await this.ctx.db
      .selectFrom("audit")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("id", "desc")
      .limit(opts.limit ?? DEFAULT_AUDIT_LIMIT)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      tenant: r.tenant,
      at: r.at,
      actor: (readJson(r.actor, "audit actor") as Actor | undefined) ?? { kind: "system", id: "unknown" },
      action: r.action,
      subject: r.subject,
      old: readJson(r.old, "audit value") ?? null,
      new: readJson(r.new, "audit value") ?? null,
    }));
  }
}
