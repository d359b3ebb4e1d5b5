import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOverrides, codeClash, isFeatureAction, isFeatureCode } from "./feature-code-table.ts";
import { DEFAULT_FEATURE_CODES, type FeatureAction } from "./types.ts";

test("the default table has no clashes of its own", () => {
  for (const { action, code } of DEFAULT_FEATURE_CODES) {
    assert.equal(codeClash(DEFAULT_FEATURE_CODES, action, code), undefined, code);
  }
});

test("code syntax: * and 1 to 4 digits", () => {
  for (const ok of ["*1", "*72", "*999", "*1234"]) assert.ok(isFeatureCode(ok), ok);
  for (const bad of ["*", "72", "*12345", "**1", "*7a", " *72", "#72"]) assert.ok(!isFeatureCode(bad), bad);
  assert.ok(isFeatureAction("voicemail.access"));
  assert.ok(!isFeatureAction("voicemail"));
});

test("equal codes and prefixes clash, in both directions", () => {
  const t = DEFAULT_FEATURE_CODES;
  assert.match(codeClash(t, "schedule.next", "*73") ?? "", /already used by forwarding.all.disable/);
  assert.match(codeClash(t, "schedule.next", "*9") ?? "", /prefix/);
  assert.match(codeClash(t, "schedule.next", "*110") ?? "", /\*11 \(callflow.toggle\)/);
  assert.equal(codeClash(t, "schedule.next", "*20"), undefined, "its own code");
  assert.equal(codeClash(t, "schedule.next", "*21"), undefined);
  assert.equal(codeClash(t, "schedule.next", "*2"), undefined, "*20 is its own, so *2 only prefixes itself");
});

test("overrides replace the defaults in place", () => {
  const table = applyOverrides(new Map<FeatureAction, string>([["callflow.toggle", "*12"]]));
  assert.equal(table.length, DEFAULT_FEATURE_CODES.length);
  assert.deepEqual(
    table.map((c) => c.action),
    DEFAULT_FEATURE_CODES.map((c) => c.action),
  );
  assert.equal(table.find((c) => c.action === "callflow.toggle")?.code, "*12");
});
