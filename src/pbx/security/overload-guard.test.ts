import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FakeClock } from "../../util/clock.ts";
import { eventLoopProbe, type LoadProbe, type LoadSample, OverloadGuard } from "./overload-guard.ts";

/** A probe that reports whatever the test sets. */
function fakeProbe(): LoadProbe & { load: LoadSample; stopped: boolean } {
  return {
    load: { delayMs: 0, utilization: 0 },
    stopped: false,
    sample() {
      return { ...this.load };
    },
    stop() {
      this.stopped = true;
    },
  };
}

function guard(maxDelayMs = 200) {
  const clock = new FakeClock();
  const probe = fakeProbe();
  const g = new OverloadGuard({
    probe,
    clock,
    log: pino({ level: "silent" }),
    maxDelayMs,
    random: () => 0.5,
  });
  g.start();
  return { clock, probe, g };
}

test("calls are taken while the signalling thread keeps up", async () => {
  const { clock, probe, g } = guard();
  probe.load = { delayMs: 150, utilization: 0.7 };
  await clock.advance(1000);
  assert.equal(g.refusal(), undefined);
  assert.deepEqual(g.state, { overloaded: false, delayMs: 150, utilization: 0.7 });
});

test("a delay above the limit for two windows: new calls get a Retry-After spread at random", async () => {
  const { clock, probe, g } = guard();
  probe.load = { delayMs: 450, utilization: 0.5 };
  await clock.advance(250);
  assert.equal(g.refusal(), undefined, "one hot window is a stall, not overload");
  await clock.advance(250);
  assert.deepEqual(g.refusal(), { retryAfterSeconds: 5 + 3 });
  assert.equal(g.state.overloaded, true);
});

test("a thread busy all the time is overloaded even with a short delay (its datagrams queue in the kernel)", async () => {
  const { clock, probe, g } = guard();
  probe.load = { delayMs: 20, utilization: 0.99 };
  await clock.advance(750);
  assert.equal(g.refusal(), undefined, "three busy windows: it may be catching up");
  await clock.advance(250);
  assert.ok(g.refusal());
});

test("half a second at full speed, working off what the socket kept during a pause, refuses nothing", async () => {
  const { clock, probe, g } = guard();
  // As measured at 500 calls/s: two windows at 97 %, then calm again.
  for (const utilization of [0.8, 0.97, 0.97, 0.5, 0.97, 0.97, 0.97, 0.6]) {
    probe.load = { delayMs: 40, utilization };
    await clock.advance(250);
    assert.equal(g.refusal(), undefined);
  }
});

test("one stall between calm windows refuses nothing", async () => {
  const { clock, probe, g } = guard();
  for (const delayMs of [10, 900, 10, 900, 10]) {
    probe.load = { delayMs, utilization: 0.4 };
    await clock.advance(250);
    assert.equal(g.refusal(), undefined);
  }
});

test("hysteresis: refusals go on until the delay is below half the limit and the thread is calm", async () => {
  const { clock, probe, g } = guard(200);
  probe.load = { delayMs: 300, utilization: 0.5 };
  await clock.advance(500);
  probe.load = { delayMs: 150, utilization: 0.5 }; // under the limit, above half of it
  await clock.advance(250);
  assert.ok(g.refusal());
  probe.load = { delayMs: 80, utilization: 0.9 }; // the delay is fine, the thread still busy
  await clock.advance(250);
  assert.ok(g.refusal());
  probe.load = { delayMs: 80, utilization: 0.5 };
  await clock.advance(250);
  assert.equal(g.refusal(), undefined);
});

test("a limit of 0 turns the guard off", async () => {
  const { clock, probe, g } = guard(0);
  probe.load = { delayMs: 10_000, utilization: 1 };
  await clock.advance(5000);
  assert.equal(g.refusal(), undefined);
});

test("stop stops sampling and the probe", async () => {
  const { clock, probe, g } = guard();
  g.stop();
  assert.equal(probe.stopped, true);
  probe.load = { delayMs: 1000, utilization: 1 };
  await clock.advance(5000);
  assert.equal(g.refusal(), undefined);
});

test("the event-loop probe sees a blocked loop, in its delay and its utilisation", async () => {
  const probe = eventLoopProbe();
  try {
    await new Promise((r) => setTimeout(r, 30));
    const end = performance.now() + 120;
    while (performance.now() < end) {
      // a busy signalling thread
    }
    await new Promise((r) => setTimeout(r, 30));
    const busy = probe.sample();
    assert.ok(busy.delayMs >= 80, `a 120 ms block shows in the window's p99 (${busy.delayMs})`);
    assert.ok(busy.utilization > 0.4, `and in its utilisation (${busy.utilization})`);
    await new Promise((r) => setTimeout(r, 50));
    const calm = probe.sample();
    assert.ok(calm.delayMs < 80, "the next window starts afresh");
    assert.ok(calm.utilization < 0.5, `an idle window (${calm.utilization})`);
  } finally {
    probe.stop();
  }
});
