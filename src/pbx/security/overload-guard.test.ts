import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FakeClock } from "../../util/clock.ts";
import { eventLoopProbe, type LoadProbe, OverloadGuard } from "./overload-guard.ts";

/** A probe that reports whatever the test sets. */
function fakeProbe(): LoadProbe & { delay: number; stopped: boolean } {
  return {
    delay: 0,
    stopped: false,
    sample() {
      return this.delay;
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

test("calls are taken while the event loop keeps up", async () => {
  const { clock, probe, g } = guard();
  probe.delay = 150;
  await clock.advance(1000);
  assert.equal(g.refusal(), undefined);
  assert.deepEqual(g.state, { overloaded: false, delayMs: 150 });
});

test("above the limit new calls are refused with a Retry-After spread at random", async () => {
  const { clock, probe, g } = guard();
  probe.delay = 450;
  await clock.advance(250);
  assert.deepEqual(g.refusal(), { retryAfterSeconds: 5 + 3 });
  assert.equal(g.state.overloaded, true);
});

test("hysteresis: refusals go on until the delay is below half the limit", async () => {
  const { clock, probe, g } = guard(200);
  probe.delay = 300;
  await clock.advance(250);
  probe.delay = 150; // under the limit, above half of it: still overloaded
  await clock.advance(250);
  assert.ok(g.refusal());
  probe.delay = 80;
  await clock.advance(250);
  assert.equal(g.refusal(), undefined);
});

test("a limit of 0 turns the guard off", async () => {
  const { clock, probe, g } = guard(0);
  probe.delay = 10_000;
  await clock.advance(5000);
  assert.equal(g.refusal(), undefined);
});

test("stop stops sampling and the probe", async () => {
  const { clock, probe, g } = guard();
  g.stop();
  assert.equal(probe.stopped, true);
  probe.delay = 1000;
  await clock.advance(5000);
  assert.equal(g.refusal(), undefined);
});

test("the event-loop probe sees a blocked loop", async () => {
  const probe = eventLoopProbe();
  try {
    await new Promise((r) => setTimeout(r, 30));
    const end = performance.now() + 120;
    while (performance.now() < end) {
      // a busy signalling thread
    }
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(probe.sample() >= 80, "a 120 ms block shows in the window's p99");
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(probe.sample() < 80, "the next window starts afresh");
  } finally {
    probe.stop();
  }
});
