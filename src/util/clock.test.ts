import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "./clock.ts";

test("fake clock fires timers in order and moves time", () => {
  const clock = new FakeClock(1000);
  const fired: string[] = [];
  clock.setTimer(50, () => fired.push("b"));
  clock.setTimer(10, () => {
    fired.push("a");
    clock.setTimer(10, () => fired.push("a2"));
  });
  const c = clock.setTimer(30, () => fired.push("cancelled"));
  c.cancel();
  clock.tick(40);
  assert.deepEqual(fired, ["a", "a2"]);
  assert.equal(clock.now(), 1040);
  clock.tick(10);
  assert.deepEqual(fired, ["a", "a2", "b"]);
  assert.equal(clock.timerCount, 0);
});

test("advance lets promises settle between timers", async () => {
  const clock = new FakeClock(0);
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimer(ms, r));
  const seen: number[] = [];
  const run = (async () => {
    for (let i = 0; i < 3; i++) {
      await sleep(20);
      seen.push(clock.now());
    }
  })();
  await clock.advance(100);
  await run;
  assert.deepEqual(seen, [20, 40, 60]);
});
