import assert from "node:assert/strict";
import { test } from "node:test";
import { type Clock, FakeClock, type Timer } from "../../util/clock.ts";
import { MAX_CATCH_UP, MediaPacer } from "./pacer.ts";

test("ticks every 20 ms on the ideal grid, shared, and stops its timer when empty", () => {
  const clock = new FakeClock(1000);
  const pacer = new MediaPacer(clock);
  const a: number[] = [];
  const b: number[] = [];
  const removeA = pacer.add(() => a.push(clock.now()));
  clock.tick(10);
  const removeB = pacer.add(() => b.push(clock.now()));
  assert.equal(clock.timerCount, 1);
  clock.tick(50);
  assert.deepEqual(a, [1020, 1040, 1060]);
  assert.deepEqual(b, [1020, 1040, 1060]);
  removeA();
  removeA();
  clock.tick(20);
  assert.equal(a.length, 3);
  assert.equal(b.length, 4);
  removeB();
  assert.equal(clock.timerCount, 0);
  assert.equal(pacer.size, 0);
});

test("60 s of ticks: exactly 3000, no drift, no lateness", () => {
  const clock = new FakeClock(0);
  const pacer = new MediaPacer(clock);
  const at: number[] = [];
  const remove = pacer.add(() => at.push(clock.now()));
  clock.tick(60000);
  assert.equal(at.length, 3000);
  assert.equal(at[2999], 60000);
  assert.ok(at.every((t, i) => t === (i + 1) * 20));
  assert.equal(pacer.stats().maxLatenessMs, 0);
  remove();
});

/** A clock whose timers fire only when the test says, as late as it likes. */
class ManualClock implements Clock {
  t = 0;
  pending: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const e = { at: this.t + ms, fn, cancelled: false };
    this.pending.push(e);
    return { cancel: () => (e.cancelled = true) };
  }
  /** Jumps to `t` and fires the due timers once (a blocked event loop waking up). */
  wake(t: number): void {
    this.t = t;
    const due = this.pending.filter((p) => !p.cancelled && p.at <= t);
    this.pending = this.pending.filter((p) => !due.includes(p) && !p.cancelled);
    for (const p of due) p.fn();
  }
}

test("a short stall is caught up (every tick runs), a long one skips with a tick jump", () => {
  const clock = new ManualClock();
  const pacer = new MediaPacer(clock);
  const ticks: number[] = [];
  pacer.add(() => ticks.push(pacer.tick));
  clock.wake(20);
  assert.deepEqual(ticks, [1]);
  // Woken 60 ms late: ticks 2, 3, 4 all run now.
  clock.wake(80);
  assert.deepEqual(ticks, [1, 2, 3, 4]);
  assert.equal(pacer.idealTimeOf(4), 80);
  assert.equal(pacer.stats().late, 1);
  // The next timer targets the grid again (tick 5 at 100 ms), not now + 20.
  assert.equal(clock.pending.find((p) => !p.cancelled)?.at, 100);
  // Woken one second late: only the last MAX_CATCH_UP ticks run.
  clock.wake(1080);
  const st = pacer.stats();
  assert.equal(ticks.length, 4 + MAX_CATCH_UP);
  assert.equal(ticks.at(-1), 54);
  assert.equal(pacer.tick, 54);
  assert.equal(st.skipped, 50 - MAX_CATCH_UP);
  assert.ok(st.maxLatenessMs >= 80);
});

test("a task that throws does not stop the others; tick numbers continue after an idle period", () => {
  const clock = new FakeClock(0);
  const pacer = new MediaPacer(clock);
  let ok = 0;
  const r1 = pacer.add(() => {
    throw new Error("broken endpoint");
  });
  const r2 = pacer.add(() => ok++);
  clock.tick(100);
  assert.equal(ok, 5);
  r1();
  r2();
  const last = pacer.tick;
  clock.tick(1000);
  const seen: number[] = [];
  const r3 = pacer.add(() => seen.push(pacer.tick));
  clock.tick(40);
  assert.deepEqual(seen, [last + 1, last + 2]);
  assert.equal(pacer.idealTimeOf(last + 1), 1120);
  r3();
  assert.equal(clock.timerCount, 0);
});
