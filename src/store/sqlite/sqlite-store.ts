// The embedded store: one SQLite file under the data directory
// (better-sqlite3, synchronous calls behind the async repository interfaces).
//
// Durability. Two connections to the same file, both in WAL mode:
// - settings (tenants, extensions, forwarding, feature codes, trunks,
//   numbers, the audit log) use
//   synchronous=FULL: the WAL is fsynced at every commit, so a setting that
//   the API or a voice prompt has confirmed survives a process crash AND a
//   power cut. These writes are rare (people change settings).
// - bindings use synchronous=NORMAL: a commit survives a process crash (the
//   frames are in the WAL file already) and only a power cut can lose the
//   last ones. A binding is soft state that every phone refreshes by itself
//   (RFC 3261 §10.2.1), and at 2000 REGISTER/s an fsync per commit would
//   stall the event loop. Any later FULL commit fsyncs those frames too.
//   Event subscriptions (RFC 6665) are soft state of the same kind and
//   share that connection.
// Voicemail (mailboxes, messages, PIN failures and locks, the e-mail queue)
// is settings-grade: a message confirmed to a caller is never lost. So is
// the company's inbound flow (ring groups, schedule, override, call flow,
// company audio).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Clock, SystemClock } from "../../util/clock.ts";
import { applyOverrides, codeClash, isFeatureAction, isFeatureCode } from "../feature-code-table.ts";
import {
  type Actor,
  type AuditEvent,
  type AuditRepository,
  type Binding,
  type BindingRepository,
  type CompanyCodeAccess,
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  DEFAULT_WAITING_SECONDS,
  type DiallingPolicy,
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
  type NewTrunk,
  type NumberRepository,
  type Store,
  StoreConflict,
  type Tenant,
  type TenantNumber,
  type TenantPatch,
  type TenantRepository,
  type Trunk,
  type TrunkPatch,
  type TrunkRepository,
} from "../types.ts";
import { migrate } from "./migrations.ts";
import { constraint, sameJson, UNNAMED_ACTOR } from "./sqlite-common.ts";
import { SqliteCompanyAudio } from "./sqlite-company-audio.ts";
import { SqliteCompanyFlow } from "./sqlite-company-flow.ts";
import { SqliteRingGroups } from "./sqlite-ring-groups.ts";
import { SqliteSubscriptions } from "./sqlite-subscriptions.ts";
import { SqliteVoicemail } from "./sqlite-voicemail.ts";
import { readDestinationSpec, readJson } from "./stored-json.ts";

export const DEFAULT_TENANT_LANGUAGE: Language = "fr";
export const DEFAULT_TENANT_TIMEZONE = "Europe/Zurich";
export const DEFAULT_TENANT_COUNTRY = "CH";
export const DEFAULT_RING_TIMEOUT_SECONDS = 30;
export const DEFAULT_NO_ANSWER_SECONDS = 20;
export const DEFAULT_MAX_CALLS = 2;
export const DEFAULT_TRUNK_PORT = 5060;
/** How many audit events `audit.list` returns when no limit is asked. */
export const DEFAULT_AUDIT_LIMIT = 100;

export interface SqliteStoreOptions {
  dataDir: string;
  clock?: Clock;
}

