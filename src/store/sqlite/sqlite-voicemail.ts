// Mailboxes, messages, PIN failures and locks, and the voicemail e-mail
// queue in SQLite, on the synchronous=FULL connection of the settings: a
// message confirmed to a caller ("your message has been recorded") and a
// lockout of a guessed PIN must survive a power cut like any setting.
// The audio lives beside the database (src/pbx/voicemail); these rows only
// describe it.
import type Database from "better-sqlite3";
import {
  type Actor,
  type AuditEvent,
  type MailboxSettings,
  type MailboxSettingsPatch,
  type PinFailure,
  type QueuedMail,
  StoreConflict,
  type VoicemailFolder,
  type VoicemailMessage,
  type VoicemailRepository,
} from "../types.ts";

/** A message may be this long by default (the users' page: three minutes). */
export const DEFAULT_MAX_MESSAGE_SECONDS = 180;

/** Writes an audit event inside the caller's transaction (SqliteAudit.write). */
export interface AuditWriter {
  write(event: Omit<AuditEvent, "id" | "at">): void;
}

interface MailboxRow {
  tenant: string;
  mailbox: string;
  enabled: number;
  pin_hash: string | null;
  remote_access: number;
  skip_pin_on_own_phone: number;
  email: string | null;
  delete_after_email: number;
  max_message_seconds: number;
}

interface MessageRow {
  id: string;
  tenant: string;
  mailbox: string;
  folder: string;
  caller_number: string;
  caller_name: string | null;
  received_at: string;
  duration_ms: number;
}

interface MailRow {
  id: number;
  tenant: string;
  mailbox: string;
  message_id: string;
  to_address: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

function toSettings(r: MailboxRow): MailboxSettings {
  const s: MailboxSettings = {
    tenant: r.tenant,
    mailbox: r.mailbox,
    enabled: r.enabled !== 0,
    remoteAccess: r.remote_access !== 0,
    skipPinOnOwnPhone: r.skip_pin_on_own_phone !== 0,
    deleteAfterEmail: r.delete_after_email !== 0,
    maxMessageSeconds: r.max_message_seconds,
  };
  if (r.pin_hash !== null) s.pinHash = r.pin_hash;
  if (r.email !== null) s.email = r.email;
  return s;
}

function settingsRow(s: MailboxSettings): MailboxRow {
  return {
    tenant: s.tenant,
    mailbox: s.mailbox,
    enabled: s.enabled ? 1 : 0,
    pin_hash: s.pinHash ?? null,
    remote_access: s.remoteAccess ? 1 : 0,
    skip_pin_on_own_phone: s.skipPinOnOwnPhone ? 1 : 0,
    email: s.email ?? null,
    delete_after_email: s.deleteAfterEmail ? 1 : 0,
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
    durationMs: r.duration_ms,
  };
  if (r.caller_name !== null) m.callerName = r.caller_name;
  return m;
}

function toMail(r: MailRow): QueuedMail {
  const m: QueuedMail = {
    id: r.id,
    tenant: r.tenant,
    mailbox: r.mailbox,
    messageId: r.message_id,
    to: r.to_address,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
  };
  if (r.last_error !== null) m.lastError = r.last_error;
  return m;
}

function constraintKind(err: unknown): "unique" | "foreign" | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return "unique";
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "foreign";
  return undefined;
}

/** `?, ?, ?` for an IN list of n values (n >= 1). */
const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");

export class SqliteVoicemail implements VoicemailRepository {
  private readonly one;
  private readonly upsert;
  private readonly insertMessage;
  private readonly messageById;
  private readonly messagesAll;
  private readonly messagesIn;
  private readonly moveMessage;
  private readonly removeMessage;
  private readonly allIds;
  private readonly insertFailure;
  private readonly failuresSince;
  private readonly lockUntil;
  private readonly upsertLock;
  private readonly removeLocks;
  private readonly removeFailures;
  private readonly insertMail;
  private readonly due;
  private readonly removeMail;
  private readonly retryMail;

