// The embedded store: one SQLite file under the data directory
// (better-sqlite3, synchronous calls behind the async repository interfaces).
//
// Durability. Two connections to the same file, both in WAL mode:
// - settings (tenants, extensions, forwarding, feature codes) use
//   synchronous=FULL: the WAL is fsynced at every commit, so a setting that
//   the API or a voice prompt has confirmed survives a process crash AND a
//   power cut. These writes are rare (people change settings).
// - bindings use synchronous=NORMAL: a commit survives a process crash (the
//   frames are in the WAL file already) and only a power cut can lose the
//   last ones. A binding is soft state that every phone refreshes by itself
//   (RFC 3261 §10.2.1), and at 2000 REGISTER/s an fsync per commit would
//   stall the event loop. Any later FULL commit fsyncs those frames too.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Clock, SystemClock } from "../../util/clock.ts";
import { applyOverrides, codeClash, isFeatureAction, isFeatureCode } from "../feature-code-table.ts";
import {
  type Binding,
  type BindingRepository,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  type Extension,
  type ExtensionPatch,
  type ExtensionRepository,
  type FeatureAction,
  type FeatureCodeRepository,
  type FeatureSwitches,
  type Forwarding,
  type ForwardingKind,
  type ForwardingRepository,
  type Language,
  type NewExtension,
  type NewTenant,
  type Store,
  StoreConflict,
  type Tenant,
  type TenantPatch,
  type TenantRepository,
} from "../types.ts";
import { migrate } from "./migrations.ts";

export const DEFAULT_TENANT_LANGUAGE: Language = "fr";
export const DEFAULT_TENANT_TIMEZONE = "Europe/Zurich";
export const DEFAULT_TENANT_COUNTRY = "CH";
export const DEFAULT_RING_TIMEOUT_SECONDS = 30;

export interface SqliteStoreOptions {
  dataDir: string;
  clock?: Clock;
}

export interface SqliteStore extends Store {
  /** The database file. */
  readonly path: string;
}

/** Opens (creating and migrating when needed) `<dataDir>/vpbx.sqlite`. */
export function openSqliteStore(opts: SqliteStoreOptions): SqliteStore {
  mkdirSync(opts.dataDir, { recursive: true });
  const path = join(opts.dataDir, "vpbx.sqlite");
  const settings = connect(path, "FULL");
  let bindingsDb: Database.Database;
  try {
    migrate(settings);
    bindingsDb = connect(path, "NORMAL");
  } catch (err) {
    settings.close();
    throw err;
  }
  const clock = opts.clock ?? new SystemClock();
  const iso = () => new Date(clock.now()).toISOString();
  let closed = false;
  return {
    path,
    tenants: new SqliteTenants(settings, iso),
    extensions: new SqliteExtensions(settings, iso),
    bindings: new SqliteBindings(bindingsDb),
    forwarding: new SqliteForwarding(settings),
    featureCodes: new SqliteFeatureCodes(settings),
    async close() {
      if (closed) return;
      closed = true;
      bindingsDb.close();
      settings.close();
    },
  };
}