export interface SqliteStore extends Store {
  /** The database file. */
  readonly path: string;
  /** Its writes take an optional actor for the audit log (a system actor when none is given). */
  ringGroups: SqliteRingGroups;
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
  // Audit rows go through the settings connection, inside the transaction
  // of the change they record.
  const audit = new SqliteAudit(settings, iso);
  const ringGroups = new SqliteRingGroups(settings, iso, audit);
  return {
    path,
    tenants: new SqliteTenants(settings, iso, audit),
    extensions: new SqliteExtensions(settings, iso, ringGroups),
    bindings: new SqliteBindings(bindingsDb),
    subscriptions: new SqliteSubscriptions(bindingsDb),
    forwarding: new SqliteForwarding(settings, audit),
    featureCodes: new SqliteFeatureCodes(settings),
    trunks: new SqliteTrunks(settings, iso),
    numbers: new SqliteNumbers(settings, iso),
    // Messages are settings-grade: confirmed to a caller, never lost.
    voicemail: new SqliteVoicemail(settings, audit),
    ringGroups,
    companyFlow: new SqliteCompanyFlow(settings, audit),
    companyAudio: new SqliteCompanyAudio(settings, iso, audit),
    audit,
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

interface TenantRow {
  name: string;
  domain: string;
  language: string;
  timezone: string;
  country: string;
  features: string;
  policy: string;
  trunk: string | null;
  operator: string | null;
  waiting_seconds: number;
  company_codes: string;
  created_at: string;
}

// A hand-edited or damaged JSON column reads as the defaults (readJson): the
// safe reading (costly destinations off), and the next write repairs it.

function readFeatures(json: string): FeatureSwitches {
  const features: FeatureSwitches = { ...DEFAULT_FEATURES };
  const stored = readJson(json, "features");
  if (stored && typeof stored === "object") {
    for (const key of Object.keys(features) as (keyof FeatureSwitches)[]) {
      const value = (stored as Record<string, unknown>)[key];
      if (typeof value === "boolean") features[key] = value;
    }
  }
  return features;
}

const POLICY_SWITCHES = ["international", "premiumRate", "sharedCost", "personal"] as const;

function isCallLimit(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

/** Like features: a key missing (a policy stored by an older vpbx) reads as its default. */
function readPolicy(json: string): DiallingPolicy {
  const policy: DiallingPolicy = { ...DEFAULT_DIALLING_POLICY };
  const stored = readJson(json, "policy") as Record<string, unknown> | undefined;
  if (stored && typeof stored === "object") {
    for (const key of POLICY_SWITCHES) {
      if (typeof stored[key] === "boolean") policy[key] = stored[key];
    }
    if (isCallLimit(stored.maxExternalCalls)) policy.maxExternalCalls = stored.maxExternalCalls;
  }
  return policy;
}

/**
 * Unlike features, the safe reading of a damaged access rule is the
 * restrictive one: an unreadable list would open the codes to every
 * extension, so it reads as an empty list (nobody) until the next write.
 */
function readCompanyCodes(json: string): CompanyCodeAccess {
  const stored = readJson(json, "company codes");
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) {
    if (stored !== undefined) process.emitWarning(`vpbx: unreadable company codes ${json}, read as nobody`);
    return { extensions: [] };
  }
  const { extensions, pinHash } = stored as Record<string, unknown>;
  const access: CompanyCodeAccess = {};
  if (Array.isArray(extensions))
    access.extensions = extensions.filter((e): e is string => typeof e === "string");
  else if (extensions !== undefined) access.extensions = [];
  if (typeof pinHash === "string") access.pinHash = pinHash;
  return access;
}

const isWaitingSeconds = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

function toTenant(r: TenantRow): Tenant {
  const t: Tenant = {
    name: r.name,
    domain: r.domain,
    language: r.language as Language,
    timezone: r.timezone,
    country: r.country,
    features: readFeatures(r.features),
    policy: readPolicy(r.policy),
    waitingSeconds: r.waiting_seconds,
    companyCodes: readCompanyCodes(r.company_codes),
    createdAt: r.created_at,
  };
  if (r.trunk !== null) t.trunk = r.trunk;
  if (r.operator !== null) t.operator = r.operator;
  return t;
}

class SqliteTenants implements TenantRepository {
  private readonly insert;
  private readonly byName;
  private readonly byDomain;
  private readonly all;
  private readonly write;
  private readonly remove;
  private readonly extensionExists;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
    private readonly audit: SqliteAudit,
  ) {
    this.insert = db.prepare(
      `INSERT INTO tenants (name, domain, language, timezone, country, features, policy, trunk, operator,
         waiting_seconds, company_codes, created_at)
       VALUES (@name, @domain, @language, @timezone, @country, @features, @policy, @trunk, @operator,
         @waiting_seconds, @company_codes, @created_at)`,
    );
    this.extensionExists = db.prepare<[string, string], { one: number }>(
      "SELECT 1 AS one FROM extensions WHERE tenant = ? AND number = ?",
    );
    this.byName = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE name = ?");
    this.byDomain = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE domain = ?");
    this.all = db.prepare<[], TenantRow>("SELECT * FROM tenants ORDER BY name");
    this.write = db.prepare(
      `UPDATE tenants SET domain = @domain, language = @language, timezone = @timezone,
       country = @country, features = @features, policy = @policy, trunk = @trunk, operator = @operator,
       waiting_seconds = @waiting_seconds, company_codes = @company_codes
       WHERE name = @name`,
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
      policy: { ...DEFAULT_DIALLING_POLICY },
      waitingSeconds: DEFAULT_WAITING_SECONDS,
      companyCodes: {},
      createdAt: this.iso(),
    };
    if (t.trunk !== undefined) tenant.trunk = t.trunk;
    try {
      this.insert.run({ ...tenantRow(tenant), created_at: tenant.createdAt });
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique") throw this.conflict(tenant.name, tenant.domain);
      if (kind === "foreign") throw new StoreConflict(`trunk ${tenant.trunk} does not exist`);
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

  /**
   * A change of features, policy, waiting time or company code access is
   * written with its audit event in the same transaction. Throws RangeError
   * for a maxExternalCalls that is not a whole number >= 0, a waitingSeconds
   * that is not a whole number >= 1, or a malformed companyCodes (the API
   * validates them first); StoreConflict when companyCodes lists a number
   * that is not an extension of the tenant.
   */
  async update(name: string, patch: TenantPatch, actor: Actor = UNNAMED_ACTOR): Promise<Tenant | undefined> {
    const limit = patch.policy?.maxExternalCalls;
    if (limit !== undefined && !isCallLimit(limit)) {
      throw new RangeError(`maxExternalCalls ${limit} is not a whole number >= 0`);
    }
    if (patch.waitingSeconds !== undefined && !isWaitingSeconds(patch.waitingSeconds)) {
      throw new RangeError(`waitingSeconds ${patch.waitingSeconds} is not a whole number >= 1`);
    }
    const codes = patch.companyCodes && checkedCompanyCodes(patch.companyCodes);
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
        policy: { ...current.policy },
      };
      for (const key of Object.keys(DEFAULT_FEATURES) as (keyof FeatureSwitches)[]) {
        const value = patch.features?.[key];
        if (typeof value === "boolean") next.features[key] = value;
      }
      for (const key of POLICY_SWITCHES) {
        const value = patch.policy?.[key];
        if (typeof value === "boolean") next.policy[key] = value;
      }
      if (limit !== undefined) next.policy.maxExternalCalls = limit;
      if (patch.trunk === null) delete next.trunk;
      else if (patch.trunk !== undefined) next.trunk = patch.trunk;
      if (patch.operator === null) delete next.operator;
      else if (patch.operator !== undefined) {
        if (!this.extensionExists.get(name, patch.operator)) {
          throw new StoreConflict(`operator ${patch.operator} is not an extension of tenant ${name}`);
        }
        next.operator = patch.operator;
      }
      if (patch.waitingSeconds !== undefined) next.waitingSeconds = patch.waitingSeconds;
      if (codes) {
        const strangers = (codes.extensions ?? []).filter((e) => !this.extensionExists.get(name, e));
        if (strangers.length > 0) {
          throw new StoreConflict(
            `company codes: ${strangers.join(", ")} ${strangers.length === 1 ? "is not an extension" : "are not extensions"} of tenant ${name}`,
          );
        }
        next.companyCodes = codes;
      }
      try {
        this.write.run(tenantRow(next));
      } catch (err) {
        const kind = constraint(err);
        if (kind === "unique") {
          throw new StoreConflict(`domain ${next.domain} is already used by another tenant`);
        }
        if (kind === "foreign") throw new StoreConflict(`trunk ${next.trunk} does not exist`);
        throw err;
      }
      if (!sameJson(current.features, next.features)) {
        this.audit.write({
          tenant: name,
          actor,
          action: "features.update",
          subject: "features",
          old: current.features,
          new: next.features,
        });
      }
      if (!sameJson(current.policy, next.policy)) {
        this.audit.write({
          tenant: name,
          actor,
          action: "policy.update",
          subject: "policy",
          old: current.policy,
          new: next.policy,
        });
      }
      if (current.waitingSeconds !== next.waitingSeconds) {
        this.audit.write({
          tenant: name,
          actor,
          action: "tenant.update",
          subject: "waitingSeconds",
          old: current.waitingSeconds,
          new: next.waitingSeconds,
        });
      }
      if (!sameJson(current.companyCodes, next.companyCodes)) {
        const pinChanged = current.companyCodes.pinHash !== next.companyCodes.pinHash;
        const now = auditedCodes(next.companyCodes);
        this.audit.write({
          tenant: name,
          actor,
          action: "tenant.update",
          subject: "companyCodes",
          old: auditedCodes(current.companyCodes),
          new: pinChanged ? { ...now, pinChanged: true } : now,
        });
      }
      return next;
    })();
  }

