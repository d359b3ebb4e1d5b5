// What is known of a company's own audio (the four announcements of
// `*30`-`*33`, music for waiting callers) over Kysely (SQLite or PostgreSQL),
// on the settings-grade database. The audio itself is a file in the data
// directory, written and renamed by the company service before the row that
// announces it, so a committed row always has its file. Every write is
// audited in its own transaction ("announcement.set", "announcement.reset";
// subject: the kind).

import {
  type Actor,
  type CompanyAudio,
  type CompanyAudioKind,
  type CompanyAudioRepository,
  StoreConflict,
} from "../types.ts";
import { COMPANY_AUDIO_KINDS } from "./defaults.ts";
import type { CompanyAudioTable } from "./schema.ts";
import { appendAudit } from "./sql-audit.ts";
import { constraint, type Db, type SqlContext } from "./sql-context.ts";

const SOURCES: readonly CompanyAudio["source"][] = ["recording", "upload", "text"];

function toAudio(r: CompanyAudioTable): CompanyAudio {
  const a: CompanyAudio = {
    tenant: r.tenant,
    kind: r.kind as CompanyAudioKind,
    source: r.source as CompanyAudio["source"],
    durationMs: Number(r.duration_ms),
    updatedAt: r.updated_at,
  };
  if (r.text !== null) a.text = r.text;
  return a;
}

/** What the audit log keeps: everything but the keys already in the event. */
function audited(a: CompanyAudio | undefined) {
  if (!a) return null;
  return { source: a.source, text: a.text ?? null, durationMs: a.durationMs, updatedAt: a.updatedAt };
}

function checkKind(kind: CompanyAudioKind): void {
  if (!COMPANY_AUDIO_KINDS.includes(kind)) {
    throw new RangeError(`company audio ${String(kind)} is not one of ${COMPANY_AUDIO_KINDS.join(", ")}`);
  }
}

function one(db: Db, tenant: string, kind: string): Promise<CompanyAudioTable | undefined> {
  return db
    .selectFrom("company_audio")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("kind", "=", kind)
    .executeTakeFirst();
}

export class SqlCompanyAudio implements CompanyAudioRepository {
  constructor(private readonly ctx: SqlContext) {}

  async get(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined> {
    const row = await one(this.ctx.db, tenant, kind);
    return row && toAudio(row);
  }

  /** In the order of COMPANY_AUDIO_KINDS (welcome, waiting, closed, vacation, music). */
  async list(tenant: string): Promise<CompanyAudio[]> {
    const order = (a: CompanyAudio) => COMPANY_AUDIO_KINDS.indexOf(a.kind);
    const rows = await this.ctx.db
      .selectFrom("company_audio")
      .selectAll()
      .where("tenant", "=", tenant)
      .execute();
    return rows.map(toAudio).sort((a, b) => order(a) - order(b));
  }

  /**
   * Inserts or replaces (a new recording always counts as a change: the
   * file is new). StoreConflict on an unknown tenant; RangeError for an
   * unknown kind or source, or a duration that is not whole milliseconds >= 0.
   */
  async set(audio: Omit<CompanyAudio, "updatedAt">, actor: Actor): Promise<CompanyAudio> {
    checkKind(audio.kind);
    if (!SOURCES.includes(audio.source)) {
      throw new RangeError(
        `company audio source ${String(audio.source)} is not one of ${SOURCES.join(", ")}`,
      );
    }
    if (!Number.isSafeInteger(audio.durationMs) || audio.durationMs < 0) {
      throw new RangeError(`company audio duration ${audio.durationMs} is not whole milliseconds >= 0`);
    }
    const at = this.ctx.iso();
    const saved: CompanyAudio = {
      tenant: audio.tenant,
      kind: audio.kind,
      source: audio.source,
      durationMs: audio.durationMs,
      updatedAt: at,
    };
    if (audio.text !== undefined) saved.text = audio.text;
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        const row = await one(trx, saved.tenant, saved.kind);
        await trx
          .insertInto("company_audio")
          .values({
            tenant: saved.tenant,
            kind: saved.kind,
            source: saved.source,
            text: saved.text ?? null,
            duration_ms: saved.durationMs,
            updated_at: saved.updatedAt,
          })
          .onConflict((oc) =>
            oc.columns(["tenant", "kind"]).doUpdateSet((eb) => ({
              source: eb.ref("excluded.source"),
              text: eb.ref("excluded.text"),
              duration_ms: eb.ref("excluded.duration_ms"),
              updated_at: eb.ref("excluded.updated_at"),
            })),
          )
          .execute();
        await appendAudit(trx, at, {
          tenant: saved.tenant,
          actor,
          action: "announcement.set",
          subject: saved.kind,
          old: audited(row && toAudio(row)),
          new: audited(saved),
        });
      });
    } catch (err) {
      if (constraint(err) === "foreign") throw new StoreConflict(`tenant ${saved.tenant} does not exist`);
      throw err;
    }
    return saved;
  }

  /** Back to the default; false (and no audit event) when there was nothing to reset. */
  async delete(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean> {
    checkKind(kind);
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, tenant, kind);
      if (!row) return false;
      await trx.deleteFrom("company_audio").where("tenant", "=", tenant).where("kind", "=", kind).execute();
      await appendAudit(trx, at, {
        tenant,
        actor,
        action: "announcement.reset",
        subject: kind,
        old: audited(toAudio(row)),
        new: null,
      });
      return true;
    });
  }
}