function connect(path: string, synchronous: "FULL" | "NORMAL"): Database.Database {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    // Another process (the `vpbx` CLI beside a running server) may hold the
    // write lock for a moment: wait rather than fail.
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.pragma(`synchronous = ${synchronous}`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function constraint(err: unknown): "unique" | "foreign" | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return "unique";
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "foreign";
  return undefined;
}

interface TenantRow {
  name: string;
  domain: string;
  language: string;
  timezone: string;
  country: string;
  features: string;
  created_at: string;
}

function readFeatures(json: string): FeatureSwitches {
  const features: FeatureSwitches = { ...DEFAULT_FEATURES };
  let stored: unknown;
  try {
    stored = JSON.parse(json);
  } catch {
    return features;
  }
  if (stored && typeof stored === "object") {
    for (const key of Object.keys(features) as (keyof FeatureSwitches)[]) {
      const value = (stored as Record<string, unknown>)[key];
      if (typeof value === "boolean") features[key] = value;
    }
  }
  return features;
}

function toTenant(r: TenantRow): Tenant {
  return {
    name: r.name,
    domain: r.domain,
    language: r.language as Language,
    timezone: r.timezone,
    country: r.country,
    features: readFeatures(r.features),
    createdAt: r.created_at,
  };
}

class SqliteTenants implements TenantRepository {
  private readonly insert;
  private readonly byName;
  private readonly byDomain;
  private readonly all;
  private readonly write;
  private readonly remove;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
  ) {
    this.insert = db.prepare(
      `INSERT INTO tenants (name, domain, language, timezone, country, features, created_at)
       VALUES (@name, @domain, @language, @timezone, @country, @features, @created_at)`,
    );
    this.byName = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE name = ?");
    this.byDomain = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE domain = ?");
    this.all = db.prepare<[], TenantRow>("SELECT * FROM tenants ORDER BY name");
    this.write = db.prepare(
      `UPDATE tenants SET domain = @domain, language = @language, timezone = @timezone,
       country = @country, features = @features WHERE name = @name`,
    );
    this.remove = db.prepare("DELETE FROM tenants WHERE name = ?");
  }

  async create(t: NewTenant): Promise<Tenant> {
    const tenant: Tenant = {
      name: t.name,
      domain: t.domain,
      language: t.language ?? DEFAULT_TENANT_LANGUAGE,
      timezone: t.timezone ?? DEFAULT_TENANT_TIMEZONE,
      country: t.country ?? DEFAULT_TENANT_COUNTRY,
      features: { ...DEFAULT_FEATURES },
      createdAt: this.iso(),
    };
    try {
      this.insert.run({ ...tenant, features: JSON.stringify(tenant.features), created_at: tenant.createdAt });
    } catch (err) {
      if (constraint(err) === "unique") throw this.conflict(tenant.name, tenant.domain);
      throw err;
    }
    return tenant;
  }

  private conflict(name: string, domain: string): StoreConflict {
    if (this.byName.get(name)) return new StoreConflict(`tenant ${name} already exists`);
    return new StoreConflict(`domain ${domain} is already used by another tenant`);
  }

  async get(name: string): Promise<Tenant | undefined> {
    const row = this.byName.get(name);
    return row && toTenant(row);
  }

  async getByDomain(domain: string): Promise<Tenant | undefined> {
    const row = this.byDomain.get(domain);
    return row && toTenant(row);
  }

  async list(): Promise<Tenant[]> {
    return this.all.all().map(toTenant);
  }

  async update(name: string, patch: TenantPatch): Promise<Tenant | undefined> {
    return this.db.transaction(() => {
      const row = this.byName.get(name);
      if (!row) return undefined;
      const current = toTenant(row);
      const next: Tenant = {
        ...current,
        domain: patch.domain ?? current.domain,
        language: patch.language ?? current.language,
        timezone: patch.timezone ?? current.timezone,
        country: patch.country ?? current.country,
        features: { ...current.features },
      };
      for (const key of Object.keys(DEFAULT_FEATURES) as (keyof FeatureSwitches)[]) {
        const value = patch.features?.[key];
        if (typeof value === "boolean") next.features[key] = value;
      }
      try {
        this.write.run({ ...next, features: JSON.stringify(next.features) });
      } catch (err) {
        if (constraint(err) === "unique") {
          throw new StoreConflict(`domain ${next.domain} is already used by another tenant`);
        }
        throw err;
      }
      return next;
    })();
  }

  async delete(name: string): Promise<boolean> {
    // ON DELETE CASCADE takes the extensions, and through them bindings and forwarding.
    return this.remove.run(name).changes > 0;
  }
}

interface ExtensionRow {
  tenant: string;
  number: string;
  display_name: string;
  language: string | null;
  ring_timeout_seconds: number;
  realm: string;
  ha1_md5: string;
  ha1_sha256: string;
  created_at: string;
}

function toExtension(r: ExtensionRow): Extension {
  const e: Extension = {
    tenant: r.tenant,
    number: r.number,
    displayName: r.display_name,
    ringTimeoutSeconds: r.ring_timeout_seconds,
    credentials: { realm: r.realm, ha1Md5: r.ha1_md5, ha1Sha256: r.ha1_sha256 },
    createdAt: r.created_at,
  };
  if (r.language !== null) e.language = r.language as Language;
  return e;
}

function extensionRow(e: Extension): ExtensionRow {
  return {
    tenant: e.tenant,
    number: e.number,
    display_name: e.displayName,
    language: e.language ?? null,
    ring_timeout_seconds: e.ringTimeoutSeconds,
    realm: e.credentials.realm,
    ha1_md5: e.credentials.ha1Md5,
    ha1_sha256: e.credentials.ha1Sha256,
    created_at: e.createdAt,
  };
}

