// The call history over Kysely, for SQLite and PostgreSQL alike: one row per
// call of a tenant, written when the call ended (src/pbx/call/call-history.ts),
// listed newest first with a cursor, purged by age.
//
// Written on the soft-state connection (SQLite synchronous=NORMAL): a row
// per ended call must not cost an fsync (at a few hundred calls a second it
// would stall the event loop), and a power cut losing the last records of
// the history is acceptable where losing a confirmed setting is not. The
// writer sends the records that queued up together (addMany): one commit for
// many calls.
import { sql } from "kysely";
import {
  CALL_HISTORY_LIMIT_DEFAULT,
  CALL_HISTORY_LIMIT_MAX,
  type CallDirection,
  type CallHistoryFilter,
  type CallHistoryRepository,
  type CallOutcome,
  type CallRecord,
} from "../types.ts";
import type { CallHistoryTable } from "./schema.ts";
import type { Db, SqlContext } from "./sql-context.ts";
import { readJson } from "./stored-json.ts";

/**
 * Rows per INSERT at most: 15 parameters each, far below SQLite's limit of
 * 32,766 parameters per statement and PostgreSQL's 65,535.
 */
const ROWS_PER_INSERT = 500;

export class SqlCallHistory implements CallHistoryRepository {
  constructor(private readonly ctx: SqlContext) {}

  async add(record: CallRecord): Promise<void> {
    await this.ctx.soft.insertInto("call_history").values(rowOf(record)).execute();
  }

  async addMany(records: readonly CallRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map(rowOf);
    if (rows.length <= ROWS_PER_INSERT) {
      await this.ctx.soft.insertInto("call_history").values(rows).execute();
      return;
    }
    await this.ctx.soft.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await trx
          .insertInto("call_history")
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .execute();
      }
    });
  }

  async list(tenant: string, filter: CallHistoryFilter = {}): Promise<CallRecord[]> {
    const limit = Math.min(
      Math.max(1, Math.trunc(filter.limit ?? CALL_HISTORY_LIMIT_DEFAULT)),
      CALL_HISTORY_LIMIT_MAX,
    );
    let q = this.ctx.soft.selectFrom("call_history").selectAll().where("tenant", "=", tenant);
    if (filter.from !== undefined) q = q.where("started_at", ">=", Math.trunc(filter.from));
    if (filter.to !== undefined) q = q.where("started_at", "<", Math.trunc(filter.to));
    if (filter.outcome !== undefined) q = q.where("outcome", "=", filter.outcome);
    if (filter.direction !== undefined) q = q.where("direction", "=", filter.direction);
    const extension = filter.extension;
    if (extension !== undefined) {
      // The JSON list holds each number quoted: `"101"` matches 101 and never 1010.
      const pattern = `%${likeEscape(JSON.stringify(extension))}%`;
      q = q.where((eb) =>
        eb.or([
          eb("caller", "=", extension),
          eb("dialled", "=", extension),
          eb("destination", "=", extension),
          sql<boolean>`${sql.ref("extensions")} like ${pattern} escape '!'`,
        ]),
      );
    }
    const before = filter.before;
    if (before !== undefined) {
      const at = Math.trunc(before.startedAt);
      q = q.where((eb) =>
        eb.or([eb("started_at", "<", at), eb.and([eb("started_at", "=", at), eb("id", "<", before.id)])]),
      );
    }
    const rows = await q.orderBy("started_at", "desc").orderBy("id", "desc").limit(limit).execute();
    return rows.map(recordOf);
  }

  async purge(before: number): Promise<number> {
    const r = await this.ctx.soft
      .deleteFrom("call_history")
      .where("started_at", "<", Math.trunc(before))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/**
 * Deletes a tenant's whole history, in `trx` (the tenant's deletion: the
 * table has no foreign key, so that a call's record does not hold its
 * tenant; a company made again under the same name must not see the calls
 * of the one deleted). Returns how many.
 */
export async function removeCallHistory(trx: Db, tenant: string): Promise<number> {
  const r = await trx.deleteFrom("call_history").where("tenant", "=", tenant).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** LIKE's wildcards taken literally (the escape character is `!`, the same on both engines). */
function likeEscape(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

function rowOf(record: CallRecord): CallHistoryTable {
  return {
    id: record.id,
    tenant: record.tenant,
    call_id: record.callId,
    direction: record.direction,
    started_at: Math.trunc(record.startedAt),
    answered_at: record.answeredAt === undefined ? null : Math.trunc(record.answeredAt),
    ended_at: Math.trunc(record.endedAt),
    caller: record.caller,
    caller_name: record.callerName ?? null,
    dialled: record.dialled,
    destination: record.destination ?? null,
    outcome: record.outcome,
    forwarded_to: record.forwardedTo ?? null,
    trunk: record.trunk ?? null,
    extensions: JSON.stringify(record.extensions),
  };
}

function recordOf(r: CallHistoryTable): CallRecord {
  const extensions = readJson(r.extensions, "call_history.extensions");
  return {
    id: r.id,
    tenant: r.tenant,
    callId: r.call_id,
    direction: r.direction as CallDirection,
    startedAt: Number(r.started_at),
    ...(r.answered_at === null ? {} : { answeredAt: Number(r.answered_at) }),
    endedAt: Number(r.ended_at),
    caller: r.caller,
    ...(r.caller_name === null ? {} : { callerName: r.caller_name }),
    dialled: r.dialled,
    ...(r.destination === null ? {} : { destination: r.destination }),
    outcome: r.outcome as CallOutcome,
    ...(r.forwarded_to === null ? {} : { forwardedTo: r.forwarded_to }),
    ...(r.trunk === null ? {} : { trunk: r.trunk }),
    extensions: Array.isArray(extensions) ? extensions.filter((e): e is string => typeof e === "string") : [],
  };
}