  async delete(name: string): Promise<boolean> {
    // ON DELETE CASCADE takes the extensions, and through them bindings,
    // forwarding, mailboxes and their messages; and the numbers, the ring
    // groups, the schedule, override and call flow, the company audio rows
    // and the audit log. (The audio files are the voicemail and company
    // services' to remove.)
    return this.remove.run(name).changes > 0;
  }
}

/** A copy with only the known keys; RangeError for a list that is not of strings or a PIN hash that is not a string. */
function checkedCompanyCodes(c: CompanyCodeAccess): CompanyCodeAccess {
  const access: CompanyCodeAccess = {};
  if (c.extensions !== undefined) {
    if (!Array.isArray(c.extensions) || c.extensions.some((e) => typeof e !== "string")) {
      throw new RangeError("companyCodes.extensions must be a list of extension numbers");
    }
    access.extensions = [...new Set(c.extensions)];
  }
  if (c.pinHash !== undefined) {
    if (typeof c.pinHash !== "string" || c.pinHash === "") {
      throw new RangeError("companyCodes.pinHash must be a PIN hash");
    }
    access.pinHash = c.pinHash;
  }
  return access;
}

/** What the audit log keeps of the code access: never the PIN's hash, only whether there is one. */
function auditedCodes(c: CompanyCodeAccess) {
  return { extensions: c.extensions ?? null, hasPin: c.pinHash !== undefined };
}

