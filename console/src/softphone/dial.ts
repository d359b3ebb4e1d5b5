// What may be dialled and typed on the keypad. A number to call: digits,
// `*` and `#` (feature codes such as *72 or *97), a leading `+` (E.164);
// spaces, dots, dashes and brackets as people write numbers are dropped. The
// keypad's keys are the DTMF events of RFC 4733 §3.2 that phones have:
// 0-9, *, #.

export const KEYPAD_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"] as const;
export type KeypadKey = (typeof KEYPAD_KEYS)[number];

/** Letters under the digits (ITU E.161), shown on the keypad. */
export const KEYPAD_LETTERS: Record<KeypadKey, string> = {
  "1": "",
  "2": "ABC",
  "3": "DEF",
  "4": "GHI",
  "5": "JKL",
  "6": "MNO",
  "7": "PQRS",
  "8": "TUV",
  "9": "WXYZ",
  "*": "",
  "0": "+",
  "#": "",
};

export function isKeypadKey(key: string): key is KeypadKey {
  return (KEYPAD_KEYS as readonly string[]).includes(key);
}

/** The longest number a person dials (E.164 has 15 digits; feature codes with a number are a few more). */
const MAX_DIAL = 32;

/**
 * The number as it goes into the SIP URI's user part, or undefined when it
 * is not one: empty, too long, or with anything but digits, * and # (a +
 * only first).
 */
export function normaliseDial(typed: string): string | undefined {
  const compact = typed.trim().replace(/[\s.\-()/]/g, "");
  if (compact === "" || compact.length > MAX_DIAL) return undefined;
  return /^\+?[0-9*#]+$/.test(compact) ? compact : undefined;
}

/**
 * The user part of a SIP URI for `number`: `#` must be escaped there
 * (RFC 3261 §25.1: it is not an unreserved or user-unreserved character).
 */
export function sipUser(number: string): string {
  return number.replace(/#/g, "%23");
}
