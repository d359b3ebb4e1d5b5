// The inbound flow's settings over Kysely (SQLite or PostgreSQL): the
// schedule, the call flow switch (*11) and the schedule's override (*20), on
// the settings-grade database: a mode confirmed on the phone ("closed until
// 13:30") survives a power cut. Every write is audited in its own
// transaction ("schedule.update", "schedule.override", "callflow.update").
// What makes a schedule valid (ranges, overlaps, times) is the API's and the
// company service's to check; the store refuses only what it could not read
// back as the same document (RangeError).

import {
  type Actor,
  type CallFlow,
  type CompanyFlowRepository,
  DEFAULT_SCHEDULE,
  type Schedule,
  type ScheduleOverride,
  StoreConflict,
} from "../types.ts";
import type { ScheduleOverridesTable } from "./schema.ts";
import { appendAudit } from "./sql-audit.ts";
import { constraint, type Db, type SqlContext } from "./sql-context.ts";
import { readCallFlow, readSchedule, sameJson } from "./stored-json.ts";

const has = (o: object, key: string) => Object.hasOwn(o, key);

function checkSchedule(s: Schedule): void {
  if (typeof s.modes !== "object" || s.modes === null || !has(s.modes, s.default)) {
    throw new RangeError(`schedule default mode ${s.default} is not one of its modes`);
  }
  if (!Array.isArray(s.weekly) || !Array.isArray(s.exceptions)) {
    throw new RangeError("a schedule has a list of weekly ranges and a list of exceptions");
  }
  for (const entry of [...s.weekly, ...s.exceptions]) {
    if (!has(s.modes, entry.mode)) {
      throw new RangeError(`schedule entry ${JSON.stringify(entry)} names unknown mode ${entry.mode}`);
    }
  }
}

function checkCallFlow(f: CallFlow): void {
  const names = typeof f.states === "object" && f.states !== null ? Object.keys(f.states) : [];
  if (names.length !== 2) {
    throw new RangeError(`a call flow has exactly two states, not ${names.length} (${names.join(", ")})`);
  }
  if (!has(f.states, f.state))
    throw new RangeError(`call flow state ${f.state} is not one of ${names.join(", ")}`);
}

/** since/until are BIGINT in PostgreSQL: pg may hand them over as strings. */
function toOverride(r: ScheduleOverridesTable): ScheduleOverride {
  return { tenant: r.tenant, mode: r.mode, since: Number(r.since), until: Number(r.until) };
}

function flowOf(db: Db, tenant: string) {
  return db
    .selectFrom("company_flow")
    .select(["schedule", "call_flow"])
    .where("tenant", "=", tenant)
    .executeTakeFirst();
}

async function overrideOf(db: Db, tenant: string): Promise<ScheduleOverride | undefined> {
  const row = await db
    .selectFrom("schedule_overrides")
    .select(["tenant", "mode", "since", "until"])
    .where("tenant", "=", tenant)
    .executeTakeFirst();
  return row && toOverride(row);
}

