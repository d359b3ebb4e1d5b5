// Event subscriptions (RFC 6665) in SQLite, on the synchronous=NORMAL
// connection of the bindings: soft state that survives a process crash and a
// restart, that a power cut may roll back by a few commits (phones refresh
// their subscriptions by themselves; see sqlite-store.ts).
import type Database from "better-sqlite3";
import { StoreConflict, type StoredSubscription, type SubscriptionRepository } from "../types.ts";

interface SubscriptionRow {
  id: string;
  tenant: string;
  extension: string;
  package: string;
  event_id: string | null;
  resource: string;
  call_id: string;
  local_tag: string;
  remote_tag: string;
  local_uri: string;
  remote_uri: string;
  remote_target: string;
  route_set: string;
  local_contact: string;
  local_seq: number;
  remote_seq: number;
  version: number;
  transport: string;
  address: string;
  port: number;
  expires_at: number;
}

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

function toSubscription(r: SubscriptionRow): StoredSubscription {
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
    localSeq: r.local_seq,
    remoteSeq: r.remote_seq,
    version: r.version,
    source: { transport: r.transport as "UDP" | "TCP", address: r.address, port: r.port },
    expiresAt: r.expires_at,
  };
  if (r.event_id !== null) s.eventId = r.event_id;
  return s;
}

function toRow(s: StoredSubscription): SubscriptionRow {
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

export class SqliteSubscriptions implements SubscriptionRepository {
  private readonly upsertStmt;
  private readonly sentStmt;
  private readonly removeStmt;
  private readonly ofTenant;
  private readonly all;
  private readonly purge;

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO subscriptions (id, tenant, extension, package, event_id, resource, call_id, local_tag,
         remote_tag, local_uri, remote_uri, remote_target, route_set, local_contact, local_seq, remote_seq,
         version, transport, address, port, expires_at)
       VALUES (@id, @tenant, @extension, @package, @event_id, @resource, @call_id, @local_tag,
         @remote_tag, @local_uri, @remote_uri, @remote_target, @route_set, @local_contact, @local_seq,
         @remote_seq, @version, @transport, @address, @port, @expires_at)`,
    );
    this.sentStmt = db.prepare("UPDATE subscriptions SET local_seq = ?, version = ? WHERE id = ?");
    this.removeStmt = db.prepare("DELETE FROM subscriptions WHERE id = ?");
    this.ofTenant = db.prepare<[string], SubscriptionRow>(
      "SELECT * FROM subscriptions WHERE tenant = ? ORDER BY extension, expires_at, id",
    );
    this.all = db.prepare<[], SubscriptionRow>(
      "SELECT * FROM subscriptions ORDER BY tenant, extension, expires_at, id",
    );
    this.purge = db.prepare("DELETE FROM subscriptions WHERE expires_at <= ?");
  }

  async save(s: StoredSubscription): Promise<void> {
    try {
      this.upsertStmt.run(toRow(s));
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
        throw new StoreConflict(`extension ${s.extension} does not exist in tenant ${s.tenant}`);
      }
      throw err;
    }
  }

  async noteSent(id: string, localSeq: number, version: number): Promise<void> {
    this.sentStmt.run(localSeq, version, id);
  }

  async remove(id: string): Promise<void> {
    this.removeStmt.run(id);
  }

  async list(tenant?: string): Promise<StoredSubscription[]> {
    const rows = tenant === undefined ? this.all.all() : this.ofTenant.all(tenant);
    return rows.map(toSubscription);
  }

  async purgeExpired(now: number): Promise<number> {
    return this.purge.run(Math.trunc(now)).changes;
  }
}