class SqliteExtensions implements ExtensionRepository {
  private readonly insert;
  private readonly one;
  private readonly all;
  private readonly write;
  private readonly remove;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
  ) {
    this.insert = db.prepare(
      `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
       VALUES (@tenant, @number, @display_name, @language, @ring_timeout_seconds, @realm, @ha1_md5, @ha1_sha256, @created_at)`,
    );
    this.one = db.prepare<[string, string], ExtensionRow>(
      "SELECT * FROM extensions WHERE tenant = ? AND number = ?",
    );
    this.all = db.prepare<[string], ExtensionRow>(
      "SELECT * FROM extensions WHERE tenant = ? ORDER BY length(number), number",
    );
    this.write = db.prepare(
      `UPDATE extensions SET display_name = @display_name, language = @language,
       ring_timeout_seconds = @ring_timeout_seconds, realm = @realm, ha1_md5 = @ha1_md5,
       ha1_sha256 = @ha1_sha256 WHERE tenant = @tenant AND number = @number`,
    );
    this.remove = db.prepare("DELETE FROM extensions WHERE tenant = ? AND number = ?");
  }

  async create(n: NewExtension): Promise<Extension> {
    const e: Extension = {
      tenant: n.tenant,
      number: n.number,
      displayName: n.displayName,
      ringTimeoutSeconds: n.ringTimeoutSeconds ?? DEFAULT_RING_TIMEOUT_SECONDS,
      credentials: { ...n.credentials },
      createdAt: this.iso(),
    };
    if (n.language) e.language = n.language;
    try {
      this.insert.run(extensionRow(e));
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique")
        throw new StoreConflict(`extension ${e.number} already exists in tenant ${e.tenant}`);
      if (kind === "foreign") throw new StoreConflict(`tenant ${e.tenant} does not exist`);
      throw err;
    }
    return e;
  }

  async get(tenant: string, number: string): Promise<Extension | undefined> {
    const row = this.one.get(tenant, number);
    return row && toExtension(row);
  }

  async list(tenant: string): Promise<Extension[]> {
    return this.all.all(tenant).map(toExtension);
  }

  async update(tenant: string, number: string, patch: ExtensionPatch): Promise<Extension | undefined> {
    return this.db.transaction(() => {
      const row = this.one.get(tenant, number);
      if (!row) return undefined;
      const next = toExtension(row);
      if (patch.displayName !== undefined) next.displayName = patch.displayName;
      if (patch.ringTimeoutSeconds !== undefined) next.ringTimeoutSeconds = patch.ringTimeoutSeconds;
      if (patch.credentials !== undefined) next.credentials = { ...patch.credentials };
      if (patch.language === null) delete next.language;
      else if (patch.language !== undefined) next.language = patch.language;
      this.write.run(extensionRow(next));
      return next;
    })();
  }

  async delete(tenant: string, number: string): Promise<boolean> {
    return this.remove.run(tenant, number).changes > 0;
  }
}

interface BindingRow {
  tenant: string;
  extension: string;
  contact: string;
  call_id: string;
  cseq: number;
  expires_at: number;
  transport: string;
  address: string;
  port: number;
  user_agent: string | null;
}

function toBinding(r: BindingRow): Binding {
  const b: Binding = {
    tenant: r.tenant,
    extension: r.extension,
    contact: r.contact,
    callId: r.call_id,
    cseq: r.cseq,
    expiresAt: r.expires_at,
    source: { transport: r.transport as "UDP" | "TCP", address: r.address, port: r.port },
  };
  if (r.user_agent !== null) b.userAgent = r.user_agent;
  return b;
}

class SqliteBindings implements BindingRepository {
  private readonly upsertStmt;
  private readonly removeOne;
  private readonly removeExt;
  private readonly ofExtension;
  private readonly ofTenant;
  private readonly all;
  private readonly purge;

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT INTO bindings (tenant, extension, contact, call_id, cseq, expires_at, transport, address, port, user_agent)
       VALUES (@tenant, @extension, @contact, @call_id, @cseq, @expires_at, @transport, @address, @port, @user_agent)
       ON CONFLICT (tenant, extension, contact) DO UPDATE SET call_id = excluded.call_id, cseq = excluded.cseq,
         expires_at = excluded.expires_at, transport = excluded.transport, address = excluded.address,
         port = excluded.port, user_agent = excluded.user_agent`,
    );
    this.removeOne = db.prepare("DELETE FROM bindings WHERE tenant = ? AND extension = ? AND contact = ?");
    this.removeExt = db.prepare("DELETE FROM bindings WHERE tenant = ? AND extension = ?");
    this.ofExtension = db.prepare<[string, string], BindingRow>(
      "SELECT * FROM bindings WHERE tenant = ? AND extension = ? ORDER BY contact",
    );
    this.ofTenant = db.prepare<[string], BindingRow>(
      "SELECT * FROM bindings WHERE tenant = ? ORDER BY extension, contact",
    );
    this.all = db.prepare<[], BindingRow>("SELECT * FROM bindings ORDER BY tenant, extension, contact");
    this.purge = db.prepare("DELETE FROM bindings WHERE expires_at <= ?");
  }

  async upsert(b: Binding): Promise<void> {
    try {
      this.upsertStmt.run({
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
      });
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${b.extension} does not exist in tenant ${b.tenant}`);
      }
      throw err;
    }
  }

  async remove(tenant: string, extension: string, contact: string): Promise<void> {
    this.removeOne.run(tenant, extension, contact);
  }

  async removeAll(tenant: string, extension: string): Promise<void> {
    this.removeExt.run(tenant, extension);
  }

  async list(tenant: string, extension?: string): Promise<Binding[]> {
    const rows =
      extension === undefined ? this.ofTenant.all(tenant) : this.ofExtension.all(tenant, extension);
    return rows.map(toBinding);
  }

  async listAll(): Promise<Binding[]> {
    return this.all.all().map(toBinding);
  }

  async purgeExpired(now: number): Promise<number> {
    return this.purge.run(Math.trunc(now)).changes;
  }
}

