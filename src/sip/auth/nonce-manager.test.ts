import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { NonceManager } from "./nonce-manager.ts";

const secret = Buffer.alloc(32, 7);

test("issued nonces are unique, verifiable, and count upwards only", () => {
  const clock = new FakeClock();
  const nonces = new NonceManager({ clock, secret });
  const a = nonces.issue();
  const b = nonces.issue();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(nonces.check(a, 1), "ok");
  assert.equal(nonces.check(a, 1), "replay");
  assert.equal(nonces.check(a, 2), "ok");
  assert.equal(nonces.check(a, 2), "replay");
  assert.equal(nonces.check(a, 1), "replay");
  assert.equal(nonces.check(a, 5), "ok");
  assert.equal(nonces.check(b, 1), "ok");
  assert.equal(nonces.check(a, 0), "invalid");
});

test("a nonce from another secret or altered is invalid", () => {
  const clock = new FakeClock();
  const mine = new NonceManager({ clock, secret });
  const theirs = new NonceManager({ clock, secret: Buffer.alloc(32, 8) });
  const sameSecret = new NonceManager({ clock, secret });
  const n = mine.issue();
  assert.equal(theirs.check(n, 1), "invalid");
  // Another node with the shared secret verifies it without having issued it.
  assert.equal(sameSecret.check(n, 1), "ok");
  const flipped = n.slice(0, 10) + (n[10] === "A" ? "B" : "A") + n.slice(11);
  assert.equal(mine.check(flipped, 1), "invalid");
  assert.equal(mine.check("", 1), "invalid");
  assert.equal(mine.check("not a nonce", 1), "invalid");
  assert.equal(mine.check(n + "A", 1), "invalid");
});

test("a nonce expires into stale after its lifetime", () => {
  const clock = new FakeClock();
  const nonces = new NonceManager({ clock, secret, lifetimeMs: 300_000 });
  const n = nonces.issue();
  assert.equal(nonces.check(n, 1), "ok");
  clock.tick(299_000);
  assert.equal(nonces.check(n, 2), "ok");
  clock.tick(2_000);
  assert.equal(nonces.check(n, 3), "stale");
  assert.equal(nonces.check(nonces.issue(), 1), "ok");
});

test("counters are purged after expiry and bounded in number", () => {
  const clock = new FakeClock();
  const nonces = new NonceManager({ clock, secret, lifetimeMs: 1_000, maxTracked: 3 });
  const old = [nonces.issue(), nonces.issue()];
  for (const n of old) assert.equal(nonces.check(n, 1), "ok");
  assert.equal(nonces.trackedCount, 2);
  clock.tick(1_500);
  const fresh = [nonces.issue(), nonces.issue(), nonces.issue(), nonces.issue()];
  assert.equal(nonces.check(fresh[0], 1), "ok");
  assert.equal(nonces.trackedCount, 1, "expired counters purged");
  for (const n of fresh.slice(1)) assert.equal(nonces.check(n, 1), "ok");
  assert.equal(nonces.trackedCount, 3, "bounded");
  // The evicted nonce must not be accepted again from a low count: stale forces a new challenge.
  assert.equal(nonces.check(fresh[0], 1), "stale");
  assert.equal(nonces.check(fresh[0], 2), "stale");
  assert.equal(nonces.check(fresh[3], 1), "replay");
});
