import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DateTime } from "luxon";
import { DEFAULT_SCHEDULE, type Schedule, WEEKDAYS, type Weekday } from "../../store/types.ts";
import { modeAt, nextTransitions, planOverride, scheduleProblems, scheduleStateAt } from "./schedule.ts";

const ZONE = "Europe/Zurich";
/** "HH:MM" of minutes since midnight (1440: "24:00"). */
const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
const WORKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri"];

/** An instant from Zurich wall time (an ordinary, unambiguous one). */
function zurich(date: string, time: string): number {
  const dt = DateTime.fromISO(`${date}T${time}`, { zone: ZONE });
  assert.ok(dt.isValid, `${date}T${time}`);
  return dt.toMillis();
}

const local = (at: number) => DateTime.fromMillis(at, { zone: ZONE }).toFormat("yyyy-MM-dd HH:mm");

/** The users' page shop: open 08:00-12:00 and 13:30-18:00 on workdays, closed otherwise. */
function shop(opts: { lunch?: boolean } = {}): Schedule {
  const schedule: Schedule = {
    modes: {
      open: { label: "ouvert", destination: { type: "ring-group", name: "shop" } },
      closed: {
        label: "fermé",
        destination: {
          type: "announcement",
          announcement: "closed",
          then: { type: "voicemail", number: "101" },
        },
      },
    },
    default: "closed",
    weekly: [
      { days: WORKDAYS, from: "08:00", to: "12:00", mode: "open" },
      { days: WORKDAYS, from: "13:30", to: "18:00", mode: "open" },
    ],
    exceptions: [{ date: "2026-12-25", mode: "closed" }],
  };
  if (opts.lunch) {
    schedule.modes.lunch = { destination: { type: "voicemail", number: "101" } };
    schedule.weekly.push({ days: WORKDAYS, from: "12:00", to: "13:30", mode: "lunch" });
  }
  return schedule;
}

// 2026-01-12 is a Monday; 2026-12-25 a Friday.
const MON = "2026-01-12";
const FRI = "2026-01-16";