class SqliteForwarding implements ForwardingRepository {
  private readonly upsertStmt;
  private readonly clearOne;
  private readonly clearAll;
  private readonly ofExtension;

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT INTO forwarding (tenant, extension, kind, target) VALUES (@tenant, @extension, @kind, @target)
       ON CONFLICT (tenant, extension, kind) DO UPDATE SET target = excluded.target`,
    );
    this.clearOne = db.prepare("DELETE FROM forwarding WHERE tenant = ? AND extension = ? AND kind = ?");
    this.clearAll = db.prepare("DELETE FROM forwarding WHERE tenant = ? AND extension = ?");
    this.ofExtension = db.prepare<[string, string], Forwarding>(
      "SELECT tenant, extension, kind, target FROM forwarding WHERE tenant = ? AND extension = ? ORDER BY kind",
    );
  }

  async set(f: Forwarding): Promise<void> {
    try {
      this.upsertStmt.run({ tenant: f.tenant, extension: f.extension, kind: f.kind, target: f.target });
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${f.extension} does not exist in tenant ${f.tenant}`);
      }
      throw err;
    }
  }

  async clear(tenant: string, extension: string, kind?: ForwardingKind): Promise<void> {
    if (kind === undefined) this.clearAll.run(tenant, extension);
    else this.clearOne.run(tenant, extension, kind);
  }

  async list(tenant: string, extension: string): Promise<Forwarding[]> {
    return this.ofExtension.all(tenant, extension);
  }
}

const DEFAULT_CODE = new Map(DEFAULT_FEATURE_CODES.map((c) => [c.action, c.code]));

class SqliteFeatureCodes implements FeatureCodeRepository {
  private readonly overrides;
  private readonly tenantExists;
  private readonly upsertStmt;
  private readonly removeOne;
  private readonly removeAll;

  constructor(private readonly db: Database.Database) {
    this.overrides = db.prepare<[string], { action: string; code: string }>(
      "SELECT action, code FROM feature_codes WHERE tenant = ?",
    );
    this.tenantExists = db.prepare<[string], { one: number }>("SELECT 1 AS one FROM tenants WHERE name = ?");
    this.upsertStmt = db.prepare(
      `INSERT INTO feature_codes (tenant, action, code) VALUES (?, ?, ?)
       ON CONFLICT (tenant, action) DO UPDATE SET code = excluded.code`,
    );
    this.removeOne = db.prepare("DELETE FROM feature_codes WHERE tenant = ? AND action = ?");
    this.removeAll = db.prepare("DELETE FROM feature_codes WHERE tenant = ?");
  }

  private table(tenant: string) {
    const map = new Map<FeatureAction, string>();
    for (const row of this.overrides.all(tenant)) {
      // A row for an action that a later version dropped is ignored, not fatal.
      if (isFeatureAction(row.action)) map.set(row.action, row.code);
    }
    return applyOverrides(map);
  }

  async list(tenant: string) {
    return this.table(tenant);
  }

  /**
   * Throws RangeError for a malformed code or an unknown action (the API
   * validates both first), StoreConflict for a clash or an unknown tenant.
   */
  async set(tenant: string, action: FeatureAction, code: string): Promise<void> {
    if (!isFeatureAction(action)) throw new RangeError(`unknown feature action ${action}`);
    if (!isFeatureCode(code)) throw new RangeError(`feature code ${code} is not * followed by 1 to 4 digits`);
    this.db.transaction(() => {
      if (!this.tenantExists.get(tenant)) throw new StoreConflict(`tenant ${tenant} does not exist`);
      const clash = codeClash(this.table(tenant), action, code);
      if (clash) throw new StoreConflict(clash);
      // Storing only differences keeps later changes to the defaults visible.
      if (DEFAULT_CODE.get(action) === code) this.removeOne.run(tenant, action);
      else this.upsertStmt.run(tenant, action, code);
    })();
  }

  async reset(tenant: string): Promise<void> {
    this.removeAll.run(tenant);
  }
}
