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

test("a nonce is bound to the requester it was issued to", () => {
  const clock = new FakeClock();
  const nonces = new NonceManager({ clock, secret });
  const n = nonces.issue("192.0.2.10");
  assert.equal(nonces.origin(n, "192.0.2.10"), "fresh");
  // Another address cannot use it: a forged source never read the challenge sent to this one.
  assert.equal(nonces.origin(n, "198.51.100.1"), "foreign");
  assert.equal(nonces.origin(n), "foreign");
  assert.equal(nonces.check(n, 1, "198.51.100.1"), "invalid");
  assert.equal(nonces.check(n, 1, "192.0.2.10"), "ok");
  clock.tick(300_001);
  assert.equal(nonces.origin(n, "192.0.2.10"), "expired");
  assert.equal(nonces.origin("made-up", "192.0.2.10"), "foreign");
  assert.equal(nonces.origin("A".repeat(43), "192.0.2.10"), "foreign");
});

test("the same secret after a restart verifies the old nonces, but their counts start stale", () => {
  const clock = new FakeClock();
  const before = new NonceManager({ clock, secret });
  const n = before.issue("192.0.2.10");
  assert.equal(before.check(n, 1, "192.0.2.10"), "ok");
  clock.tick(1_000);
  const after = new NonceManager({ clock, secret });
  // Ours (so a wrong digest on it is a real failure)...
  assert.equal(after.origin(n, "192.0.2.10"), "fresh");
  // ...but the counter died with the previous process: a fresh nonce, never a replay window.
  assert.equal(after.check(n, 2, "192.0.2.10"), "stale");
  const m = after.issue("192.0.2.10");
  assert.equal(after.check(m, 1, "192.0.2.10"), "ok");
  // With another secret, the old nonce is not ours at all.
  assert.equal(new NonceManager({ clock, secret: Buffer.alloc(32, 9) }).origin(n, "192.0.2.10"), "foreign");
});

test("a secret too short to be a key is refused", () => {
  assert.throws(() => new NonceManager({ clock: new FakeClock(), secret: Buffer.alloc(8) }), /16 bytes/);
});
