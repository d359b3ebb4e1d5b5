import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InvalidNumber,
  readDestination,
  spokenDigits,
  storedDestination,
  storedTarget,
} from "./phone-number.ts";

const ch = { country: "CH" };
const exts = new Set(["101", "102"]);
const isExt = (n: string) => exts.has(n);

test("a Swiss mobile typed nationally or internationally is the same E.164 number", () => {
  for (const typed of ["0791231212", "0041791231212", "+41791231212"]) {
    const d = readDestination(typed, ch, isExt);
    assert.deepEqual(d, { kind: "external", e164: "+41791231212", national: "791231212" });
    assert.equal(spokenDigits(d, ch), "0791231212");
  }
});

test("an extension of the tenant stays an extension", () => {
  assert.deepEqual(readDestination("102", ch, isExt), { kind: "extension", number: "102" });
  assert.equal(spokenDigits({ kind: "extension", number: "102" }, ch), "102");
});

test("premium-rate, foreign and malformed numbers are refused with the reason", () => {
  const why = (typed: string) => {
    try {
      readDestination(typed, ch, isExt);
      return "accepted";
    } catch (err) {
      assert.ok(err instanceof InvalidNumber);
      return err.why;
    }
  };
  assert.equal(why("0900123456"), "not-allowed");
  assert.equal(why("0033612345678"), "not-allowed");
  assert.equal(why("12"), "malformed");
  assert.equal(why("07912#3"), "malformed");
  assert.equal(why(""), "empty");
  assert.equal(why("0223334455"), "accepted");
  assert.equal(why("0800123456"), "accepted");
});

test("stored targets round-trip", () => {
  const d = readDestination("0791231212", ch, isExt);
  assert.deepEqual(storedDestination(storedTarget(d)), d);
  assert.deepEqual(storedDestination("101"), { kind: "extension", number: "101" });
});
