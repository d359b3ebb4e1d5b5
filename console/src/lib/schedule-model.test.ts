import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { WeeklyRange } from "../types.ts";
import {
  addDays,
  type Block,
  blocksFromWeekly,
  DAY_MINUTES,
  drawnBlock,
  formatTime,
  minuteAt,
  modeAt,
  mondayOf,
  moveBlock,
  movedBlock,
  normalize,
  parseTime,
  placeBlock,
  removeBlock,
  resizeBlock,
  snap,
  splitWeekMinute,
  WEEK_MINUTES,
  weekdayOf,
  weeklyFromBlocks,
  weekMinute,
  wrapWeek,
} from "./schedule-model.ts";

const b = (day: number, from: string, to: string, mode: string): Block => ({
  day,
  from: parseTime(from) as number,
  to: parseTime(to) as number,
  mode,
});
const show = (blocks: Block[]) =>
  blocks.map((x) => `${x.day} ${formatTime(x.from)}-${formatTime(x.to)} ${x.mode}`);

const SHOP: WeeklyRange[] = [
  { days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "12:00", mode: "open" },
  { days: ["mon", "tue", "wed", "thu", "fri"], from: "12:00", to: "13:30", mode: "lunch" },
  { days: ["mon", "tue", "wed", "thu", "fri"], from: "13:30", to: "18:00", mode: "open" },
  { days: ["sat"], from: "09:00", to: "16:00", mode: "open" },
];

describe("times", () => {
  test("HH:MM both ways, 24:00 the end of the day", () => {
    assert.equal(parseTime("00:00"), 0);
    assert.equal(parseTime("08:30"), 510);
    assert.equal(parseTime("23:59"), 1439);
    assert.equal(parseTime("24:00"), DAY_MINUTES);
    for (const bad of ["24:01", "8:30", "25:00", "12:60", "", "ab:cd"])
      assert.equal(parseTime(bad), undefined, bad);
    assert.equal(formatTime(510), "08:30");
    assert.equal(formatTime(DAY_MINUTES), "24:00");
    assert.equal(formatTime(0), "00:00");
  });

  test("snapping to quarter hours", () => {
    assert.equal(snap(7), 0);
    assert.equal(snap(8), 15);
    assert.equal(snap(517), 510);
    assert.equal(snap(1439), DAY_MINUTES);
    assert.equal(snap(50, 30), 60);
  });

  test("a pointer's height in a column is a minute of the day", () => {
    assert.equal(minuteAt(0, 672), 0);
    assert.equal(minuteAt(336, 672), 720);
    assert.equal(minuteAt(700, 672), DAY_MINUTES);
    assert.equal(minuteAt(-5, 672), 0);
    assert.equal(minuteAt(10, 0), 0);
  });
});

describe("week arithmetic without dates (DST-free)", () => {
  test("minutes of the week wrap round Sunday to Monday", () => {
    assert.equal(WEEK_MINUTES, 10080);
    assert.equal(weekMinute(6, 1439) + 1, WEEK_MINUTES);
    assert.equal(wrapWeek(WEEK_MINUTES), 0);
    assert.equal(wrapWeek(-1), WEEK_MINUTES - 1);
    assert.deepEqual(splitWeekMinute(weekMinute(6, 1430) + 20), { day: 0, minute: 10 });
    assert.deepEqual(splitWeekMinute(-15), { day: 6, minute: 1425 });
  });

  test("calendar days from UTC arithmetic: the DST weekends have 7 days of 24 h like any other", () => {
    // Europe's clocks go forward on 2026-03-29 and back on 2026-10-25 (Sundays).
    assert.equal(weekdayOf("2026-03-29"), 6);
    assert.equal(weekdayOf("2026-03-30"), 0);
    assert.equal(weekdayOf("2026-10-25"), 6);
    assert.equal(addDays("2026-03-28", 1), "2026-03-29");
    assert.equal(addDays("2026-03-28", 2), "2026-03-30");
    assert.equal(addDays("2026-10-24", 7), "2026-10-31");
    assert.equal(mondayOf("2026-03-29"), "2026-03-23");
    assert.equal(mondayOf("2026-12-25"), "2026-12-21");
    assert.equal(addDays("2028-02-28", 1), "2028-02-29");
  });

  test("the mode at a minute of the week", () => {
    const blocks = blocksFromWeekly(SHOP);
    assert.equal(modeAt(blocks, "closed", weekMinute(0, 8 * 60)), "open");
    assert.equal(modeAt(blocks, "closed", weekMinute(0, 12 * 60)), "lunch");
    assert.equal(modeAt(blocks, "closed", weekMinute(0, 18 * 60)), "closed");
    assert.equal(modeAt(blocks, "closed", weekMinute(6, 10 * 60)), "closed");
    assert.equal(modeAt(blocks, "closed", weekMinute(7, 9 * 60)), "open", "wraps to Monday");
  });
});

