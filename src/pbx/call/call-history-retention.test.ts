import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { CallHistoryRetention, DAY_MS } from "./call-history-retention.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function setup(days: number, fail = false) {
  const clock = new FakeClock(T0);
  const cuts: number[] = [];
  const retention = new CallHistoryRetention({
    clock,
    log: silentLogger(),
    days,
    store: {
      callHistory: {
        add: async () => {},
        addMany: async () => {},
        list: async () => [],
        purge: async (before) => {
          cuts.push(before);
          if (fail) throw new Error("database down");
          return 3;
        },
      },
    },
  });
  return { clock, cuts, retention };
}

test("purged a minute after the start, then once a day, of what is older than the retention", async () => {
  const { clock, cuts, retention } = setup(30);
  retention.start();
  await clock.advance(59_000);
  assert.deepEqual(cuts, [], "not in the way of the start");
  await clock.advance(1000);
  assert.deepEqual(cuts, [T0 + 60_000 - 30 * DAY_MS]);
  await clock.advance(DAY_MS - 1);
  assert.equal(cuts.length, 1);
  await clock.advance(1);
  await clock.advance(DAY_MS);
  assert.deepEqual(cuts, [
    T0 + 60_000 - 30 * DAY_MS,
    T0 + 60_000 + DAY_MS - 30 * DAY_MS,
    T0 + 60_000 + 2 * DAY_MS - 30 * DAY_MS,
  ]);
  await retention.stop();
  await clock.advance(5 * DAY_MS);
  assert.equal(cuts.length, 3, "stopped: no more purges");
  assert.equal(clock.timerCount, 0);
});

test("0 days keeps nothing: everything up to now is deleted", async () => {
  const { clock, cuts, retention } = setup(0);
  assert.equal(await retention.purgeNow(), 3);
  assert.deepEqual(cuts, [clock.now() + 1]);
});

test("a store failure is logged and tried again the next day", async () => {
  const { clock, cuts, retention } = setup(365, true);
  retention.start();
  await clock.advance(60_000);
  assert.equal(cuts.length, 1);
  assert.equal(await retention.purgeNow(), 0, "never rejects");
  await clock.advance(DAY_MS);
  assert.equal(cuts.length, 3);
  await retention.stop();
});

test("a retention that is not a whole number of days is refused", () => {
  for (const days of [-1, 1.5, Number.NaN]) {
    assert.throws(() => setup(days), RangeError);
  }
});
