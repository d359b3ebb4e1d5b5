// A company's opening hours, evaluated: which mode rules at an instant, when
// the mode changes next, and what `*20` forces. Pure functions: the instant is
// always passed in (ms since the epoch), never read from a clock.
//
// Wall time, not elapsed time: a range 08:00-18:00 is 08:00-18:00 on the
// clock of the tenant's time zone, also on the DST Sundays (9 or 11 real
// hours). A boundary that the clock skips (02:30 on the spring-forward night)
// happens at the first instant after it (03:00); one that the clock shows
// twice (the autumn night) happens at its first occurrence, and stays passed
// while the clock repeats the hour (the "effective" wall time below is the
// highest wall time the day has reached), so that modeAt only changes at the
// instants nextTransitions reports.
import { IANAZone } from "luxon";
import { type Schedule, type ScheduleOverride, WEEKDAYS, type Weekday } from "../../store/types.ts";
import type { ScheduleState } from "./company.ts";

export const MAX_MODES = 16;
export const MAX_WEEKLY_RANGES = 200;
export const MAX_EXCEPTIONS = 400;
/** How far ahead transitions are looked for (and `*20` may hold a mode). */
export const TRANSITION_HORIZON_DAYS = 14;

const MODE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const END_OF_DAY = 24 * 60;

export interface ScheduleProblem {
  /** Where in the document: "weekly[1].to", "exceptions[0].date", "modes.lunch", "default". */
  path: string;
  message: string;
}

// ---------------------------------------------------------------- validation

