// What every voicemail menu does with the keypad: say a menu and read one
// key, read a PIN, give up politely. The menus all follow the same rule
// (Asterisk's, which voicemail users know): a prompt can be cut short by
// typing, a silence or a wrong key replays the menu, and after MAX_TRIES the
// caller hears goodbye and the call ends.
import type { PromptPart } from "../../../prompts/index.ts";
import { type CallControl, Hangup, type Speech } from "../call-control.ts";

/** Time-outs and wrong keys in a row before a menu says goodbye. */
export const MAX_TRIES = 3;
/** How long a menu waits for its key once the prompt has ended. */
export const KEY_TIMEOUT_MS = 5000;
/** A PIN: the first digit may take a while (finding the paper), then the rest. */
const PIN_FIRST_TIMEOUT_MS = 8000;
const PIN_INTER_TIMEOUT_MS = 4000;
const PIN_MAX_DIGITS = 10;

/** Prompt parts of prompts/say.ts (fragments and pauses) as speech for CallControl.play. */
export function spoken(parts: readonly PromptPart[]): Speech[] {
  return parts.map((p) => (typeof p === "string" ? p : { silence: p.silenceMs }));
}

/**
 * Says `prompt` (typing cuts it short: the key waits in the endpoint's
 * queue) and reads one key. Undefined when the caller typed nothing.
 */
export async function readKey(call: CallControl, prompt: Speech[]): Promise<string | undefined> {
  await call.play(prompt, { bargeIn: true });
  const got = await call.collect({ max: 1, firstTimeoutMs: KEY_TIMEOUT_MS });
  return got.digits === "" ? undefined : got.digits;
}

/**
 * A menu: the prompt and one key among `valid`, replayed on silence and on
 * other keys ("ce choix n'est pas valable"); after MAX_TRIES, goodbye.
 */
export async function chooseKey(call: CallControl, prompt: Speech[], valid: string): Promise<string> {
  for (let tries = 1; ; tries++) {
    const key = await readKey(call, prompt);
    if (key !== undefined && valid.includes(key)) return key;
    if (tries >= MAX_TRIES) return await goodbye(call);
    if (key !== undefined) await call.play(["generic.invalid-choice"]);
  }
}

/** Says `prompt` and reads digits up to `#` (or ten digits, or a pause). "" when nothing was typed. */
export async function readPin(call: CallControl, prompt: Speech[]): Promise<string> {
  await call.play(prompt, { bargeIn: true });
  const got = await call.collect({
    max: PIN_MAX_DIGITS,
    terminators: "#",
    firstTimeoutMs: PIN_FIRST_TIMEOUT_MS,
    interTimeoutMs: PIN_INTER_TIMEOUT_MS,
  });
  return got.digits;
}

/**
 * Ends the call politely: goodbye, hang up, and leave the menu by throwing
 * Hangup, which the app's entry point takes as the normal end of the call.
 */
export async function goodbye(call: CallControl, prompt = "generic.goodbye"): Promise<never> {
  await call.play([prompt]);
  await call.hangup();
  throw new Hangup("the menu ended the call");
}