describe("ranges ↔ the API's shape", () => {
  test("a range of five days is five blocks, and back one range", () => {
    const blocks = blocksFromWeekly(SHOP);
    assert.equal(blocks.length, 16);
    assert.deepEqual(weeklyFromBlocks(blocks), SHOP);
  });

  test("the same week written differently gives the same document", () => {
    const split: WeeklyRange[] = [
      { days: ["fri", "mon"], from: "08:00", to: "10:00", mode: "open" },
      { days: ["mon", "fri"], from: "10:00", to: "12:00", mode: "open" },
    ];
    assert.deepEqual(weeklyFromBlocks(blocksFromWeekly(split)), [
      { days: ["mon", "fri"], from: "08:00", to: "12:00", mode: "open" },
    ]);
  });

  test("unreadable ranges are left out", () => {
    const bad = [
      { days: ["mon"], from: "12:00", to: "08:00", mode: "open" },
      { days: ["mon"], from: "xx", to: "08:00", mode: "open" },
      { days: ["someday"], from: "08:00", to: "09:00", mode: "open" },
    ] as unknown as WeeklyRange[];
    assert.deepEqual(blocksFromWeekly(bad), []);
  });
});

describe("editing", () => {
  test("normalize merges a mode's overlapping and touching blocks, keeps others apart", () => {
    const out = normalize([
      b(0, "10:00", "12:00", "open"),
      b(0, "08:00", "10:00", "open"),
      b(0, "11:00", "13:00", "open"),
      b(0, "13:00", "14:00", "lunch"),
      b(1, "08:00", "09:00", "open"),
      b(0, "09:00", "09:00", "open"),
    ]);
    assert.deepEqual(show(out), ["0 08:00-13:00 open", "0 13:00-14:00 lunch", "1 08:00-09:00 open"]);
  });

  test("a placed block wins where it overlaps: others are cut or split", () => {
    const week = [b(0, "08:00", "18:00", "open")];
    assert.deepEqual(show(placeBlock(week, b(0, "12:00", "13:30", "lunch"))), [
      "0 08:00-12:00 open",
      "0 12:00-13:30 lunch",
      "0 13:30-18:00 open",
    ]);
    assert.deepEqual(show(placeBlock(week, b(0, "07:00", "09:00", "closed"))), [
      "0 07:00-09:00 closed",
      "0 09:00-18:00 open",
    ]);
    assert.deepEqual(show(placeBlock(week, b(0, "06:00", "20:00", "closed"))), ["0 06:00-20:00 closed"]);
    assert.deepEqual(show(placeBlock(week, b(1, "06:00", "20:00", "closed"))), [
      "0 08:00-18:00 open",
      "1 06:00-20:00 closed",
    ]);
  });

  test("a placed block of the same mode merges with what it touches", () => {
    const week = [b(0, "08:00", "12:00", "open"), b(0, "13:30", "18:00", "open")];
    assert.deepEqual(show(placeBlock(week, b(0, "12:00", "13:30", "open"))), ["0 08:00-18:00 open"]);
  });

  test("an empty or inverted block changes nothing", () => {
    const week = [b(0, "08:00", "12:00", "open")];
    assert.deepEqual(placeBlock(week, b(0, "10:00", "10:00", "x")), week);
  });

  test("drawing: from either end, snapped, at least a quarter hour, inside the day", () => {
    assert.deepEqual(show([drawnBlock(2, 600, 487, "open")]), ["2 08:00-10:00 open"]);
    assert.deepEqual(show([drawnBlock(2, 600, 601, "open")]), ["2 10:00-10:15 open"]);
    assert.deepEqual(show([drawnBlock(2, 1439, 1440, "open")]), ["2 23:45-24:00 open"]);
    assert.deepEqual(show([drawnBlock(2, 0, 1440, "open")]), ["2 00:00-24:00 open"]);
  });

  test("a drag moves a block by snapped minutes and days, keeping its length, inside the week", () => {
    const x = b(2, "08:00", "12:00", "open");
    assert.deepEqual(show([movedBlock(x, 37, 0)]), ["2 08:30-12:30 open"]);
    assert.deepEqual(show([movedBlock(x, -600, 0)]), ["2 00:00-04:00 open"]);
    assert.deepEqual(show([movedBlock(x, 900, 0)]), ["2 20:00-24:00 open"]);
    assert.deepEqual(show([movedBlock(x, 0, 2)]), ["4 08:00-12:00 open"]);
    assert.deepEqual(show([movedBlock(x, 0, 9)]), ["6 08:00-12:00 open"]);
    assert.deepEqual(show([movedBlock(x, 0, -9)]), ["0 08:00-12:00 open"]);
  });

  test("a moved block wins where it lands and leaves its old place free", () => {
    const week = [b(0, "08:00", "12:00", "open"), b(0, "12:00", "13:00", "lunch")];
    const i = week.findIndex((x) => x.mode === "lunch");
    assert.deepEqual(show(moveBlock(week, i, -60, 0)), ["0 08:00-11:00 open", "0 11:00-12:00 lunch"]);
    assert.deepEqual(show(moveBlock(week, i, 0, 1)), ["0 08:00-12:00 open", "1 12:00-13:00 lunch"]);
    assert.deepEqual(show(moveBlock(week, 7, 0, 1)), show(week), "an unknown index changes nothing");
  });

  test("resizing either edge snaps and keeps a quarter hour at least", () => {
    const week = [b(0, "08:00", "12:00", "open"), b(0, "13:00", "14:00", "lunch")];
    assert.deepEqual(show(resizeBlock(week, 0, "end", 13 * 60 + 40)), [
      "0 08:00-13:45 open",
      "0 13:45-14:00 lunch",
    ]);
    assert.deepEqual(show(resizeBlock(week, 0, "start", 12 * 60 + 30)), [
      "0 11:45-12:00 open",
      "0 13:00-14:00 lunch",
    ]);
    assert.deepEqual(show(resizeBlock(week, 1, "start", 0)), ["0 00:00-14:00 lunch"]);
    assert.deepEqual(show(resizeBlock(week, 1, "end", 2000)), ["0 08:00-12:00 open", "0 13:00-24:00 lunch"]);
  });

  test("removing a block", () => {
    const week = [b(0, "08:00", "12:00", "open"), b(0, "13:00", "14:00", "lunch")];
    assert.deepEqual(show(removeBlock(week, 0)), ["0 13:00-14:00 lunch"]);
  });
});