describe("modeAt", () => {
  it("follows the shop's hours at every boundary minute", () => {
    const s = shop();
    const cases: [string, string][] = [
      ["00:00", "closed"],
      ["07:59", "closed"],
      ["08:00", "open"],
      ["08:01", "open"],
      ["11:59", "open"],
      ["12:00", "closed"],
      ["12:01", "closed"],
      ["13:29", "closed"],
      ["13:30", "open"],
      ["13:31", "open"],
      ["17:59", "open"],
      ["18:00", "closed"],
      ["18:01", "closed"],
      ["23:59", "closed"],
    ];
    for (const [time, mode] of cases)
      assert.equal(modeAt(s, ZONE, zurich(MON, time)), mode, `${MON} ${time}`);
    // The last millisecond before the opening is still closed (from inclusive, to exclusive).
    assert.equal(modeAt(s, ZONE, zurich(MON, "08:00") - 1), "closed");
    assert.equal(modeAt(s, ZONE, zurich(MON, "12:00") - 1), "open");
  });

  it("has lunch as its own mode when the schedule says so", () => {
    const s = shop({ lunch: true });
    assert.equal(modeAt(s, ZONE, zurich(MON, "11:59")), "open");
    assert.equal(modeAt(s, ZONE, zurich(MON, "12:00")), "lunch");
    assert.equal(modeAt(s, ZONE, zurich(MON, "13:29")), "lunch");
    assert.equal(modeAt(s, ZONE, zurich(MON, "13:30")), "open");
  });

  it("is closed all weekend", () => {
    const s = shop();
    for (const date of ["2026-01-17", "2026-01-18"]) {
      for (const time of ["00:00", "08:00", "10:00", "13:30", "17:59", "23:59"]) {
        assert.equal(modeAt(s, ZONE, zurich(date, time)), "closed", `${date} ${time}`);
      }
    }
  });

  it("lets a whole-day exception cover the day, and only that day", () => {
    const s = shop();
    for (const time of ["00:00", "08:00", "10:00", "14:00", "23:59"]) {
      assert.equal(modeAt(s, ZONE, zurich("2026-12-25", time)), "closed", time);
    }
    assert.equal(modeAt(s, ZONE, zurich("2026-12-24", "10:00")), "open");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-28", "10:00")), "open");
  });

  it("lets a partial exception cover its hours only, and take precedence over the weekly ranges", () => {
    const s = shop();
    s.modes.vacation = { destination: { type: "hangup" } };
    // Christmas Eve closes at 16:00; a Saturday opens 09:00-12:00 before Christmas.
    s.exceptions.push({ date: "2026-12-24", from: "16:00", to: "24:00", mode: "closed" });
    s.exceptions.push({ date: "2026-12-19", from: "09:00", to: "12:00", mode: "open" });
    s.exceptions.push({ date: "2026-12-31", mode: "vacation" });
    assert.equal(modeAt(s, ZONE, zurich("2026-12-24", "15:59")), "open");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-24", "16:00")), "closed");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-24", "08:30")), "open");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-19", "08:59")), "closed");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-19", "09:00")), "open");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-19", "12:00")), "closed");
    // A whole-day exception beats the weekly range and the lunch break alike.
    assert.equal(modeAt(s, ZONE, zurich("2026-12-31", "10:00")), "vacation");
    assert.equal(modeAt(s, ZONE, zurich("2026-12-31", "12:30")), "vacation");
  });

  it("is the default all the time without ranges", () => {
    assert.equal(modeAt(DEFAULT_SCHEDULE, ZONE, zurich(MON, "10:00")), "open");
    assert.equal(modeAt(DEFAULT_SCHEDULE, ZONE, zurich("2026-01-18", "03:00")), "open");
  });

  it("reads the wall clock of the zone it is given", () => {
    const s = shop();
    const at = Date.UTC(2026, 0, 12, 7, 30); // 08:30 in Zurich, 02:30 in New York
    assert.equal(modeAt(s, ZONE, at), "open");
    assert.equal(modeAt(s, "America/New_York", at), "closed");
    assert.throws(() => modeAt(s, "Mars/Olympus", at), /unknown time zone/);
  });
});

describe("nextTransitions", () => {
  it("lists the changes of a working day", () => {
    const s = shop();
    const list = nextTransitions(s, ZONE, zurich(MON, "07:00"), 4);
    assert.deepEqual(
      list.map((t) => [local(t.at), t.mode]),
      [
        [`${MON} 08:00`, "open"],
        [`${MON} 12:00`, "closed"],
        [`${MON} 13:30`, "open"],
        [`${MON} 18:00`, "closed"],
      ],
    );
    // Strictly after `from`: at 08:00 itself the next change is 12:00.
    assert.equal(local(nextTransitions(s, ZONE, zurich(MON, "08:00"), 1)[0]!.at), `${MON} 12:00`);
  });

  it("skips the weekend and the exceptions", () => {
    const s = shop();
    assert.deepEqual(
      nextTransitions(s, ZONE, zurich(FRI, "18:30"), 2).map((t) => [local(t.at), t.mode]),
      [
        ["2026-01-19 08:00", "open"],
        ["2026-01-19 12:00", "closed"],
      ],
    );
    // Thursday 24 December 18:00 → closed through Christmas (Friday) and the weekend.
    assert.deepEqual(
      nextTransitions(s, ZONE, zurich("2026-12-24", "18:30"), 1).map((t) => [local(t.at), t.mode]),
      [["2026-12-28 08:00", "open"]],
    );
  });

  it("finds the start and end of an exception that interrupts a range", () => {
    const s = shop();
    s.exceptions.push({ date: MON, from: "09:00", to: "10:00", mode: "closed" });
    assert.deepEqual(
      nextTransitions(s, ZONE, zurich(MON, "08:30"), 3).map((t) => [local(t.at), t.mode]),
      [
        [`${MON} 09:00`, "closed"],
        [`${MON} 10:00`, "open"],
        [`${MON} 12:00`, "closed"],
      ],
    );
  });

  it("finds nothing without ranges, and nothing past the horizon", () => {
    assert.deepEqual(nextTransitions(DEFAULT_SCHEDULE, ZONE, zurich(MON, "10:00")), []);
    const far = shop();
    far.weekly = [];
    far.exceptions = [{ date: "2026-03-01", mode: "open" }];
    assert.deepEqual(nextTransitions(far, ZONE, zurich(MON, "10:00")), []);
    assert.equal(nextTransitions(far, ZONE, zurich("2026-02-20", "10:00")).length, 2);
  });

  it("lets a range end at 24:00 and the next day's range start at 00:00 without a transition", () => {
    const s: Schedule = {
      modes: { day: { destination: { type: "hangup" } }, night: { destination: { type: "hangup" } } },
      default: "day",
      weekly: [
        { days: ["mon"], from: "20:00", to: "24:00", mode: "night" },
        { days: ["tue"], from: "00:00", to: "06:00", mode: "night" },
      ],
      exceptions: [],
    };
    assert.deepEqual(
      nextTransitions(s, ZONE, zurich(MON, "12:00"), 2).map((t) => [local(t.at), t.mode]),
      [
        [`${MON} 20:00`, "night"],
        ["2026-01-13 06:00", "day"],
      ],
    );
  });
});