function tenantRow(t: Tenant) {
  return {
    name: t.name,
    domain: t.domain,
    language: t.language,
    timezone: t.timezone,
    country: t.country,
    features: JSON.stringify(t.features),
    policy: JSON.stringify(t.policy),
    trunk: t.trunk ?? null,
    operator: t.operator ?? null,
    waiting_seconds: t.waitingSeconds,
    company_codes: JSON.stringify(t.companyCodes),
  };
}

interface ExtensionRow {
  tenant: string;
  number: string;
  display_name: string;
  language: string | null;
  ring_timeout_seconds: number;
  no_answer_seconds: number;
  call_waiting: number;
  max_calls: number;
  caller_id: string | null;
  mwi_unsolicited: number;
  pickup_group: string | null;
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
    noAnswerSeconds: r.no_answer_seconds,
    callWaiting: r.call_waiting !== 0,
    maxCalls: r.max_calls,
    mwiUnsolicited: r.mwi_unsolicited !== 0,
    credentials: { realm: r.realm, ha1Md5: r.ha1_md5, ha1Sha256: r.ha1_sha256 },
    createdAt: r.created_at,
  };
  if (r.language !== null) e.language = r.language as Language;
  if (r.caller_id !== null) e.callerId = r.caller_id;
  if (r.pickup_group !== null) e.pickupGroup = r.pickup_group;
  return e;
}

