import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_DIALLING_POLICY, type DiallingPolicy } from "../../store/types.ts";
import { type PolicyRefusal, policyRefusal } from "./dialling-policy.ts";
import { readDestination } from "./phone-number.ts";

const refusal = (typed: string, policy: Partial<DiallingPolicy> = {}, country = "CH") =>
  policyRefusal(
    { ...DEFAULT_DIALLING_POLICY, ...policy },
    readDestination(typed, { country }, (n) => n === "101"),
  );

const ALL_OPEN: Partial<DiallingPolicy> = {
  international: true,
  premiumRate: true,
  sharedCost: true,
  personal: true,
};

test("extensions, fixed, mobile, toll-free, emergency and other numbers are always allowed", () => {
  const always = [
    "101", // extension
    "0223334455", // fixed
    "0581234567", // UAN
    "0791231212", // mobile
    "0800123456", // toll-free
    "112",
    "144",
    "1414",
    "0740123456", // pager: other
  ];
  for (const typed of always) assert.equal(refusal(typed), undefined, typed);
  assert.equal(refusal("03012345678", {}, "DE"), undefined);
  assert.equal(refusal("0612345678", {}, "FR"), undefined);
  assert.equal(refusal("15", {}, "FR"), undefined);
  assert.equal(refusal("999", {}, "GB"), undefined);
  assert.equal(refusal("2015550123", {}, "US"), undefined);
});

test("by default the costly classes are refused, each with its own reason", () => {
  const cases: [string, string, PolicyRefusal][] = [
    ["0900123456", "CH", "premiumRate"],
    ["0906123456", "CH", "premiumRate"],
    ["0848123456", "CH", "sharedCost"],
    ["0842123456", "CH", "sharedCost"],
    ["0878123456", "CH", "personal"],
    ["0033612345678", "CH", "international"],
    ["+4930123456", "CH", "international"],
    ["00423 236 12 34", "CH", "international"],
    ["09001123456", "DE", "premiumRate"],
    ["01801123456", "DE", "sharedCost"],
    ["07012345678", "GB", "personal"],
    ["09012345678", "GB", "premiumRate"],
    ["0899123456", "FR", "premiumRate"],
    ["0810123456", "FR", "sharedCost"],
    ["+41791231212", "FR", "international"],
    ["+1 876 555 1234", "US", "international"],
  ];
  for (const [typed, country, why] of cases)
    assert.equal(refusal(typed, {}, country), why, `${typed} in ${country}`);
});

test("each switch opens its own class and no other", () => {
  assert.equal(refusal("0900123456", { premiumRate: true }), undefined);
  assert.equal(refusal("0848123456", { premiumRate: true }), "sharedCost");
  assert.equal(refusal("0848123456", { sharedCost: true }), undefined);
  assert.equal(refusal("0900123456", { sharedCost: true }), "premiumRate");
  assert.equal(refusal("0878123456", { personal: true }), undefined);
  assert.equal(refusal("0878123456", { premiumRate: true, sharedCost: true }), "personal");
  assert.equal(refusal("0033612345678", { international: true }), undefined);
  assert.equal(
    refusal("0033612345678", { premiumRate: true, sharedCost: true, personal: true }),
    "international",
  );
  for (const typed of ["0900123456", "0848123456", "0878123456", "0033612345678"]) {
    assert.equal(refusal(typed, ALL_OPEN), undefined, typed);
  }
});

test("abroad, the costly classes of that country need their switch as well as international", () => {
  // French premium rate, British personal number, German shared cost, all from Switzerland.
  assert.equal(refusal("+33899123456"), "international");
  assert.equal(refusal("+33899123456", { international: true }), "premiumRate");
  assert.equal(refusal("+33899123456", { international: true, premiumRate: true }), undefined);
  assert.equal(refusal("+447012345678", { international: true }), "personal");
  assert.equal(refusal("+447012345678", { international: true, personal: true }), undefined);
  assert.equal(refusal("+491801123456", { international: true }), "sharedCost");
  assert.equal(refusal("+491801123456", { international: true, sharedCost: true }), undefined);
  // Foreign fixed, mobile and toll-free numbers need only international.
  assert.equal(refusal("+4930123456", { international: true }), undefined);
  assert.equal(refusal("+447412345678", { international: true }), undefined);
  assert.equal(refusal("+18005550123", { international: true }), undefined);
});
