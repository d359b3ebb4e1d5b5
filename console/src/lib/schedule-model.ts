// The week editor's model: the schedule's weekly ranges (the API's shape:
// days[], "HH:MM" from and to, a mode) as blocks of one day each, in
// minutes, that the page draws, drags and resizes; and back. Times are
// minutes of a day (0..1440) and of a week (0..10080) in the company's own
// clock, Monday first: no Date, no time zone, so a week that crosses a DST
// change is 7 × 1440 minutes like any other (the server applies the ranges
// in the company's zone, as wall-clock times).
import { WEEKDAYS, type Weekday, type WeeklyRange } from "../types.ts";

export const DAY_MINUTES = 1440;
export const WEEK_MINUTES = 7 * DAY_MINUTES;
/** The grid of the editor: ranges snap to quarter hours. */
export const SNAP_MINUTES = 15;

/** One range on one day: `from` < `to`, minutes of the day (`to` may be 1440, the end of the day). */
export interface Block {
  /** 0 = Monday … 6 = Sunday. */
  day: number;
  from: number;
  to: number;
  mode: string;
}

/** "08:30" → 510; "24:00" → 1440; undefined when it is not a time. */
export function parseTime(s: string): number | undefined {
  const m = /^([0-9]{2}):([0-9]{2})$/.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h === 24 && min === 0) return DAY_MINUTES;
  if (h > 23 || min > 59) return undefined;
  return h * 60 + min;
}

