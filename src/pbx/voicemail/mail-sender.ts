// Voicemail to e-mail. A deposit only queues the mail in the store (in the
// same breath as the message), and this sender drains the queue: a mail
// leaves the queue only once the SMTP server has accepted it (RFC 5321
// §4.2.5: a 250 after the data means the server took responsibility), so a
// mail server down for an hour, or a restart meanwhile, loses nothing.
// Failures wait 1 minute, then 2, 4, … at most an hour between attempts.
import { DateTime } from "luxon";
import { createTransport, type Transporter } from "nodemailer";
import type { QueuedMail, Store, VoicemailMessage } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export interface MailSenderDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  /** "smtp://user:pass@mail.example:587" or "smtps://…"; undefined: nothing is sent, mails stay queued. */
  smtpUrl?: string;
  /** The From header: "vpbx@pbx.example.com" or "Voicemail <vpbx@pbx.example.com>". */
  from: string;
  /** The WAV file of a message (the voicemail service's own). */
  audioPath(message: VoicemailMessage): string;
  /** Deletes a message after its mail was sent, for mailboxes that ask so (lamp and all). */
  removeMessage(tenant: string, mailbox: string, id: string): Promise<void>;
  /** How often the queue is looked at; default 30 s. */
  intervalMs?: number;
  /** How long stop() waits for a send in progress; default 10 s. */
  stopTimeoutMs?: number;
}

export const DEFAULT_MAIL_INTERVAL_MS = 30_000;
/** The first retry waits this long, each further one twice as long as the one before … */
export const MAIL_RETRY_MIN_MS = 60_000;
/** … up to this. */
export const MAIL_RETRY_MAX_MS = 3_600_000;
/** Mails taken from the queue per look. */
const BATCH = 10;
/** Full batches sent in a row before waiting for the next look (a bound, not a rate). */
const MAX_BATCHES_PER_ROUND = 20;

/** How long to wait after a failed attempt, given how many attempts failed before it. */
export function mailRetryDelay(previousAttempts: number): number {
  const n = Math.max(0, Math.min(previousAttempts, 30));
  return Math.min(MAIL_RETRY_MIN_MS * 2 ** n, MAIL_RETRY_MAX_MS);
}

