// Registrations (RFC 3261 §10.3) on the soft-state connection: a binding is
// refreshed by its phone by itself (§10.2.1), so a power cut may lose the
// last few commits (SQLite synchronous=NORMAL; see sql-context.ts). Every
// REGISTER and every call reads or writes here: each operation is one
// statement, as it was in the SQLite store.
import type { Selectable } from "kysely";
import { type Binding, type BindingRepository, StoreConflict } from "../types.ts";
import type { BindingsTable } from "./schema.ts";
import { constraint, type SqlContext } from "./sql-context.ts";

/**
 * A stored Path that cannot be read is dropped with a warning: requests then
 * go to the source of the REGISTER, which is the proxy next to us anyway.
 */
function readPath(json: string | null): string[] | undefined {
  if (json === null) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    if (Array.isArray(v) && v.every((p): p is string => typeof p === "string"))
      return v.length > 0 ? v : undefined;
    process.emitWarning("vpbx: binding path in the database is not a list of strings");
  } catch (err) {
    process.emitWarning(`vpbx: unreadable binding path in the database: ${String(err)}`);
  }
  return undefined;
}

function toBinding(r: Selectable<BindingsTable>): Binding {
  const b: Binding = {
    tenant: r.tenant,
    extension: r.extension,
    contact: r.contact,
    callId: r.call_id,
    cseq: Number(r.cseq),
    // BIGINT in PostgreSQL: pg may hand it over as a string.
    expiresAt: Number(r.expires_at),
    source: {
      transport: r.transport as Binding["source"]["transport"],
      address: r.address,
      port: Number(r.port),
    },
  };
  if (r.user_agent !== null) b.userAgent = r.user_agent;
  const path = readPath(r.path);
  if (path !== undefined) b.path = path;
  return b;
}

export class SqlBindings implements BindingRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** One INSERT … ON CONFLICT DO UPDATE: the same contact of the same extension is replaced, not added. */
  async upsert(b: Binding): Promise<void> {
    try {
      await this.ctx.soft
        .insertInto("bindings")
        .values({
          tenant: b.tenant,
          extension: b.extension,
          contact: b.contact,
          call_id: b.callId,
          cseq: b.cseq,
          expires_at: Math.trunc(b.expiresAt),
          transport: b.source.transport,
          address: b.source.address,
          port: b.source.port,
          user_agent: b.userAgent ?? null,
          path: b.path && b.path.length > 0 ? JSON.stringify(b.path) : null,
        })
        .onConflict((oc) =>
          oc.columns(["tenant", "extension", "contact"]).doUpdateSet((eb) => ({
            call_id: eb.ref("excluded.call_id"),
            cseq: eb.ref("excluded.cseq"),
            expires_at: eb.ref("excluded.expires_at"),
            transport: eb.ref("excluded.transport"),
            address: eb.ref("excluded.address"),
            port: eb.ref("excluded.port"),
            user_agent: eb.ref("excluded.user_agent"),
            path: eb.ref("excluded.path"),
          })),
        )
        .execute();
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${b.extension} does not exist in tenant ${b.tenant}`);
      }
      throw err;
    }
  }

  async remove(tenant: string, extension: string, contact: string): Promise<void> {
    await this.ctx.soft
      .deleteFrom("bindings")
      .where("tenant", "=", tenant)
      .where("extension", "=", extension)
      .where("contact", "=", contact)
      .execute();
  }

  async removeAll(tenant: string, extension: string): Promise<void> {
    await this.ctx.soft
      .deleteFrom("bindings")
      .where("tenant", "=", tenant)
      .where("extension", "=", extension)
      .execute();
  }

  async list(tenant: string, extension?: string): Promise<Binding[]> {
    let q = this.ctx.soft.selectFrom("bindings").selectAll().where("tenant", "=", tenant);
    q = extension === undefined ? q.orderBy("extension") : q.where("extension", "=", extension);
    return (await q.orderBy("contact").execute()).map(toBinding);
  }

  async listAll(): Promise<Binding[]> {
    const rows = await this.ctx.soft
      .selectFrom("bindings")
      .selectAll()
      .orderBy("tenant")
      .orderBy("extension")
      .orderBy("contact")
      .execute();
    return rows.map(toBinding);
  }

  async purgeExpired(now: number): Promise<number> {
    const r = await this.ctx.soft
      .deleteFrom("bindings")
      .where("expires_at", "<=", Math.trunc(now))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