describe("the two DST Sundays of 2026 in Zurich", () => {
  const night: Schedule = {
    modes: {
      open: { destination: { type: "hangup" } },
      closed: { destination: { type: "hangup" } },
      night: { destination: { type: "hangup" } },
    },
    default: "closed",
    weekly: [
      { days: ["sun"], from: "02:00", to: "03:00", mode: "night" },
      { days: ["sun"], from: "08:00", to: "18:00", mode: "open" },
    ],
    exceptions: [],
  };

  it("29 March: 02:00-03:00 is skipped, 08:00-18:00 stays wall time", () => {
    // 02:00 CET (01:00 UTC) becomes 03:00 CEST: the range 02:00-03:00 never rules.
    const saturday = Date.UTC(2026, 2, 28, 20, 0);
    assert.deepEqual(nextTransitions(night, ZONE, saturday, 2), [
      { at: Date.UTC(2026, 2, 29, 6, 0), mode: "open" }, // 08:00 CEST
      { at: Date.UTC(2026, 2, 29, 16, 0), mode: "closed" }, // 18:00 CEST
    ]);
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 0, 59)), "closed"); // 01:59 CET
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 1, 0)), "closed"); // 03:00 CEST
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 5, 59)), "closed");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 6, 0)), "open");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 15, 59)), "open");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 2, 29, 16, 0)), "closed");
  });

  it("29 March: a boundary in the skipped hour happens at 03:00 local", () => {
    const s = structuredClone(night);
    s.weekly[0] = { days: ["sun"], from: "02:30", to: "04:00", mode: "night" };
    assert.deepEqual(nextTransitions(s, ZONE, Date.UTC(2026, 2, 28, 20, 0), 2), [
      { at: Date.UTC(2026, 2, 29, 1, 0), mode: "night" }, // 03:00 CEST, the first instant after 02:30
      { at: Date.UTC(2026, 2, 29, 2, 0), mode: "closed" }, // 04:00 CEST
    ]);
    assert.equal(modeAt(s, ZONE, Date.UTC(2026, 2, 29, 0, 59)), "closed");
    assert.equal(modeAt(s, ZONE, Date.UTC(2026, 2, 29, 1, 0)), "night");
  });

  it("25 October: 02:00-03:00 covers both passes of the repeated hour, 08:00-18:00 stays wall time", () => {
    // 03:00 CEST (01:00 UTC) becomes 02:00 CET: 02:00-03:00 local lasts two real hours.
    const saturday = Date.UTC(2026, 9, 24, 20, 0);
    assert.deepEqual(nextTransitions(night, ZONE, saturday, 4), [
      { at: Date.UTC(2026, 9, 25, 0, 0), mode: "night" }, // 02:00 CEST, the first occurrence
      { at: Date.UTC(2026, 9, 25, 2, 0), mode: "closed" }, // 03:00 CET
      { at: Date.UTC(2026, 9, 25, 7, 0), mode: "open" }, // 08:00 CET
      { at: Date.UTC(2026, 9, 25, 17, 0), mode: "closed" }, // 18:00 CET
    ]);
    for (const minute of [0, 30, 59, 60, 90, 119]) {
      assert.equal(
        modeAt(night, ZONE, Date.UTC(2026, 9, 25, 0, minute)),
        "night",
        `00:00 UTC + ${minute} min`,
      );
    }
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 9, 25, 2, 0)), "closed");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 9, 25, 6, 59)), "closed");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 9, 25, 7, 0)), "open");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 9, 25, 16, 59)), "open");
    assert.equal(modeAt(night, ZONE, Date.UTC(2026, 9, 25, 17, 0)), "closed");
  });

  it("25 October: a boundary inside the repeated hour happens once, at its first occurrence", () => {
    const s = structuredClone(night);
    s.weekly[0] = { days: ["sun"], from: "02:30", to: "04:00", mode: "night" };
    assert.deepEqual(nextTransitions(s, ZONE, Date.UTC(2026, 9, 24, 20, 0), 2), [
      { at: Date.UTC(2026, 9, 25, 0, 30), mode: "night" }, // 02:30 CEST
      { at: Date.UTC(2026, 9, 25, 3, 0), mode: "closed" }, // 04:00 CET
    ]);
    // The clock reads 02:15 again (CET) but 02:30 has passed: still night.
    assert.equal(modeAt(s, ZONE, Date.UTC(2026, 9, 25, 1, 15)), "night");
    // A range ending at 02:30 ends at the first 02:30 and does not come back.
    s.weekly[0] = { days: ["sun"], from: "01:00", to: "02:30", mode: "night" };
    assert.deepEqual(nextTransitions(s, ZONE, Date.UTC(2026, 9, 24, 20, 0), 2), [
      { at: Date.UTC(2026, 9, 24, 23, 0), mode: "night" }, // 01:00 CEST
      { at: Date.UTC(2026, 9, 25, 0, 30), mode: "closed" }, // 02:30 CEST
    ]);
    assert.equal(modeAt(s, ZONE, Date.UTC(2026, 9, 25, 1, 15)), "closed");
  });
});