/** "0:07", "2:05", "61:00": minutes and seconds, rounded to the second (a message lasts at least one). */
export function formatDuration(ms: number): string {
  const total = Math.max(1, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export interface VoicemailMail {
  subject: string;
  text: string;
  /** "message-20260105-090000.wav" */
  attachmentName: string;
}

/** The subject, body and attachment name of a message's mail, its time in the tenant's zone. */
export function composeVoicemailMail(message: VoicemailMessage, timezone: string): VoicemailMail {
  let at = DateTime.fromISO(message.receivedAt, { zone: timezone });
  // A zone luxon does not know (a tenant edited behind the API's back) must not stop the mail.
  if (!at.isValid) at = DateTime.fromISO(message.receivedAt, { zone: "UTC" });
  at = at.setLocale("en-GB");
  const number = message.callerNumber.trim() || "unknown number";
  const name = message.callerName?.trim();
  const caller = name ? `${name} <${number}>` : number;
  const duration = formatDuration(message.durationMs);
  const attachmentName = `message-${at.toFormat("yyyyLLdd-HHmmss")}.wav`;
  const text = [
    `A new voicemail in mailbox ${message.mailbox}.`,
    "",
    `Caller number: ${number}`,
    `Caller name:   ${name || "-"}`,
    `Received:      ${at.toFormat("cccc d LLLL yyyy, HH:mm:ss")} (${at.zoneName})`,
    `Duration:      ${duration}`,
    "",
    `The message is attached (${attachmentName}).`,
    "",
  ].join("\n");
  return { subject: `Voicemail from ${caller} (${duration})`, text, attachmentName };
}

export class MailSender {
  private readonly interval: number;
  private readonly stopTimeout: number;
  private transport: Transporter | undefined;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopped = false;
  private warnedNoSmtp = false;

  constructor(private readonly deps: MailSenderDeps) {
    this.interval = deps.intervalMs ?? DEFAULT_MAIL_INTERVAL_MS;
    this.stopTimeout = deps.stopTimeoutMs ?? 10_000;
  }

  /** Looks at the queue now and then every interval. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.deps.smtpUrl !== undefined) {
      try {
        this.transport = createTransport({
          url: this.deps.smtpUrl,
          // Bounds on a dead or silent server, so a round always ends.
          connectionTimeout: 30_000,
          greetingTimeout: 30_000,
          socketTimeout: 60_000,
        });
      } catch (err) {
        // loadConfig checked the URL; should nodemailer still refuse it, mails wait as without one.
        this.deps.log.error({ err }, "voicemail mail: the SMTP URL was refused; mails stay queued");
      }
    }
    this.kick();
  }

  /** Sends what is due now (after a deposit) instead of at the next look. */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.running = this.round().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else if (this.transport) {
        this.timer = this.deps.clock.setTimer(this.interval, () => this.kick());
      }
    });
  }

  /** Resolves once no look at the queue is in progress (tests, and a shutdown that wants to know). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Cancels the timer and waits (at most stopTimeoutMs) for a send in progress. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.running) {
      let bound: Timer | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        bound = this.deps.clock.setTimer(this.stopTimeout, () => resolve(true));
      });
      const late = await Promise.race([this.running.then(() => false), timedOut]);
      bound?.cancel();
      if (late)
        this.deps.log.warn("voicemail mail: stopped while a mail was being sent; it will be sent again");
    }
    this.transport?.close();
    this.transport = undefined;
  }

  /** One look at the queue; never rejects. */
  private async round(): Promise<void> {
    try {
      if (!this.transport) {
        await this.warnIfQueued();
        return;
      }
      for (let batch = 0; batch < MAX_BATCHES_PER_ROUND && !this.stopped; batch++) {
        const due = await this.deps.store.voicemail.dueMail(this.deps.clock.now(), BATCH);
        for (const mail of due) {
          if (this.stopped) return;
          await this.deliver(mail);
        }
        // A failed mail is due again only later: a full batch means more may wait now.
        if (due.length < BATCH) return;
      }
    } catch (err) {
      this.deps.log.error({ err }, "voicemail mail: could not read the mail queue");
    }
  }

  /** Without VPBX_SMTP_URL the queue only grows: say once what to set, when it matters. */
  private async warnIfQueued(): Promise<void> {
    if (this.warnedNoSmtp) return;
    const due = await this.deps.store.voicemail.dueMail(this.deps.clock.now(), 1);
    if (due.length === 0) return;
    this.warnedNoSmtp = true;
    this.deps.log.warn(
      "voicemail mail: a mailbox has an e-mail address but VPBX_SMTP_URL is not set (e.g. smtp://user:pass@mail.example:587): mails stay queued and the messages stay in their mailboxes",
    );
  }

  private async deliver(mail: QueuedMail): Promise<void> {
    const { store, log } = this.deps;
    const ids = { tenant: mail.tenant, mailbox: mail.mailbox, messageId: mail.messageId, mailId: mail.id };
    try {
      const message = await store.voicemail.getMessage(mail.tenant, mail.mailbox, mail.messageId);
      const tenant = message && (await store.tenants.get(mail.tenant));
      if (!message || !tenant) {
        await store.voicemail.mailSent(mail.id);
        log.info(ids, "voicemail mail: the message was deleted before its mail was sent; mail dropped");
        return;
      }
      const content = composeVoicemailMail(message, tenant.timezone);
      await this.send(mail, message, content);
    } catch (err) {
      await this.failed(mail, err);
      return;
    }
    // Accepted by the server: from here on the mail must not be sent twice.
    try {
      await store.voicemail.mailSent(mail.id);
      log.info(ids, "voicemail mail: sent");
      const settings = await store.voicemail.settings(mail.tenant, mail.mailbox);
      if (settings?.deleteAfterEmail) {
        await this.deps.removeMessage(mail.tenant, mail.mailbox, mail.messageId);
        log.info(ids, "voicemail mail: message deleted after sending (deleteAfterEmail)");
      }
    } catch (err) {
      log.error({ ...ids, err }, "voicemail mail: sent, but recording it or deleting the message failed");
    }
  }

  private async send(mail: QueuedMail, message: VoicemailMessage, content: VoicemailMail): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new Error("the mail sender is stopped");
    await transport.sendMail({
      from: this.deps.from,
      to: mail.to,
      subject: content.subject,
      text: content.text,
      date: new Date(this.deps.clock.now()),
      attachments: [
        {
          filename: content.attachmentName,
          path: this.deps.audioPath(message),
          contentType: "audio/wav",
        },
      ],
    });
  }

  private async failed(mail: QueuedMail, err: unknown): Promise<void> {
    const delay = mailRetryDelay(mail.attempts);
    const error = err instanceof Error ? err.message : String(err);
    this.deps.log.warn(
      {
        tenant: mail.tenant,
        mailbox: mail.mailbox,
        messageId: mail.messageId,
        mailId: mail.id,
        attempts: mail.attempts + 1,
        retryInSeconds: delay / 1000,
        error,
      },
      "voicemail mail: not sent; will retry",
    );
    try {
      await this.deps.store.voicemail.mailFailed(mail.id, this.deps.clock.now() + delay, error);
    } catch (storeErr) {
      this.deps.log.error(
        { mailId: mail.id, err: storeErr },
        "voicemail mail: could not record the failure; it will be tried at the next look",
      );
    }
  }
}
