// The inbound flow's settings in SQLite: the schedule, the call flow switch
// (*11) and the schedule's override (*20), on the synchronous=FULL
// connection of the settings: a mode confirmed on the phone ("closed until
// 13:30") survives a power cut. Every write is audited in its own
// transaction ("schedule.update", "schedule.override", "callflow.update").
// What makes a schedule valid (ranges, overlaps, times) is the API's and the
// company service's to check; the store refuses only what it could not read
// back as the same document (RangeError).
import type Database from "better-sqlite3";
import {
  type Actor,
  type CallFlow,
  type CompanyFlowRepository,
  DEFAULT_SCHEDULE,
  type Schedule,
  type ScheduleOverride,
  StoreConflict,
} from "../types.ts";
import { constraint, sameJson } from "./sqlite-common.ts";
import type { AuditWriter } from "./sqlite-voicemail.ts";
import { readCallFlow, readSchedule } from "./stored-json.ts";

interface OverrideRow {
  tenant: string;
  mode: string;
  since: number;
  until: number;
}

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

export class SqliteCompanyFlow implements CompanyFlowRepository {
  private readonly flowOf;
  private readonly upsertSchedule;
  private readonly upsertCallFlow;
  private readonly overrideOf;
  private readonly allOverrides;
  private readonly upsertOverride;
  private readonly removeOverride;

  constructor(
    private readonly db: Database.Database,
    private readonly audit: AuditWriter,
  ) {
    this.flowOf = db.prepare<[string], { schedule: string | null; call_flow: string | null }>(
      "SELECT schedule, call_flow FROM company_flow WHERE tenant = ?",
    );
    this.upsertSchedule = db.prepare(
      `INSERT INTO company_flow (tenant, schedule) VALUES (?, ?)
       ON CONFLICT (tenant) DO UPDATE SET schedule = excluded.schedule`,
    );
    this.upsertCallFlow = db.prepare(
      `INSERT INTO company_flow (tenant, call_flow) VALUES (?, ?)
       ON CONFLICT (tenant) DO UPDATE SET call_flow = excluded.call_flow`,
    );
    this.overrideOf = db.prepare<[string], OverrideRow>(
      "SELECT tenant, mode, since, until FROM schedule_overrides WHERE tenant = ?",
    );
    this.allOverrides = db.prepare<[], OverrideRow>(
      "SELECT tenant, mode, since, until FROM schedule_overrides ORDER BY tenant",
    );
    this.upsertOverride = db.prepare(
      `INSERT INTO schedule_overrides (tenant, mode, since, until) VALUES (@tenant, @mode, @since, @until)
       ON CONFLICT (tenant) DO UPDATE SET mode = excluded.mode, since = excluded.since, until = excluded.until`,
    );
    this.removeOverride = db.prepare("DELETE FROM schedule_overrides WHERE tenant = ?");
  }

  /** Runs `write` in a transaction; a write for an unknown tenant is a StoreConflict. */
  private change(tenant: string, write: () => void): void {
    try {
      this.db.transaction(write)();
    } catch (err) {
      if (constraint(err) === "foreign") throw new StoreConflict(`tenant ${tenant} does not exist`);
      throw err;
    }
  }

  async schedule(tenant: string): Promise<Schedule | undefined> {
    return readSchedule(this.flowOf.get(tenant)?.schedule ?? null);
  }

  /**
   * Replaces the schedule. An override whose mode the new schedule lacks is
   * removed in the same transaction (audited as "schedule.override" → null).
   * The same schedule again writes nothing. RangeError when the default or
   * an entry names a mode the schedule does not have.
   */
  async setSchedule(tenant: string, schedule: Schedule, actor: Actor): Promise<void> {
    checkSchedule(schedule);
    this.change(tenant, () => {
      const old = readSchedule(this.flowOf.get(tenant)?.schedule ?? null) ?? null;
      if (sameJson(old, schedule)) return;
      this.upsertSchedule.run(tenant, JSON.stringify(schedule));
      this.audit.write({ tenant, actor, action: "schedule.update", subject: "schedule", old, new: schedule });
      const override = this.overrideOf.get(tenant);
      if (override && !has(schedule.modes, override.mode)) {
        this.removeOverride.run(tenant);
        this.audit.write({
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
    const row = this.overrideOf.get(tenant);
    return row && { ...row };
  }

  async overrides(): Promise<ScheduleOverride[]> {
    return this.allOverrides.all().map((r) => ({ ...r }));
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
    this.change(tenant, () => {
      const old = this.overrideOf.get(tenant) ?? null;
      if (override === null) {
        if (old === null) return;
        this.removeOverride.run(tenant);
      } else {
        const schedule = readSchedule(this.flowOf.get(tenant)?.schedule ?? null) ?? DEFAULT_SCHEDULE;
        if (!has(schedule.modes, override.mode)) {
          throw new RangeError(`mode ${override.mode} is not a mode of the schedule of tenant ${tenant}`);
        }
        this.upsertOverride.run({
          tenant,
          mode: override.mode,
          since: override.since,
          until: override.until,
        });
      }
      const now = override && { tenant, mode: override.mode, since: override.since, until: override.until };
      this.audit.write({
        tenant,
        actor,
        action: "schedule.override",
        subject: "schedule",
        old: old && { ...old },
        new: now,
      });
    });
  }

  async callFlow(tenant: string): Promise<CallFlow | undefined> {
    return readCallFlow(this.flowOf.get(tenant)?.call_flow ?? null);
  }

  /**
   * Replaces the call flow (`*11` changes `state`). The same flow again
   * writes nothing. RangeError unless there are exactly two states and
   * `state` is one of them.
   */
  async setCallFlow(tenant: string, flow: CallFlow, actor: Actor): Promise<void> {
    checkCallFlow(flow);
    this.change(tenant, () => {
      const old = readCallFlow(this.flowOf.get(tenant)?.call_flow ?? null) ?? null;
      if (sameJson(old, flow)) return;
      this.upsertCallFlow.run(tenant, JSON.stringify(flow));
      this.audit.write({ tenant, actor, action: "callflow.update", subject: "callflow", old, new: flow });
    });
  }
}