describe("planOverride (*20)", () => {
  it("at 11:45 forces the lunch closing until 13:30", () => {
    assert.deepEqual(planOverride(shop(), ZONE, zurich(MON, "11:45")), {
      mode: "closed",
      until: zurich(MON, "13:30"),
    });
    assert.deepEqual(planOverride(shop({ lunch: true }), ZONE, zurich(MON, "11:45")), {
      mode: "lunch",
      until: zurich(MON, "13:30"),
    });
  });

  it("at 07:30 opens until 12:00", () => {
    assert.deepEqual(planOverride(shop(), ZONE, zurich(MON, "07:30")), {
      mode: "open",
      until: zurich(MON, "12:00"),
    });
  });

  it("on Friday at 18:30 opens until Monday 12:00", () => {
    assert.deepEqual(planOverride(shop(), ZONE, zurich(FRI, "18:30")), {
      mode: "open",
      until: zurich("2026-01-19", "12:00"),
    });
  });

  it("is undefined without ranges, or with one change only within the horizon", () => {
    assert.equal(planOverride(DEFAULT_SCHEDULE, ZONE, zurich(MON, "10:00")), undefined);
    const once = shop();
    once.weekly = [];
    once.exceptions = [{ date: "2026-01-20", from: "08:00", to: "24:00", mode: "open" }];
    // From the 6th at noon: the opening on the 20th is inside the horizon, the closing (21st 00:00) is not.
    assert.equal(planOverride(once, ZONE, zurich("2026-01-06", "12:00")), undefined);
    assert.deepEqual(planOverride(once, ZONE, zurich("2026-01-19", "10:00")), {
      mode: "open",
      until: zurich("2026-01-21", "00:00"),
    });
  });
});

