// Ring groups over Kysely (SQLite or PostgreSQL), on the settings-grade
// database. Each write is audited in its own transaction ("ringgroup.create",
// "ringgroup.update", "ringgroup.delete"; subject: the group's name).
// Integrity the foreign keys cannot express is kept here: members are
// extensions of the tenant, and a group that a number, the schedule, the call
// flow or another group's fallback names cannot be deleted. (A deleted
// extension leaves every member list in SqlExtensions.delete.)

import {
  type Actor,
  type DestinationSpec,
  type NewRingGroup,
  type RingGroup,
  type RingGroupPatch,
  type RingGroupRepository,
  StoreConflict,
} from "../types.ts";
import {
  DEFAULT_RING_GROUP_FALLBACK,
  DEFAULT_RING_GROUP_MEMBER_TIMEOUT,
  DEFAULT_RING_GROUP_STRATEGY,
  DEFAULT_RING_GROUP_TIMEOUT,
} from "./defaults.ts";
import type { RingGroupsTable } from "./schema.ts";
import { appendAudit } from "./sql-audit.ts";
import { constraint, type Db, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";
import { readCallFlow, readDestinationSpec, readJson, readSchedule, sameJson } from "./stored-json.ts";

const STRATEGIES: readonly RingGroup["strategy"][] = ["simultaneous", "sequential"];

function toRingGroup(r: RingGroupsTable): RingGroup {
  const members = readJson(r.members, "ring group members");
  return {
    tenant: r.tenant,
    name: r.name,
    members: Array.isArray(members) ? members.filter((m): m is string => typeof m === "string") : [],
    strategy: STRATEGIES.includes(r.strategy as RingGroup["strategy"])
      ? (r.strategy as RingGroup["strategy"])
      : DEFAULT_RING_GROUP_STRATEGY,
    timeout: Number(r.timeout),
    memberTimeout: Number(r.member_timeout),
    fallback: readDestinationSpec(r.fallback, `ring group ${r.name} fallback`),
    createdAt: r.created_at,
  };
}

function ringGroupRow(g: RingGroup): RingGroupsTable {
  return {
    tenant: g.tenant,
    name: g.name,
    members: JSON.stringify(g.members),
    strategy: g.strategy,
    timeout: g.timeout,
    member_timeout: g.memberTimeout,
    fallback: JSON.stringify(g.fallback),
    created_at: g.createdAt,
  };
}

const isSeconds = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** RangeError for what the API validates first: the store never keeps a group it could not ring. */
function checkShape(g: RingGroup): void {
  if (g.name === "") throw new RangeError("a ring group needs a name");
  if (!STRATEGIES.includes(g.strategy)) {
    throw new RangeError(`ring group strategy ${String(g.strategy)} is not simultaneous or sequential`);
  }
  if (!isSeconds(g.timeout))
    throw new RangeError(`ring group timeout ${g.timeout} is not a whole number >= 1`);
  if (!isSeconds(g.memberTimeout)) {
    throw new RangeError(`ring group memberTimeout ${g.memberTimeout} is not a whole number >= 1`);
  }
  if (!Array.isArray(g.members) || g.members.some((m) => typeof m !== "string")) {
    throw new RangeError("ring group members must be a list of extension numbers");
  }
  const twice = g.members.find((m, i) => g.members.indexOf(m) !== i);
  if (twice !== undefined) throw new RangeError(`extension ${twice} is listed twice in ring group ${g.name}`);
}

/** What the audit log keeps of a group: everything but the keys already in the event. */
function audited(g: RingGroup) {
  return {
    members: g.members,
    strategy: g.strategy,
    timeout: g.timeout,
    memberTimeout: g.memberTimeout,
    fallback: g.fallback,
  };
}

function one(db: Db, tenant: string, name: string): Promise<RingGroupsTable | undefined> {
  return db
    .selectFrom("ring_groups")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("name", "=", name)
    .executeTakeFirst();
}

function ofTenant(db: Db, tenant: string): Promise<RingGroupsTable[]> {
  return db.selectFrom("ring_groups").selectAll().where("tenant", "=", tenant).orderBy("name").execute();
}

/** StoreConflict naming every member that is not an extension of the group's tenant. */
async function checkMembers(db: Db, g: RingGroup): Promise<void> {
  if (g.members.length === 0) return;
  const known = new Set(
    (
      await db
        .selectFrom("extensions")
        .select("number")
        .where("tenant", "=", g.tenant)
        .where("number", "in", g.members)
        .execute()
    ).map((r) => r.number),
  );
  const strangers = g.members.filter((m) => !known.has(m));
  if (strangers.length > 0) {
    throw new StoreConflict(
      `${strangers.length === 1 ? "member" : "members"} ${strangers.join(", ")} ${strangers.length === 1 ? "is not an extension" : "are not extensions"} of tenant ${g.tenant}`,
    );
  }
}

/** Who sends calls to the group: "number +41…", "schedule mode open", "call flow state vacation", "ring group x (fallback)". */
async function usersOf(db: Db, tenant: string, name: string): Promise<string[]> {
  const users: string[] = [];
  const numbers = await db
    .selectFrom("numbers")
    .select(["number", "destination"])
    .where("tenant", "=", tenant)
    .orderBy("id")
    .execute();
  for (const n of numbers) {
    if (namesRingGroup(readDestinationSpec(n.destination), name)) users.push(`number ${n.number}`);
  }
  const flow = await db
    .selectFrom("company_flow")
    .select(["schedule", "call_flow"])
    .where("tenant", "=", tenant)
    .executeTakeFirst();
  const schedule = readSchedule(flow?.schedule ?? null);
  for (const [mode, m] of Object.entries(schedule?.modes ?? {})) {
    if (namesRingGroup(m.destination, name)) users.push(`schedule mode ${mode}`);
  }
  const callFlow = readCallFlow(flow?.call_flow ?? null);
  for (const [state, s] of Object.entries(callFlow?.states ?? {})) {
    if (namesRingGroup(s.destination, name)) users.push(`call flow state ${state}`);
  }
  for (const other of await ofTenant(db, tenant)) {
    if (other.name === name) continue; // falling back to itself does not keep it alive
    if (namesRingGroup(toRingGroup(other).fallback, name)) users.push(`ring group ${other.name} (fallback)`);
  }
  return users;
}

export class SqlRingGroups implements RingGroupRepository {
  constructor(private readonly ctx: SqlContext) {}

  /**
   * StoreConflict when the tenant does not exist, the name is taken or a
   * member is not an extension of the tenant; RangeError for a malformed
   * group (unknown strategy, timeouts not whole seconds >= 1, a member twice).
   */
  async create(n: NewRingGroup, actor: Actor = UNNAMED_ACTOR): Promise<RingGroup> {
    const at = this.ctx.iso();
    const g: RingGroup = {
      tenant: n.tenant,
      name: n.name,
      members: [...n.members],
      strategy: n.strategy ?? DEFAULT_RING_GROUP_STRATEGY,
      timeout: n.timeout ?? DEFAULT_RING_GROUP_TIMEOUT,
      memberTimeout: n.memberTimeout ?? DEFAULT_RING_GROUP_MEMBER_TIMEOUT,
      fallback: structuredClone(n.fallback ?? DEFAULT_RING_GROUP_FALLBACK),
      createdAt: at,
    };
    checkShape(g);
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        const tenant = await trx
          .selectFrom("tenants")
          .select("name")
          .where("name", "=", g.tenant)
          .executeTakeFirst();
        if (!tenant) throw new StoreConflict(`tenant ${g.tenant} does not exist`);
        await checkMembers(trx, g);
        await trx.insertInto("ring_groups").values(ringGroupRow(g)).execute();
        await appendAudit(trx, at, {
          tenant: g.tenant,
          actor,
          action: "ringgroup.create",
          subject: g.name,
          old: null,
          new: audited(g),
        });
      });
    } catch (err) {
      if (constraint(err) === "unique") {
        throw new StoreConflict(`ring group ${g.name} already exists in tenant ${g.tenant}`);
      }
      throw err;
    }
    return g;
  }

  async get(tenant: string, name: string): Promise<RingGroup | undefined> {
    const row = await one(this.ctx.db, tenant, name);
    return row && toRingGroup(row);
  }

  /** By name. */
  async list(tenant: string): Promise<RingGroup[]> {
    return (await ofTenant(this.ctx.db, tenant)).map(toRingGroup);
  }

  /**
   * Undefined when there is no such group. StoreConflict when a member is not
   * an extension of the tenant; RangeError as for create. A patch that
   * changes nothing writes no audit event.
   */
  async update(
    tenant: string,
    name: string,
    patch: RingGroupPatch,
    actor: Actor = UNNAMED_ACTOR,
  ): Promise<RingGroup | undefined> {
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, tenant, name);
      if (!row) return undefined;
      const current = toRingGroup(row);
      const next: RingGroup = {
        ...current,
        members: [...(patch.members ?? current.members)],
        strategy: patch.strategy ?? current.strategy,
        timeout: patch.timeout ?? current.timeout,
        memberTimeout: patch.memberTimeout ?? current.memberTimeout,
        fallback: structuredClone(patch.fallback ?? current.fallback),
      };
      checkShape(next);
      if (patch.members !== undefined) await checkMembers(trx, next);
      if (sameJson(current, next)) return next;
      const { tenant: _t, name: _n, created_at: _c, ...changed } = ringGroupRow(next);
      await trx
        .updateTable("ring_groups")
        .set(changed)
        .where("tenant", "=", tenant)
        .where("name", "=", name)
        .execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "ringgroup.update",
        subject: name,
        old: audited(current),
        new: audited(next),
      });
      return next;
    });
  }

  /**
   * StoreConflict, naming every user, while a number, a schedule mode, a call
   * flow state or another group's fallback sends calls to it (directly or
   * after an announcement).
   */
  async delete(tenant: string, name: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, tenant, name);
      if (!row) return false;
      const users = await usersOf(trx, tenant, name);
      if (users.length > 0) {
        throw new StoreConflict(
          `ring group ${name} is used by ${users.join(", ")}: send ${users.length === 1 ? "it" : "them"} elsewhere first`,
        );
      }
      await trx.deleteFrom("ring_groups").where("tenant", "=", tenant).where("name", "=", name).execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "ringgroup.delete",
        subject: name,
        old: audited(toRingGroup(row)),
        new: null,
      });
      return true;
    });
  }
}

/** Does `d` (or the destination after its announcement) send calls to group `name`? */
export function namesRingGroup(d: DestinationSpec | undefined, name: string): boolean {
  if (d === undefined) return false;
  if (d.type === "ring-group") return d.name === name;
  if (d.type === "announcement") return namesRingGroup(d.then, name);
  return false;
}
