import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay-window.ts";

/** A plain set-based model of the §3.3.2 window to check the bitmap against. */
class Model {
  top = -1;
  seen = new Set<number>();
  check(i: number): boolean {
    if (i > this.top) return true;
    return this.top - i < REPLAY_WINDOW_SIZE && !this.seen.has(i);
  }
  accept(i: number): void {
    this.seen.add(i);
    if (i > this.top) this.top = i;
  }
}

describe("ReplayWindow", () => {
  it("accepts anything first, then refuses repeats and indices 64 or more behind", () => {
    const w = new ReplayWindow();
    assert.equal(w.check(1000), true);
    w.accept(1000);
    assert.equal(w.highest, 1000);
    assert.equal(w.check(1000), false);
    assert.equal(w.check(999), true);
    assert.equal(w.check(1000 - 63), true);
    assert.equal(w.check(1000 - 64), false);
    w.accept(1000 - 63);
    assert.equal(w.check(1000 - 63), false);
  });

  it("slides by 1, 31, 32, 33, 63, 64 and more and keeps the right bits", () => {
    for (const shift of [1, 31, 32, 33, 63, 64, 65, 1000]) {
      const w = new ReplayWindow();
      for (let i = 100; i < 110; i++) w.accept(i);
      w.accept(109 + shift);
      for (let i = 100; i < 110; i++) {
        const inWindow = 109 + shift - i < REPLAY_WINDOW_SIZE;
        assert.equal(w.check(i), false, `shift ${shift}: ${i} is ${inWindow ? "seen" : "too old"}`);
      }
      for (let i = 110; i < 109 + shift; i++) {
        assert.equal(w.check(i), 109 + shift - i < REPLAY_WINDOW_SIZE, `shift ${shift}: ${i}`);
      }
    }
  });

  it("agrees with a set-based model over a long random walk with 48-bit indices", () => {
    const w = new ReplayWindow();
    const m = new Model();
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let base = 2 ** 47;
    for (let n = 0; n < 20000; n++) {
      base += rand() % 5;
      const i = base - (rand() % 80) + (rand() % 3 === 0 ? rand() % 200 : 0);
      const ok = m.check(i);
      assert.equal(w.check(i), ok, `index ${i}`);
      if (ok && rand() % 4 !== 0) {
        w.accept(i);
        m.accept(i);
      }
    }
  });
});
