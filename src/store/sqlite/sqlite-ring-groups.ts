// Ring groups in SQLite, on the synchronous=FULL connection of the settings.
// Each write is audited in its own transaction ("ringgroup.create",
// "ringgroup.update", "ringgroup.delete"; subject: the group's name).
// Integrity the foreign keys cannot express is kept here: members are
// extensions of the tenant, a deleted extension leaves every member list
// (removeMember, called inside SqliteExtensions.delete), and a group that a
// number, the schedule, the call flow or another group's fallback names
// cannot be deleted.
import type Database from "better-sqlite3";
import {
  type Actor,
  type DestinationSpec,
  type NewRingGroup,
  type RingGroup,
  type RingGroupPatch,
  type RingGroupRepository,
  StoreConflict,
} from "../types.ts";
import { constraint, sameJson, UNNAMED_ACTOR } from "./sqlite-common.ts";
import type { AuditWriter } from "./sqlite-voicemail.ts";
import { readCallFlow, readDestinationSpec, readJson, readSchedule } from "./stored-json.ts";

export const DEFAULT_RING_GROUP_STRATEGY: RingGroup["strategy"] = "simultaneous";
/** Seconds a group rings in all before its fallback takes the call. */
export const DEFAULT_RING_GROUP_TIMEOUT = 60;
/** Seconds each member of a sequential group rings. */
export const DEFAULT_RING_GROUP_MEMBER_TIMEOUT = 20;
export const DEFAULT_RING_GROUP_FALLBACK: DestinationSpec = { type: "hangup" };

const STRATEGIES: readonly RingGroup["strategy"][] = ["simultaneous", "sequential"];

interface RingGroupRow {
  tenant: string;
  name: string;
  members: string;
  strategy: string;
  timeout: number;
  member_timeout: number;
  fallback: string;
  created_at: string;
}

function toRingGroup(r: RingGroupRow): RingGroup {
  const members = readJson(r.members, "ring group members");
  return {
    tenant: r.tenant,
    name: r.name,
    members: Array.isArray(members) ? members.filter((m): m is string => typeof m === "string") : [],
    strategy: STRATEGIES.includes(r.strategy as RingGroup["strategy"])
      ? (r.strategy as RingGroup["strategy"])
      : DEFAULT_RING_GROUP_STRATEGY,
    timeout: r.timeout,
    memberTimeout: r.member_timeout,
    fallback: readDestinationSpec(r.fallback, `ring group ${r.name} fallback`),
    createdAt: r.created_at,
  };
}

