// Console passwords: argon2id (RFC 9106) through @node-rs/argon2 with
// OWASP's minimum (m=19456 KiB, t=2, p=1, which are also the library's
// defaults), kept as the PHC string that carries its own salt and
// parameters, so that stronger settings later still verify old hashes.
//
// A login for a username that does not exist still runs one verification,
// against DUMMY_HASH: the answer comes after the same work and says the same
// thing, so neither its words nor its time tell which usernames exist.
import { randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import { passwordStrength } from "../password-strength.ts";
import { PASSWORD_MAX, PASSWORD_MIN } from "../validation.ts";

/** OWASP Password Storage Cheat Sheet, argon2id: 19 MiB, 2 passes, 1 lane (about 10 ms here). */
export const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** A hash of 32 random bytes nobody kept: what an unknown username is checked against. */
const DUMMY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$brQZfV8AB6KHhXsSoPDJOA$/wHInks+oHhdzUPknxWpFMMitf5Mi4A+M4TAr9KgrGk";

/** The longest password a login may present: argon2 takes any length, the body limit should not be its only bound. */
export const LOGIN_PASSWORD_MAX = 1024;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/**
 * Whether `password` matches `stored`; with `stored` undefined (no such
 * user) the same work is done against a dummy hash and the answer is false.
 * A stored value that is not an argon2 PHC string rejects: that is a damaged
 * row, for the error handler to log, not a wrong password.
 */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  const ok = await verify(stored ?? DUMMY_HASH, password);
  return stored !== undefined && ok;
}

/**
 * Why a new console password is refused, or undefined when it is good: 10 to
 * 128 characters (NIST SP 800-63B §5.1.1.2), not on the common-password list,
 * and at least 10^8 guesses by zxcvbn's estimate. `known` are words an
 * attacker knows (the username, the company's name and domain). Never names
 * the password itself.
 */
export function passwordProblem(password: unknown, known: readonly string[] = []): string | undefined {
  if (
    typeof password !== "string" ||
    [...password].length < PASSWORD_MIN ||
    [...password].length > PASSWORD_MAX
  ) {
    return `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  }
  const verdict = passwordStrength(password, known);
  if (verdict.ok) return undefined;
  if (verdict.why === "too-common") return "password: too common (it is on a list of leaked passwords)";
  return `password: too guessable: ${verdict.feedback}`;
}

/** A password for someone who gave none: 20 random bytes in base64url (160 bits), printed once. */
export function generatePassword(): string {
  return randomBytes(20).toString("base64url");
}
