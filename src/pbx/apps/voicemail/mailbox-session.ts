// The mailbox menu once the owner is known (by PIN, by the own phone, or by
// the PIN typed after `*` during the greeting from outside): the counts,
// then one menu loop in the Asterisk/FreePBX layout that voicemail users
// already know. `1` plays the new messages then the saved ones; while a
// message is current, `3` envelope, `4` previous, `5` repeat, `6` next,
// `7` delete, `9` save; `0` options, `*` help, `#` goodbye. A message that
// has been played is no longer new (the lamp follows through the service).
import { DateTime } from "luxon";
import { sayMessageCounts, sayMessageEnvelope, sayNumber } from "../../../prompts/index.ts";
import type { VoicemailMessage } from "../../../store/types.ts";
import type { CallControl, Speech } from "../call-control.ts";
import { mailboxOptions } from "./mailbox-options.ts";
import { goodbye, MAX_TRIES, readKey, spoken } from "./menu-keys.ts";

/** The keys that act on the current message. */
const MESSAGE_KEYS = "345679";

export async function mailboxSession(call: CallControl, mailbox: string): Promise<void> {
  const counts = await call.voicemail.counts(call.tenant.name, mailbox);
  call.log.info({ mailbox, ...counts }, "voicemail mailbox opened");
  await call.play(spoken(sayMessageCounts(counts.newMessages, counts.oldMessages, call.language)));
  await new MailboxSession(call, mailbox).run();
}

class MailboxSession {
  /** The messages as listed when `1` was pressed; deleted ones leave the list. */
  private messages: VoicemailMessage[] = [];
  /** Index of the current message in `messages`; undefined: the main menu. */
  private current: number | undefined;

  constructor(
    private readonly call: CallControl,
    private readonly mailbox: string,
  ) {}

  async run(): Promise<never> {
    let tries = 0;
    for (;;) {
      const prompt = this.current === undefined ? "voicemail.menu.main" : "voicemail.menu.message";
      const key = await readKey(this.call, [prompt]);
      const valid =
        key !== undefined &&
        ("10*#".includes(key) || (this.current !== undefined && MESSAGE_KEYS.includes(key)));
      if (!valid) {
        if (++tries >= MAX_TRIES) await goodbye(this.call);
        if (key !== undefined) await this.call.play(["generic.invalid-choice"]);
        continue;
      }
      tries = 0;
      await this.press(key);
    }
  }

  private async press(key: string): Promise<void> {
    switch (key) {
      case "1":
        return await this.listen();
      case "0":
        await mailboxOptions(this.call, this.mailbox);
        // "Pour revenir au menu principal, tapez étoile": the main menu, not the message.
        this.current = undefined;
        return;
      case "*":
        await this.call.play(["voicemail.help"], { bargeIn: true });
        return;
      case "#":
        return await goodbye(this.call);
      case "3":
        return await this.envelope();
      case "4":
        return await this.previous();
      case "5":
        return await this.playCurrent();
      case "6":
        return await this.next();
      case "7":
        return await this.remove();
      case "9":
        return await this.save();
    }
  }

  /** From the first message: the new ones (oldest first), then the saved ones. */
  private async listen(): Promise<void> {
    this.messages = await this.call.voicemail.messages(this.call.tenant.name, this.mailbox);
    if (this.messages.length === 0) {
      this.current = undefined;
      await this.call.play(["voicemail.no-messages"]);
      return;
    }
    this.current = 0;
    await this.playCurrent();
  }

  private message(): VoicemailMessage {
    if (this.current === undefined) throw new Error("no current message");
    return this.messages[this.current];
  }

  /** "Message numéro 2", then the recording; a key cuts it short and acts at once. */
  private async playCurrent(): Promise<void> {
    const message = this.message();
    const label: Speech[] = [
      "voicemail.message.number",
      ...spoken(sayNumber(this.current! + 1, this.call.language)),
      { silence: 300 },
    ];
    await this.call.play([...label, { file: this.call.voicemail.audioPath(message) }], { bargeIn: true });
    // Heard (in full or until a key): no longer new. Asterisk does the same.
    if (message.folder === "new") await this.markOld(message);
  }

  private async markOld(message: VoicemailMessage): Promise<void> {
    await this.call.voicemail.markOld(this.call.tenant.name, this.mailbox, message.id);
    message.folder = "old";
  }

  /** Date, time (in the company's time zone) and the caller's number. */
  private async envelope(): Promise<void> {
    const message = this.message();
    const { tenant, language } = this.call;
    let at = DateTime.fromISO(message.receivedAt, { zone: "utc" }).setZone(tenant.timezone);
    if (!at.isValid) {
      this.call.log.warn(
        { timezone: tenant.timezone, receivedAt: message.receivedAt },
        "envelope time in UTC",
      );
      at = DateTime.fromISO(message.receivedAt, { zone: "utc" });
    }
    const parts = sayMessageEnvelope(
      { date: { year: at.year, month: at.month, day: at.day }, hour: at.hour, minute: at.minute },
      message.callerNumber,
      language,
      { country: tenant.country },
    );
    await this.call.play(spoken(parts), { bargeIn: true });
  }

  private async previous(): Promise<void> {
    if (this.current === 0) {
      await this.call.play(["voicemail.message.first"]);
      return;
    }
    this.current! -= 1;
    await this.playCurrent();
  }

  private async next(): Promise<void> {
    if (this.current! + 1 >= this.messages.length) {
      await this.call.play(["voicemail.message.no-more"]);
      return;
    }
    this.current! += 1;
    await this.playCurrent();
  }

  private async remove(): Promise<void> {
    const message = this.message();
    await this.call.voicemail.remove(this.call.tenant.name, this.mailbox, message.id);
    this.call.log.info({ mailbox: this.mailbox, message: message.id }, "voicemail message deleted");
    this.messages.splice(this.current!, 1);
    await this.call.play(["voicemail.message.deleted"]);
    await this.following();
  }

  private async save(): Promise<void> {
    const message = this.message();
    if (message.folder === "new") await this.markOld(message);
    await this.call.play(["voicemail.message.saved"]);
    this.current! += 1;
    await this.following();
  }

  /** After delete or save: the message now at `current`, or back to the main menu. */
  private async following(): Promise<void> {
    if (this.current! < this.messages.length) return await this.playCurrent();
    this.current = undefined;
    await this.call.play(["voicemail.message.no-more"]);
  }
}