function ringGroupRow(g: RingGroup): RingGroupRow {
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

/** Does `d` (or the destination after its announcement) send calls to group `name`? */
export function namesRingGroup(d: DestinationSpec | undefined, name: string): boolean {
  if (d === undefined) return false;
  if (d.type === "ring-group") return d.name === name;
  if (d.type === "announcement") return namesRingGroup(d.then, name);
  return false;
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

export class SqliteRingGroups implements RingGroupRepository {
  private readonly insert;
  private readonly one;
  private readonly ofTenant;
  private readonly withMember;
  private readonly write;
  private readonly remove;
  private readonly tenantExists;
  private readonly extensionExists;
  private readonly numbersOf;
  private readonly flowOf;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
    private readonly audit: AuditWriter,
  ) {
    this.insert = db.prepare(
      `INSERT INTO ring_groups (tenant, name, members, strategy, timeout, member_timeout, fallback, created_at)
       VALUES (@tenant, @name, @members, @strategy, @timeout, @member_timeout, @fallback, @created_at)`,
    );
    this.one = db.prepare<[string, string], RingGroupRow>(
      "SELECT * FROM ring_groups WHERE tenant = ? AND name = ?",
    );
    this.ofTenant = db.prepare<[string], RingGroupRow>(
      "SELECT * FROM ring_groups WHERE tenant = ? ORDER BY name",
    );
    this.withMember = db.prepare<[string, string], RingGroupRow>(
      `SELECT * FROM ring_groups WHERE tenant = ?
         AND EXISTS (SELECT 1 FROM json_each(
           -- A damaged list must not block the extension's deletion.
           CASE WHEN json_valid(ring_groups.members) THEN ring_groups.members ELSE '[]' END
         ) WHERE value = ?)
       ORDER BY name`,
    );
    this.write = db.prepare(
      `UPDATE ring_groups SET members = @members, strategy = @strategy, timeout = @timeout,
         member_timeout = @member_timeout, fallback = @fallback WHERE tenant = @tenant AND name = @name`,
    );
    this.remove = db.prepare("DELETE FROM ring_groups WHERE tenant = ? AND name = ?");
    this.tenantExists = db.prepare<[string], { one: number }>("SELECT 1 AS one FROM tenants WHERE name = ?");
    this.extensionExists = db.prepare<[string, string], { one: number }>(
      "SELECT 1 AS one FROM extensions WHERE tenant = ? AND number = ?",
    );
    this.numbersOf = db.prepare<[string], { number: string; destination: string }>(
      "SELECT number, destination FROM numbers WHERE tenant = ? ORDER BY id",
    );
    this.flowOf = db.prepare<[string], { schedule: string | null; call_flow: string | null }>(
      "SELECT schedule, call_flow FROM company_flow WHERE tenant = ?",
    );
  }

  private checkMembers(g: RingGroup): void {
    const strangers = g.members.filter((m) => !this.extensionExists.get(g.tenant, m));
    if (strangers.length > 0) {
      throw new StoreConflict(
        `${strangers.length === 1 ? "member" : "members"} ${strangers.join(", ")} ${strangers.length === 1 ? "is not an extension" : "are not extensions"} of tenant ${g.tenant}`,
      );
    }
  }

  /**
   * StoreConflict when the tenant does not exist, the name is taken or a
   * member is not an extension of the tenant; RangeError for a malformed
   * group (unknown strategy, timeouts not whole seconds >= 1, a member twice).
   */
  async create(n: NewRingGroup, actor: Actor = UNNAMED_ACTOR): Promise<RingGroup> {
    const g: RingGroup = {
      tenant: n.tenant,
      name: n.name,
      members: [...n.members],
      strategy: n.strategy ?? DEFAULT_RING_GROUP_STRATEGY,
      timeout: n.timeout ?? DEFAULT_RING_GROUP_TIMEOUT,
      memberTimeout: n.memberTimeout ?? DEFAULT_RING_GROUP_MEMBER_TIMEOUT,
      fallback: structuredClone(n.fallback ?? DEFAULT_RING_GROUP_FALLBACK),
      createdAt: this.iso(),
    };
    checkShape(g);
    try {
      this.db.transaction(() => {
        if (!this.tenantExists.get(g.tenant)) throw new StoreConflict(`tenant ${g.tenant} does not exist`);
        this.checkMembers(g);
        this.insert.run(ringGroupRow(g));
        this.audit.write({
          tenant: g.tenant,
          actor,
          action: "ringgroup.create",
          subject: g.name,
          old: null,
          new: audited(g),
        });
      })();
    } catch (err) {
      if (constraint(err) === "unique") {
        throw new StoreConflict(`ring group ${g.name} already exists in tenant ${g.tenant}`);
      }
      throw err;
    }
    return g;
  }

  async get(tenant: string, name: string): Promise<RingGroup | undefined> {
    const row = this.one.get(tenant, name);
    return row && toRingGroup(row);
  }

  /** By name. */
  async list(tenant: string): Promise<RingGroup[]> {
    return this.ofTenant.all(tenant).map(toRingGroup);
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
    return this.db.transaction(() => {
      const row = this.one.get(tenant, name);
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
      if (patch.members !== undefined) this.checkMembers(next);
      if (sameJson(current, next)) return next;
      this.write.run(ringGroupRow(next));
      this.audit.write({
        tenant,
        actor,
        action: "ringgroup.update",
        subject: name,
        old: audited(current),
        new: audited(next),
      });
      return next;
    })();
  }

  /** StoreConflict, naming every user, while a number, the schedule, the call flow or another group names it. */
  async delete(tenant: string, name: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.one.get(tenant, name);
      if (!row) return false;
      const users = this.usersOf(tenant, name);
      if (users.length > 0) {
        throw new StoreConflict(
          `ring group ${name} is used by ${users.join(", ")}: send ${users.length === 1 ? "it" : "them"} elsewhere first`,
        );
      }
      this.remove.run(tenant, name);
      this.audit.write({
        tenant,
        actor,
        action: "ringgroup.delete",
        subject: name,
        old: audited(toRingGroup(row)),
        new: null,
      });
      return true;
    })();
  }

  /** Who sends calls to the group: "number +41…", "schedule mode open", "call flow state vacation", "ring group x (fallback)". */
  private usersOf(tenant: string, name: string): string[] {
    const users: string[] = [];
    for (const n of this.numbersOf.all(tenant)) {
      if (namesRingGroup(readDestinationSpec(n.destination), name)) users.push(`number ${n.number}`);
    }
    const flow = this.flowOf.get(tenant);
    const schedule = readSchedule(flow?.schedule ?? null);
    for (const [mode, m] of Object.entries(schedule?.modes ?? {})) {
      if (namesRingGroup(m.destination, name)) users.push(`schedule mode ${mode}`);
    }
    const callFlow = readCallFlow(flow?.call_flow ?? null);
    for (const [state, s] of Object.entries(callFlow?.states ?? {})) {
      if (namesRingGroup(s.destination, name)) users.push(`call flow state ${state}`);
    }
    for (const other of this.ofTenant.all(tenant)) {
      if (other.name === name) continue; // falling back to itself does not keep it alive
      if (namesRingGroup(toRingGroup(other).fallback, name))
        users.push(`ring group ${other.name} (fallback)`);
    }
    return users;
  }

  /**
   * An extension is going: it leaves every group of its tenant, each change
   * audited. Synchronous, for SqliteExtensions.delete to call inside its
   * transaction (the deletion and the member lists commit together).
   */
  removeMember(tenant: string, extension: string, actor: Actor = UNNAMED_ACTOR): void {
    for (const row of this.withMember.all(tenant, extension)) {
      const current = toRingGroup(row);
      const next: RingGroup = { ...current, members: current.members.filter((m) => m !== extension) };
      this.write.run(ringGroupRow(next));
      this.audit.write({
        tenant,
        actor,
        action: "ringgroup.update",
        subject: current.name,
        old: audited(current),
        new: audited(next),
      });
    }
  }
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