/** 510 → "08:30"; 1440 → "24:00". */
export function formatTime(minutes: number): string {
  const m = Math.max(0, Math.min(DAY_MINUTES, Math.round(minutes)));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/** To the nearest multiple of `step` (15 minutes by default). */
export function snap(minutes: number, step = SNAP_MINUTES): number {
  return Math.round(minutes / step) * step;
}

export const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/** A minute of the week from a day and a minute of that day. */
export function weekMinute(day: number, minute: number): number {
  return day * DAY_MINUTES + minute;
}

/** A minute of the week, wrapped into 0..10079 (Sunday 23:59 + 1 is Monday 00:00). */
export function wrapWeek(m: number): number {
  return ((m % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
}

/** The day and minute of a minute of the week (wrapped). */
export function splitWeekMinute(m: number): { day: number; minute: number } {
  const w = wrapWeek(m);
  return { day: Math.floor(w / DAY_MINUTES), minute: w % DAY_MINUTES };
}

/** The weekday (0 = Monday) of a calendar date "YYYY-MM-DD", computed in UTC: no zone can shift it. */
export function weekdayOf(date: string): number {
  const [y, m, d] = date.split("-").map(Number);
  const sunday0 = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return (sunday0 + 6) % 7;
}

/** The date `days` after "YYYY-MM-DD" (UTC arithmetic: every day is 24 h here). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The Monday of the week of a date. */
export function mondayOf(date: string): string {
  return addDays(date, -weekdayOf(date));
}

// --- ranges ↔ blocks ------------------------------------------------------

/** The API's ranges as one block per day (a range of Mon-Fri is five blocks); unreadable ranges are left out. */
export function blocksFromWeekly(weekly: readonly WeeklyRange[]): Block[] {
  const blocks: Block[] = [];
  for (const r of weekly) {
    const from = parseTime(r.from);
    const to = parseTime(r.to);
    if (from === undefined || to === undefined || to <= from) continue;
    for (const d of r.days) {
      const day = WEEKDAYS.indexOf(d);
      if (day >= 0) blocks.push({ day, from, to, mode: r.mode });
    }
  }
  return normalize(blocks);
}

/**
 * Blocks back into the API's ranges: the same hours and mode on several
 * days make one range (Mon-Fri 08:00-12:00 open), listed by first day then
 * start, so that an unchanged week gives the same document.
 */
export function weeklyFromBlocks(blocks: readonly Block[]): WeeklyRange[] {
  const groups = new Map<string, { from: number; to: number; mode: string; days: Set<number> }>();
  for (const b of normalize(blocks)) {
    const key = `${b.from}|${b.to}|${b.mode}`;
    let g = groups.get(key);
    if (!g) {
      g = { from: b.from, to: b.to, mode: b.mode, days: new Set() };
      groups.set(key, g);
    }
    g.days.add(b.day);
  }
  return [...groups.values()]
    .map((g) => ({ days: [...g.days].sort((a, b) => a - b), from: g.from, to: g.to, mode: g.mode }))
    .sort((a, b) => a.days[0] - b.days[0] || a.from - b.from || a.to - b.to || a.mode.localeCompare(b.mode))
    .map((g) => ({
      days: g.days.map((d) => WEEKDAYS[d] as Weekday),
      from: formatTime(g.from),
      to: formatTime(g.to),
      mode: g.mode,
    }));
}

const byStart = (a: Block, b: Block) => a.day - b.day || a.from - b.from || a.to - b.to;

/**
 * Sorted by day and start; within a day, blocks of one mode that overlap or
 * touch become one (08:00-10:00 and 10:00-12:00 open is 08:00-12:00). Empty
 * blocks are dropped. Blocks of different modes are left as they are
 * (placeBlock keeps them apart).
 */
export function normalize(blocks: readonly Block[]): Block[] {
  const sorted = blocks
    .filter((b) => b.to > b.from)
    .map((b) => ({ ...b }))
    .sort(byStart);
  const out: Block[] = [];
  for (const b of sorted) {
    // The last block of the same day and mode that this one overlaps or touches.
    const prev = out.findLast((o) => o.day === b.day && o.mode === b.mode);
    if (prev && b.from <= prev.to) prev.to = Math.max(prev.to, b.to);
    else out.push(b);
  }
  return out.sort(byStart);
}

/** Whether two blocks share some time on the same day. */
export function overlaps(a: Block, b: Block): boolean {
  return a.day === b.day && a.from < b.to && b.from < a.to;
}

/**
 * `block` put into the week: where it overlaps other blocks it wins (they
 * are cut back, or split in two around it), then blocks of its mode that it
 * touches merge with it. The week never holds two modes at once, which the
 * API would refuse.
 */
export function placeBlock(blocks: readonly Block[], block: Block): Block[] {
  const b = { ...block, from: clamp(block.from, 0, DAY_MINUTES), to: clamp(block.to, 0, DAY_MINUTES) };
  if (b.to <= b.from) return normalize(blocks);
  const out: Block[] = [];
  for (const o of blocks) {
    if (!overlaps(o, b)) {
      out.push({ ...o });
      continue;
    }
    if (o.from < b.from) out.push({ ...o, to: b.from });
    if (o.to > b.to) out.push({ ...o, from: b.to });
  }
  out.push(b);
  return normalize(out);
}

export function removeBlock(blocks: readonly Block[], index: number): Block[] {
  return normalize(blocks.filter((_, i) => i !== index));
}

/**
 * Where a block lands when dragged by `minutes` and `days`: its length is
 * kept and it stays within its (new) day; days stop at Monday and Sunday.
 */
export function movedBlock(b: Block, minutes: number, days: number): Block {
  const length = b.to - b.from;
  const day = clamp(b.day + days, 0, 6);
  const from = clamp(snap(b.from + minutes), 0, DAY_MINUTES - length);
  return { ...b, day, from, to: from + length };
}

/** The week with block `index` moved (it wins where it lands). */
export function moveBlock(blocks: readonly Block[], index: number, minutes: number, days: number): Block[] {
  const b = blocks[index];
  if (!b) return normalize(blocks);
  const rest = blocks.filter((_, i) => i !== index);
  return placeBlock(rest, movedBlock(b, minutes, days));
}

/** A block with one edge dragged to `to` (snapped), at least one step long. */
export function resizedBlock(b: Block, edge: "start" | "end", minute: number): Block {
  const m = clamp(snap(minute), 0, DAY_MINUTES);
  if (edge === "start") return { ...b, from: Math.min(m, b.to - SNAP_MINUTES) };
  return { ...b, to: Math.max(m, b.from + SNAP_MINUTES) };
}

export function resizeBlock(
  blocks: readonly Block[],
  index: number,
  edge: "start" | "end",
  minute: number,
): Block[] {
  const b = blocks[index];
  if (!b) return normalize(blocks);
  const rest = blocks.filter((_, i) => i !== index);
  return placeBlock(rest, resizedBlock(b, edge, minute));
}

/** The block drawn by a drag from `a` to `b` (minutes of one day, any order): snapped, at least one step. */
export function drawnBlock(day: number, a: number, b: number, mode: string): Block {
  let from = clamp(snap(Math.min(a, b)), 0, DAY_MINUTES - SNAP_MINUTES);
  let to = clamp(snap(Math.max(a, b)), 0, DAY_MINUTES);
  if (to - from < SNAP_MINUTES) to = from + SNAP_MINUTES;
  if (to > DAY_MINUTES) {
    to = DAY_MINUTES;
    from = to - SNAP_MINUTES;
  }
  return { day, from, to, mode };
}

/** The mode in force at a minute of the week by the weekly ranges alone (no exceptions, no override). */
export function modeAt(blocks: readonly Block[], fallback: string, m: number): string {
  const { day, minute } = splitWeekMinute(m);
  return blocks.find((b) => b.day === day && b.from <= minute && minute < b.to)?.mode ?? fallback;
}

/** A minute from a pointer's position in a day column of `height` pixels (unsnapped, clamped). */
export function minuteAt(offsetY: number, height: number): number {
  if (height <= 0) return 0;
  return clamp((offsetY / height) * DAY_MINUTES, 0, DAY_MINUTES);
}

/** The index of the block (in `blocks`) that equals `b`, or -1. */
export function indexOf(blocks: readonly Block[], b: Block): number {
  return blocks.findIndex((o) => o.day === b.day && o.from === b.from && o.to === b.to && o.mode === b.mode);
}
