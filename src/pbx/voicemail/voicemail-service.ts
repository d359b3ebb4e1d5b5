// The voicemail service: mailboxes' messages, greetings and PINs, for the
// voice menus (the Voicemail interface) and the provider's API
// (VoicemailAdmin).
//
// Files. A mailbox is the directory <dataDir>/voicemail/<tenant>/<mailbox>/:
//   <id>.wav             a message's audio (8 kHz, 16-bit mono)
//   <id>.json            its metadata sidecar (what its row says)
//   greeting-<kind>.wav  recorded greetings (unavailable, busy, name)
//   *.tmp                not yet complete; removed at start-up
//
// A message is never lost once deposit() resolves: the sidecar and the audio
// are written and fsynced under temporary names, renamed (sidecar first,
// audio last: the audio's final name is the mark of a complete pair), the
// directory is fsynced, and only then is the row committed. A crash between
// the renames and the row leaves a complete pair without a row, which
// recover() (at start-up) files into the mailbox, exactly once. Deleting
// runs the other way round: the sidecar goes first (the pair is broken, so
// nothing can bring the message back), then the row, then the audio.
import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { resample } from "../../media/codec/resample.ts";
import { readWav, writeWav } from "../../media/codec/wav.ts";
import { activeRms, normalise } from "../../prompts/levels.ts";
import {
  type Actor,
  type AuditRepository,
  type GreetingKind,
  type MailboxSettings,
  type MailboxSettingsPatch,
  type Store,
  StoreConflict,
  type Tenant,
  type VoicemailFolder,
  type VoicemailMessage,
} from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import {
  ensureDirectory,
  syncDirectory,
  TEMPORARY_SUFFIX,
  unlinkIfPresent,
  writeDurably,
  writeSynced,
} from "../../util/durable-files.ts";
import type { Logger } from "../../util/log.ts";
import { checkPin, generatePin, hashPin, verifyPin } from "./pin.ts";
import { soundMs } from "./sound.ts";
import type { MailboxCounts, PinChange, RemoteCaller, RemotePin } from "./voicemail.ts";
import {
  type ConfiguredMailbox,
  GREETING_KINDS,
  GREETING_MAX_SECONDS,
  InvalidGreeting,
  type MailboxOptionsInput,
  type VoicemailAdmin,
} from "./voicemail-admin.ts";

/** Messages are kept at the telephone's rate. */
export const MESSAGE_SAMPLE_RATE = 8000;
/** A recording with less sound than this is discarded (a hang-up after the beep). */
export const MIN_MESSAGE_SOUND_MS = 1000;
/** Wrong remote PINs within LOCKOUT_WINDOW_MS that lock remote access … */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_WINDOW_MS = 3_600_000;
/** … for this long. */
export const LOCKOUT_MS = 3_600_000;
/** Who the audit log names for a lockout. */
export const VOICEMAIL_ACTOR: Actor = { kind: "system", id: "voicemail" };

export interface VoicemailServiceDeps {
  store: Store;
  /** Messages and greetings live under <dataDir>/voicemail. */
  dataDir: string;
  clock: Clock;
  log: Logger;
  /** A mailbox's counts changed (the lamps follow: EventHub.publishMailbox). */
  publishMailbox(tenant: string, mailbox: string, counts: MailboxCounts): void;
  /** Where lockouts and unlocks are recorded; default: the store's audit log. */
  audit?: AuditRepository;
  /**
   * Start-up recovery leaves files younger than this alone (default 0). In a
   * directory shared by several nodes (VPBX_AUDIO_URL) a young temporary
   * file or an unfiled pair is another node's deposit in progress, not the
   * leftover of this node's crash.
   */
  recoveryGraceMs?: number;
}

/** What start-up recovery found. */
export interface RecoveryReport {
  /** Complete messages on disk without a row, filed into their mailbox. */
  recovered: number;
  /** Temporary files of writes that never finished. */
  removedTemporary: number;
  /** Halves of a message (a sidecar or audio alone, without a row): a deposit or deletion cut short. */
  removedOrphans: number;
  /** Complete messages that could not be filed (unreadable sidecar, extension gone): left on disk. */
  skipped: number;
}

