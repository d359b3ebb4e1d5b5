import assert from "node:assert/strict";
import { test } from "node:test";
import { checkPin, GENERATED_PIN_DIGITS, generatePin, hashPin, verifyPin } from "./pin.ts";

test("PIN rules: 4 to 10 digits; trivial ones refused", () => {
  const cases: [string, string, ReturnType<typeof checkPin>][] = [
    ["4826", "101", "ok"],
    ["1357", "101", "ok"],
    ["90210", "101", "ok"],
    ["4826193075", "101", "ok"],
    ["482", "101", "invalid"],
    ["48261930751", "101", "invalid"],
    ["48a6", "101", "invalid"],
    ["", "101", "invalid"],
    [" 4826", "101", "invalid"],
    ["４８２６", "101", "invalid"],
    ["0000", "101", "trivial"],
    ["777777", "101", "trivial"],
    ["1234", "101", "trivial"],
    ["123456789", "101", "trivial"],
    ["9876", "101", "trivial"],
    ["3210", "101", "trivial"],
    ["8901", "101", "trivial"],
    ["7890123", "101", "trivial"],
    ["1098", "101", "trivial"],
    ["1010", "10", "trivial"],
    ["101101", "101", "trivial"],
    ["4711", "4711", "trivial"],
    ["47114711", "4711", "trivial"],
    ["4711", "47", "ok"],
    ["1011", "101", "ok"],
  ];
  for (const [pin, mailbox, want] of cases)
    assert.equal(checkPin(pin, mailbox), want, `${pin} for ${mailbox}`);
});

test("generated PINs are 6 digits and pass the rules", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const pin = generatePin("123456");
    assert.match(pin, /^[0-9]{6}$/);
    assert.equal(pin.length, GENERATED_PIN_DIGITS);
    assert.equal(checkPin(pin, "123456"), "ok");
    seen.add(pin);
  }
  assert.ok(seen.size > 190, "random, not a sequence");
});

test("hash is scrypt$salt$hash with a fresh salt; verify matches only the PIN", async () => {
  const a = await hashPin("4826");
  const b = await hashPin("4826");
  assert.match(a, /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.notEqual(a, b, "salted");
  assert.doesNotMatch(a, /4826/);
  assert.equal(await verifyPin("4826", a), true);
  assert.equal(await verifyPin("4826", b), true);
  assert.equal(await verifyPin("4827", a), false);
  assert.equal(await verifyPin("", a), false);
  assert.equal(await verifyPin("4826", undefined), false);
  assert.equal(await verifyPin("4826", "plain-4826"), false);
  assert.equal(await verifyPin("4826", "scrypt$zz$00"), false);
});
