import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { RtpPortPool, RtpPortPoolExhaustedError } from "./port-pool.ts";

/** An even base in a high range, random so parallel test processes rarely meet. */
function randomBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 15000);
}

test("hands out even RTP / odd RTCP pairs, bound, and rotates released ports to the back", async () => {
  const min = randomBase();
  const pool = new RtpPortPool({ min, max: min + 7, bind: "127.0.0.1" });
  assert.equal(pool.capacity, 4);
  const a = await pool.allocate();
  assert.equal(a.rtpPort % 2, 0);
  assert.equal(a.rtcpPort, a.rtpPort + 1);
  assert.ok(a.rtpPort >= min && a.rtcpPort <= min + 7);
  assert.equal(a.rtp.address().port, a.rtpPort);
  assert.equal(a.rtcp.address().port, a.rtcpPort);
  const b = await pool.allocate();
  assert.notEqual(b.rtpPort, a.rtpPort);
  assert.equal(pool.inUse, 2);
  pool.release(a);
  pool.release(a); // idempotent
  assert.equal(pool.inUse, 1);
  // The port just released is not the next one handed out.
  const c = await pool.allocate();
  assert.notEqual(c.rtpPort, a.rtpPort);
  assert.notEqual(c.rtpPort, b.rtpPort);
  for (const p of [b, c]) pool.release(p);
  assert.equal(pool.inUse, 0);
});

test("an odd minimum starts at the next even port", () => {
  const pool = new RtpPortPool({ min: 30001, max: 30006, bind: "127.0.0.1" });
  assert.equal(pool.capacity, 2);
  assert.throws(() => new RtpPortPool({ min: 30001, max: 30002, bind: "127.0.0.1" }), RangeError);
});

test("skips ports already taken by someone else", async () => {
  const min = randomBase();
  // Take the first RTCP port of the range with a foreign socket.
  const foreign = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    foreign.once("error", reject);
    foreign.bind(min + 1, "127.0.0.1", () => resolve());
  });
  const pool = new RtpPortPool({ min, max: min + 3, bind: "127.0.0.1" });
  const pair = await pool.allocate();
  assert.equal(pair.rtpPort, min + 2);
  assert.equal(pool.inUse, 1);
  // The half-bound pair at `min` was closed again: the port is free.
  const probe = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.bind(min, "127.0.0.1", () => resolve());
  });
  probe.close();
  // Exhausted now: min is skipped (RTCP taken), min+2 in use.
  await assert.rejects(pool.allocate(), RtpPortPoolExhaustedError);
  pool.release(pair);
  foreign.close();
});

test("throws a clear error when exhausted, and works again after a release", async () => {
  const min = randomBase();
  const pool = new RtpPortPool({ min, max: min + 3, bind: "127.0.0.1" });
  const pairs = await Promise.all([pool.allocate(), pool.allocate()]);
  assert.notEqual(pairs[0].rtpPort, pairs[1].rtpPort);
  await assert.rejects(pool.allocate(), (err: Error) => {
    assert.ok(err instanceof RtpPortPoolExhaustedError);
    assert.match(err.message, new RegExp(`${min}-${min + 3}`));
    return true;
  });
  pool.release(pairs[0]);
  const again = await pool.allocate();
  assert.equal(again.rtpPort, pairs[0].rtpPort);
  pool.release(again);
  pool.release(pairs[1]);
});

test("a bind address that is not ours fails at once with the reason", async () => {
  const pool = new RtpPortPool({ min: 40000, max: 40999, bind: "192.0.2.1" });
  await assert.rejects(pool.allocate(), /cannot bind RTP port/);
  assert.equal(pool.inUse, 0);
});
