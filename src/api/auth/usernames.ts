// Console usernames: one namespace across tenants (a login names no
// tenant), compared without case. Letters, digits and . _ @ + - so that an
// e-mail address fits; 1 to 64 characters, starting with a letter or digit.

export const USERNAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$";
const USERNAME = new RegExp(USERNAME_PATTERN);

/** Why a username is refused, or undefined. */
export function usernameProblem(v: unknown): string | undefined {
  return typeof v === "string" && USERNAME.test(v)
    ? undefined
    : `username ${typeof v === "string" ? JSON.stringify(v) : String(v)} must be 1 to 64 letters, digits or . _ @ + -, starting with a letter or a digit`;
}

/** The form the store keeps and compares. */
export const normaliseUsername = (v: string): string => v.toLowerCase();
