// The TCP connection caps and idle timeouts of the configuration (issue 10).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";
import { TCP_DEFAULTS } from "./sip/transport/index.ts";

test("TCP caps and timeouts left unset are the transport's defaults", () => {
  const c = loadConfig({});
  assert.equal(c.tcpMaxConnections, undefined);
  assert.equal(c.tcpMaxPerSource, undefined);
  assert.equal(c.tcpIdleTimeoutSeconds, undefined);
  assert.equal(c.tcpUnauthenticatedTimeoutSeconds, undefined);
  assert.deepEqual(TCP_DEFAULTS, {
    idleTimeoutMs: 900_000,
    unauthenticatedTimeoutMs: 30_000,
    headerTimeoutMs: 10_000,
    maxConnections: 10_000,
    maxConnectionsPerSource: 50,
  });
});

test("TCP caps and timeouts are read", () => {
  const c = loadConfig({
    VPBX_TCP_MAX_CONNECTIONS: "2000",
    VPBX_TCP_MAX_PER_SOURCE: "20",
    VPBX_TCP_IDLE_TIMEOUT: "600",
    VPBX_TCP_UNAUTHENTICATED_TIMEOUT: "10",
  });
  assert.equal(c.tcpMaxConnections, 2000);
  assert.equal(c.tcpMaxPerSource, 20);
  assert.equal(c.tcpIdleTimeoutSeconds, 600);
  assert.equal(c.tcpUnauthenticatedTimeoutSeconds, 10);
});

test("bad TCP caps and timeouts are all reported, with what is expected", () => {
  try {
    loadConfig({
      VPBX_TCP_MAX_CONNECTIONS: "0",
      VPBX_TCP_MAX_PER_SOURCE: "lots",
      VPBX_TCP_IDLE_TIMEOUT: "-5",
      VPBX_TCP_UNAUTHENTICATED_TIMEOUT: "1.5",
    });
    assert.fail("expected a ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 4);
    assert.match(
      err.problems[0],
      /^VPBX_TCP_MAX_CONNECTIONS="0" is not a connection count: expected a whole number from 1 to/,
    );
    assert.match(err.problems[1], /^VPBX_TCP_MAX_PER_SOURCE="lots" is not a connection count/);
    assert.match(err.problems[2], /^VPBX_TCP_IDLE_TIMEOUT="-5" is not a timeout in seconds/);
    assert.match(err.problems[3], /^VPBX_TCP_UNAUTHENTICATED_TIMEOUT="1.5" is not a timeout in seconds/);
  }
});
