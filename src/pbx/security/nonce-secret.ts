// The key of digest nonces (RFC 7616 §3.3, §5.4), kept in the store: the same
// after a restart, so the phones' current nonces still verify (a correct
// answer on one is never a failure), and the same on every node of the
// store, so a nonce issued by one node verifies on another.
import { randomBytes } from "node:crypto";
import type { Store } from "../../store/types.ts";

export const NONCE_SECRET_NAME = "digest-nonce-key";

/**
 * The nonce key: the one in the store, or 32 random bytes stored now (the
 * first node to ask wins; the others read its key). Throws when the stored
 * value is not hex of at least 16 bytes: a broken key must stop the start,
 * not silently fall back to one that no other node shares.
 */
export async function nonceSecret(store: Pick<Store, "secrets">): Promise<Buffer> {
  const kept = await store.secrets.setIfAbsent(NONCE_SECRET_NAME, randomBytes(32).toString("hex"));
  if (!/^(?:[0-9a-f]{2}){16,}$/i.test(kept)) {
    throw new Error(
      `the store's secret "${NONCE_SECRET_NAME}" is not hex of at least 16 bytes; delete it to have a new one made`,
    );
  }
  return Buffer.from(kept, "hex");
}