function extensionRow(e: Extension): ExtensionRow {
  return {
    tenant: e.tenant,
    number: e.number,
    display_name: e.displayName,
    language: e.language ?? null,
    ring_timeout_seconds: e.ringTimeoutSeconds,
    no_answer_seconds: e.noAnswerSeconds,
    call_waiting: e.callWaiting ? 1 : 0,
    max_calls: e.maxCalls,
    caller_id: e.callerId ?? null,
    mwi_unsolicited: e.mwiUnsolicited ? 1 : 0,
    pickup_group: e.pickupGroup ?? null,
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
    private readonly ringGroups: SqliteRingGroups,
  ) {
    this.insert = db.prepare(
      `INSERT INTO extensions (tenant, number, display_name, language, ring_timeout_seconds, no_answer_seconds,
         call_waiting, max_calls, caller_id, mwi_unsolicited, pickup_group, realm, ha1_md5, ha1_sha256, created_at)
       VALUES (@tenant, @number, @display_name, @language, @ring_timeout_seconds, @no_answer_seconds,
         @call_waiting, @max_calls, @caller_id, @mwi_unsolicited, @pickup_group, @realm, @ha1_md5, @ha1_sha256,
         @created_at)`,
    );
    this.one = db.prepare<[string, string], ExtensionRow>(
      "SELECT * FROM extensions WHERE tenant = ? AND number = ?",
    );
    this.all = db.prepare<[string], ExtensionRow>(
      "SELECT * FROM extensions WHERE tenant = ? ORDER BY length(number), number",
    );
    this.write = db.prepare(
      `UPDATE extensions SET display_name = @display_name, language = @language,
       ring_timeout_seconds = @ring_timeout_seconds, no_answer_seconds = @no_answer_seconds,
       call_waiting = @call_waiting, max_calls = @max_calls, caller_id = @caller_id,
       mwi_unsolicited = @mwi_unsolicited, pickup_group = @pickup_group, realm = @realm,
       ha1_md5 = @ha1_md5, ha1_sha256 = @ha1_sha256 WHERE tenant = @tenant AND number = @number`,
    );
    this.remove = db.prepare("DELETE FROM extensions WHERE tenant = ? AND number = ?");
  }

  async create(n: NewExtension): Promise<Extension> {
    const e: Extension = {
      tenant: n.tenant,
      number: n.number,
      displayName: n.displayName,
      ringTimeoutSeconds: n.ringTimeoutSeconds ?? DEFAULT_RING_TIMEOUT_SECONDS,
      noAnswerSeconds: n.noAnswerSeconds ?? DEFAULT_NO_ANSWER_SECONDS,
      callWaiting: n.callWaiting ?? false,
      maxCalls: n.maxCalls ?? DEFAULT_MAX_CALLS,
      mwiUnsolicited: n.mwiUnsolicited ?? false,
      credentials: { ...n.credentials },
      createdAt: this.iso(),
    };
    if (n.language) e.language = n.language;
    if (n.callerId) e.callerId = n.callerId;
    if (n.pickupGroup) e.pickupGroup = n.pickupGroup;
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
      if (patch.noAnswerSeconds !== undefined) next.noAnswerSeconds = patch.noAnswerSeconds;
      if (patch.callWaiting !== undefined) next.callWaiting = patch.callWaiting;
      if (patch.maxCalls !== undefined) next.maxCalls = patch.maxCalls;
      if (patch.mwiUnsolicited !== undefined) next.mwiUnsolicited = patch.mwiUnsolicited;
      if (patch.credentials !== undefined) next.credentials = { ...patch.credentials };
      if (patch.language === null) delete next.language;
      else if (patch.language !== undefined) next.language = patch.language;
      if (patch.callerId === null) delete next.callerId;
      else if (patch.callerId !== undefined) next.callerId = patch.callerId;
      if (patch.pickupGroup === null) delete next.pickupGroup;
      else if (patch.pickupGroup !== undefined) next.pickupGroup = patch.pickupGroup;
      this.write.run(extensionRow(next));
      return next;
    })();
  }

  /**
   * The extension leaves every ring group in the same transaction (each
   * group's change audited), and the company code list (a trigger, as the
   * operator); its bindings, forwarding and mailbox go by ON DELETE CASCADE.
   */
  async delete(tenant: string, number: string): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.remove.run(tenant, number).changes === 0) return false;
      this.ringGroups.removeMember(tenant, number);
      return true;
    })();
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

/**
 * Each change is written together with its audit event (old → new) in one
 * transaction: a forwarding is never changed without its record, nor
 * recorded without the change.
 */
class SqliteForwarding implements ForwardingRepository {
  private readonly upsertStmt;
  private readonly clearOne;
  private readonly targetOf;
  private readonly ofExtension;

