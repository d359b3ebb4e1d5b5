// The provider's bearer token for the REST API. Only its SHA-256 is kept on
// disk, so a copy of the data directory does not hand out admin access.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";

export const ADMIN_TOKEN_FILE = "admin-token.sha256";

export interface AdminToken {
  /** Set only when a token was generated now: print it once, it is not stored. */
  token?: string;
  /** Constant-time check of a presented token. */
  verify(candidate: string): boolean;
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

export function resolveAdminToken(config: Pick<Config, "adminToken">, dataDir: string): AdminToken {
  if (config.adminToken !== undefined) return { verify: verifier(sha256(config.adminToken)) };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  let stored: string | undefined;
  try {
    stored = readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (stored !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(stored)) {
      throw new ConfigError([
        `${file} does not hold a SHA-256 hex digest: delete it to have a new admin token generated, or set VPBX_ADMIN_TOKEN`,
      ]);
    }
    return { verify: verifier(Buffer.from(stored, "hex")) };
  }
  const token = randomBytes(32).toString("base64url");
  const digest = sha256(token);
  mkdirSync(dataDir, { recursive: true });
  // "wx": if another process created the file meanwhile, fail rather than
  // silently replace the token that it has already printed.
  writeFileSync(file, `${digest.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return { token, verify: verifier(digest) };
}

function verifier(expected: Buffer): (candidate: string) => boolean {
  // Hashing first gives equal lengths, so timingSafeEqual leaks nothing,
  // not even the token's length.
  return (candidate) => typeof candidate === "string" && timingSafeEqual(sha256(candidate), expected);
}
