// Mailboxes, messages, PIN failures and locks, and the voicemail e-mail
// queue, on the settings-grade database (`ctx.db`): a message confirmed to a
// caller ("your message has been recorded") and a lockout of a guessed PIN
// must survive a power cut like any setting. One implementation for SQLite
// and PostgreSQL (Kysely). The audio lives beside the database
// (src/pbx/voicemail); these rows only describe it.
import type { Selectable } from "kysely";
import {
  type Actor,
  type MailboxSettings,
  type MailboxSettingsPatch,
  type PinFailure,
  type QueuedMail,
  StoreConflict,
  type VoicemailFolder,
  type VoicemailMessage,
  type VoicemailRepository,
} from "../types.ts";
import type { MailboxesTable, MailQueueTable, VoicemailMessagesTable } from "./schema.ts";
import { appendAudit } from "./sql-audit.ts";
import { bit, constraint, type Db, type SqlContext } from "./sql-context.ts";

/** A message may be this long by default (the users' page: three minutes). */
export const DEFAULT_MAX_MESSAGE_SECONDS = 180;

type MailboxRow = Selectable<MailboxesTable>;
type MessageRow = Selectable<VoicemailMessagesTable>;
type MailRow = Selectable<MailQueueTable>;

function toSettings(r: MailboxRow): MailboxSettings {
  const s: MailboxSettings = {
    tenant: r.tenant,
    mailbox: r.mailbox,
    enabled: Number(r.enabled) === 1,
    remoteAccess: Number(r.remote_access) === 1,
    skipPinOnOwnPhone: Number(r.skip_pin_on_own_phone) === 1,
    deleteAfterEmail: Number(r.delete_after_email) === 1,
    maxMessageSeconds: Number(r.max_message_seconds),
  };
  if (r.pin_hash !== null) s.pinHash = r.pin_hash;
  if (r.email !== null) s.email = r.email;
  return s;
}

function settingsRow(s: MailboxSettings): MailboxRow {
  return {
    tenant: s.tenant,
    mailbox: s.mailbox,
    enabled: bit(s.enabled),
    pin_hash: s.pinHash ?? null,
    remote_access: bit(s.remoteAccess),
    skip_pin_on_own_phone: bit(s.skipPinOnOwnPhone),
    email: s.email ?? null,
    delete_after_email: bit(s.deleteAfterEmail),
    max_message_seconds: s.maxMessageSeconds,
  };
}

/** What the audit log keeps of a mailbox's options: never the PIN's hash, only whether there is one. */
function auditedSettings(s: MailboxSettings | undefined) {
  if (!s) return null;
  return {
    enabled: s.enabled,
    hasPin: s.pinHash !== undefined,
    remoteAccess: s.remoteAccess,
    skipPinOnOwnPhone: s.skipPinOnOwnPhone,
    email: s.email ?? null,
    deleteAfterEmail: s.deleteAfterEmail,
    maxMessageSeconds: s.maxMessageSeconds,
  };
}

function toMessage(r: MessageRow): VoicemailMessage {
  const m: VoicemailMessage = {
    id: r.id,
    tenant: r.tenant,
    mailbox: r.mailbox,
    folder: r.folder as VoicemailFolder,
    callerNumber: r.caller_number,
    receivedAt: r.received_at,
    durationMs: Number(r.duration_ms),
  };
  if (r.caller_name !== null) m.callerName = r.caller_name;
  return m;
}

function toMail(r: MailRow): QueuedMail {
  const m: QueuedMail = {
    id: Number(r.id),
    tenant: r.tenant,
    mailbox: r.mailbox,
    messageId: r.message_id,
    to: r.to_address,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
  };
  if (r.last_error !== null) m.lastError = r.last_error;
  return m;
}

function toFailure(r: PinFailure): PinFailure {
  return { tenant: r.tenant, mailbox: r.mailbox, at: Number(r.at), caller: r.caller, source: r.source };
}

