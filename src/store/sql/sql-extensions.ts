// Extensions over Kysely, for SQLite and PostgreSQL alike.
//
// Deleting an extension does, in its own transaction, what the database
// alone cannot say on both engines: the tenant's operator and company code
// list forget it (SQLite triggers did this; PostgreSQL has none), and it
// leaves every ring group's member list (JSON, audited). Its bindings,
// subscriptions, forwarding and mailbox go by ON DELETE CASCADE.
//
// The HA1 values are stored sealed (secret-box.ts): an HA1 is all a digest
// response needs (RFC 7616 §3.4.2), so a copy of the database must not carry
// it in clear. Each is sealed for its row and algorithm.
import type { Selectable } from "kysely";
import {
  type Extension,
  type ExtensionPatch,
  type ExtensionRepository,
  type Language,
  type NewExtension,
  type RingGroup,
  StoreConflict,
} from "../types.ts";
import {
  DEFAULT_MAX_CALLS,
  DEFAULT_NO_ANSWER_SECONDS,
  DEFAULT_RING_GROUP_STRATEGY,
  DEFAULT_RING_TIMEOUT_SECONDS,
} from "./defaults.ts";
import { cachedRead, cacheKey } from "./read-cache.ts";
import type { ExtensionsTable, RingGroupsTable } from "./schema.ts";
import { isSealed, type SecretBox } from "./secret-box.ts";
import { appendAudit } from "./sql-audit.ts";
import { bit, constraint, type Db, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";
import { removeConsoleAccess } from "./sql-users.ts";
import { readDestinationSpec, readJson } from "./stored-json.ts";

type ExtensionRow = Selectable<ExtensionsTable>;

/** The context of a sealed HA1: its row and column (the additional authenticated data). */
export function ha1Context(tenant: string, number: string, column: "ha1_md5" | "ha1_sha256"): string {
  return `extension ${tenant}/${number} ${column}`;
}

export function toExtension(r: ExtensionRow, box: SecretBox): Extension {
  const e: Extension = {
    tenant: r.tenant,
    number: r.number,
    displayName: r.display_name,
    ringTimeoutSeconds: Number(r.ring_timeout_seconds),
    noAnswerSeconds: Number(r.no_answer_seconds),
    callWaiting: Number(r.call_waiting) === 1,
    maxCalls: Number(r.max_calls),
    mwiUnsolicited: Number(r.mwi_unsolicited) === 1,
    credentials: {
      realm: r.realm,
      ha1Md5: box.open(r.ha1_md5, ha1Context(r.tenant, r.number, "ha1_md5")),
      ha1Sha256: box.open(r.ha1_sha256, ha1Context(r.tenant, r.number, "ha1_sha256")),
    },
    createdAt: r.created_at,
  };
  if (r.language !== null) e.language = r.language as Language;
  if (r.caller_id !== null) e.callerId = r.caller_id;
  if (r.pickup_group !== null) e.pickupGroup = r.pickup_group;
  return e;
}

function extensionRow(e: Extension, box: SecretBox): ExtensionRow {
  return {
    tenant: e.tenant,
    number: e.number,
    display_name: e.displayName,
    language: e.language ?? null,
    ring_timeout_seconds: e.ringTimeoutSeconds,
    no_answer_seconds: e.noAnswerSeconds,
    call_waiting: bit(e.callWaiting),
    max_calls: e.maxCalls,
    caller_id: e.callerId ?? null,
    mwi_unsolicited: bit(e.mwiUnsolicited),
    pickup_group: e.pickupGroup ?? null,
    realm: e.credentials.realm,
    ha1_md5: box.seal(e.credentials.ha1Md5, ha1Context(e.tenant, e.number, "ha1_md5")),
    ha1_sha256: box.seal(e.credentials.ha1Sha256, ha1Context(e.tenant, e.number, "ha1_sha256")),
    created_at: e.createdAt,
  };
}

export class SqlExtensions implements ExtensionRepository {
  constructor(private readonly ctx: SqlContext) {}

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
      createdAt: this.ctx.iso(),
    };
    if (n.language) e.language = n.language;
    if (n.callerId) e.callerId = n.callerId;
    if (n.pickupGroup) e.pickupGroup = n.pickupGroup;
    try {
      await this.ctx.db.insertInto("extensions").values(extensionRow(e, this.ctx.secrets)).execute();
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique")
        throw new StoreConflict(`extension ${e.number} already exists in tenant ${e.tenant}`);
      if (kind === "foreign") throw new StoreConflict(`tenant ${e.tenant} does not exist`);
      throw err;
    }
    return e;
  }

  private one(db: Db, tenant: string, number: string): Promise<ExtensionRow | undefined> {
    return db
      .selectFrom("extensions")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("number", "=", number)
      .executeTakeFirst();
  }

  /** Every INVITE and REGISTER reads it, several times: through the read cache. */
  async get(tenant: string, number: string): Promise<Extension | undefined> {
    const row = await cachedRead(this.ctx, cacheKey("extensions.get", tenant, number), ["extensions"], () =>
      this.one(this.ctx.db, tenant, number),
    );
    return row && toExtension(row, this.ctx.secrets);
  }

  /** Short numbers first, then in order: 20 before 101. */
  async list(tenant: string): Promise<Extension[]> {
    const rows = await this.ctx.db
      .selectFrom("extensions")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy((eb) => eb.fn("length", ["number"]))
      .orderBy("number")
      .execute();
    return rows.map((r) => toExtension(r, this.ctx.secrets));
  }

  async update(tenant: string, number: string, patch: ExtensionPatch): Promise<Extension | undefined> {
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.one(trx, tenant, number);
      if (!row) return undefined;
      const next = toExtension(row, this.ctx.secrets);
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
      const { tenant: _t, number: _n, created_at: _c, ...columns } = extensionRow(next, this.ctx.secrets);
      await trx
        .updateTable("extensions")
        .set(columns)
        .where("tenant", "=", tenant)
        .where("number", "=", number)
        .execute();
      return next;
    });
  }

  /**
   * In one transaction: the row goes (its bindings, subscriptions,
   * forwarding and mailbox by ON DELETE CASCADE), the tenant's operator is
   * cleared when it was this extension, the number leaves the company code
   * list (which stays a restriction, even empty), and it leaves every ring
   * group, each group's change audited by the store's own actor.
   */
  async delete(tenant: string, number: string): Promise<boolean> {
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const result = await trx
        .deleteFrom("extensions")
        .where("tenant", "=", tenant)
        .where("number", "=", number)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await trx
        .updateTable("tenants")
        .set({ operator: null })
        .where("name", "=", tenant)
        .where("operator", "=", number)
        .execute();
      await leaveCompanyCodes(trx, tenant, number);
      await leaveRingGroups(trx, at, tenant, number);
      await removeConsoleAccess(trx, tenant, number);
      return true;
    });
  }
}