describe("scheduleStateAt", () => {
  it("says the scheduled mode, its label, and the next transition", () => {
    const now = zurich(MON, "10:00");
    assert.deepEqual(scheduleStateAt(shop(), ZONE, undefined, now), {
      mode: "open",
      label: "ouvert",
      overridden: false,
      until: zurich(MON, "12:00"),
      next: { at: zurich(MON, "12:00"), mode: "closed" },
    });
    assert.deepEqual(scheduleStateAt(DEFAULT_SCHEDULE, ZONE, undefined, now), {
      mode: "open",
      label: "open",
      overridden: false,
    });
  });

  it("says the override while it lasts, and forgets it from its end", () => {
    const s = shop();
    const override = {
      tenant: "acme",
      mode: "closed",
      since: zurich(MON, "11:45"),
      until: zurich(MON, "13:30"),
    };
    assert.deepEqual(scheduleStateAt(s, ZONE, override, zurich(MON, "11:50")), {
      mode: "closed",
      label: "fermé",
      overridden: true,
      until: zurich(MON, "13:30"),
      next: { at: zurich(MON, "12:00"), mode: "closed" },
    });
    assert.deepEqual(scheduleStateAt(s, ZONE, override, zurich(MON, "13:30")), {
      mode: "open",
      label: "ouvert",
      overridden: false,
      until: zurich(MON, "18:00"),
      next: { at: zurich(MON, "18:00"), mode: "closed" },
    });
    // An override naming a mode the schedule lost is ignored.
    const gone = { ...override, mode: "lunch" };
    assert.equal(scheduleStateAt(s, ZONE, gone, zurich(MON, "11:50")).overridden, false);
  });
});

