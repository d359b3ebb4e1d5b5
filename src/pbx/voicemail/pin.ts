// Mailbox PINs: the rules a new PIN must pass, and how it is kept (scrypt,
// RFC 7914) and compared (in constant time). Shared by the voice menu
// (change PIN) and the API (set, reset), so both refuse the same PINs.
import { randomBytes, randomInt, scrypt, timingSafeEqual } from "node:crypto";
import type { PinChange } from "./voicemail.ts";

export const PIN_MIN_DIGITS = 4;
export const PIN_MAX_DIGITS = 10;
/** The length of a PIN that vpbx chooses (a new mailbox, a reset). */
export const GENERATED_PIN_DIGITS = 6;

/**
 * scrypt's cost: N = 2^14, r = 8, p = 1 (RFC 7914 §2's interactive-login
 * figures; about 16 MiB and a few tens of milliseconds per check, which also
 * slows an offline attack on a stolen database). The hash is 32 bytes with a
 * 16-byte random salt.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/**
 * Whether `pin` may be a mailbox's PIN: "invalid" when it is not 4 to 10
 * digits; "trivial" when it is what a guesser tries first — one digit
 * repeated (0000), a run up or down, also across 9→0 (1234, 9876, 8901),
 * or the mailbox's own number (or that number repeated: 101101).
 */
export function checkPin(pin: string, mailbox: string): PinChange {
  if (typeof pin !== "string" || !/^[0-9]+$/.test(pin)) return "invalid";
  if (pin.length < PIN_MIN_DIGITS || pin.length > PIN_MAX_DIGITS) return "invalid";
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => (d - digits[i] + 10) % 10));
  // One step size all along: 0 is one digit repeated, 1 a run up, 9 a run down.
  if (steps.size === 1 && [0, 1, 9].includes([...steps][0])) return "trivial";
  if (
    mailbox.length > 0 &&
    pin.length % mailbox.length === 0 &&
    mailbox.repeat(pin.length / mailbox.length) === pin
  ) {
    return "trivial";
  }
  return "ok";
}

/** A random PIN of `digits` digits that passes checkPin for this mailbox. */
export function generatePin(mailbox: string, digits = GENERATED_PIN_DIGITS): string {
  for (;;) {
    let pin = "";
    for (let i = 0; i < digits; i++) pin += String(randomInt(10));
    if (checkPin(pin, mailbox) === "ok") return pin;
  }
}

function derive(pin: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pin, salt, KEY_BYTES, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** "scrypt$<salt hex>$<hash hex>" of a PIN. */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(pin, salt);
  return `scrypt$${salt.toString("hex")}$${key.toString("hex")}`;
}

const HASH = /^scrypt\$([0-9a-f]{2,128})\$([0-9a-f]{64})$/;
/** Stands in for a missing or unreadable hash, so that the answer takes as long either way. */
const DUMMY_SALT = Buffer.alloc(SALT_BYTES);

/**
 * Whether `pin` matches `stored`, compared with crypto.timingSafeEqual: the
 * time taken says nothing about how many leading bytes matched. A missing or
 * unreadable hash matches nothing (after the same work).
 */
export async function verifyPin(pin: string, stored: string | undefined): Promise<boolean> {
  const m = stored === undefined ? null : HASH.exec(stored);
  const salt = m ? Buffer.from(m[1], "hex") : DUMMY_SALT;
  const key = await derive(typeof pin === "string" ? pin : "", salt);
  if (!m) return false;
  return timingSafeEqual(key, Buffer.from(m[2], "hex"));
}
