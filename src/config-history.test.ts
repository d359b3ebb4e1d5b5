import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, DEFAULT_CALL_HISTORY_DAYS, loadConfig } from "./config.ts";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

test("call history: a year by default, any whole number of days, 0 for none", () => {
  assert.equal(DEFAULT_CALL_HISTORY_DAYS, 365);
  assert.equal(loadConfig({}).callHistoryDays, undefined, "unset: the default");
  assert.equal(loadConfig({ VPBX_CALL_HISTORY_DAYS: "30" }).callHistoryDays, 30);
  assert.equal(loadConfig({ VPBX_CALL_HISTORY_DAYS: "0" }).callHistoryDays, 0, "no history kept");
  assert.equal(loadConfig({ VPBX_CALL_HISTORY_DAYS: " " }).callHistoryDays, undefined, "blank is unset");
  for (const bad of ["-1", "1.5", "a year", "36501"]) {
    const p = problems({ VPBX_CALL_HISTORY_DAYS: bad });
    assert.equal(p.length, 1, bad);
    assert.match(
      p[0]!,
      /^VPBX_CALL_HISTORY_DAYS=".*" is not a number of days \(0: keep no call history\): expected a whole number from 0 to 36500$/,
    );
  }
});

test("metrics token: unset turns /metrics off; a short one is refused without being echoed", () => {
  assert.equal(loadConfig({}).metricsToken, undefined);
  const token = "b1946ac92492d2347c6235b4d2611184";
  assert.equal(loadConfig({ VPBX_METRICS_TOKEN: token }).metricsToken, token);
  for (const bad of ["short-secret", "a token with spaces in it"]) {
    const p = problems({ VPBX_METRICS_TOKEN: bad });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^VPBX_METRICS_TOKEN is not a usable token: expected at least 16 characters/);
    assert.ok(!p[0]!.includes(bad), "the secret is not in the message");
  }
});