describe("scheduleProblems", () => {
  const paths = (s: Schedule) => scheduleProblems(s).map((p) => p.path);

  it("finds nothing wrong with the shop, with lunch, or with the default", () => {
    assert.deepEqual(scheduleProblems(shop()), []);
    assert.deepEqual(scheduleProblems(shop({ lunch: true })), []);
    assert.deepEqual(scheduleProblems(DEFAULT_SCHEDULE), []);
  });

  it("wants every mode named to exist", () => {
    const s = shop();
    s.default = "lunch";
    s.weekly[1]!.mode = "afternoon";
    s.exceptions[0]!.mode = "holiday";
    const problems = scheduleProblems(s);
    assert.deepEqual(
      problems.map((p) => p.path),
      ["default", "weekly[1].mode", "exceptions[0].mode"],
    );
    assert.match(problems[0]!.message, /unknown mode "lunch"/);
  });

  it("wants mode names to be slugs, and at most 16 modes", () => {
    const s = shop();
    s.modes.Lunch = { destination: { type: "hangup" } };
    s.modes["lunch break"] = { destination: { type: "hangup" } };
    s.modes["1st"] = { destination: { type: "hangup" } };
    s.modes["a".repeat(33)] = { destination: { type: "hangup" } };
    s.modes["a".repeat(32)] = { destination: { type: "hangup" } };
    s.modes["late-2"] = { destination: { type: "hangup" } };
    assert.deepEqual(paths(s), ["modes.Lunch", "modes.lunch break", "modes.1st", `modes.${"a".repeat(33)}`]);
    const many = shop();
    for (let i = 0; i < 15; i++) many.modes[`m${i}`] = { destination: { type: "hangup" } };
    assert.deepEqual(paths(many), ["modes"]);
    delete many.modes.m14;
    assert.deepEqual(paths(many), []);
  });

  it("wants times HH:MM, to after from, 24:00 only as an end", () => {
    const s = shop();
    s.weekly = [
      { days: ["mon"], from: "8:00", to: "09:00", mode: "open" },
      { days: ["mon"], from: "10:00", to: "24:01", mode: "open" },
      { days: ["mon"], from: "24:00", to: "24:00", mode: "open" },
      { days: ["mon"], from: "13:60", to: "14:00", mode: "open" },
      { days: ["tue"], from: "12:00", to: "12:00", mode: "open" },
      { days: ["tue"], from: "14:00", to: "13:00", mode: "open" },
      { days: ["tue"], from: "00:00", to: "00:00", mode: "open" },
      { days: ["wed"], from: "00:00", to: "24:00", mode: "open" },
    ];
    const problems = scheduleProblems(s);
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        "weekly[0].from",
        "weekly[1].to",
        "weekly[2].from",
        "weekly[3].from",
        "weekly[4].to",
        "weekly[5].to",
        "weekly[6].to",
      ],
    );
    assert.match(problems[0]!.message, /"8:00" is not a time/);
    assert.match(problems[5]!.message, /13:00 is not after from \(14:00\)/);
  });

  it("wants days valid, unique, and at least one", () => {
    const s = shop();
    s.weekly = [
      { days: ["mon", "tue", "mon"], from: "08:00", to: "09:00", mode: "open" },
      { days: ["monday" as Weekday], from: "08:00", to: "09:00", mode: "open" },
      { days: [], from: "08:00", to: "09:00", mode: "open" },
    ];
    const problems = scheduleProblems(s);
    assert.deepEqual(
      problems.map((p) => p.path),
      ["weekly[0].days[2]", "weekly[1].days[0]", "weekly[2].days"],
    );
    assert.match(problems[0]!.message, /"mon" is listed twice/);
    assert.match(problems[1]!.message, /unknown day "monday"/);
  });

  it("reports each overlap of ranges once, on the later entry, naming the other", () => {
    const s = shop();
    s.weekly.push({ days: ["fri", "sat"], from: "11:00", to: "14:00", mode: "open" });
    s.weekly.push({ days: ["sat"], from: "12:00", to: "13:00", mode: "closed" });
    // Touching ranges and ranges on other days do not overlap.
    s.weekly.push({ days: ["sat"], from: "14:00", to: "15:00", mode: "open" });
    s.weekly.push({ days: ["sun"], from: "11:00", to: "14:00", mode: "open" });
    assert.deepEqual(scheduleProblems(s), [
      { path: "weekly[2]", message: "overlaps weekly[0] on fri" },
      { path: "weekly[2]", message: "overlaps weekly[1] on fri" },
      { path: "weekly[3]", message: "overlaps weekly[2] on sat" },
    ]);
  });

  it("wants exception dates real, from and to together and sound, no overlap on a date", () => {
    const s = shop();
    s.exceptions = [
      { date: "2026-02-30", mode: "closed" },
      { date: "2026-13-01", mode: "closed" },
      { date: "26-12-25", mode: "closed" },
      { date: "2026-12-24", from: "16:00", mode: "closed" },
      { date: "2026-12-24", to: "16:00", mode: "closed" },
      { date: "2026-12-24", from: "18:00", to: "17:00", mode: "closed" },
      { date: "2026-12-25", mode: "closed" },
      { date: "2026-12-25", from: "08:00", to: "09:00", mode: "open" },
      { date: "2026-12-31", from: "08:00", to: "12:00", mode: "open" },
      { date: "2026-12-31", from: "12:00", to: "24:00", mode: "closed" },
      { date: "2026-12-31", from: "11:59", to: "12:01", mode: "closed" },
      { date: "2027-01-01", from: "11:59", to: "12:01", mode: "closed" },
      { date: "2028-02-29", mode: "closed" },
    ];
    const problems = scheduleProblems(s);
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        "exceptions[0].date",
        "exceptions[1].date",
        "exceptions[2].date",
        "exceptions[3].to",
        "exceptions[4].from",
        "exceptions[5].to",
        "exceptions[7]",
        "exceptions[10]",
        "exceptions[10]",
      ],
    );
    assert.match(problems[0]!.message, /"2026-02-30" is not a date/);
    assert.equal(problems[6]!.message, "overlaps exceptions[6] on 2026-12-25");
    assert.equal(problems[7]!.message, "overlaps exceptions[8] on 2026-12-31");
    assert.equal(problems[8]!.message, "overlaps exceptions[9] on 2026-12-31");
  });

  it("takes at most 200 ranges and 400 exceptions", () => {
    const s = shop();
    s.weekly = Array.from({ length: 201 }, () => ({
      days: ["mon"],
      from: "08:00",
      to: "09:00",
      mode: "open",
    }));
    s.exceptions = Array.from({ length: 401 }, () => ({ date: "2026-12-25", mode: "closed" }));
    assert.deepEqual(paths(s), ["weekly", "exceptions"]);
    s.weekly = Array.from({ length: 200 }, (_, i) => ({
      days: [WEEKDAYS[i % 7]!],
      from: hhmm(Math.floor(i / 7) * 30),
      to: hhmm(Math.floor(i / 7) * 30 + 30),
      mode: "open",
    }));
    s.exceptions = Array.from({ length: 400 }, (_, i) => ({
      date: new Date(Date.UTC(2027, 0, 1 + i)).toISOString().slice(0, 10),
      mode: "closed",
    }));
    assert.deepEqual(paths(s), []);
  });
});

