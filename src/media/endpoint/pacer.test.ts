import assert from "node:assert/strict";
import { test } from "node:test";
import { type Clock, FakeClock, type Timer } from "../../util/clock.ts";
import { EARLY_MS, MAX_CATCH_UP, MediaPacer } from "./pacer.ts";

test("ticks every 20 ms on the ideal grid, each endpoint in its own phase, one timer, none when empty", () => {
  const clock = new FakeClock(1000);
  const pacer = new MediaPacer(clock);
  const a: number[] = [];
  const b: number[] = [];
  const removeA = pacer.add(() => a.push(clock.now()));
  clock.tick(10);
  const removeB = pacer.add(() => b.push(clock.now()));
  assert.equal(clock.timerCount, 1);
  // a in phase 0 (period start), b in the least loaded phase after it: 2 ms later.
  assert.deepEqual(pacer.stats().perSlot, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  clock.tick(50);
  assert.deepEqual(a, [1020, 1040, 1060]);
  assert.deepEqual(b, [1022, 1042]);
  assert.equal(clock.timerCount, 1);
  removeA();
  removeA();
  clock.tick(20);
  assert.equal(a.length, 3);
  assert.deepEqual(b, [1022, 1042, 1062]);
  removeB();
  assert.equal(clock.timerCount, 0);
  assert.equal(pacer.size, 0);
});

test("endpoints spread over the phases least-loaded; each phase runs only its own, in order", () => {
  const clock = new FakeClock(0);
  const pacer = new MediaPacer(clock);
  const runs: Array<{ at: number; who: number[] }> = [];
  const removers: Array<() => void> = [];
  for (let i = 0; i < 25; i++) {
    removers.push(
      pacer.add(() => {
        const last = runs.at(-1);
        if (last && last.at === clock.now()) last.who.push(i);
        else runs.push({ at: clock.now(), who: [i] });
        assert.equal(pacer.idealNow, clock.now());
      }),
    );
  }
  assert.deepEqual(pacer.stats().perSlot, [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
  clock.tick(40);
  // Period 1 (20 … 38 ms), then phase 0 of period 2 at 40.
  assert.deepEqual(
    runs.map((r) => r.at),
    [20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40],
  );
  assert.deepEqual(runs[0].who, [0, 10, 20]);
  assert.deepEqual(runs[5].who, [5, 15]);
  assert.deepEqual(runs[10].who, [0, 10, 20]);
  // A phase freed by departures is the first to be refilled.
  removers[3]();
  removers[13]();
  removers[23]();
  assert.deepEqual(pacer.stats().perSlot, [3, 3, 3, 0, 3, 2, 2, 2, 2, 2]);
  const late: number[] = [];
  pacer.add(() => late.push(clock.now()));
  clock.tick(20);
  assert.deepEqual(late, [46]);
  assert.equal(pacer.stats().maxLatenessMs, 0);
  assert.equal(clock.timerCount, 1);
});

test("one phase behaves as a single shared tick", () => {
  const clock = new FakeClock(0);
  const pacer = new MediaPacer(clock, 20, undefined, 1);
  const at: number[][] = [[], [], []];
  for (const list of at) pacer.add(() => list.push(clock.now()));
  clock.tick(60);
  for (const list of at) assert.deepEqual(list, [20, 40, 60]);
  assert.throws(() => new MediaPacer(clock, 20, undefined, 0), RangeError);
});

test("60 s of ticks: exactly 3000 per endpoint, 20 ms apart in every phase, no drift, no lateness", () => {
  const clock = new FakeClock(0);
  const pacer = new MediaPacer(clock);
  // 13 endpoints: every phase used, some twice.
  const at: number[][] = [];
  const ideal: number[][] = [];
  const removers: Array<() => void> = [];
  for (let i = 0; i < 13; i++) {
    const mine: number[] = [];
    const mineIdeal: number[] = [];
    at.push(mine);
    ideal.push(mineIdeal);
    removers.push(
      pacer.add(() => {
        mine.push(clock.now());
        mineIdeal.push(pacer.idealNow);
      }),
    );
  }
  clock.tick(60018);
  for (let i = 0; i < 13; i++) {
    const offset = (i % 10) * 2;
    assert.equal(at[i].length, 3000, `endpoint ${i}`);
    assert.ok(
      at[i].every((t, n) => t === (n + 1) * 20 + offset),
      `endpoint ${i}`,
    );
    assert.deepEqual(ideal[i], at[i]);
    // 8 kHz timestamp units across the 3000 packets, as an endpoint derives them.
    assert.equal((ideal[i][2999] - ideal[i][0]) * 8 + 160, 480000);
  }
  assert.equal(pacer.stats().maxLatenessMs, 0);
  assert.equal(pacer.stats().ticks, 30000);
  for (const r of removers) r();
  assert.equal(clock.timerCount, 0);
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
  const pacer = new MediaPacer(clock, 20, undefined, 1);
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

test("a stall replays the due phases in order; a long one skips whole periods for every phase alike", () => {
  const clock = new ManualClock();
  const pacer = new MediaPacer(clock);
  const log: string[] = [];
  pacer.add(() => log.push(`a${pacer.tick}@${pacer.idealNow}`));
  pacer.add(() => log.push(`b${pacer.tick}@${pacer.idealNow}`));
  clock.wake(22);
  assert.deepEqual(log, ["a1@20", "b1@22"]);
  // Woken at 61: phases of periods 2 and 3 that fell due run in time order, b's at 62 not yet.
  clock.wake(61);
  assert.deepEqual(log.slice(2), ["a2@40", "b2@42", "a3@60"]);
  assert.equal(clock.pending.find((p) => !p.cancelled)?.at, 62);
  clock.wake(62);
  // One second late: each endpoint runs exactly its last MAX_CATCH_UP ticks.
  log.length = 0;
  clock.wake(1063);
  assert.equal(log.length, 2 * MAX_CATCH_UP);
  assert.deepEqual(log.slice(-2), ["a53@1060", "b53@1062"]);
  assert.equal(log.filter((l) => l.startsWith("a")).length, MAX_CATCH_UP);
  assert.equal(pacer.stats().skipped, 50 - MAX_CATCH_UP);
  assert.equal(clock.pending.find((p) => !p.cancelled)?.at, 1080);
  // A stall ending mid-period: never more than MAX_CATCH_UP periods replayed.
  log.length = 0;
  clock.wake(2069);
  assert.deepEqual(log.slice(-2), ["a103@2060", "b103@2062"]);
  assert.equal(log.length, 2 * (MAX_CATCH_UP - 1));
  assert.equal(pacer.stats().skipped, 50 - MAX_CATCH_UP + 46);
});

test("a newcomer starts at its phase's next instant, never replays phases already past", () => {
  const clock = new FakeClock(1000);
  const pacer = new MediaPacer(clock, 20, undefined, 4);
  const a: number[] = [];
  const x: number[] = [];
  pacer.add(() => a.push(clock.now()));
  pacer.add(() => {});
  const removers = [pacer.add(() => {}), pacer.add(() => {})];
  for (const r of removers) r();
  // Phases 0 and 1 have work: the timer goes from 1025 straight to 1040,
  // and the empty phases at 1030 and 1035 pass unrun.
  clock.tick(37);
  pacer.add(() => x.push(clock.now()));
  assert.deepEqual(pacer.stats().perSlot, [1, 1, 1, 0]);
  clock.tick(20);
  assert.deepEqual(a, [1020, 1040]);
  assert.deepEqual(x, [1050]);
  assert.equal(pacer.stats().maxLatenessMs, 0);
  // Among equally loaded phases, the newcomer takes the one due soonest.
  const c2 = new FakeClock(0);
  const p4 = new MediaPacer(c2, 20, undefined, 4);
  p4.add(() => {});
  c2.tick(27); // phase 0 ran at 20; phase 1 (25) is past, phase 2 (30) next
  const d: number[] = [];
  p4.add(() => d.push(c2.now()));
  c2.tick(25);
  assert.deepEqual(d, [30, 50]);
  assert.deepEqual(p4.stats().perSlot, [1, 0, 1, 0]);
});

test("a phase due within EARLY_MS after the previous burst runs at once; one period at most per wake-up", () => {
  const clock = new ManualClock();
  const pacer = new MediaPacer(clock);
  const log: string[] = [];
  assert.ok(EARLY_MS > 0.4 && EARLY_MS < 0.6);
  let burst = 1.6; // b's phase is then due in 0.4 ms: within EARLY_MS
  pacer.add(() => {
    log.push(`a@${clock.t}`);
    clock.t += burst;
  });
  pacer.add(() => log.push(`b@${clock.t}`));
  clock.wake(20);
  assert.deepEqual(log, ["a@20", `b@${20 + burst}`]);
  assert.equal(clock.pending.filter((p) => !p.cancelled).length, 1);
  assert.equal(clock.pending.find((p) => !p.cancelled)?.at, 40);
  // Further than EARLY_MS: b waits for its own instant.
  burst = 1.4; // 0.6 ms left
  clock.wake(40);
  assert.deepEqual(log.slice(2), ["a@40"]);
  assert.equal(clock.pending.find((p) => !p.cancelled)?.at, 42);
  clock.wake(42);
  assert.deepEqual(log.slice(3), ["b@42"]);

  // Overload: every phase outlasts its 2 ms; one wake-up still ends after a period.
  const c2 = new ManualClock();
  const p2 = new MediaPacer(c2);
  let runs = 0;
  for (let i = 0; i < 10; i++)
    p2.add(() => {
      runs++;
      if (runs < 200) c2.t += 2.5;
    });
  c2.wake(20);
  assert.ok(runs >= 10 && runs <= 11, `${runs} phases in one wake-up`);
  assert.equal(c2.pending.filter((p) => !p.cancelled).length, 1);
});
