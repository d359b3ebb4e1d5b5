// Reading JSON columns back. What the API wrote was validated, but a column
// may have been edited by hand, damaged, or written by a later vpbx with
// shapes this one does not know. Reading never throws: an unreadable part
// takes the safe reading (a destination hangs up rather than ringing
// somewhere unintended; a schedule or call flow falls back to the default)
// with a warning, and the next write repairs it.
import {
  ANNOUNCEMENT_KINDS,
  type AnnouncementKind,
  type CallFlow,
  type CallFlowState,
  type DestinationSpec,
  MAX_DESTINATION_DEPTH,
  type Schedule,
  type ScheduleException,
  type ScheduleMode,
  WEEKDAYS,
  type Weekday,
  type WeeklyRange,
} from "../types.ts";

export function readJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    process.emitWarning(`vpbx: unreadable ${what} JSON in the database, using defaults: ${String(err)}`);
    return undefined;
  }
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: object, key: string) => Object.hasOwn(o, key);

/** A stored destination (a number's, a mode's, a fallback's) as JSON text. */
export function readDestinationSpec(json: string, what = "number destination"): DestinationSpec {
  return readDestination(readJson(json, what), what, 1);
}

/**
 * One destination already parsed; `depth` 1 is the outermost. Deeper than
 * MAX_DESTINATION_DEPTH reads as hangup, as the API refuses to write it.
 */
export function readDestination(d: unknown, what: string, depth = 1): DestinationSpec {
  if (depth <= MAX_DESTINATION_DEPTH && isRecord(d)) {
    switch (d.type) {
      case "extension":
      case "external":
      case "voicemail":
        if (typeof d.number === "string") return { type: d.type, number: d.number };
        break;
      case "ring-group":
        if (typeof d.name === "string") return { type: "ring-group", name: d.name };
        break;
      case "announcement":
        if (ANNOUNCEMENT_KINDS.includes(d.announcement as AnnouncementKind)) {
          // A lost `then` still says the announcement, then hangs up.
          return {
            type: "announcement",
            announcement: d.announcement as AnnouncementKind,
            then: readDestination(d.then, what, depth + 1),
          };
        }
        break;
      case "inbound-flow":
        return { type: "inbound-flow" };
      case "hangup":
        return { type: "hangup" };
    }
  }
  process.emitWarning(`vpbx: unknown ${what} ${JSON.stringify(d) ?? "(none)"}, read as hangup`);
  return { type: "hangup" };
}

const isTime = (v: unknown): v is string => typeof v === "string" && /^\d\d:\d\d$/.test(v);

function readWeekly(v: unknown, modes: object): WeeklyRange | undefined {
  if (!isRecord(v) || !Array.isArray(v.days) || !isTime(v.from) || !isTime(v.to)) return undefined;
  if (typeof v.mode !== "string" || !has(modes, v.mode)) return undefined;
  if (!v.days.every((day) => WEEKDAYS.includes(day as Weekday))) return undefined;
  return { days: [...v.days] as Weekday[], from: v.from, to: v.to, mode: v.mode };
}

function readException(v: unknown, modes: object): ScheduleException | undefined {
  if (!isRecord(v) || typeof v.date !== "string" || !/^\d{4}-\d\d-\d\d$/.test(v.date)) return undefined;
  if (typeof v.mode !== "string" || !has(modes, v.mode)) return undefined;
  const e: ScheduleException = { date: v.date, mode: v.mode };
  if (v.from !== undefined || v.to !== undefined) {
    if (!isTime(v.from) || !isTime(v.to)) return undefined;
    e.from = v.from;
    e.to = v.to;
  }
  return e;
}

/**
 * A stored schedule; undefined (DEFAULT_SCHEDULE applies) when there is none
 * or it cannot be read as a whole. A range or exception that cannot be read
 * is dropped, with a warning.
 */
export function readSchedule(json: string | null): Schedule | undefined {
  if (json === null) return undefined;
  const s = readJson(json, "schedule");
  if (!isRecord(s) || !isRecord(s.modes) || typeof s.default !== "string") {
    process.emitWarning(`vpbx: unreadable schedule ${json}, the default schedule applies`);
    return undefined;
  }
  // fromEntries defines own properties: a mode named "__proto__" stays data.
  const modes: Record<string, ScheduleMode> = Object.fromEntries(
    Object.entries(s.modes).map(([name, m]) => {
      const mode: ScheduleMode = {
        destination: readDestination(isRecord(m) ? m.destination : undefined, `schedule mode ${name}`),
      };
      if (isRecord(m) && typeof m.label === "string") mode.label = m.label;
      return [name, mode];
    }),
  );
  if (!has(modes, s.default)) {
    process.emitWarning(
      `vpbx: schedule default mode ${s.default} is not a mode, the default schedule applies`,
    );
    return undefined;
  }
  const entries = <T>(list: unknown, read: (v: unknown, modes: object) => T | undefined, what: string) => {
    const out: T[] = [];
    for (const v of Array.isArray(list) ? list : []) {
      const entry = read(v, modes);
      if (entry) out.push(entry);
      else process.emitWarning(`vpbx: unreadable schedule ${what} ${JSON.stringify(v)}, ignored`);
    }
    return out;
  };
  return {
    modes,
    default: s.default,
    weekly: entries(s.weekly, readWeekly, "range"),
    exceptions: entries(s.exceptions, readException, "exception"),
  };
}

/** A stored call flow; undefined (DEFAULT_CALL_FLOW applies) when there is none or it cannot be read. */
export function readCallFlow(json: string | null): CallFlow | undefined {
  if (json === null) return undefined;
  const f = readJson(json, "call flow");
  if (
    !isRecord(f) ||
    !isRecord(f.states) ||
    Object.keys(f.states).length !== 2 ||
    typeof f.state !== "string" ||
    !has(f.states, f.state)
  ) {
    process.emitWarning(`vpbx: unreadable call flow ${json}, the default call flow applies`);
    return undefined;
  }
  const states: Record<string, CallFlowState> = Object.fromEntries(
    Object.entries(f.states).map(([name, st]) => {
      const state: CallFlowState = {};
      if (isRecord(st)) {
        if (typeof st.label === "string") state.label = st.label;
        if (st.destination !== undefined) {
          state.destination = readDestination(st.destination, `call flow state ${name}`);
        }
      }
      return [name, state];
    }),
  );
  return { state: f.state, states };
}

/** Equal as JSON documents, whatever the order of their keys (a document read back may list them otherwise). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, sortedKeys) === JSON.stringify(b, sortedKeys);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}