describe("modeAt and nextTransitions agree (property)", () => {
  const zones = [
    "Europe/Zurich",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
  ];
  const span = fc
    .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 600 }))
    .map(([from, length]) => ({ from: hhmm(from), to: hhmm(Math.min(1440, from + length)) }));
  const mode = fc.constantFrom("open", "closed", "lunch");
  const schedule: fc.Arbitrary<Schedule> = fc.record({
    modes: fc.constant({
      open: { destination: { type: "hangup" as const } },
      closed: { destination: { type: "hangup" as const } },
      lunch: { destination: { type: "hangup" as const } },
    }),
    default: mode,
    weekly: fc.array(
      fc
        .tuple(fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1 }), span, mode)
        .map(([days, s, m]) => ({
          days,
          ...s,
          mode: m,
        })),
      { maxLength: 6 },
    ),
    exceptions: fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: 20 }), fc.option(span, { nil: undefined }), mode)
        .map(([day, s, m]) => ({
          // Around the DST changes of both hemispheres.
          date: new Date(Date.UTC(2026, 2, 20 + day)).toISOString().slice(0, 10),
          ...(s ?? {}),
          mode: m,
        })),
      { maxLength: 3 },
    ),
  });
  // Around the DST changes: mid-March to mid-April, September to November (both hemispheres).
  const start = fc.oneof(
    fc.integer({ min: Date.UTC(2026, 2, 15), max: Date.UTC(2026, 3, 15) }),
    fc.integer({ min: Date.UTC(2026, 8, 1), max: Date.UTC(2026, 10, 10) }),
  );

  it("modeAt is constant between consecutive transitions, and changes at each", () => {
    fc.assert(
      fc.property(
        schedule,
        fc.constantFrom(...zones),
        start,
        fc.integer({ min: 0, max: 7 * 60_000 }),
        (s, zone, from, phase) => {
          const list = nextTransitions(s, zone, from, 1000, 7);
          let mode = modeAt(s, zone, from);
          let segmentStart = from;
          for (const next of [...list, { at: from + 7 * 86_400_000, mode: "" }]) {
            // Every 7 minutes (plus a random phase) and the last millisecond before the change.
            for (let at = segmentStart + phase; at < next.at; at += 7 * 60_000) {
              assert.equal(modeAt(s, zone, at), mode, `at ${new Date(at).toISOString()}`);
            }
            if (next.at - 1 > segmentStart) assert.equal(modeAt(s, zone, next.at - 1), mode);
            if (next.mode === "") break;
            assert.notEqual(next.mode, mode);
            assert.equal(modeAt(s, zone, next.at), next.mode);
            mode = next.mode;
            segmentStart = next.at;
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