  constructor(
    private readonly db: Database.Database,
    private readonly audit: SqliteAudit,
  ) {
    this.upsertStmt = db.prepare(
      `INSERT INTO forwarding (tenant, extension, kind, target) VALUES (@tenant, @extension, @kind, @target)
       ON CONFLICT (tenant, extension, kind) DO UPDATE SET target = excluded.target`,
    );
    this.clearOne = db.prepare("DELETE FROM forwarding WHERE tenant = ? AND extension = ? AND kind = ?");
    this.targetOf = db.prepare<[string, string, string], { target: string }>(
      "SELECT target FROM forwarding WHERE tenant = ? AND extension = ? AND kind = ?",
    );
    this.ofExtension = db.prepare<[string, string], Forwarding>(
      "SELECT tenant, extension, kind, target FROM forwarding WHERE tenant = ? AND extension = ? ORDER BY kind",
    );
  }

  /** Setting the target a rule already has changes nothing and writes no event. */
  async set(f: Forwarding, actor: Actor): Promise<void> {
    try {
      this.db.transaction(() => {
        const old = this.targetOf.get(f.tenant, f.extension, f.kind)?.target ?? null;
        if (old === f.target) return;
        this.upsertStmt.run({ tenant: f.tenant, extension: f.extension, kind: f.kind, target: f.target });
        this.audit.write({
          tenant: f.tenant,
          actor,
          action: "forwarding.set",
          subject: `${f.extension}/${f.kind}`,
          old,
          new: f.target,
        });
      })();
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${f.extension} does not exist in tenant ${f.tenant}`);
      }
      throw err;
    }
  }

  /** One event per rule actually cleared; clearing nothing writes nothing. */
  async clear(
    tenant: string,
    extension: string,
    kind: ForwardingKind | undefined,
    actor: Actor,
  ): Promise<void> {
    this.db.transaction(() => {
      for (const rule of this.ofExtension.all(tenant, extension)) {
        if (kind !== undefined && rule.kind !== kind) continue;
        this.clearOne.run(tenant, extension, rule.kind);
        this.audit.write({
          tenant,
          actor,
          action: "forwarding.clear",
          subject: `${extension}/${rule.kind}`,
          old: rule.target,
          new: null,
        });
      }
    })();
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

interface TrunkRow {
  id: number;
  name: string;
  host: string;
  port: number;
  transport: string;
  username: string | null;
  password: string | null;
  register: number;
  number_format: string;
  inbound_addresses: string;
  is_default: number;
  created_at: string;
}

function toTrunk(r: TrunkRow): Trunk {
  const stored = readJson(r.inbound_addresses, "trunk inbound addresses");
  const t: Trunk = {
    name: r.name,
    host: r.host,
    port: r.port,
    transport: r.transport as Trunk["transport"],
    register: r.register !== 0,
    numberFormat: r.number_format as Trunk["numberFormat"],
    inboundAddresses: Array.isArray(stored) ? stored.filter((a): a is string => typeof a === "string") : [],
    isDefault: r.is_default !== 0,
    createdAt: r.created_at,
  };
  if (r.username !== null) t.username = r.username;
  if (r.password !== null) t.password = r.password;
  return t;
}

function trunkRow(t: Trunk) {
  return {
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username ?? null,
    password: t.password ?? null,
    register: t.register ? 1 : 0,
    number_format: t.numberFormat,
    inbound_addresses: JSON.stringify(t.inboundAddresses),
    is_default: t.isDefault ? 1 : 0,
    created_at: t.createdAt,
  };
}

/**
 * Exactly one trunk is the default while any exists: the first one created,
 * then whichever `isDefault` names, then (when the default is deleted) the
 * oldest remaining one.
 */
class SqliteTrunks implements TrunkRepository {
  private readonly insert;
  private readonly one;
  private readonly all;
  private readonly count;
  private readonly write;
  private readonly undefault;
  private readonly oldestBecomesDefault;
  private readonly usedBy;
  private readonly remove;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
  ) {
    this.insert = db.prepare(
      `INSERT INTO trunks (name, host, port, transport, username, password, register, number_format,
         inbound_addresses, is_default, created_at)
       VALUES (@name, @host, @port, @transport, @username, @password, @register, @number_format,
         @inbound_addresses, @is_default, @created_at)`,
    );
    this.one = db.prepare<[string], TrunkRow>("SELECT * FROM trunks WHERE name = ?");
    this.all = db.prepare<[], TrunkRow>("SELECT * FROM trunks ORDER BY id");
    this.count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM trunks");
    this.write = db.prepare(
      `UPDATE trunks SET host = @host, port = @port, transport = @transport, username = @username,
         password = @password, register = @register, number_format = @number_format,
         inbound_addresses = @inbound_addresses, is_default = @is_default WHERE name = @name`,
    );
    this.undefault = db.prepare("UPDATE trunks SET is_default = 0 WHERE is_default = 1");
    this.oldestBecomesDefault = db.prepare(
      "UPDATE trunks SET is_default = 1 WHERE id = (SELECT min(id) FROM trunks)",
    );
    this.usedBy = db.prepare<[string], { name: string }>(
      "SELECT name FROM tenants WHERE trunk = ? ORDER BY name",
    );
    this.remove = db.prepare("DELETE FROM trunks WHERE name = ?");
  }

  async create(n: NewTrunk): Promise<Trunk> {
    const t: Trunk = {
      name: n.name,
      host: n.host,
      port: n.port ?? DEFAULT_TRUNK_PORT,
      transport: n.transport ?? "udp",
      register: n.register ?? false,
      numberFormat: n.numberFormat ?? "e164",
      inboundAddresses: [...(n.inboundAddresses ?? [])],
      isDefault: n.isDefault ?? false,
      createdAt: this.iso(),
    };
    if (n.username !== undefined) t.username = n.username;
    if (n.password !== undefined) t.password = n.password;
    try {
      this.db.transaction(() => {
        if (this.count.get()?.n === 0) t.isDefault = true;
        else if (t.isDefault) this.undefault.run();
        this.insert.run(trunkRow(t));
      })();
    } catch (err) {
      if (constraint(err) === "unique") throw new StoreConflict(`trunk ${t.name} already exists`);
      throw err;
    }
    return t;
  }

  async get(name: string): Promise<Trunk | undefined> {
    const row = this.one.get(name);
    return row && toTrunk(row);
  }

  async list(): Promise<Trunk[]> {
    return this.all.all().map(toTrunk);
  }

  /**
   * `isDefault: true` moves the default here; `isDefault: false` on the
   * default trunk is a StoreConflict (name another default instead).
   * `username`/`password` null removes them.
   */
  async update(name: string, patch: TrunkPatch): Promise<Trunk | undefined> {
    return this.db.transaction(() => {
      const row = this.one.get(name);
      if (!row) return undefined;
      const current = toTrunk(row);
      if (patch.isDefault === false && current.isDefault) {
        throw new StoreConflict(
          `trunk ${name} is the default: make another trunk the default instead (isDefault: true there)`,
        );
      }
      const next: Trunk = {
        ...current,
        host: patch.host ?? current.host,
        port: patch.port ?? current.port,
        transport: patch.transport ?? current.transport,
        register: patch.register ?? current.register,
        numberFormat: patch.numberFormat ?? current.numberFormat,
        inboundAddresses: [...(patch.inboundAddresses ?? current.inboundAddresses)],
      };
      if (patch.username === null) delete next.username;
      else if (patch.username !== undefined) next.username = patch.username;
      if (patch.password === null) delete next.password;
      else if (patch.password !== undefined) next.password = patch.password;
      if (patch.isDefault === true && !current.isDefault) {
        this.undefault.run();
        next.isDefault = true;
      }
      this.write.run(trunkRow(next));
      return next;
    })();
  }

  async delete(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.one.get(name);
      if (!row) return false;
      const users = this.usedBy.all(name).map((r) => r.name);
      if (users.length > 0) {
        throw new StoreConflict(
          `trunk ${name} is used by tenant${users.length === 1 ? "" : "s"} ${users.join(", ")}: give ${users.length === 1 ? "it" : "them"} another trunk first`,
        );
      }
      this.remove.run(name);
      if (row.is_default !== 0) this.oldestBecomesDefault.run();
      return true;
    })();
  }
}

interface NumberRow {
  tenant: string;
  number: string;
  destination: string;
  created_at: string;
}

function toNumber(r: NumberRow): TenantNumber {
  return {
    tenant: r.tenant,
    number: r.number,
    destination: readDestinationSpec(r.destination),
    createdAt: r.created_at,
  };
}

// A stored destination that cannot be read hangs up rather than ringing
// somewhere unintended (readDestinationSpec, every type, `then` nested).

class SqliteNumbers implements NumberRepository {
  private readonly insert;
  private readonly ofTenant;
  private readonly byNumber;
  private readonly all;
  private readonly remove;

  constructor(
    db: Database.Database,
    private readonly iso: () => string,
  ) {
    this.insert = db.prepare(
      "INSERT INTO numbers (tenant, number, destination, created_at) VALUES (?, ?, ?, ?)",
    );
    this.ofTenant = db.prepare<[string], NumberRow>("SELECT * FROM numbers WHERE tenant = ? ORDER BY id");
    this.byNumber = db.prepare<[string], NumberRow>("SELECT * FROM numbers WHERE number = ?");
    this.all = db.prepare<[], NumberRow>("SELECT * FROM numbers ORDER BY id");
    this.remove = db.prepare("DELETE FROM numbers WHERE tenant = ? AND number = ?");
  }

  async add(n: Omit<TenantNumber, "createdAt">): Promise<TenantNumber> {
    const added: TenantNumber = { ...n, destination: structuredClone(n.destination), createdAt: this.iso() };
    try {
      this.insert.run(added.tenant, added.number, JSON.stringify(added.destination), added.createdAt);
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique") {
        const owner = this.byNumber.get(n.number)?.tenant;
        throw new StoreConflict(`number ${n.number} already belongs to tenant ${owner ?? "another tenant"}`);
      }
      if (kind === "foreign") throw new StoreConflict(`tenant ${n.tenant} does not exist`);
      throw err;
    }
    return added;
  }

  async list(tenant: string): Promise<TenantNumber[]> {
    return this.ofTenant.all(tenant).map(toNumber);
  }

  async find(e164: string): Promise<TenantNumber | undefined> {
    const row = this.byNumber.get(e164);
    return row && toNumber(row);
  }

  async listAll(): Promise<TenantNumber[]> {
    return this.all.all().map(toNumber);
  }

  async delete(tenant: string, number: string): Promise<boolean> {
    return this.remove.run(tenant, number).changes > 0;
  }
}

interface AuditRow {
  id: number;
  tenant: string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  old: string;
  new: string;
}

function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    tenant: r.tenant,
    at: r.at,
    actor: (readJson(r.actor, "audit actor") as Actor | undefined) ?? { kind: "system", id: "unknown" },
    action: r.action,
    subject: r.subject,
    old: readJson(r.old, "audit value") ?? null,
    new: readJson(r.new, "audit value") ?? null,
  };
}

class SqliteAudit implements AuditRepository {
  private readonly insert;
  private readonly newest;

  constructor(
    db: Database.Database,
    private readonly iso: () => string,
  ) {
    this.insert = db.prepare(
      `INSERT INTO audit (tenant, at, actor, action, subject, old, new)
       VALUES (@tenant, @at, @actor, @action, @subject, @old, @new)`,
    );
    this.newest = db.prepare<[string, number], AuditRow>(
      "SELECT * FROM audit WHERE tenant = ? ORDER BY id DESC LIMIT ?",
    );
  }

  /** Synchronous, for the other repositories to call inside their own transaction. */
  write(event: Omit<AuditEvent, "id" | "at">): void {
    const actor: Actor = { kind: event.actor.kind, id: event.actor.id };
    if (event.actor.source !== undefined) actor.source = event.actor.source;
    this.insert.run({
      tenant: event.tenant,
      at: this.iso(),
      actor: JSON.stringify(actor),
      action: event.action,
      subject: event.subject,
      old: JSON.stringify(event.old ?? null),
      new: JSON.stringify(event.new ?? null),
    });
  }

  /** StoreConflict when the tenant does not exist. */
  async append(event: Omit<AuditEvent, "id" | "at">): Promise<void> {
    try {
      this.write(event);
    } catch (err) {
      if (constraint(err) === "foreign") throw new StoreConflict(`tenant ${event.tenant} does not exist`);
      throw err;
    }
  }

  async list(tenant: string, opts: { limit?: number } = {}): Promise<AuditEvent[]> {
    const limit = opts.limit ?? DEFAULT_AUDIT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`audit limit ${limit} is not a whole number >= 1`);
    return this.newest.all(tenant, limit).map(toAuditEvent);
  }
}