  constructor(
    private readonly db: Database.Database,
    private readonly audit: AuditWriter,
  ) {
    this.one = db.prepare<[string, string], MailboxRow>(
      "SELECT * FROM mailboxes WHERE tenant = ? AND mailbox = ?",
    );
    this.upsert = db.prepare(
      `INSERT INTO mailboxes (tenant, mailbox, enabled, pin_hash, remote_access, skip_pin_on_own_phone, email,
         delete_after_email, max_message_seconds)
       VALUES (@tenant, @mailbox, @enabled, @pin_hash, @remote_access, @skip_pin_on_own_phone, @email,
         @delete_after_email, @max_message_seconds)
       ON CONFLICT (tenant, mailbox) DO UPDATE SET enabled = excluded.enabled, pin_hash = excluded.pin_hash,
         remote_access = excluded.remote_access, skip_pin_on_own_phone = excluded.skip_pin_on_own_phone,
         email = excluded.email, delete_after_email = excluded.delete_after_email,
         max_message_seconds = excluded.max_message_seconds`,
    );
    this.insertMessage = db.prepare(
      `INSERT INTO voicemail_messages (id, tenant, mailbox, folder, caller_number, caller_name, received_at, duration_ms)
       VALUES (@id, @tenant, @mailbox, @folder, @caller_number, @caller_name, @received_at, @duration_ms)`,
    );
    this.messageById = db.prepare<[string, string, string], MessageRow>(
      "SELECT * FROM voicemail_messages WHERE tenant = ? AND mailbox = ? AND id = ?",
    );
    this.messagesAll = db.prepare<[string, string], MessageRow>(
      "SELECT * FROM voicemail_messages WHERE tenant = ? AND mailbox = ? ORDER BY received_at, rowid",
    );
    this.messagesIn = db.prepare<[string, string, string], MessageRow>(
      "SELECT * FROM voicemail_messages WHERE tenant = ? AND mailbox = ? AND folder = ? ORDER BY received_at, rowid",
    );
    this.moveMessage = db.prepare(
      "UPDATE voicemail_messages SET folder = ? WHERE tenant = ? AND mailbox = ? AND id = ?",
    );
    this.removeMessage = db.prepare(
      "DELETE FROM voicemail_messages WHERE tenant = ? AND mailbox = ? AND id = ?",
    );
    this.allIds = db.prepare<[], { id: string }>("SELECT id FROM voicemail_messages");
    this.insertFailure = db.prepare(
      "INSERT INTO pin_failures (tenant, mailbox, at, caller, source) VALUES (@tenant, @mailbox, @at, @caller, @source)",
    );
    this.failuresSince = db.prepare<[string, string, number], PinFailure>(
      "SELECT tenant, mailbox, at, caller, source FROM pin_failures WHERE tenant = ? AND mailbox = ? AND at >= ? ORDER BY at, id",
    );
    this.lockUntil = db.prepare<[string, string], { until: number | null }>(
      "SELECT max(until) AS until FROM mailbox_locks WHERE tenant = ? AND mailbox = ? AND subject = ''",
    );
    this.upsertLock = db.prepare(
      `INSERT INTO mailbox_locks (tenant, mailbox, subject, until) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant, mailbox, subject) DO UPDATE SET until = max(until, excluded.until)`,
    );
    this.removeLocks = db.prepare("DELETE FROM mailbox_locks WHERE tenant = ? AND mailbox = ?");
    this.removeFailures = db.prepare("DELETE FROM pin_failures WHERE tenant = ? AND mailbox = ?");
    this.insertMail = db.prepare(
      `INSERT INTO mail_queue (tenant, mailbox, message_id, to_address, next_attempt_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.due = db.prepare<[number, number], MailRow>(
      "SELECT * FROM mail_queue WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
    );
    this.removeMail = db.prepare("DELETE FROM mail_queue WHERE id = ?");
    this.retryMail = db.prepare(
      "UPDATE mail_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
    );
  }

  async settings(tenant: string, mailbox: string): Promise<MailboxSettings | undefined> {
    const row = this.one.get(tenant, mailbox);
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
      return this.db.transaction(() => {
        const row = this.one.get(tenant, mailbox);
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
        this.upsert.run(settingsRow(next));
        if (actor) {
          const old = auditedSettings(current);
          const now = auditedSettings(next);
          const pinChanged = next.pinHash !== current?.pinHash;
          if (pinChanged || JSON.stringify(old) !== JSON.stringify(now)) {
            this.audit.write({
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
      })();
    } catch (err) {
      if (constraintKind(err) === "foreign") {
        throw new StoreConflict(`extension ${mailbox} does not exist in tenant ${tenant}`);
      }
      throw err;
    }
  }

  async addMessage(m: VoicemailMessage, mail?: { to: string; nextAttemptAt: number }): Promise<void> {
    try {
      this.db.transaction(() => {
        this.insertMessage.run({
          id: m.id,
          tenant: m.tenant,
          mailbox: m.mailbox,
          folder: m.folder,
          caller_number: m.callerNumber,
          caller_name: m.callerName ?? null,
          received_at: m.receivedAt,
          duration_ms: Math.max(0, Math.round(m.durationMs)),
        });
        if (mail) this.insertMail.run(m.tenant, m.mailbox, m.id, mail.to, Math.trunc(mail.nextAttemptAt));
      })();
    } catch (err) {
      const kind = constraintKind(err);
      if (kind === "unique") throw new StoreConflict(`voicemail message ${m.id} already exists`);
      if (kind === "foreign") {
        throw new StoreConflict(`extension ${m.mailbox} does not exist in tenant ${m.tenant}`);
      }
      throw err;
    }
  }

  async getMessage(tenant: string, mailbox: string, id: string): Promise<VoicemailMessage | undefined> {
    const row = this.messageById.get(tenant, mailbox, id);
    return row && toMessage(row);
  }

  async listMessages(tenant: string, mailbox: string, folder?: VoicemailFolder): Promise<VoicemailMessage[]> {
    const rows =
      folder === undefined
        ? this.messagesAll.all(tenant, mailbox)
        : this.messagesIn.all(tenant, mailbox, folder);
    return rows.map(toMessage);
  }

  async setFolder(tenant: string, mailbox: string, id: string, folder: VoicemailFolder): Promise<boolean> {
    if (folder !== "new" && folder !== "old")
      throw new RangeError(`unknown voicemail folder ${String(folder)}`);
    return this.moveMessage.run(folder, tenant, mailbox, id).changes > 0;
  }

  async deleteMessage(tenant: string, mailbox: string, id: string): Promise<boolean> {
    return this.removeMessage.run(tenant, mailbox, id).changes > 0;
  }

  async allMessageIds(): Promise<Set<string>> {
    return new Set(this.allIds.all().map((r) => r.id));
  }

  async recordPinFailure(f: PinFailure): Promise<void> {
    try {
      this.insertFailure.run({
        tenant: f.tenant,
        mailbox: f.mailbox,
        at: Math.trunc(f.at),
        caller: f.caller,
        source: f.source,
      });
    } catch (err) {
      if (constraintKind(err) === "foreign") {
        throw new StoreConflict(`extension ${f.mailbox} does not exist in tenant ${f.tenant}`);
      }
      throw err;
    }
  }

  async pinFailures(tenant: string, mailbox: string, since: number): Promise<PinFailure[]> {
    return this.failuresSince.all(tenant, mailbox, Math.trunc(since));
  }

  async callerPinFailures(tenant: string, callers: readonly string[], since: number): Promise<PinFailure[]> {
    const keys = callers.filter((c) => c !== "");
    if (keys.length === 0) return [];
    // The list is short (a number and an address); preparing per call is cheap.
    const stmt = this.db.prepare<unknown[], PinFailure>(
      `SELECT tenant, mailbox, at, caller, source FROM pin_failures
       WHERE tenant = ? AND at >= ? AND (caller IN (${marks(keys.length)}) OR source IN (${marks(keys.length)}))
       ORDER BY at, id`,
    );
    return stmt.all(tenant, Math.trunc(since), ...keys, ...keys);
  }

  async lockedUntil(tenant: string, mailbox: string): Promise<number | undefined> {
    return this.lockUntil.get(tenant, mailbox)?.until ?? undefined;
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

  private async lockCallersOrMailbox(
    tenant: string,
    mailbox: string,
    subjects: readonly string[],
    until: number,
  ): Promise<void> {
    try {
      this.db.transaction(() => {
        for (const subject of subjects) this.upsertLock.run(tenant, mailbox, subject, Math.trunc(until));
      })();
    } catch (err) {
      if (constraintKind(err) === "foreign") {
        throw new StoreConflict(`extension ${mailbox} does not exist in tenant ${tenant}`);
      }
      throw err;
    }
  }

  async callerLockedUntil(tenant: string, callers: readonly string[]): Promise<number | undefined> {
    const keys = callers.filter((c) => c !== "");
    if (keys.length === 0) return undefined;
    const row = this.db
      .prepare<unknown[], { until: number | null }>(
        `SELECT max(until) AS until FROM mailbox_locks WHERE tenant = ? AND subject IN (${marks(keys.length)})`,
      )
      .get(tenant, ...keys);
    return row?.until ?? undefined;
  }

  async unlock(tenant: string, mailbox: string): Promise<void> {
    this.db.transaction(() => {
      this.removeLocks.run(tenant, mailbox);
      this.removeFailures.run(tenant, mailbox);
    })();
  }

  /** StoreConflict when the message does not exist (it was deleted before its e-mail was queued). */
  async queueMail(mail: Omit<QueuedMail, "id" | "attempts" | "lastError">): Promise<void> {
    try {
      this.insertMail.run(mail.tenant, mail.mailbox, mail.messageId, mail.to, Math.trunc(mail.nextAttemptAt));
    } catch (err) {
      if (constraintKind(err) === "foreign") {
        throw new StoreConflict(`voicemail message ${mail.messageId} does not exist`);
      }
      throw err;
    }
  }

  async dueMail(now: number, limit: number): Promise<QueuedMail[]> {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`mail limit ${limit} is not a whole number >= 1`);
    return this.due.all(Math.trunc(now), limit).map(toMail);
  }

  async mailSent(id: number): Promise<void> {
    this.removeMail.run(id);
  }

  async mailFailed(id: number, nextAttemptAt: number, error: string): Promise<void> {
    this.retryMail.run(Math.trunc(nextAttemptAt), error, id);
  }
}
