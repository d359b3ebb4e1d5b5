// Event subscriptions (RFC 6665) on the soft-state connection, beside the
// bindings: they survive a process crash and a restart, and a power cut may
// roll them back by a few commits (phones refresh their subscriptions by
// themselves). Each operation is one statement.
import type { Insertable, Selectable } from "kysely";
import { StoreConflict, type StoredSubscription, type SubscriptionRepository } from "../types.ts";
import type { SubscriptionsTable } from "./schema.ts";
import { constraint, type SqlContext } from "./sql-context.ts";

/** A route set that cannot be read is dropped with a warning: the subscription then goes straight to its target. */
function readRouteSet(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    if (Array.isArray(v)) return v.filter((r): r is string => typeof r === "string");
  } catch (err) {
    process.emitWarning(`vpbx: unreadable subscription route set in the database: ${String(err)}`);
    return [];
  }
  process.emitWarning("vpbx: subscription route set in the database is not a list");
  return [];
}

function toSubscription(r: Selectable<SubscriptionsTable>): StoredSubscription {
  const s: StoredSubscription = {
    id: r.id,
    tenant: r.tenant,
    extension: r.extension,
    package: r.package,
    resource: r.resource,
    callId: r.call_id,
    localTag: r.local_tag,
    remoteTag: r.remote_tag,
    localUri: r.local_uri,
    remoteUri: r.remote_uri,
    remoteTarget: r.remote_target,
    routeSet: readRouteSet(r.route_set),
    localContact: r.local_contact,
    localSeq: Number(r.local_seq),
    remoteSeq: Number(r.remote_seq),
    version: Number(r.version),
    source: {
      transport: r.transport as StoredSubscription["source"]["transport"],
      address: r.address,
      port: Number(r.port),
    },
    // BIGINT in PostgreSQL: pg may hand it over as a string.
    expiresAt: Number(r.expires_at),
  };
  if (r.event_id !== null) s.eventId = r.event_id;
  return s;
}

function toRow(s: StoredSubscription): Insertable<SubscriptionsTable> {
  return {
    id: s.id,
    tenant: s.tenant,
    extension: s.extension,
    package: s.package,
    event_id: s.eventId ?? null,
    resource: s.resource,
    call_id: s.callId,
    local_tag: s.localTag,
    remote_tag: s.remoteTag,
    local_uri: s.localUri,
    remote_uri: s.remoteUri,
    remote_target: s.remoteTarget,
    route_set: JSON.stringify(s.routeSet),
    local_contact: s.localContact,
    local_seq: s.localSeq,
    remote_seq: s.remoteSeq,
    version: s.version,
    transport: s.source.transport,
    address: s.source.address,
    port: s.source.port,
    expires_at: Math.trunc(s.expiresAt),
  };
}

export class SqlSubscriptions implements SubscriptionRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** One INSERT … ON CONFLICT (id) DO UPDATE: a refresh replaces every column of the row. */
  async save(s: StoredSubscription): Promise<void> {
    try {
      await this.ctx.soft
        .insertInto("subscriptions")
        .values(toRow(s))
        .onConflict((oc) =>
          oc.column("id").doUpdateSet((eb) => ({
            tenant: eb.ref("excluded.tenant"),
            extension: eb.ref("excluded.extension"),
            package: eb.ref("excluded.package"),
            event_id: eb.ref("excluded.event_id"),
            resource: eb.ref("excluded.resource"),
            call_id: eb.ref("excluded.call_id"),
            local_tag: eb.ref("excluded.local_tag"),
            remote_tag: eb.ref("excluded.remote_tag"),
            local_uri: eb.ref("excluded.local_uri"),
            remote_uri: eb.ref("excluded.remote_uri"),
            remote_target: eb.ref("excluded.remote_target"),
            route_set: eb.ref("excluded.route_set"),
            local_contact: eb.ref("excluded.local_contact"),
            local_seq: eb.ref("excluded.local_seq"),
            remote_seq: eb.ref("excluded.remote_seq"),
            version: eb.ref("excluded.version"),
            transport: eb.ref("excluded.transport"),
            address: eb.ref("excluded.address"),
            port: eb.ref("excluded.port"),
            expires_at: eb.ref("excluded.expires_at"),
          })),
        )
        .execute();
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${s.extension} does not exist in tenant ${s.tenant}`);
      }
      throw err;
    }
  }

  async noteSent(id: string, localSeq: number, version: number): Promise<void> {
    await this.ctx.soft
      .updateTable("subscriptions")
      .set({ local_seq: localSeq, version })
      .where("id", "=", id)
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.ctx.soft.deleteFrom("subscriptions").where("id", "=", id).execute();
  }

  async list(tenant?: string): Promise<StoredSubscription[]> {
    let q = this.ctx.soft.selectFrom("subscriptions").selectAll();
    q = tenant === undefined ? q.orderBy("tenant") : q.where("tenant", "=", tenant);
    const rows = await q.orderBy("extension").orderBy("expires_at").orderBy("id").execute();
    return rows.map(toSubscription);
  }

  async purgeExpired(now: number): Promise<number> {
    const r = await this.ctx.soft
      .deleteFrom("subscriptions")
      .where("expires_at", "<=", Math.trunc(now))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
