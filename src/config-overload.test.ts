import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

const BASE = { VPBX_DATA_DIR: "/tmp/vpbx-config-test" };

test("overload delay: the default (200 ms) when unset, 0 turns it off, nonsense is refused", () => {
  assert.equal(loadConfig(BASE).overloadDelayMs, undefined);
  assert.equal(loadConfig({ ...BASE, VPBX_OVERLOAD_DELAY_MS: "0" }).overloadDelayMs, 0);
  assert.equal(loadConfig({ ...BASE, VPBX_OVERLOAD_DELAY_MS: "350" }).overloadDelayMs, 350);
  assert.throws(
    () => loadConfig({ ...BASE, VPBX_OVERLOAD_DELAY_MS: "fast" }),
    (err: unknown) =>
      err instanceof ConfigError && /VPBX_OVERLOAD_DELAY_MS="fast".*milliseconds/.test(err.message),
  );
});