const TENANT_DIR = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAILBOX_DIR = /^[0-9]{2,6}$/;
const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MESSAGE_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(wav|json)$/;

/** The sidecar's format version. */
const SIDECAR_VERSION = 1;

/**
 * The address in a source such as "udp:203.0.113.5:5062" or
 * "tcp:[2001:db8::1]:5060"; undefined when it holds none ("unknown", a
 * trunk's name): such a source is neither locked nor logged for fail2ban.
 */
export function sourceAddress(source: string): string | undefined {
  const m = /^[a-z]+:(?:\[([0-9a-f:.]+)\]|([0-9.]+)):[0-9]{1,5}$/i.exec(source);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The keys a caller is counted and locked by: its number (when it has digits) and its address. */
function callerKeys(caller: RemoteCaller): string[] {
  const keys: string[] = [];
  if (/[0-9]/.test(caller.number)) keys.push(caller.number);
  const address = sourceAddress(caller.source);
  if (address !== undefined) keys.push(address);
  return keys;
}

function isGreetingKind(kind: string): kind is GreetingKind {
  return (GREETING_KINDS as readonly string[]).includes(kind);
}

export class VoicemailService implements VoicemailAdmin {
  private readonly root: string;
  private readonly audit: AuditRepository;

  constructor(private readonly deps: VoicemailServiceDeps) {
    this.root = join(deps.dataDir, "voicemail");
    this.audit = deps.audit ?? deps.store.audit;
  }

  // --- Paths ---------------------------------------------------------------

  /** Tenant and mailbox become path components: only plain names pass. */
  private mailboxDir(tenant: string, mailbox: string): string {
    if (!TENANT_DIR.test(tenant)) throw new RangeError(`tenant name ${JSON.stringify(tenant)} is not a slug`);
    if (!MAILBOX_DIR.test(mailbox))
      throw new RangeError(`mailbox ${JSON.stringify(mailbox)} is not 2 to 6 digits`);
    return join(this.root, tenant, mailbox);
  }

  audioPath(message: VoicemailMessage): string {
    if (!MESSAGE_ID.test(message.id))
      throw new RangeError(`voicemail message id ${JSON.stringify(message.id)}`);
    return join(this.mailboxDir(message.tenant, message.mailbox), `${message.id}.wav`);
  }

  private sidecarPath(message: VoicemailMessage): string {
    return join(this.mailboxDir(message.tenant, message.mailbox), `${message.id}.json`);
  }

  private greetingPath(tenant: string, mailbox: string, kind: GreetingKind): string {
    if (!isGreetingKind(kind)) throw new RangeError(`unknown greeting ${JSON.stringify(kind)}`);
    return join(this.mailboxDir(tenant, mailbox), `greeting-${kind}.wav`);
  }

  // --- Mailboxes and messages ------------------------------------------------

  async open(tenant: Tenant, mailbox: string): Promise<MailboxSettings | undefined> {
    if (!tenant.features.voicemail) return undefined;
    const settings = await this.deps.store.voicemail.settings(tenant.name, mailbox);
    return settings?.enabled ? settings : undefined;
  }

  async counts(tenant: string, mailbox: string): Promise<MailboxCounts> {
    const all = await this.deps.store.voicemail.listMessages(tenant, mailbox);
    const newMessages = all.filter((m) => m.folder === "new").length;
    return { newMessages, oldMessages: all.length - newMessages };
  }

  async messages(tenant: string, mailbox: string): Promise<VoicemailMessage[]> {
    const all = await this.deps.store.voicemail.listMessages(tenant, mailbox);
    return [...all.filter((m) => m.folder === "new"), ...all.filter((m) => m.folder === "old")];
  }

  async message(tenant: string, mailbox: string, id: string): Promise<VoicemailMessage | undefined> {
    return this.deps.store.voicemail.getMessage(tenant, mailbox, id);
  }

  /**
   * Files a recording (any WAV; kept at 8 kHz) as a new message. Resolves
   * once the audio, its sidecar and the row are on disk; undefined (nothing
   * kept) when the recording has less than a second of sound. The caller
   * keeps its recording file. When the row cannot be committed the files
   * stay, the error is thrown, and recover() files them at the next start.
   */
  async deposit(
    tenant: Tenant,
    mailbox: string,
    recording: { path: string; durationMs: number },
    caller: { number: string; name?: string },
  ): Promise<VoicemailMessage | undefined> {
    const dir = this.mailboxDir(tenant.name, mailbox);
    const decoded = readWav(await readFile(recording.path));
    const sound = soundMs(decoded.samples, decoded.sampleRate);
    if (sound < MIN_MESSAGE_SOUND_MS) {
      this.deps.log.info(
        { tenant: tenant.name, mailbox, soundMs: sound, durationMs: recording.durationMs },
        "voicemail recording with less than a second of sound discarded",
      );
      return undefined;
    }
    const samples =
      decoded.sampleRate === MESSAGE_SAMPLE_RATE
        ? decoded.samples
        : resample(decoded.samples, decoded.sampleRate, MESSAGE_SAMPLE_RATE);
    const durationMs = Math.round((samples.length * 1000) / MESSAGE_SAMPLE_RATE);
    const message: VoicemailMessage = {
      id: randomUUID(),
      tenant: tenant.name,
      mailbox,
      folder: "new",
      callerNumber: caller.number,
      // The caller started speaking when the recording began.
      receivedAt: new Date(this.deps.clock.now() - durationMs).toISOString(),
      durationMs,
    };
    if (caller.name) message.callerName = caller.name;

    await ensureDirectory(dir);
    const sidecar = this.sidecarPath(message);
    const audio = this.audioPath(message);
    try {
      const sidecarTmp = await writeSynced(sidecar, JSON.stringify({ version: SIDECAR_VERSION, ...message }));
      const audioTmp = await writeSynced(audio, writeWav(samples, MESSAGE_SAMPLE_RATE));
      await rename(sidecarTmp, sidecar);
      await rename(audioTmp, audio);
      await syncDirectory(dir);
    } catch (err) {
      // Nothing was confirmed: take back what was written (a full disk, say).
      for (const path of [audio + TEMPORARY_SUFFIX, sidecar + TEMPORARY_SUFFIX, audio, sidecar]) {
        await unlinkIfPresent(path).catch((cleanup: unknown) =>
          this.deps.log.error({ err: cleanup, path }, "voicemail: removing a half-written message failed"),
        );
      }
      throw err;
    }

    const settings = await this.deps.store.voicemail.settings(tenant.name, mailbox);
    const mail = settings?.email ? { to: settings.email, nextAttemptAt: this.deps.clock.now() } : undefined;
    try {
      await this.deps.store.voicemail.addMessage(message, mail);
    } catch (err) {
      if (err instanceof StoreConflict) {
        // The extension went during the call: the message has no mailbox to go to.
        this.deps.log.warn(
          { err, tenant: tenant.name, mailbox, message: message.id },
          "voicemail message for a mailbox that no longer exists dropped",
        );
        await unlinkIfPresent(sidecar);
        await unlinkIfPresent(audio);
      } else {
        this.deps.log.error(
          { err, tenant: tenant.name, mailbox, message: message.id },
          "voicemail message on disk but not in the store: start-up recovery will file it",
        );
      }
      throw err;
    }
    await this.publish(tenant.name, mailbox);
    return message;
  }

  async markOld(tenant: string, mailbox: string, id: string): Promise<void> {
    await this.setFolder(tenant, mailbox, id, "old");
  }

  async setFolder(
    tenant: string,
    mailbox: string,
    id: string,
    folder: VoicemailFolder,
  ): Promise<VoicemailMessage | undefined> {
    if (!(await this.deps.store.voicemail.setFolder(tenant, mailbox, id, folder))) return undefined;
    await this.publish(tenant, mailbox);
    return this.deps.store.voicemail.getMessage(tenant, mailbox, id);
  }

  async remove(tenant: string, mailbox: string, id: string): Promise<void> {
    await this.removeMessage(tenant, mailbox, id);
  }

  async removeMessage(tenant: string, mailbox: string, id: string): Promise<boolean> {
    const message = await this.deps.store.voicemail.getMessage(tenant, mailbox, id);
    if (!message) return false;
    // Sidecar first: from here on recovery can never bring the message back.
    if (await unlinkIfPresent(this.sidecarPath(message)))
      await syncDirectory(this.mailboxDir(tenant, mailbox));
    await this.deps.store.voicemail.deleteMessage(tenant, mailbox, id);
    await unlinkIfPresent(this.audioPath(message));
    await this.publish(tenant, mailbox);
    return true;
  }

  /** Publishes the mailbox's counts; a failing listener is logged, never the caller's problem. */
  private async publish(tenant: string, mailbox: string): Promise<void> {
    try {
      this.deps.publishMailbox(tenant, mailbox, await this.counts(tenant, mailbox));
    } catch (err) {
      this.deps.log.error({ err, tenant, mailbox }, "publishing voicemail counts failed");
    }
  }

  // --- Greetings -----------------------------------------------------------

  async greeting(tenant: string, mailbox: string, kind: GreetingKind): Promise<string | undefined> {
    const path = this.greetingPath(tenant, mailbox, kind);
    try {
      await stat(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Copies a recording (any WAV) into place durably, at 8 kHz; the caller keeps its file. */
  async saveGreeting(
    tenant: string,
    mailbox: string,
    kind: GreetingKind,
    recordingPath: string,
  ): Promise<void> {
    const decoded = readWav(await readFile(recordingPath));
    const samples =
      decoded.sampleRate === MESSAGE_SAMPLE_RATE
        ? decoded.samples
        : resample(decoded.samples, decoded.sampleRate, MESSAGE_SAMPLE_RATE);
    await this.writeGreeting(tenant, mailbox, kind, samples);
  }

  async uploadGreeting(tenant: string, mailbox: string, kind: GreetingKind, wav: Uint8Array): Promise<void> {
    let decoded: ReturnType<typeof readWav>;
    try {
      decoded = readWav(Buffer.from(wav.buffer, wav.byteOffset, wav.byteLength));
    } catch (err) {
      throw new InvalidGreeting(
        `the greeting is not a WAV file that vpbx can read: ${(err as Error).message}`,
      );
    }
    const seconds = decoded.samples.length / decoded.sampleRate;
    if (seconds > GREETING_MAX_SECONDS) {
      throw new InvalidGreeting(
        `the greeting lasts ${Math.round(seconds)} s; at most ${GREETING_MAX_SECONDS} s are allowed`,
      );
    }
    const samples =
      decoded.sampleRate === MESSAGE_SAMPLE_RATE
        ? decoded.samples
        : resample(decoded.samples, decoded.sampleRate, MESSAGE_SAMPLE_RATE);
    // Nothing above -60 dBFS: silence, which no gain would make a greeting.
    if (activeRms(samples) === 0) throw new InvalidGreeting("the greeting holds no sound");
    // An editor's file may be far louder or quieter than the phone's prompts.
    await this.writeGreeting(tenant, mailbox, kind, normalise(samples));
  }

  private async writeGreeting(
    tenant: string,
    mailbox: string,
    kind: GreetingKind,
    samples: Int16Array,
  ): Promise<void> {
    const path = this.greetingPath(tenant, mailbox, kind);
    await ensureDirectory(this.mailboxDir(tenant, mailbox));
    await writeDurably(path, writeWav(samples, MESSAGE_SAMPLE_RATE));
  }

  async deleteGreeting(tenant: string, mailbox: string, kind: GreetingKind): Promise<boolean> {
    const removed = await unlinkIfPresent(this.greetingPath(tenant, mailbox, kind));
    if (removed) await syncDirectory(this.mailboxDir(tenant, mailbox));
    return removed;
  }

  // --- PINs ----------------------------------------------------------------

  async verifyPin(tenant: string, mailbox: string, pin: string): Promise<boolean> {
    const settings = await this.deps.store.voicemail.settings(tenant, mailbox);
    return verifyPin(pin, settings?.pinHash);
  }

  async changePin(tenant: string, mailbox: string, pin: string, actor: Actor): Promise<PinChange> {
    const verdict = checkPin(pin, mailbox);
    if (verdict !== "ok") return verdict;
    await this.deps.store.voicemail.updateSettings(tenant, mailbox, { pinHash: await hashPin(pin) }, actor);
    return "ok";
  }

  async resetPin(tenant: string, mailbox: string, actor: Actor): Promise<string> {
    const pin = generatePin(mailbox);
    await this.deps.store.voicemail.updateSettings(tenant, mailbox, { pinHash: await hashPin(pin) }, actor);
    return pin;
  }

  async configure(
    tenant: string,
    mailbox: string,
    input: MailboxOptionsInput,
    actor: Actor,
  ): Promise<ConfiguredMailbox> {
    if (input.pin !== undefined) {
      const verdict = checkPin(input.pin, mailbox);
      // Never the PIN itself in a message: it could reach a log.
      if (verdict !== "ok") throw new RangeError(`voicemail PIN refused: ${verdict}`);
    }
    const patch: MailboxSettingsPatch = {};
    if (input.enabled !== undefined) patch.enabled = input.enabled;
    if (input.remoteAccess !== undefined) patch.remoteAccess = input.remoteAccess;
    if (input.skipPinOnOwnPhone !== undefined) patch.skipPinOnOwnPhone = input.skipPinOnOwnPhone;
    if (input.email !== undefined) patch.email = input.email;
    if (input.deleteAfterEmail !== undefined) patch.deleteAfterEmail = input.deleteAfterEmail;
    if (input.maxMessageSeconds !== undefined) patch.maxMessageSeconds = input.maxMessageSeconds;
    if (input.pin !== undefined) patch.pinHash = await hashPin(input.pin);
    const current = await this.deps.store.voicemail.settings(tenant, mailbox);
    const enabled = input.enabled ?? current?.enabled ?? false;
    let generatedPin: string | undefined;
    if (enabled && input.pin === undefined && current?.pinHash === undefined) {
      generatedPin = generatePin(mailbox);
      patch.pinHash = await hashPin(generatedPin);
    }
    const settings = await this.deps.store.voicemail.updateSettings(tenant, mailbox, patch, actor);
    return generatedPin === undefined ? { settings } : { settings, generatedPin };
  }

  // --- Remote access ---------------------------------------------------------

  async remoteAccess(tenant: Tenant, mailbox: string, caller: RemoteCaller): Promise<boolean> {
    if (!tenant.features.voicemail || !tenant.features.voicemailRemoteAccess) return false;
    const settings = await this.deps.store.voicemail.settings(tenant.name, mailbox);
    if (!settings?.enabled || !settings.remoteAccess || settings.pinHash === undefined) return false;
    return !(await this.locked(tenant.name, mailbox, caller));
  }

  private async locked(tenant: string, mailbox: string, caller: RemoteCaller): Promise<boolean> {
    const now = this.deps.clock.now();
    const mailboxLock = await this.deps.store.voicemail.lockedUntil(tenant, mailbox);
    if (mailboxLock !== undefined && mailboxLock > now) return true;
    const callerLock = await this.deps.store.voicemail.callerLockedUntil(tenant, callerKeys(caller));
    return callerLock !== undefined && callerLock > now;
  }

  async remoteLockedUntil(tenant: string, mailbox: string): Promise<number | undefined> {
    const until = await this.deps.store.voicemail.lockedUntil(tenant, mailbox);
    return until !== undefined && until > this.deps.clock.now() ? until : undefined;
  }

  /**
   * "locked" whenever remote access is not open to this caller (off, or
   * locked): a caller who was not asked for a PIN has none to try. A wrong
   * PIN is counted in the store (across calls and restarts); the fifth in an
   * hour for the mailbox (from anyone) locks the mailbox and this caller, the
   * fifth in an hour from this caller (at any mailbox of the tenant) locks
   * the caller; either is audited and logged for fail2ban.
   */
  async tryRemotePin(tenant: Tenant, mailbox: string, pin: string, caller: RemoteCaller): Promise<RemotePin> {
    if (!(await this.remoteAccess(tenant, mailbox, caller))) return "locked";
    const settings = await this.deps.store.voicemail.settings(tenant.name, mailbox);
    if (await verifyPin(pin, settings?.pinHash)) return "ok";

    const now = this.deps.clock.now();
    const address = sourceAddress(caller.source);
    const keys = callerKeys(caller);
    await this.deps.store.voicemail.recordPinFailure({
      tenant: tenant.name,
      mailbox,
      at: now,
      caller: caller.number,
      source: address ?? caller.source,
    });
    // "Within an hour": a failure exactly an hour old no longer counts.
    const since = now - LOCKOUT_WINDOW_MS + 1;
    const atMailbox = (await this.deps.store.voicemail.pinFailures(tenant.name, mailbox, since)).length;
    const byCaller = (await this.deps.store.voicemail.callerPinFailures(tenant.name, keys, since)).length;
    if (atMailbox >= LOCKOUT_FAILURES || byCaller >= LOCKOUT_FAILURES) {
      const until = now + LOCKOUT_MS;
      const scope = atMailbox >= LOCKOUT_FAILURES ? "mailbox" : "caller";
      if (scope === "mailbox") await this.deps.store.voicemail.lock(tenant.name, mailbox, until);
      await this.deps.store.voicemail.lockCallers(tenant.name, mailbox, keys, until);
      // One line per lockout, in a fixed form for fail2ban (the source is an
      // address or "-", never a name that fail2ban would look up).
      this.deps.log.warn(
        { tenant: tenant.name, mailbox, caller: caller.number, source: caller.source, scope, until },
        `voicemail PIN lockout tenant=${tenant.name} mailbox=${mailbox} source=${address ?? "-"}`,
      );
      await this.record({
        tenant: tenant.name,
        actor: VOICEMAIL_ACTOR,
        action: "voicemail.locked",
        subject: `${mailbox}/voicemail`,
        old: null,
        new: { scope, until: new Date(until).toISOString(), callers: keys },
      });
    }
    return "wrong";
  }

  async unlock(tenant: string, mailbox: string, actor: Actor): Promise<void> {
    const until = await this.remoteLockedUntil(tenant, mailbox);
    await this.deps.store.voicemail.unlock(tenant, mailbox);
    this.deps.log.info({ tenant, mailbox, actor: actor.id }, "voicemail remote access unlocked");
    await this.record({
      tenant,
      actor,
      action: "voicemail.unlock",
      subject: `${mailbox}/voicemail`,
      old: { lockedUntil: until === undefined ? null : new Date(until).toISOString() },
      new: { lockedUntil: null },
    });
  }

  /** An audit event that must not undo what it records: a failure is logged. */
  private async record(event: Parameters<AuditRepository["append"]>[0]): Promise<void> {
    try {
      await this.audit.append(event);
    } catch (err) {
      this.deps.log.error(
        { err, tenant: event.tenant, action: event.action },
        "voicemail audit event failed",
      );
    }
  }

  // --- Start-up and clean-up -------------------------------------------------

  async forget(tenant: string, mailbox?: string): Promise<void> {
    const dir = mailbox === undefined ? this.tenantDir(tenant) : this.mailboxDir(tenant, mailbox);
    await rm(dir, { recursive: true, force: true });
  }

  private tenantDir(tenant: string): string {
    if (!TENANT_DIR.test(tenant)) throw new RangeError(`tenant name ${JSON.stringify(tenant)} is not a slug`);
    return join(this.root, tenant);
  }

  /**
   * Run at start-up, before calls are taken: files complete messages that
   * have no row (a crash between their rename and their commit), exactly
   * once; removes temporary files and halves of messages left by a crash.
   * Messages whose extension no longer exists are left on disk, with a warning.
   */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: 0, removedTemporary: 0, removedOrphans: 0, skipped: 0 };
    const known = await this.deps.store.voicemail.allMessageIds();
    for (const tenant of await this.subdirectories(this.root)) {
      if (!TENANT_DIR.test(tenant)) {
        this.deps.log.warn(
          { dir: join(this.root, tenant) },
          "voicemail recovery: not a tenant's directory, left alone",
        );
        continue;
      }
      for (const mailbox of await this.subdirectories(join(this.root, tenant))) {
        if (!MAILBOX_DIR.test(mailbox)) {
          this.deps.log.warn(
            { dir: join(this.root, tenant, mailbox) },
            "voicemail recovery: not a mailbox's directory, left alone",
          );
          continue;
        }
        await this.recoverMailbox(tenant, mailbox, known, report);
      }
    }
    const { recovered, removedTemporary, removedOrphans, skipped } = report;
    if (recovered + removedTemporary + removedOrphans + skipped > 0) {
      this.deps.log.warn(report, "voicemail recovery after an unclean stop");
    }
    return report;
  }

  /** Old enough for recovery to touch (see recoveryGraceMs); a file gone meanwhile is not. */
  private async settled(path: string): Promise<boolean> {
    const grace = this.deps.recoveryGraceMs ?? 0;
    if (grace <= 0) return true;
    try {
      return (await stat(path)).mtimeMs <= this.deps.clock.now() - grace;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  private async subdirectories(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  private async recoverMailbox(
    tenant: string,
    mailbox: string,
    known: Set<string>,
    report: RecoveryReport,
  ): Promise<void> {
    const dir = this.mailboxDir(tenant, mailbox);
    const audio = new Set<string>();
    const sidecars = new Set<string>();
    for (const name of await readdir(dir)) {
      if (!(await this.settled(join(dir, name)))) continue;
      if (name.endsWith(TEMPORARY_SUFFIX)) {
        if (await unlinkIfPresent(join(dir, name))) report.removedTemporary++;
        continue;
      }
      const m = MESSAGE_FILE.exec(name);
      if (m) (m[2] === "wav" ? audio : sidecars).add(m[1]);
    }
    let filed = false;
    for (const id of sidecars) {
      if (known.has(id)) continue;
      if (!audio.has(id)) {
        // The audio's rename never happened: the deposit did not finish.
        if (await unlinkIfPresent(join(dir, `${id}.json`))) report.removedOrphans++;
        continue;
      }
      const message = await this.readSidecar(join(dir, `${id}.json`), tenant, mailbox, id);
      if (!message) {
        report.skipped++;
        continue;
      }
      if (!(await this.deps.store.extensions.get(tenant, mailbox))) {
        this.deps.log.warn(
          { tenant, mailbox, message: id },
          "voicemail recovery: a message for an extension that no longer exists, left on disk",
        );
        report.skipped++;
        continue;
      }
      const settings = await this.deps.store.voicemail.settings(tenant, mailbox);
      const mail = settings?.email ? { to: settings.email, nextAttemptAt: this.deps.clock.now() } : undefined;
      try {
        await this.deps.store.voicemail.addMessage(message, mail);
      } catch (err) {
        if (!(err instanceof StoreConflict)) throw err;
        this.deps.log.warn({ err, tenant, mailbox, message: id }, "voicemail recovery: message not filed");
        report.skipped++;
        continue;
      }
      known.add(id);
      filed = true;
      report.recovered++;
      this.deps.log.warn({ tenant, mailbox, message: id }, "voicemail message recovered into its mailbox");
    }
    for (const id of audio) {
      if (known.has(id) || sidecars.has(id)) continue;
      // Audio without sidecar or row: a deletion cut short after its row went.
      if (await unlinkIfPresent(join(dir, `${id}.wav`))) report.removedOrphans++;
    }
    if (filed) await this.publish(tenant, mailbox);
  }

  /** The message a sidecar describes, checked against where it lies; undefined (logged) when unreadable. */
  private async readSidecar(
    path: string,
    tenant: string,
    mailbox: string,
    id: string,
  ): Promise<VoicemailMessage | undefined> {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    } catch (err) {
      this.deps.log.warn({ err, path }, "voicemail recovery: unreadable sidecar, message left on disk");
      return undefined;
    }
    const ok =
      data !== null &&
      typeof data === "object" &&
      data.id === id &&
      data.tenant === tenant &&
      data.mailbox === mailbox &&
      (data.folder === "new" || data.folder === "old") &&
      typeof data.callerNumber === "string" &&
      (data.callerName === undefined || typeof data.callerName === "string") &&
      typeof data.receivedAt === "string" &&
      !Number.isNaN(Date.parse(data.receivedAt)) &&
      typeof data.durationMs === "number" &&
      Number.isFinite(data.durationMs);
    if (!ok) {
      this.deps.log.warn(
        { path },
        "voicemail recovery: sidecar does not describe this message, left on disk",
      );
      return undefined;
    }
    const message: VoicemailMessage = {
      id,
      tenant,
      mailbox,
      folder: data.folder as VoicemailFolder,
      callerNumber: data.callerNumber as string,
      receivedAt: data.receivedAt as string,
      durationMs: data.durationMs as number,
    };
    if (typeof data.callerName === "string") message.callerName = data.callerName;
    return message;
  }
}
