import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseOptions } from "@node-rs/argon2";
import { generatePassword, hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";

describe("console passwords", () => {
  test("argon2id with OWASP's parameters, salted, verified", async () => {
    const a = await hashPassword("Quokka-juggles-7-plums!");
    const b = await hashPassword("Quokka-juggles-7-plums!");
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.notEqual(a, b, "a salt of its own each time");
    const o = parseOptions(a);
    assert.deepEqual([o.memoryCost, o.timeCost, o.parallelism], [19456, 2, 1]);
    assert.equal(await verifyPassword(a, "Quokka-juggles-7-plums!"), true);
    assert.equal(await verifyPassword(a, "quokka-juggles-7-plums!"), false);
  });

  test("an unknown user (no hash) is verified against a dummy hash and refused", async () => {
    assert.equal(await verifyPassword(undefined, "anything"), false);
    assert.equal(await verifyPassword(undefined, ""), false);
  });

  test("strength: the reason, never the password", () => {
    assert.equal(passwordProblem("Quokka-juggles-7-plums!", ["boss", "acme"]), undefined);
    assert.match(passwordProblem("short") ?? "", /10 to 128 characters/);
    assert.match(passwordProblem("password123") ?? "", /too common/);
    const weak = passwordProblem("acme.test2026", ["boss", "acme", "acme.test"]) ?? "";
    assert.match(weak, /too guessable/);
    assert.ok(!weak.includes("acme.test2026"));
    assert.match(passwordProblem(42) ?? "", /10 to 128 characters/);
  });

  test("a generated password is strong and different each time", () => {
    const a = generatePassword();
    assert.equal(passwordProblem(a), undefined);
    assert.notEqual(a, generatePassword());
  });
});
