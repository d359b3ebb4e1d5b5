// `0` in the mailbox menu: the mailbox options, in the Asterisk/FreePBX
// layout — `1` unavailable greeting, `2` busy greeting, `3` name, `4` new
// PIN, `*` back to the main menu (`#` leaves, as everywhere).
import type { PromptId } from "../../../prompts/index.ts";
import type { GreetingKind } from "../../../store/types.ts";
import type { PinChange } from "../../voicemail/voicemail.ts";
import type { CallControl, Speech } from "../call-control.ts";
import { discardRecording } from "./discard-recording.ts";
import { chooseKey, goodbye, MAX_TRIES, readPin } from "./menu-keys.ts";
import { recordReviewed } from "./recording-review.ts";

/** Longest greeting and name, in seconds. */
const GREETING_MAX_SECONDS = 60;
const NAME_MAX_SECONDS = 10;

const GREETING_INTRO: Record<GreetingKind, Speech[]> = {
  unavailable: ["voicemail.greeting.title.unavailable", "voicemail.greeting.record"],
  busy: ["voicemail.greeting.title.busy", "voicemail.greeting.record"],
  name: ["voicemail.name.record"],
};

const REFUSED_PIN: Record<Exclude<PinChange, "ok">, PromptId> = {
  invalid: "voicemail.pin.invalid",
  trivial: "voicemail.pin.trivial",
};

/** Runs the options menu until the owner goes back to the main menu (`*`). */
export async function mailboxOptions(call: CallControl, mailbox: string): Promise<void> {
  for (;;) {
    const key = await chooseKey(call, ["voicemail.menu.options"], "1234*#");
    if (key === "1") await recordGreeting(call, mailbox, "unavailable");
    if (key === "2") await recordGreeting(call, mailbox, "busy");
    if (key === "3") await recordGreeting(call, mailbox, "name");
    if (key === "4") await changePin(call, mailbox);
    if (key === "*") return;
    if (key === "#") await goodbye(call);
  }
}

async function recordGreeting(call: CallControl, mailbox: string, kind: GreetingKind): Promise<void> {
  const max = kind === "name" ? NAME_MAX_SECONDS : GREETING_MAX_SECONDS;
  const take = await recordReviewed(call, GREETING_INTRO[kind], max);
  if (!take) return;
  try {
    await call.voicemail.saveGreeting(call.tenant.name, mailbox, kind, take.path);
  } catch (err) {
    call.log.error({ err, mailbox, kind }, "saving a voicemail greeting failed");
    await discardRecording(call, take.path);
    await call.play(["error.try-again-later"]);
    return;
  }
  await discardRecording(call, take.path);
  call.log.info({ mailbox, kind, durationMs: take.durationMs }, "voicemail greeting recorded");
  await call.play([kind === "name" ? "voicemail.name.saved" : "voicemail.greeting.saved"]);
}

/**
 * New PIN, then the same again; the service refuses what is trivial or not
 * 4–10 digits, and the owner hears why. The PIN itself is never logged.
 */
async function changePin(call: CallControl, mailbox: string): Promise<void> {
  for (let tries = 1; tries <= MAX_TRIES; tries++) {
    const pin = await readPin(call, ["voicemail.pin.new"]);
    if (pin === "") {
      await call.play(["voicemail.pin.invalid"]);
      continue;
    }
    const again = await readPin(call, ["voicemail.pin.confirm"]);
    if (again !== pin) {
      await call.play(["voicemail.pin.mismatch"]);
      continue;
    }
    const result = await call.voicemail.changePin(call.tenant.name, mailbox, pin, call.actor);
    call.log.info({ mailbox, result }, "voicemail PIN change");
    if (result === "ok") {
      await call.play(["voicemail.pin.changed"]);
      return;
    }
    await call.play([REFUSED_PIN[result]]);
  }
  await call.play(["voicemail.pin.unchanged"]);
}
