// The audit logs: every repository that changes a setting appends its event
// on the transaction of the change, so a change is never without its record
// (and a failed change leaves none). A company's changes go to its own log
// (`appendAudit`, table `audit`, deleted with the company); what belongs to
// no company (trunks, companies created and deleted, provider users) goes to
// the provider's log (`appendProviderAudit`, table `provider_audit`).

import type { Actor, AuditEvent, AuditRepository, ProviderAuditEvent } from "../types.ts";
import type { Db, SqlContext } from "./sql-context.ts";
import { readJson } from "./stored-json.ts";

/** How many audit events `list` returns when no limit is asked. */
export const DEFAULT_AUDIT_LIMIT = 100;

/** The columns both logs share, encoded alike: the actor and the values as JSON text. */
function encoded(at: string, event: Omit<ProviderAuditEvent, "id" | "at">) {
  const actor: Actor = { kind: event.actor.kind, id: event.actor.id };
  if (event.actor.source !== undefined) actor.source = event.actor.source;
  return {
    at,
    actor: JSON.stringify(actor),
    action: event.action,
    subject: event.subject,
    old: JSON.stringify(event.old ?? null),
    new: JSON.stringify(event.new ?? null),
  };
}

interface StoredEvent {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  old: string;
  new: string;
}

function decoded(r: StoredEvent): ProviderAuditEvent {
  return {
    id: Number(r.id),
    at: r.at,
    actor: (readJson(r.actor, "audit actor") as Actor | undefined) ?? { kind: "system", id: "unknown" },
    action: r.action,
    subject: r.subject,
    old: readJson(r.old, "audit value") ?? null,
    new: readJson(r.new, "audit value") ?? null,
  };
}

export async function appendAudit(db: Db, at: string, event: Omit<AuditEvent, "id" | "at">): Promise<void> {
  await db
    .insertInto("audit")
    .values({ tenant: event.tenant, ...encoded(at, event) })
    .execute();
}

/** Appends to the provider's log, on `db` (the transaction of the change). */
export async function appendProviderAudit(
  db: Db,
  at: string,
  event: Omit<ProviderAuditEvent, "id" | "at">,
): Promise<void> {
  await db.insertInto("provider_audit").values(encoded(at, event)).execute();
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
    return rows.map((r) => ({ ...decoded(r), tenant: r.tenant }));
  }

  async listProvider(opts: { limit?: number } = {}): Promise<ProviderAuditEvent[]> {
    const rows = await this.ctx.db
      .selectFrom("provider_audit")
      .selectAll()
      .orderBy("id", "desc")
      .limit(opts.limit ?? DEFAULT_AUDIT_LIMIT)
      .execute();
    return rows.map(decoded);
  }
}