/**
 * Seals the HA1 values stored in clear (rows of a vpbx from before sealing),
 * in `trx`; returns how many rows. A hex HA1 never starts like a sealed value
 * does, so the prefix finds them. Each update names the clear value it read:
 * a node sealing the same row at the same time is not sealed over.
 */
export async function sealPlainExtensions(trx: Db, box: SecretBox): Promise<number> {
  const rows = await trx
    .selectFrom("extensions")
    .select(["tenant", "number", "ha1_md5", "ha1_sha256"])
    .where((eb) => eb.or([eb("ha1_md5", "not like", "v1:%"), eb("ha1_sha256", "not like", "v1:%")]))
    .execute();
  let sealed = 0;
  for (const r of rows) {
    const seal = (value: string, column: "ha1_md5" | "ha1_sha256") =>
      isSealed(value) ? value : box.seal(value, ha1Context(r.tenant, r.number, column));
    const result = await trx
      .updateTable("extensions")
      .set({ ha1_md5: seal(r.ha1_md5, "ha1_md5"), ha1_sha256: seal(r.ha1_sha256, "ha1_sha256") })
      .where("tenant", "=", r.tenant)
      .where("number", "=", r.number)
      .where("ha1_md5", "=", r.ha1_md5)
      .where("ha1_sha256", "=", r.ha1_sha256)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}

/**
 * Removes `number` from the tenant's `companyCodes.extensions`, keeping every
 * other key as stored. A damaged column is left alone (it reads as nobody
 * already) rather than blocking the deletion.
 */
async function leaveCompanyCodes(trx: Db, tenant: string, number: string): Promise<void> {
  const row = await trx
    .selectFrom("tenants")
    .select("company_codes")
    .where("name", "=", tenant)
    .executeTakeFirst();
  if (!row) return;
  const stored = readJson(row.company_codes, "company codes");
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return;
  const listed = (stored as Record<string, unknown>).extensions;
  if (!Array.isArray(listed) || !listed.includes(number)) return;
  const next = { ...stored, extensions: listed.filter((e) => e !== number) };
  await trx
    .updateTable("tenants")
    .set({ company_codes: JSON.stringify(next) })
    .where("name", "=", tenant)
    .execute();
}

const STRATEGIES: readonly RingGroup["strategy"][] = ["simultaneous", "sequential"];

/**
 * Takes `number` out of every ring group of the tenant that lists it, in
 * name order, each change audited as "ringgroup.update" (old → new, as the
 * ring group repository audits its own updates). A damaged member list
 * lists nobody and blocks no deletion.
 */
async function leaveRingGroups(trx: Db, at: string, tenant: string, number: string): Promise<void> {
  const rows = await trx
    .selectFrom("ring_groups")
    .selectAll()
    .where("tenant", "=", tenant)
    .orderBy("name")
    .execute();
  for (const row of rows) {
    const current = readRingGroup(row);
    if (!current.members.includes(number)) continue;
    const next = { ...current, members: current.members.filter((m) => m !== number) };
    await trx
      .updateTable("ring_groups")
      .set({
        members: JSON.stringify(next.members),
        strategy: next.strategy,
        timeout: next.timeout,
        member_timeout: next.memberTimeout,
        fallback: JSON.stringify(next.fallback),
      })
      .where("tenant", "=", tenant)
      .where("name", "=", row.name)
      .execute();
    await appendAudit(trx, at, {
      tenant,
      actor: UNNAMED_ACTOR,
      action: "ringgroup.update",
      subject: row.name,
      old: current,
      new: next,
    });
  }
}

/** What a ring group row says, read as the ring group repository reads it, in the audit log's shape. */
function readRingGroup(r: Selectable<RingGroupsTable>) {
  const members = readJson(r.members, "ring group members");
  return {
    members: Array.isArray(members) ? members.filter((m): m is string => typeof m === "string") : [],
    strategy: STRATEGIES.includes(r.strategy as RingGroup["strategy"])
      ? (r.strategy as RingGroup["strategy"])
      : DEFAULT_RING_GROUP_STRATEGY,
    timeout: Number(r.timeout),
    memberTimeout: Number(r.member_timeout),
    fallback: readDestinationSpec(r.fallback, `ring group ${r.name} fallback`),
  };
}
