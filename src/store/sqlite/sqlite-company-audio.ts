// What is known of a company's own audio (the four announcements of
// `*30`-`*33`, music for waiting callers), on the synchronous=FULL connection
// of the settings. The audio itself is a file in the data directory, written
// and renamed by the company service before the row that announces it, so a
// committed row always has its file. Every write is audited in its own
// transaction ("announcement.set", "announcement.reset"; subject: the kind).
import type Database from "better-sqlite3";
import {
  type Actor,
  ANNOUNCEMENT_KINDS,
  type CompanyAudio,
  type CompanyAudioKind,
  type CompanyAudioRepository,
  StoreConflict,
} from "../types.ts";
import { constraint } from "./sqlite-common.ts";
import type { AuditWriter } from "./sqlite-voicemail.ts";

export const COMPANY_AUDIO_KINDS: readonly CompanyAudioKind[] = [...ANNOUNCEMENT_KINDS, "music"];
const SOURCES: readonly CompanyAudio["source"][] = ["recording", "upload", "text"];

interface AudioRow {
  tenant: string;
  kind: string;
  source: string;
  text: string | null;
  duration_ms: number;
  updated_at: string;
}

function toAudio(r: AudioRow): CompanyAudio {
  const a: CompanyAudio = {
    tenant: r.tenant,
    kind: r.kind as CompanyAudioKind,
    source: r.source as CompanyAudio["source"],
    durationMs: r.duration_ms,
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

export class SqliteCompanyAudio implements CompanyAudioRepository {
  private readonly one;
  private readonly ofTenant;
  private readonly upsert;
  private readonly remove;

  constructor(
    private readonly db: Database.Database,
    private readonly iso: () => string,
    private readonly audit: AuditWriter,
  ) {
    this.one = db.prepare<[string, string], AudioRow>(
      "SELECT * FROM company_audio WHERE tenant = ? AND kind = ?",
    );
    this.ofTenant = db.prepare<[string], AudioRow>("SELECT * FROM company_audio WHERE tenant = ?");
    this.upsert = db.prepare(
      `INSERT INTO company_audio (tenant, kind, source, text, duration_ms, updated_at)
       VALUES (@tenant, @kind, @source, @text, @duration_ms, @updated_at)
       ON CONFLICT (tenant, kind) DO UPDATE SET source = excluded.source, text = excluded.text,
         duration_ms = excluded.duration_ms, updated_at = excluded.updated_at`,
    );
    this.remove = db.prepare("DELETE FROM company_audio WHERE tenant = ? AND kind = ?");
  }

  async get(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined> {
    const row = this.one.get(tenant, kind);
    return row && toAudio(row);
  }

  /** In the order of COMPANY_AUDIO_KINDS (welcome, waiting, closed, vacation, music). */
  async list(tenant: string): Promise<CompanyAudio[]> {
    const order = (a: CompanyAudio) => COMPANY_AUDIO_KINDS.indexOf(a.kind);
    return this.ofTenant
      .all(tenant)
      .map(toAudio)
      .sort((a, b) => order(a) - order(b));
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
    const saved: CompanyAudio = {
      tenant: audio.tenant,
      kind: audio.kind,
      source: audio.source,
      durationMs: audio.durationMs,
      updatedAt: this.iso(),
    };
    if (audio.text !== undefined) saved.text = audio.text;
    try {
      this.db.transaction(() => {
        const row = this.one.get(saved.tenant, saved.kind);
        this.upsert.run({
          tenant: saved.tenant,
          kind: saved.kind,
          source: saved.source,
          text: saved.text ?? null,
          duration_ms: saved.durationMs,
          updated_at: saved.updatedAt,
        });
        this.audit.write({
          tenant: saved.tenant,
          actor,
          action: "announcement.set",
          subject: saved.kind,
          old: audited(row && toAudio(row)),
          new: audited(saved),
        });
      })();
    } catch (err) {
      if (constraint(err) === "foreign") throw new StoreConflict(`tenant ${saved.tenant} does not exist`);
      throw err;
    }
    return saved;
  }

  /** Back to the default; false (and no audit event) when there was nothing to reset. */
  async delete(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean> {
    checkKind(kind);
    return this.db.transaction(() => {
      const row = this.one.get(tenant, kind);
      if (!row) return false;
      this.remove.run(tenant, kind);
      this.audit.write({
        tenant,
        actor,
        action: "announcement.reset",
        subject: kind,
        old: audited(toAudio(row)),
        new: null,
      });
      return true;
    })();
  }
}
