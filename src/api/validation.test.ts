import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkDomain,
  checkPassword,
  ValidationError,
  validateExtensionPatch,
  validateFeatureSwitches,
  validateNewExtension,
  validateNewTenant,
  validateTenantPatch,
} from "./validation.ts";

test("new tenant: defaults left to the store, domain lower-cased", () => {
  assert.deepEqual(validateNewTenant({ name: "acme-2", domain: "PBX.Acme.CH" }), {
    name: "acme-2",
    domain: "pbx.acme.ch",
  });
  assert.deepEqual(
    validateNewTenant({
      name: "a",
      domain: "a.test",
      language: "it",
      timezone: "America/New_York",
      country: "US",
    }),
    { name: "a", domain: "a.test", language: "it", timezone: "America/New_York", country: "US" },
  );
});

test("problems are all collected", () => {
  try {
    validateNewTenant({ name: "", domain: "", language: "xx", timezone: "Nowhere", country: "ZZ", other: 1 });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.problems.length, 6);
    assert.match(e.message, /unknown field "other"/);
  }
  assert.throws(() => validateNewTenant(null), /expected an object/);
  assert.throws(() => validateTenantPatch({ name: "x" }), /unknown field "name"/);
});

test("domains", () => {
  for (const ok of ["acme.test", "a", "xn--bcher-kva.ch", "pbx-1.example.co.uk", `${"a".repeat(63)}.ch`]) {
    assert.equal(checkDomain(ok), undefined, ok);
  }
  for (const bad of [
    "",
    "a..b",
    "-a.ch",
    "a-.ch",
    "a b.ch",
    "a_b.ch",
    `${"a".repeat(64)}.ch`,
    "acme.test.",
    42,
  ]) {
    assert.notEqual(checkDomain(bad), undefined, String(bad));
  }
  assert.notEqual(checkDomain(`${"abcdefghi.".repeat(26)}ch`), undefined, "over 253 characters");
});

test("passwords: length, and never the number or the number repeated", () => {
  assert.equal(checkPassword("12345678", "101"), undefined);
  assert.match(checkPassword("1234567", "101") ?? "", /8 to 128/);
  assert.match(checkPassword("x".repeat(129), "101") ?? "", /8 to 128/);
  assert.match(checkPassword("123456", "123456") ?? "", /8 to 128/);
  assert.match(checkPassword("10101010", "10") ?? "", /extension number/);
  assert.match(checkPassword("123456123456", "123456") ?? "", /extension number/);
  assert.equal(checkPassword("101101101x", "101"), undefined);
  assert.doesNotMatch(checkPassword("secret", "10") ?? "", /secret/, "never echoed");
});

test("extensions and their patches", () => {
  assert.deepEqual(
    validateNewExtension({ number: "101", password: "pass-word", displayName: "Zoë Müller" }),
    {
      number: "101",
      password: "pass-word",
      displayName: "Zoë Müller",
    },
  );
  assert.throws(
    () => validateNewExtension({ number: "101", password: "pass-word", displayName: "" }),
    /display name/,
  );
  assert.throws(
    () => validateNewExtension({ number: "101", password: "pass-word", displayName: "a\u0000" }),
    /display name/,
  );
  assert.deepEqual(validateExtensionPatch({ language: null }, "101"), { language: null });
  assert.throws(() => validateExtensionPatch({ password: "101101101" }, "101"), /extension number/);
  assert.throws(() => validateExtensionPatch({ ringTimeoutSeconds: 30.5 }, "101"), /ringTimeoutSeconds/);
  assert.deepEqual(validateFeatureSwitches({ voicemail: true }), { voicemail: true });
  assert.throws(() => validateFeatureSwitches({ voicemail: 1 }), /voicemail must be true or false/);
});
