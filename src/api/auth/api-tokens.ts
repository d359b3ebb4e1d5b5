// API tokens for integrations: `vpbx_<id>_<secret>`, where the id (12
// letters and digits) names the row and the secret (32 random bytes,
// base64url) proves it. The store keeps the SHA-256 of the secret only (a
// copy of the database hands out no token); the whole token is in the 201
// answer of its creation and nowhere else. The fixed prefix lets secret
// scanners (GitHub's, gitleaks) recognise a leaked one. A token is scoped
// like a console user: a tenant's administrator, or one extension's user.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiToken, Store } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";

export const API_TOKEN_PREFIX = "vpbx_";
export const API_TOKEN_ID_LENGTH = 12;
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_SHAPE = /^vpbx_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
export const API_TOKEN_ID_PATTERN = "^[A-Za-z0-9]{12}$";
/** How often a token's last use is written at most (one write per request would be one per call of an integration). */
const TOUCH_EVERY_MS = 60_000;

/** Hex SHA-256 of a token's secret. */
export function hashTokenSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A fresh token: its id, its secret, and the whole string to hand out once. */
export function newApiToken(): { id: string; secret: string; token: string } {
  // Rejection sampling keeps the 62 characters equally likely (256 is not a multiple of 62).
  let id = "";
  while (id.length < API_TOKEN_ID_LENGTH) {
    for (const b of randomBytes(16)) {
      if (b < 248 && id.length < API_TOKEN_ID_LENGTH) id += ID_ALPHABET[b % 62];
    }
  }
  const secret = randomBytes(32).toString("base64url");
  return { id, secret, token: `${API_TOKEN_PREFIX}${id}_${secret}` };
}

/** Whether a bearer token is of our API-token form (else it can only be the admin token). */
export function looksLikeApiToken(bearer: string): boolean {
  return bearer.startsWith(API_TOKEN_PREFIX);
}

/**
 * The token a bearer string proves, or undefined: malformed, unknown id, or
 * a wrong secret (compared in constant time). Notes its use (at most once a
 * minute per token).
 */
export async function resolveApiToken(
  store: Pick<Store, "apiTokens">,
  clock: Clock,
  bearer: string,
): Promise<ApiToken | undefined> {
  const m = TOKEN_SHAPE.exec(bearer);
  if (!m) return undefined;
  const token = await store.apiTokens.get(m[1]);
  if (!token || !/^[0-9a-f]{64}$/.test(token.secretHash)) return undefined;
  const presented = Buffer.from(hashTokenSecret(m[2]), "hex");
  if (!timingSafeEqual(presented, Buffer.from(token.secretHash, "hex"))) return undefined;
  const now = clock.now();
  if (token.lastUsedAt === undefined || now - token.lastUsedAt >= TOUCH_EVERY_MS) {
    await store.apiTokens.touch(token.id, now);
    token.lastUsedAt = now;
  }
  return token;
}
