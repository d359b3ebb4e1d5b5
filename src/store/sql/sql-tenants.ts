// Tenants (companies) over Kysely, for SQLite and PostgreSQL alike.
//
// The domain is unique case-insensitively (a SIP domain is, RFC 3261 §19.1.4
// compares hosts without case): SQLite says so with COLLATE NOCASE,
// PostgreSQL with a unique index on lower(domain). A lookup compares with a
// lowercased value, each engine in the form its index serves: SQLite
// `domain = ?` (the column's NOCASE applies, and its unique index; lower()
// would scan the table: NOCASE and SQLite's lower() both fold ASCII only, so
// the answer is the same), PostgreSQL `lower(domain) = ?` (its expression
// index).
//
// A company's creation and deletion belong to no company's log (its own goes
// with it): they are the provider's ("tenant.create", "tenant.delete"),
// written in the transaction of the change.
import { type Selectable, sql } from "kysely";
import {
  type Actor,
  type CompanyCodeAccess,
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURES,
  DEFAULT_TENANT_MAX_CALLS,
  DEFAULT_WAITING_SECONDS,
  type DiallingPolicy,
  type FeatureSwitches,
  type Language,
  type NewTenant,
  StoreConflict,
  type Tenant,
  type TenantPatch,
  type TenantRepository,
} from "../types.ts";
import { DEFAULT_TENANT_COUNTRY, DEFAULT_TENANT_LANGUAGE, DEFAULT_TENANT_TIMEZONE } from "./defaults.ts";
import { cachedRead, cacheKey } from "./read-cache.ts";
import type { TenantsTable } from "./schema.ts";
import { appendAudit, appendProviderAudit } from "./sql-audit.ts";
import { removeCallHistory } from "./sql-call-history.ts";
import { constraint, type Db, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";
import { removeConsoleAccess } from "./sql-users.ts";
import { readJson, sameJson } from "./stored-json.ts";

type TenantRow = Selectable<TenantsTable>;

/** The company's own settings whose change is an audit event "tenant.update", one per field. */
const AUDITED_SETTINGS = [
  "domain",
  "language",
  "timezone",
  "country",
  "trunk",
  "operator",
  "waitingSeconds",
  "maxCalls",
  "requireEncryption",
] as const satisfies ReadonlyArray<keyof Tenant>;

// A hand-edited or damaged JSON column reads as the defaults (readJson): the
// safe reading (costly destinations off), and the next write repairs it.

export function readFeatures(json: string): FeatureSwitches {
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
export function readPolicy(json: string): DiallingPolicy {
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
export function readCompanyCodes(json: string): CompanyCodeAccess {
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

export function toTenant(r: TenantRow): Tenant {
  const t: Tenant = {
    name: r.name,
    domain: r.domain,
    language: r.language as Language,
    timezone: r.timezone,
    country: r.country,
    features: readFeatures(r.features),
    policy: readPolicy(r.policy),
    waitingSeconds: Number(r.waiting_seconds),
    maxCalls: Number(r.max_calls),
    requireEncryption: Number(r.require_encryption) === 1,
    companyCodes: readCompanyCodes(r.company_codes),
    createdAt: r.created_at,
  };
  if (r.trunk !== null) t.trunk = r.trunk;
  if (r.operator !== null) t.operator = r.operator;
  return t;
}

function tenantRow(t: Tenant): Omit<TenantRow, "created_at"> {
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
    max_calls: t.maxCalls,
    require_encryption: t.requireEncryption ? 1 : 0,
    company_codes: JSON.stringify(t.companyCodes),
  };
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

/** What the provider's log keeps of a company created or deleted: its main settings. */
function auditedTenant(t: Tenant) {
  return {
    domain: t.domain,
    language: t.language,
    timezone: t.timezone,
    country: t.country,
    trunk: t.trunk ?? null,
    maxCalls: t.maxCalls,
    requireEncryption: t.requireEncryption,
  };
}

async function extensionExists(db: Db, tenant: string, number: string): Promise<boolean> {
  const row = await db
    .selectFrom("extensions")
    .select("number")
    .where("tenant", "=", tenant)
    .where("number", "=", number)
    .executeTakeFirst();
  return row !== undefined;
}

export class SqlTenants implements TenantRepository {
  constructor(private readonly ctx: SqlContext) {}

  async create(t: NewTenant, actor: Actor = UNNAMED_ACTOR): Promise<Tenant> {
    const tenant: Tenant = {
      name: t.name,
      domain: t.domain,
      language: t.language ?? DEFAULT_TENANT_LANGUAGE,
      timezone: t.timezone ?? DEFAULT_TENANT_TIMEZONE,
      country: t.country ?? DEFAULT_TENANT_COUNTRY,
      features: { ...DEFAULT_FEATURES },
      policy: { ...DEFAULT_DIALLING_POLICY },
      waitingSeconds: DEFAULT_WAITING_SECONDS,
      maxCalls: DEFAULT_TENANT_MAX_CALLS,
      requireEncryption: false,
      companyCodes: {},
      createdAt: this.ctx.iso(),
    };
    if (t.trunk !== undefined) tenant.trunk = t.trunk;
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("tenants")
          .values({ ...tenantRow(tenant), created_at: tenant.createdAt })
          .execute();
        await appendProviderAudit(trx, tenant.createdAt, {
          actor,
          action: "tenant.create",
          subject: tenant.name,
          old: null,
          new: auditedTenant(tenant),
        });
      });
    } catch (err) {
      // Read after the rollback (on PostgreSQL the failed statement aborted the transaction).
      const kind = constraint(err);
      if (kind === "unique") throw await this.conflict(tenant.name, tenant.domain);
      if (kind === "foreign") throw new StoreConflict(`trunk ${tenant.trunk} does not exist`);
      throw err;
    }
    return tenant;
  }

  private async conflict(name: string, domain: string): Promise<StoreConflict> {
    if (await this.byName(this.ctx.db, name)) return new StoreConflict(`tenant ${name} already exists`);
    return new StoreConflict(`domain ${domain} is already used by another tenant`);
  }

  private byName(db: Db, name: string): Promise<TenantRow | undefined> {
    return db.selectFrom("tenants").selectAll().where("name", "=", name).executeTakeFirst();
  }

  /** Read by every call: through the read cache. */
  async get(name: string): Promise<Tenant | undefined> {
    const row = await cachedRead(this.ctx, cacheKey("tenants.get", name), ["tenants"], () =>
      this.byName(this.ctx.db, name),
    );
    return row && toTenant(row);
  }

  /** Read by every request to find its company: through the read cache. */
  async getByDomain(domain: string): Promise<Tenant | undefined> {
    const lower = domain.toLowerCase();
    const row = await cachedRead(this.ctx, cacheKey("tenants.getByDomain", lower), ["tenants"], () => {
      const column = this.ctx.engine === "sqlite" ? sql.ref("domain") : sql<string>`lower(domain)`;
      return this.ctx.db.selectFrom("tenants").selectAll().where(column, "=", lower).executeTakeFirst();
    });
    return row && toTenant(row);
  }

  async list(): Promise<Tenant[]> {
    const rows = await this.ctx.db.selectFrom("tenants").selectAll().orderBy("name").execute();
    return rows.map(toTenant);
  }

  /**
   * A change of features, policy, company code access or any of the
   * AUDITED_SETTINGS is written with its audit event in the same transaction. Throws RangeError
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
    if (patch.maxCalls !== undefined && !(Number.isInteger(patch.maxCalls) && patch.maxCalls >= 1)) {
      throw new RangeError(`maxCalls ${patch.maxCalls} is not a whole number >= 1`);
    }
    if (patch.waitingSeconds !== undefined && !isWaitingSeconds(patch.waitingSeconds)) {
      throw new RangeError(`waitingSeconds ${patch.waitingSeconds} is not a whole number >= 1`);
    }
    const codes = patch.companyCodes && checkedCompanyCodes(patch.companyCodes);
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.byName(trx, name);
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
        if (!(await extensionExists(trx, name, patch.operator))) {
          throw new StoreConflict(`operator ${patch.operator} is not an extension of tenant ${name}`);
        }
        next.operator = patch.operator;
      }
      if (patch.waitingSeconds !== undefined) next.waitingSeconds = patch.waitingSeconds;
      if (patch.maxCalls !== undefined) next.maxCalls = patch.maxCalls;
      if (patch.requireEncryption !== undefined) next.requireEncryption = patch.requireEncryption;
      if (codes) {
        const strangers: string[] = [];
        for (const e of codes.extensions ?? []) {
          if (!(await extensionExists(trx, name, e))) strangers.push(e);
        }
        if (strangers.length > 0) {
          throw new StoreConflict(
            `company codes: ${strangers.join(", ")} ${strangers.length === 1 ? "is not an extension" : "are not extensions"} of tenant ${name}`,
          );
        }
        next.companyCodes = codes;
      }
      try {
        const { name: _key, ...columns } = tenantRow(next);
        await trx.updateTable("tenants").set(columns).where("name", "=", name).execute();
      } catch (err) {
        // Rethrown at once: on PostgreSQL the failed statement has aborted the transaction.
        const kind = constraint(err);
        if (kind === "unique") {
          throw new StoreConflict(`domain ${next.domain} is already used by another tenant`);
        }
        if (kind === "foreign") throw new StoreConflict(`trunk ${next.trunk} does not exist`);
        throw err;
      }
      if (!sameJson(current.features, next.features)) {
        await appendAudit(trx, at, {
          tenant: name,
          actor,
          action: "features.update",
          subject: "features",
          old: current.features,
          new: next.features,
        });
      }
      if (!sameJson(current.policy, next.policy)) {
        await appendAudit(trx, at, {
          tenant: name,
          actor,
          action: "policy.update",
          subject: "policy",
          old: current.policy,
          new: next.policy,
        });
      }
      for (const field of AUDITED_SETTINGS) {
        if (current[field] === next[field]) continue;
        await appendAudit(trx, at, {
          tenant: name,
          actor,
          action: "tenant.update",
          subject: field,
          old: current[field] ?? null,
          new: next[field] ?? null,
        });
      }
      if (!sameJson(current.companyCodes, next.companyCodes)) {
        const pinChanged = current.companyCodes.pinHash !== next.companyCodes.pinHash;
        const now = auditedCodes(next.companyCodes);
        await appendAudit(trx, at, {
          tenant: name,
          actor,
          action: "tenant.update",
          subject: "companyCodes",
          old: auditedCodes(current.companyCodes),
          new: pinChanged ? { ...now, pinChanged: true } : now,
        });
      }
      return next;
    });
  }

  async delete(name: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    // ON DELETE CASCADE takes the extensions, and through them bindings,
    // forwarding, mailboxes and their messages; and the numbers, the ring
    // groups, the schedule, override and call flow, the company audio rows
    // and the audit log. (The audio files are the voicemail and company
    // services' to remove.) Its console users, their sessions and its API
    // tokens have no foreign key (a provider names no tenant): removed here.
    // The provider's log keeps the deletion, and what the company was.
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.byName(trx, name);
      if (!row) return false;
      const result = await trx.deleteFrom("tenants").where("name", "=", name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await appendProviderAudit(trx, at, {
        actor,
        action: "tenant.delete",
        subject: name,
        old: auditedTenant(toTenant(row)),
        new: null,
      });
      await removeConsoleAccess(trx, name);
      // No foreign key (records are written on the soft connection, apart
      // from the settings): a company created again under this name must not
      // see the calls of the one deleted.
      await removeCallHistory(trx, name);
      return true;
    });
  }
}
