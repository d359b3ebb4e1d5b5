import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

const BASE = { VPBX_DATA_DIR: "/tmp/vpbx-config-test" };

test("rtpengine: unset is our own relay; IP:port (IPv6 in brackets) is its ng socket", () => {
  assert.equal(loadConfig(BASE).rtpengine, undefined);
  assert.deepEqual(loadConfig({ ...BASE, VPBX_RTPENGINE: "127.0.0.1:2223" }).rtpengine, {
    host: "127.0.0.1",
    port: 2223,
  });
  assert.deepEqual(loadConfig({ ...BASE, VPBX_RTPENGINE: "[::1]:2223" }).rtpengine, {
    host: "::1",
    port: 2223,
  });
});

test("rtpengine: a host name or a missing port is refused, naming listen-ng", () => {
  for (const bad of ["rtpengine:2223", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000"]) {
    assert.throws(
      () => loadConfig({ ...BASE, VPBX_RTPENGINE: bad }),
      (err: unknown) => err instanceof ConfigError && /VPBX_RTPENGINE=.*listen-ng/.test(err.message),
      bad,
    );
  }
});