/** max(until) of an aggregate: null when no row (pg returns BIGINT aggregates as strings). */
const untilOf = (row: { until: unknown } | undefined): number | undefined =>
  row?.until === null || row?.until === undefined ? undefined : Number(row.until);

export class SqlVoicemail implements VoicemailRepository {
  constructor(private readonly ctx: SqlContext) {}

  async settings(tenant: string, mailbox: string): Promise<MailboxSettings | undefined> {
    const row = await this.ctx.db
      .selectFrom("mailboxes")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .executeTakeFirst();
    return row && toSettings(row);
  }

  /** Throws RangeError for a maxMessageSeconds that is not a whole number >= 1 (the API checks its own range first). */
  async updateSettings(
    tenant: string,
    mailbox: string,
    patch: MailboxSettingsPatch,
    actor?: Actor,
  ): Promise<MailboxSettings> {
    const max = patch.maxMessageSeconds;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1)) {
      throw new RangeError(`maxMessageSeconds ${max} is not a whole number >= 1`);
    }
    try {
      return await this.ctx.db.transaction().execute(async (trx) => {
        // PostgreSQL: lock the row so two patches of the same mailbox do not
        // both read the old options (SQLite serialises write transactions).
        const row = await trx
          .selectFrom("mailboxes")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("mailbox", "=", mailbox)
          .$if(this.ctx.engine === "postgres", (qb) => qb.forUpdate())
          .executeTakeFirst();
        const current = row && toSettings(row);
        const next: MailboxSettings = current
          ? { ...current }
          : {
              tenant,
              mailbox,
              enabled: false,
              remoteAccess: false,
              skipPinOnOwnPhone: false,
              deleteAfterEmail: false,
              maxMessageSeconds: DEFAULT_MAX_MESSAGE_SECONDS,
            };
        if (patch.enabled !== undefined) next.enabled = patch.enabled;
        if (patch.remoteAccess !== undefined) next.remoteAccess = patch.remoteAccess;
        if (patch.skipPinOnOwnPhone !== undefined) next.skipPinOnOwnPhone = patch.skipPinOnOwnPhone;
        if (patch.deleteAfterEmail !== undefined) next.deleteAfterEmail = patch.deleteAfterEmail;
        if (max !== undefined) next.maxMessageSeconds = max;
        if (patch.pinHash !== undefined) next.pinHash = patch.pinHash;
        if (patch.email === null) delete next.email;
        else if (patch.email !== undefined) next.email = patch.email;
        const values = settingsRow(next);
        const { tenant: _tenant, mailbox: _mailbox, ...options } = values;
        await trx
          .insertInto("mailboxes")
          .values(values)
          .onConflict((oc) => oc.columns(["tenant", "mailbox"]).doUpdateSet(options))
          .execute();
        if (actor) {
          const old = auditedSettings(current);
          const now = auditedSettings(next);
          const pinChanged = next.pinHash !== current?.pinHash;
          if (pinChanged || JSON.stringify(old) !== JSON.stringify(now)) {
            await appendAudit(trx, this.ctx.iso(), {
              tenant,
              actor,
              action: "voicemail.update",
              subject: `${mailbox}/voicemail`,
              old,
              new: pinChanged ? { ...now, pinChanged: true } : now,
            });
          }
        }
        return next;
      });
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${mailbox} does not exist in tenant ${tenant}`);
      }
      throw err;
    }
  }

  async addMessage(m: VoicemailMessage, mail?: { to: string; nextAttemptAt: number }): Promise<void> {
    try {
      // One transaction: a committed message is never without its e-mail.
      await this.ctx.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("voicemail_messages")
          .values({
            id: m.id,
            tenant: m.tenant,
            mailbox: m.mailbox,
            folder: m.folder,
            caller_number: m.callerNumber,
            caller_name: m.callerName ?? null,
            received_at: m.receivedAt,
            duration_ms: Math.max(0, Math.round(m.durationMs)),
          })
          .execute();
        if (mail) await insertMail(trx, m.tenant, m.mailbox, m.id, mail.to, mail.nextAttemptAt);
      });
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique") throw new StoreConflict(`voicemail message ${m.id} already exists`);
      if (kind === "foreign") {
        throw new StoreConflict(`extension ${m.mailbox} does not exist in tenant ${m.tenant}`);
      }
      throw err;
    }
  }

  async getMessage(tenant: string, mailbox: string, id: string): Promise<VoicemailMessage | undefined> {
    const row = await this.ctx.db
      .selectFrom("voicemail_messages")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .where("id", "=", id)
      .executeTakeFirst();
    return row && toMessage(row);
  }

  async listMessages(tenant: string, mailbox: string, folder?: VoicemailFolder): Promise<VoicemailMessage[]> {
    // Oldest first. SQLite broke ties of the same instant by rowid, which
    // PostgreSQL has not: ties go by id here, the same on both engines.
    const rows = await this.ctx.db
      .selectFrom("voicemail_messages")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .$if(folder !== undefined, (qb) => qb.where("folder", "=", folder as string))
      .orderBy("received_at")
      .orderBy("id")
      .execute();
    return rows.map(toMessage);
  }

  async setFolder(tenant: string, mailbox: string, id: string, folder: VoicemailFolder): Promise<boolean> {
    if (folder !== "new" && folder !== "old")
      throw new RangeError(`unknown voicemail folder ${String(folder)}`);
    const r = await this.ctx.db
      .updateTable("voicemail_messages")
      .set({ folder })
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteMessage(tenant: string, mailbox: string, id: string): Promise<boolean> {
    const r = await this.ctx.db
      .deleteFrom("voicemail_messages")
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async allMessageIds(): Promise<Set<string>> {
    const rows = await this.ctx.db.selectFrom("voicemail_messages").select("id").execute();
    return new Set(rows.map((r) => r.id));
  }

  async recordPinFailure(f: PinFailure): Promise<void> {
    try {
      await this.ctx.db
        .insertInto("pin_failures")
        .values({
          tenant: f.tenant,
          mailbox: f.mailbox,
          at: Math.trunc(f.at),
          caller: f.caller,
          source: f.source,
        })
        .execute();
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${f.mailbox} does not exist in tenant ${f.tenant}`);
      }
      throw err;
    }
  }

  async pinFailures(tenant: string, mailbox: string, since: number): Promise<PinFailure[]> {
    const rows = await this.ctx.db
      .selectFrom("pin_failures")
      .select(["tenant", "mailbox", "at", "caller", "source"])
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .where("at", ">=", Math.trunc(since))
      .orderBy("at")
      .orderBy("id")
      .execute();
    return rows.map(toFailure);
  }

  async callerPinFailures(tenant: string, callers: readonly string[], since: number): Promise<PinFailure[]> {
    const keys = callers.filter((c) => c !== "");
    if (keys.length === 0) return [];
    const rows = await this.ctx.db
      .selectFrom("pin_failures")
      .select(["tenant", "mailbox", "at", "caller", "source"])
      .where("tenant", "=", tenant)
      .where("at", ">=", Math.trunc(since))
      .where((eb) => eb.or([eb("caller", "in", keys), eb("source", "in", keys)]))
      .orderBy("at")
      .orderBy("id")
      .execute();
    return rows.map(toFailure);
  }

  async lockedUntil(tenant: string, mailbox: string): Promise<number | undefined> {
    const row = await this.ctx.db
      .selectFrom("mailbox_locks")
      .select((eb) => eb.fn.max("until").as("until"))
      .where("tenant", "=", tenant)
      .where("mailbox", "=", mailbox)
      .where("subject", "=", "")
      .executeTakeFirst();
    return untilOf(row);
  }

  async lock(tenant: string, mailbox: string, until: number): Promise<void> {
    await this.lockCallersOrMailbox(tenant, mailbox, [""], until);
  }

  async lockCallers(
    tenant: string,
    mailbox: string,
    callers: readonly string[],
    until: number,
  ): Promise<void> {
    const keys = callers.filter((c) => c !== "");
    if (keys.length > 0) await this.lockCallersOrMailbox(tenant, mailbox, keys, until);
  }

  /** Subject '' is the mailbox itself; any other is a caller. A shorter lock never shortens a longer one. */
  private async lockCallersOrMailbox(
    tenant: string,
    mailbox: string,
    subjects: readonly string[],
    until: number,
  ): Promise<void> {
    const end = Math.trunc(until);
    try {
      await this.ctx.db
        .insertInto("mailbox_locks")
        .values(subjects.map((subject) => ({ tenant, mailbox, subject, until: end })))
        .onConflict((oc) =>
          oc.columns(["tenant", "mailbox", "subject"]).doUpdateSet((eb) => ({
            // Neither max(a, b) (SQLite) nor greatest(a, b) (PostgreSQL) runs
            // on both engines; CASE does.
            until: eb
              .case()
              .when("excluded.until", ">", eb.ref("mailbox_locks.until"))
              .then(eb.ref("excluded.until"))
              .else(eb.ref("mailbox_locks.until"))
              .end(),
          })),
        )
        .execute();
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${mailbox} does not exist in tenant ${tenant}`);
      }
      throw err;
    }
  }

  async callerLockedUntil(tenant: string, callers: readonly string[]): Promise<number | undefined> {
    const keys = callers.filter((c) => c !== "");
    if (keys.length === 0) return undefined;
    const row = await this.ctx.db
      .selectFrom("mailbox_locks")
      .select((eb) => eb.fn.max("until").as("until"))
      .where("tenant", "=", tenant)
      .where("subject", "in", keys)
      .executeTakeFirst();
    return untilOf(row);
  }

  /** Lifts the mailbox's lock, the caller locks it set, and forgets its PIN failures, together. */
  async unlock(tenant: string, mailbox: string): Promise<void> {
    await this.ctx.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom("mailbox_locks")
        .where("tenant", "=", tenant)
        .where("mailbox", "=", mailbox)
        .execute();
      await trx
        .deleteFrom("pin_failures")
        .where("tenant", "=", tenant)
        .where("mailbox", "=", mailbox)
        .execute();
    });
  }

  /** StoreConflict when the message does not exist (it was deleted before its e-mail was queued). */
  async queueMail(mail: Omit<QueuedMail, "id" | "attempts" | "lastError">): Promise<void> {
    try {
      await insertMail(this.ctx.db, mail.tenant, mail.mailbox, mail.messageId, mail.to, mail.nextAttemptAt);
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`voicemail message ${mail.messageId} does not exist`);
      }
      throw err;
    }
  }

  async dueMail(now: number, limit: number): Promise<QueuedMail[]> {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`mail limit ${limit} is not a whole number >= 1`);
    const rows = await this.ctx.db
      .selectFrom("mail_queue")
      .selectAll()
      .where("next_attempt_at", "<=", Math.trunc(now))
      .orderBy("next_attempt_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toMail);
  }

  async mailSent(id: number): Promise<void> {
    await this.ctx.db.deleteFrom("mail_queue").where("id", "=", id).execute();
  }

  async mailFailed(id: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.ctx.db
      .updateTable("mail_queue")
      .set((eb) => ({
        attempts: eb("attempts", "+", 1),
        next_attempt_at: Math.trunc(nextAttemptAt),
        last_error: error,
      }))
      .where("id", "=", id)
      .execute();
  }
}

function insertMail(
  db: Db,
  tenant: string,
  mailbox: string,
  messageId: string,
  to: string,
  nextAttemptAt: number,
): Promise<unknown> {
  return db
    .insertInto("mail_queue")
    .values({
      tenant,
      mailbox,
      message_id: messageId,
      to_address: to,
      next_attempt_at: Math.trunc(nextAttemptAt),
    })
    .execute();
}
