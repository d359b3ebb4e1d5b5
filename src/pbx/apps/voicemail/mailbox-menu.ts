// `*97`: one's own mailbox, from one's own phone. The PIN first (three
// attempts; a mailbox option skips it on the own phone), then the menu that
// remote access after `*` shares (mailbox-session.ts).
import { type CallControl, Hangup } from "../call-control.ts";
import { mailboxSession } from "./mailbox-session.ts";
import { goodbye, MAX_TRIES, readPin } from "./menu-keys.ts";

/** *97 from the mailbox's own phone (call.extension). */
export async function mailboxMenu(call: CallControl): Promise<void> {
  try {
    const own = call.extension;
    if (!own) return await goodbye(call, "error.code-invalid");
    const settings = await call.voicemail.open(call.tenant, own.number);
    if (!settings) {
      call.log.info({ mailbox: own.number }, "*97 without a mailbox");
      return await goodbye(call, "feature.not-enabled");
    }
    // *97 always comes from the extension's own (digest-authenticated) phone.
    if (!settings.skipPinOnOwnPhone) await ownerPin(call, own.number);
    await mailboxSession(call, own.number);
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}

/** The owner's PIN, three attempts, then the call ends. Guessing from outside is remote-pin's business. */
async function ownerPin(call: CallControl, mailbox: string): Promise<void> {
  for (let tries = 1; ; tries++) {
    const pin = await readPin(call, ["voicemail.pin.enter"]);
    if (pin !== "" && (await call.voicemail.verifyPin(call.tenant.name, mailbox, pin))) return;
    call.log.info({ mailbox, attempt: tries }, "voicemail owner PIN wrong");
    if (tries >= MAX_TRIES) return await goodbye(call, "voicemail.pin.too-many-attempts");
    await call.play(["voicemail.pin.wrong"]);
  }
}