export class SqlCompanyFlow implements CompanyFlowRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** Runs `write` in a transaction; a write for an unknown tenant is a StoreConflict. */
  private async change(tenant: string, write: (trx: Db, at: string) => Promise<void>): Promise<void> {
    const at = this.ctx.iso();
    try {
      await this.ctx.db.transaction().execute((trx) => write(trx, at));
    } catch (err) {
      if (constraint(err) === "foreign") throw new StoreConflict(`tenant ${tenant} does not exist`);
      throw err;
    }
  }

  async schedule(tenant: string): Promise<Schedule | undefined> {
    return readSchedule((await flowOf(this.ctx.db, tenant))?.schedule ?? null);
  }

  /**
   * Replaces the schedule. An override whose mode the new schedule lacks is
   * removed in the same transaction (audited as "schedule.override" → null).
   * The same schedule again writes nothing. RangeError when the default or
   * an entry names a mode the schedule does not have.
   */
  async setSchedule(tenant: string, schedule: Schedule, actor: Actor): Promise<void> {
    checkSchedule(schedule);
    await this.change(tenant, async (trx, at) => {
      const old = readSchedule((await flowOf(trx, tenant))?.schedule ?? null) ?? null;
      if (sameJson(old, schedule)) return;
      await trx
        .insertInto("company_flow")
        .values({ tenant, schedule: JSON.stringify(schedule), call_flow: null })
        .onConflict((oc) =>
          oc.column("tenant").doUpdateSet((eb) => ({ schedule: eb.ref("excluded.schedule") })),
        )
        .execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "schedule.update",
        subject: "schedule",
        old,
        new: schedule,
      });
      const override = await overrideOf(trx, tenant);
      if (override && !has(schedule.modes, override.mode)) {
        await trx.deleteFrom("schedule_overrides").where("tenant", "=", tenant).execute();
        await appendAudit(trx, at, {
          tenant,
          actor,
          action: "schedule.override",
          subject: "schedule",
          old: override,
          new: null,
        });
      }
    });
  }

  /** As stored, even when its end has passed (the company service ignores an override that is over). */
  async override(tenant: string): Promise<ScheduleOverride | undefined> {
    return overrideOf(this.ctx.db, tenant);
  }

  async overrides(): Promise<ScheduleOverride[]> {
    const rows = await this.ctx.db
      .selectFrom("schedule_overrides")
      .select(["tenant", "mode", "since", "until"])
      .orderBy("tenant")
      .execute();
    return rows.map(toOverride);
  }

  /**
   * null removes it (nothing to remove writes nothing). RangeError when the
   * override is for another tenant, ends before it starts, or forces a mode
   * that the schedule (the stored one, else DEFAULT_SCHEDULE) does not have.
   */
  async setOverride(tenant: string, override: ScheduleOverride | null, actor: Actor): Promise<void> {
    if (override !== null) {
      if (override.tenant !== tenant) {
        throw new RangeError(`override of tenant ${override.tenant} given for tenant ${tenant}`);
      }
      if (!Number.isSafeInteger(override.since) || !Number.isSafeInteger(override.until)) {
        throw new RangeError("override since and until are milliseconds since the epoch");
      }
      if (override.until <= override.since) {
        throw new RangeError(`override ends (${override.until}) before it starts (${override.since})`);
      }
    }
    await this.change(tenant, async (trx, at) => {
      const old = (await overrideOf(trx, tenant)) ?? null;
      if (override === null) {
        if (old === null) return;
        await trx.deleteFrom("schedule_overrides").where("tenant", "=", tenant).execute();
      } else {
        const schedule = readSchedule((await flowOf(trx, tenant))?.schedule ?? null) ?? DEFAULT_SCHEDULE;
        if (!has(schedule.modes, override.mode)) {
          throw new RangeError(`mode ${override.mode} is not a mode of the schedule of tenant ${tenant}`);
        }
        await trx
          .insertInto("schedule_overrides")
          .values({ tenant, mode: override.mode, since: override.since, until: override.until })
          .onConflict((oc) =>
            oc.column("tenant").doUpdateSet((eb) => ({
              mode: eb.ref("excluded.mode"),
              since: eb.ref("excluded.since"),
              until: eb.ref("excluded.until"),
            })),
          )
          .execute();
      }
      const now = override && { tenant, mode: override.mode, since: override.since, until: override.until };
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "schedule.override",
        subject: "schedule",
        old,
        new: now,
      });
    });
  }

  async callFlow(tenant: string): Promise<CallFlow | undefined> {
    return readCallFlow((await flowOf(this.ctx.db, tenant))?.call_flow ?? null);
  }

  /**
   * Replaces the call flow (`*11` changes `state`). The same flow again
   * writes nothing. RangeError unless there are exactly two states and
   * `state` is one of them.
   */
  async setCallFlow(tenant: string, flow: CallFlow, actor: Actor): Promise<void> {
    checkCallFlow(flow);
    await this.change(tenant, async (trx, at) => {
      const old = readCallFlow((await flowOf(trx, tenant))?.call_flow ?? null) ?? null;
      if (sameJson(old, flow)) return;
      await trx
        .insertInto("company_flow")
        .values({ tenant, schedule: null, call_flow: JSON.stringify(flow) })
        .onConflict((oc) =>
          oc.column("tenant").doUpdateSet((eb) => ({ call_flow: eb.ref("excluded.call_flow") })),
        )
        .execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "callflow.update",
        subject: "callflow",
        old,
        new: flow,
      });
    });
  }
}
