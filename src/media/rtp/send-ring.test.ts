import assert from "node:assert/strict";
import { test } from "node:test";
import { SendRing } from "./send-ring.ts";

test("slots in flight are not handed out again until the socket is idle", () => {
  const ring = new SendRing(172, 3);
  const a = ring.take(false);
  const b = ring.take(false);
  const c = ring.take(false);
  assert.equal(new Set([a.buf, b.buf, c.buf]).size, 3);
  assert.equal(a.buf.length, 172);
  // Every slot in flight: the ring grows rather than overwrite one.
  const d = ring.take(false);
  assert.equal(ring.capacity, 4);
  assert.ok(![a, b, c].includes(d));
  // A slot given back (not sent) is reused.
  b.busy = false;
  assert.equal(ring.take(false), b);
  // Idle socket: everything is free again and nothing grows.
  for (let i = 0; i < 100; i++) ring.take(true);
  assert.equal(ring.capacity, 4);
});