/** Minutes since midnight of "HH:MM" (00:00-23:59, and "24:00" when `end`); undefined when malformed. */
function parseTime(text: unknown, end: boolean): number | undefined {
  if (typeof text !== "string") return undefined;
  if (end && text === "24:00") return END_OF_DAY;
  const m = TIME.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function isDate(text: unknown): text is string {
  if (typeof text !== "string") return false;
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2026-02-30 over to March: a real date reads back the same.
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

const clock = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

/** Checks one from/to pair; pushes its problems and returns the interval in minutes when it is sound. */
function checkInterval(
  path: string,
  from: unknown,
  to: unknown,
  problems: ScheduleProblem[],
): [number, number] | undefined {
  const start = parseTime(from, false);
  const end = parseTime(to, true);
  if (start === undefined) {
    problems.push({
      path: `${path}.from`,
      message: `${JSON.stringify(from)} is not a time (HH:MM, 00:00 to 23:59)`,
    });
  }
  if (end === undefined) {
    problems.push({
      path: `${path}.to`,
      message: `${JSON.stringify(to)} is not a time (HH:MM, 00:01 to 24:00)`,
    });
  }
  if (start === undefined || end === undefined) return undefined;
  if (end <= start) {
    problems.push({ path: `${path}.to`, message: `${clock(end)} is not after from (${clock(start)})` });
    return undefined;
  }
  return [start, end];
}

function checkMode(path: string, mode: unknown, schedule: Schedule, problems: ScheduleProblem[]): void {
  if (typeof mode !== "string" || !Object.hasOwn(schedule.modes, mode)) {
    problems.push({ path, message: `unknown mode ${JSON.stringify(mode)} (not a key of modes)` });
  }
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

/**
 * The semantic problems of a schedule document whose shape is already
 * checked (the API answers 400 with them); empty when it is sound.
 */
export function scheduleProblems(schedule: Schedule): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  const modeNames = Object.keys(schedule.modes);
  if (modeNames.length > MAX_MODES) {
    problems.push({ path: "modes", message: `at most ${MAX_MODES} modes (${modeNames.length} given)` });
  }
  for (const name of modeNames) {
    if (!MODE_NAME.test(name)) {
      problems.push({
        path: `modes.${name}`,
        message: "a mode name is a lowercase letter then up to 31 lowercase letters, digits or dashes",
      });
    }
  }
  checkMode("default", schedule.default, schedule, problems);

  // Too long a list is reported alone: its entries are not worth comparing pairwise.
  if (schedule.weekly.length > MAX_WEEKLY_RANGES) {
    problems.push({
      path: "weekly",
      message: `at most ${MAX_WEEKLY_RANGES} weekly ranges (${schedule.weekly.length} given)`,
    });
  } else {
    const sound: { index: number; days: Set<Weekday>; interval: [number, number] }[] = [];
    schedule.weekly.forEach((range, i) => {
      const path = `weekly[${i}]`;
      const days = new Set<Weekday>();
      let daysOk = true;
      if (range.days.length === 0) {
        problems.push({ path: `${path}.days`, message: "lists no day" });
        daysOk = false;
      }
      range.days.forEach((day, j) => {
        if (!(WEEKDAYS as readonly string[]).includes(day)) {
          problems.push({
            path: `${path}.days[${j}]`,
            message: `unknown day ${JSON.stringify(day)} (mon to sun)`,
          });
          daysOk = false;
        } else if (days.has(day)) {
          problems.push({ path: `${path}.days[${j}]`, message: `"${day}" is listed twice` });
          daysOk = false;
        } else days.add(day);
      });
      const interval = checkInterval(path, range.from, range.to, problems);
      checkMode(`${path}.mode`, range.mode, schedule, problems);
      if (!daysOk || !interval) return;
      // Each overlapping pair once, on the later entry, naming the earlier.
      for (const other of sound) {
        if (!overlaps(other.interval, interval)) continue;
        const shared = WEEKDAYS.filter((d) => days.has(d) && other.days.has(d));
        if (shared.length === 0) continue;
        problems.push({ path, message: `overlaps weekly[${other.index}] on ${shared.join(", ")}` });
      }
      sound.push({ index: i, days, interval });
    });
  }

  if (schedule.exceptions.length > MAX_EXCEPTIONS) {
    problems.push({
      path: "exceptions",
      message: `at most ${MAX_EXCEPTIONS} exceptions (${schedule.exceptions.length} given)`,
    });
  } else {
    const byDate = new Map<string, { index: number; interval: [number, number] }[]>();
    schedule.exceptions.forEach((exception, i) => {
      const path = `exceptions[${i}]`;
      const dateOk = isDate(exception.date);
      if (!dateOk) {
        problems.push({
          path: `${path}.date`,
          message: `${JSON.stringify(exception.date)} is not a date (YYYY-MM-DD)`,
        });
      }
      let interval: [number, number] | undefined = [0, END_OF_DAY];
      const hasFrom = exception.from !== undefined;
      const hasTo = exception.to !== undefined;
      if (hasFrom !== hasTo) {
        const missing = hasFrom ? "to" : "from";
        problems.push({
          path: `${path}.${missing}`,
          message: "from and to go together: both (part of the day) or neither (the whole day)",
        });
        interval = undefined;
      } else if (hasFrom) {
        interval = checkInterval(path, exception.from, exception.to, problems);
      }
      checkMode(`${path}.mode`, exception.mode, schedule, problems);
      if (!dateOk || !interval) return;
      const sameDay = byDate.get(exception.date) ?? [];
      for (const other of sameDay) {
        if (overlaps(other.interval, interval)) {
          problems.push({ path, message: `overlaps exceptions[${other.index}] on ${exception.date}` });
        }
      }
      sameDay.push({ index: i, interval });
      byDate.set(exception.date, sameDay);
    });
  }
  return problems;
}

// ---------------------------------------------------------------- time zones
//
// "Wall" values are the tenant's local clock read as if it were UTC
// (Date.UTC(y, m, d, h, min)), so calendar arithmetic is plain Date maths.

function zoneOf(name: string): IANAZone {
  const zone = IANAZone.create(name);
  if (!zone.isValid) throw new RangeError(`unknown time zone ${JSON.stringify(name)}`);
  return zone;
}

const offsetAt = (zone: IANAZone, at: number) => zone.offset(at) * MINUTE;

/** The first instant in (lo, hi] whose offset is not `offsetLo` (lo has it, hi has not). */
function offsetChange(zone: IANAZone, lo: number, hi: number, offsetLo: number): number {
  let a = Math.floor(lo);
  let b = Math.ceil(hi);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (offsetAt(zone, mid) === offsetLo) a = mid;
    else b = mid;
  }
  return b;
}

/** The largest fall-back of the clock we allow for (real zones: 1 h, a few 2 h, none more). */
const MAX_FALL_BACK = 3 * HOUR;

/**
 * The wall time that rules at `at`: the clock's reading, except while the
 * clock repeats an hour after falling back, when it is the highest reading
 * reached before the fall (boundaries already passed stay passed).
 */
function effectiveWall(zone: IANAZone, at: number): number {
  const offset = offsetAt(zone, at);
  const wall = at + offset;
  const earlier = at - MAX_FALL_BACK;
  const earlierOffset = offsetAt(zone, earlier);
  if (earlierOffset <= offset) return wall;
  const fall = offsetChange(zone, earlier, at, earlierOffset);
  return Math.max(wall, fall - 1 + earlierOffset);
}

/**
 * The first instant whose effective wall time reaches `wall`: the instant
 * itself for an ordinary time, the first occurrence of a repeated one, the
 * end of the gap (the first valid instant after it) for a skipped one.
 */
function wallToInstant(zone: IANAZone, wall: number): number {
  // Transitions are months apart: the offsets a day either side are the ones around this wall time.
  const before = offsetAt(zone, wall - DAY);
  const after = offsetAt(zone, wall + DAY);
  const valid = [wall - before, wall - after].filter(
    (t, i) => offsetAt(zone, t) === (i === 0 ? before : after),
  );
  if (valid.length > 0) return Math.min(...valid);
  // Skipped (after > before): the clock jumps over `wall` at the change of offset.
  if (after > before) return offsetChange(zone, wall - after, wall - before, before);
  return wall - after;
}

const dayStart = (wall: number) => wall - (((wall % DAY) + DAY) % DAY);
const dateKey = (wall: number) => new Date(wall).toISOString().slice(0, 10);
const weekdayOf = (wall: number): Weekday => WEEKDAYS[(new Date(wall).getUTCDay() + 6) % 7]!;

// ---------------------------------------------------------------- evaluation

interface Span {
  /** Minutes since midnight, from inclusive, to exclusive. */
  from: number;
  to: number;
  mode: string;
}

/** A schedule in the shape evaluation wants: spans by weekday and by date. */
interface Compiled {
  weekly: Map<Weekday, Span[]>;
  exceptions: Map<string, Span[]>;
  default: string;
}

function spanOf(from: string | undefined, to: string | undefined, mode: string): Span | undefined {
  if (from === undefined && to === undefined) return { from: 0, to: END_OF_DAY, mode };
  const start = parseTime(from, false);
  const end = parseTime(to, true);
  // A malformed entry (an unvalidated document) covers nothing rather than throwing mid-call.
  return start === undefined || end === undefined || end <= start
    ? undefined
    : { from: start, to: end, mode };
}

function compile(schedule: Schedule): Compiled {
  const weekly = new Map<Weekday, Span[]>();
  for (const range of schedule.weekly) {
    const span = spanOf(range.from, range.to, range.mode);
    if (!span) continue;
    for (const day of range.days) weekly.set(day, [...(weekly.get(day) ?? []), span]);
  }
  const exceptions = new Map<string, Span[]>();
  for (const exception of schedule.exceptions) {
    const span = spanOf(exception.from, exception.to, exception.mode);
    if (span) exceptions.set(exception.date, [...(exceptions.get(exception.date) ?? []), span]);
  }
  return { weekly, exceptions, default: schedule.default };
}

function modeAtWall(compiled: Compiled, wall: number): string {
  const minute = (wall - dayStart(wall)) / MINUTE;
  const covers = (span: Span) => span.from <= minute && minute < span.to;
  const exception = compiled.exceptions.get(dateKey(wall))?.find(covers);
  if (exception) return exception.mode;
  return compiled.weekly.get(weekdayOf(wall))?.find(covers)?.mode ?? compiled.default;
}

/**
 * The scheduled mode at `at` in `zone`: an exception of that local date
 * covering the time (a whole-day one covers the day), else the weekly range
 * covering the wall time (from inclusive, to exclusive), else the default.
 */
export function modeAt(schedule: Schedule, zone: string, at: number): string {
  const z = zoneOf(zone);
  return modeAtWall(compile(schedule), effectiveWall(z, at));
}

export interface Transition {
  /** Ms since the epoch. */
  at: number;
  /** The mode from then on. */
  mode: string;
}

/**
 * The next instants after `from` (at most `horizonDays` ahead) where the
 * scheduled mode changes, with the new mode; at most `limit` of them.
 */
export function nextTransitions(
  schedule: Schedule,
  zone: string,
  from: number,
  limit = 2,
  horizonDays = TRANSITION_HORIZON_DAYS,
): Transition[] {
  const z = zoneOf(zone);
  if (!Number.isFinite(from) || !Number.isFinite(horizonDays) || horizonDays < 0) {
    throw new RangeError(`no transitions from ${from} over ${horizonDays} days`);
  }
  if (limit <= 0) return [];
  const compiled = compile(schedule);
  const end = from + horizonDays * DAY;
  const transitions: Transition[] = [];
  let previous = modeAtWall(compiled, effectiveWall(z, from));
  // Day by day, in order: every wall time where the mode may change (the
  // day's midnight, where the date and weekday change, and each range's and
  // exception's ends), from the day before `from` (the conversion may shift
  // by hours) until the horizon. A wall time's instant never decreases with
  // it, so the first instant past the horizon ends the search.
  for (let day = dayStart(effectiveWall(z, from)) - DAY; ; day += DAY) {
    const walls = new Set([day]);
    const spans = [
      ...(compiled.weekly.get(weekdayOf(day)) ?? []),
      ...(compiled.exceptions.get(dateKey(day)) ?? []),
    ];
    for (const span of spans) {
      walls.add(day + span.from * MINUTE);
      walls.add(day + span.to * MINUTE);
    }
    // Most days the offset is the same from well before to well after them
    // (±14 h covers every zone's offset, 4 h more a fall-back's repeated
    // hours): the plain conversion holds for the whole day.
    const steady = offsetAt(z, day - 18 * HOUR);
    const plain = steady === offsetAt(z, day + DAY + 18 * HOUR);
    for (const wall of [...walls].sort((a, b) => a - b)) {
      const at = plain ? wall - steady : wallToInstant(z, wall);
      if (at <= from) continue;
      if (at > end) return transitions;
      const mode = modeAtWall(compiled, plain ? wall : effectiveWall(z, at));
      if (mode === previous) continue;
      transitions.push({ at, mode });
      previous = mode;
      if (transitions.length >= limit) return transitions;
    }
  }
}

/**
 * What `*20` forces at `now`: the mode of the next transition T1, held until
 * the transition after it (the first instant where the schedule leaves that
 * mode). Undefined when either is beyond the horizon.
 */
export function planOverride(
  schedule: Schedule,
  zone: string,
  now: number,
): { mode: string; until: number } | undefined {
  const [first, second] = nextTransitions(schedule, zone, now, 2);
  if (!first || !second) return undefined;
  return { mode: first.mode, until: second.at };
}

/**
 * The mode now, with `*20`'s override while it lasts (now < until; an
 * override naming a mode the schedule no longer has is ignored).
 */
export function scheduleStateAt(
  schedule: Schedule,
  zone: string,
  override: ScheduleOverride | undefined,
  now: number,
): ScheduleState {
  const [next] = nextTransitions(schedule, zone, now, 1);
  const live = override && now < override.until && Object.hasOwn(schedule.modes, override.mode);
  const mode = live ? override.mode : modeAt(schedule, zone, now);
  const state: ScheduleState = {
    mode,
    label: schedule.modes[mode]?.label ?? mode,
    overridden: Boolean(live),
  };
  const until = live ? override.until : next?.at;
  if (until !== undefined) state.until = until;
  if (next) state.next = next;
  return state;
}

/** Whether `override` still holds at `now`. */
export function overrideIsLive(
  override: ScheduleOverride | undefined,
  now: number,
): override is ScheduleOverride {
  return override !== undefined && now < override.until;
}
