import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { AuthRateLimiter } from "./auth-rate-limiter.ts";

test("blocks a source after N failures within the window, then releases it", () => {
  const clock = new FakeClock();
  const limiter = new AuthRateLimiter({ clock, maxFailures: 3, windowMs: 60_000, blockMs: 300_000 });
  assert.equal(limiter.recordFailure("192.0.2.1"), false);
  assert.equal(limiter.recordFailure("192.0.2.1"), false);
  assert.equal(limiter.isBlocked("192.0.2.1"), false);
  assert.equal(limiter.recordFailure("192.0.2.1"), true);
  assert.equal(limiter.isBlocked("192.0.2.1"), true);
  assert.equal(limiter.isBlocked("192.0.2.2"), false, "other sources unaffected");
  // Failures during the block neither extend it nor count towards the next.
  assert.equal(limiter.recordFailure("192.0.2.1"), false);
  clock.tick(299_999);
  assert.equal(limiter.isBlocked("192.0.2.1"), true);
  clock.tick(1);
  assert.equal(limiter.isBlocked("192.0.2.1"), false);
  assert.equal(limiter.recordFailure("192.0.2.1"), false, "count starts again after a block");
});

test("failures older than the window do not count (sliding window)", () => {
  const clock = new FakeClock();
  const limiter = new AuthRateLimiter({ clock, maxFailures: 3, windowMs: 60_000 });
  limiter.recordFailure("198.51.100.7");
  clock.tick(30_000);
  limiter.recordFailure("198.51.100.7");
  clock.tick(30_000);
  // The first failure is now 60 s old: only two remain in the window.
  assert.equal(limiter.recordFailure("198.51.100.7"), false);
  assert.equal(limiter.recordFailure("198.51.100.7"), true);
});

test("memory stays bounded: idle sources are purged, and at most maxSources kept", () => {
  const clock = new FakeClock();
  const limiter = new AuthRateLimiter({ clock, maxFailures: 2, windowMs: 10_000, maxSources: 5 });
  for (let i = 0; i < 5; i++) limiter.recordFailure(`10.0.0.${i}`);
  assert.equal(limiter.size, 5);
  limiter.recordFailure("10.0.0.9");
  limiter.recordFailure("10.0.0.9");
  assert.equal(limiter.isBlocked("10.0.0.9"), true);
  for (let i = 10; i < 30; i++) limiter.recordFailure(`10.0.0.${i}`);
  assert.equal(limiter.size, 5);
  assert.equal(limiter.isBlocked("10.0.0.9"), true, "a running block survives eviction of idle sources");
  clock.tick(20_000);
  limiter.recordFailure("10.0.1.1");
  // Everything idle for a window is gone; the blocked source remains until its block ends.
  assert.equal(limiter.size, 2);
});
