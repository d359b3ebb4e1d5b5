import assert from "node:assert/strict";
import { test } from "node:test";
import type { SecretRepository } from "../../store/types.ts";
import { seededStore } from "../registrar/sip-phone.test-helper.ts";
import { NONCE_SECRET_NAME, nonceSecret } from "./nonce-secret.ts";

test("the nonce key is made once and then read back, by every node of the store", async () => {
  const store = await seededStore();
  const a = await nonceSecret(store);
  assert.equal(a.length, 32);
  assert.deepEqual(await nonceSecret(store), a);
  assert.equal(await store.secrets.get(NONCE_SECRET_NAME), a.toString("hex"));
  await store.close();
});

test("a stored key that is not hex of 16 bytes or more stops the start", async () => {
  for (const bad of ["", "zz".repeat(32), "ab".repeat(8 - 1), "abc"]) {
    const secrets: SecretRepository = { get: async () => bad, setIfAbsent: async () => bad };
    await assert.rejects(nonceSecret({ secrets }), /digest-nonce-key/);
  }
});