describe("whatever the edits, the API takes the week", () => {
  // The server's own check of a schedule (src/pbx/company/schedule.ts): no overlap, to after from, known modes.
  test("random drawing, moving, resizing and removing always give a sound schedule", async () => {
    const fc = (await import("fast-check")).default;
    const { scheduleProblems } = await import("../../../src/pbx/company/schedule.ts");
    const modes = ["open", "lunch", "closed"];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("draw" as const),
        day: fc.integer({ min: 0, max: 6 }),
        a: fc.integer({ min: 0, max: 1440 }),
        b: fc.integer({ min: 0, max: 1440 }),
        mode: fc.constantFrom(...modes),
      }),
      fc.record({
        kind: fc.constant("move" as const),
        i: fc.nat(20),
        minutes: fc.integer({ min: -1500, max: 1500 }),
        days: fc.integer({ min: -8, max: 8 }),
      }),
      fc.record({
        kind: fc.constant("resize" as const),
        i: fc.nat(20),
        start: fc.boolean(),
        minute: fc.integer({ min: -100, max: 1600 }),
      }),
      fc.record({ kind: fc.constant("remove" as const), i: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        let week: Block[] = [];
        for (const o of ops) {
          if (o.kind === "draw") week = placeBlock(week, drawnBlock(o.day, o.a, o.b, o.mode));
          else if (o.kind === "move") week = moveBlock(week, o.i, o.minutes, o.days);
          else if (o.kind === "resize") week = resizeBlock(week, o.i, o.start ? "start" : "end", o.minute);
          else week = removeBlock(week, o.i);
        }
        const weekly = weeklyFromBlocks(week);
        const problems = scheduleProblems({
          modes: Object.fromEntries(modes.map((m) => [m, { destination: { type: "hangup" } }])),
          default: "closed",
          weekly,
          exceptions: [],
        });
        assert.deepEqual(problems, []);
        assert.deepEqual(
          show(blocksFromWeekly(weekly)),
          show(normalize(week)),
          "the document reads back as the week",
        );
        for (const x of week)
          assert.equal(x.from % 15 === 0 && x.to % 15 === 0, true, "on the quarter hours");
      }),
      { numRuns: 300 },
    );
  });
});
