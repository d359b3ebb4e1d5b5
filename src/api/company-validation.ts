// Input rules for a company's inbound flow (issue 9): ring groups, the
// schedule's shape, the call flow switch, announcements made from text. The
// same split as validation.ts: synchronous shape checks that name the
// offending field ("weekly[1].to", "modes.open.destination.then.number"),
// then checks against the store (the extensions and ring groups named exist,
// no destination leads a call round in a circle). What the schedule's ranges
// mean (overlaps, end before start, unknown modes) is judged by
// pbx/company/schedule.ts, the code that evaluates them, in the same paths.
import { COMPANY_AUDIO_LIMITS } from "../pbx/company/company-audio.ts";
import { MAX_EXCEPTIONS, MAX_MODES, MAX_WEEKLY_RANGES, scheduleProblems } from "../pbx/company/schedule.ts";
import {
  type CallFlow,
  type CallFlowState,
  DEFAULT_CALL_FLOW,
  DEFAULT_SCHEDULE,
  type DestinationSpec,
  LANGUAGES,
  type Language,
  type NewRingGroup,
  type RingGroupPatch,
  type Schedule,
  type ScheduleException,
  type ScheduleMode,
  type Store,
  WEEKDAYS,
  type WeeklyRange,
} from "../store/types.ts";
import {
  checkExtensionNumber,
  checkRingGroupName,
  type DestinationTenant,
  destinationReferenceProblems,
  ValidationError,
  validateDestination,
} from "./validation.ts";

/**
 * A schedule mode's or a call flow state's name. It starts with a letter: a
 * JSON object keeps its keys in order only when none looks like an array
 * index ("2"), and the first call flow state is the normal one.
 */
export const MODE_NAME_PATTERN = "^[a-z][a-z0-9-]{0,31}$";
export const MODE_NAME_MAX = 32;
/** What phones and the confirmation say of a mode or state; no control characters. */
export const LABEL_PATTERN = "^[^\\u0000-\\u001f\\u007f]{1,40}$";
export const LABEL_MAX = 40;
export const RING_GROUP_MEMBERS_MAX = 50;
export const RING_GROUP_TIMEOUT_MIN = 5;
export const RING_GROUP_TIMEOUT_MAX = 600;
export const MEMBER_TIMEOUT_MIN = 5;
export const MEMBER_TIMEOUT_MAX = 120;
export const RING_GROUP_STRATEGIES = ["simultaneous", "sequential"] as const;
/** Text said by speech synthesis as an announcement: the audio service's own limit. */
export const AUDIO_TEXT_MAX = COMPANY_AUDIO_LIMITS.maxTextLength;

const MODE_NAME = new RegExp(MODE_NAME_PATTERN, "u");
const LABEL = new RegExp(LABEL_PATTERN, "u");

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function done<T>(problems: string[], value: T): T {
  if (problems.length > 0) throw new ValidationError(problems);
  return value;
}

/** The object's fields; pushes "expected an object" or one problem per unknown field. */
function fields(
  input: unknown,
  allowed: readonly string[],
  path: string,
  problems: string[],
): Record<string, unknown> | undefined {
  if (!isObject(input)) {
    problems.push(path === "" ? "expected an object" : `${path} must be an object`);
    return undefined;
  }
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      problems.push(`${path === "" ? "" : `${path} has `}unknown field ${JSON.stringify(key)}`);
    }
  }
  return input;
}

const integerIn = (v: unknown, min: number, max: number) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function checkName(v: unknown, path: string, what: string, problems: string[]): boolean {
  if (typeof v === "string" && MODE_NAME.test(v)) return true;
  problems.push(
    `${path} ${show(v)}: a ${what} name is 1 to ${MODE_NAME_MAX} lowercase letters, digits or hyphens, starting with a letter`,
  );
  return false;
}

function checkLabel(v: unknown, path: string, problems: string[]): void {
  if (v !== undefined && !(typeof v === "string" && LABEL.test(v))) {
    problems.push(`${path} must be 1 to ${LABEL_MAX} characters without control characters`);
  }
}

// Ring groups.

const RING_GROUP_SETTINGS = ["members", "strategy", "timeout", "memberTimeout", "fallback"] as const;

function ringGroupSettings(
  f: Record<string, unknown>,
  tenant: DestinationTenant,
  problems: string[],
): RingGroupPatch {
  const out: RingGroupPatch = {};
  if (f.members !== undefined) {
    const list = f.members;
    if (!Array.isArray(list) || list.length < 1 || list.length > RING_GROUP_MEMBERS_MAX) {
      problems.push(`members must be a list of 1 to ${RING_GROUP_MEMBERS_MAX} extension numbers`);
    } else {
      list.forEach((n, i) => {
        if (checkExtensionNumber(n))
          problems.push(`members[${i}] ${show(n)} must be an extension number of 2 to 6 digits`);
        else if (list.indexOf(n) !== i) problems.push(`members[${i}] ${show(n)} is listed twice`);
      });
      out.members = [...(list as string[])];
    }
  }
  if (f.strategy !== undefined) {
    if ((RING_GROUP_STRATEGIES as readonly unknown[]).includes(f.strategy)) {
      out.strategy = f.strategy as RingGroupPatch["strategy"];
    } else problems.push(`strategy ${show(f.strategy)} must be one of ${RING_GROUP_STRATEGIES.join(", ")}`);
  }
  if (f.timeout !== undefined) {
    if (integerIn(f.timeout, RING_GROUP_TIMEOUT_MIN, RING_GROUP_TIMEOUT_MAX))
      out.timeout = f.timeout as number;
    else
      problems.push(
        `timeout ${show(f.timeout)} must be a whole number of seconds from ${RING_GROUP_TIMEOUT_MIN} to ${RING_GROUP_TIMEOUT_MAX}`,
      );
  }
  if (f.memberTimeout !== undefined) {
    if (integerIn(f.memberTimeout, MEMBER_TIMEOUT_MIN, MEMBER_TIMEOUT_MAX)) {
      out.memberTimeout = f.memberTimeout as number;
    } else
      problems.push(
        `memberTimeout ${show(f.memberTimeout)} must be a whole number of seconds from ${MEMBER_TIMEOUT_MIN} to ${MEMBER_TIMEOUT_MAX}`,
      );
  }
  if (f.fallback !== undefined) {
    const fallback = validateDestination(f.fallback, "fallback", tenant, problems);
    if (fallback) out.fallback = fallback;
  }
  return out;
}

/** A new ring group (the store fills in what is missing: simultaneous, its timeouts, hang up). */
export function validateNewRingGroup(
  input: unknown,
  tenant: DestinationTenant,
): Omit<NewRingGroup, "tenant"> {
  const problems: string[] = [];
  const f = fields(input, ["name", ...RING_GROUP_SETTINGS], "", problems) ?? {};
  if (f.name === undefined) problems.push("name is required");
  else {
    const p = checkRingGroupName(f.name);
    if (p) problems.push(p);
  }
  if (f.members === undefined) problems.push("members is required");
  const settings = ringGroupSettings(f, tenant, problems);
  return done(problems, { name: f.name as string, members: settings.members ?? [], ...settings });
}

export function validateRingGroupPatch(input: unknown, tenant: DestinationTenant): RingGroupPatch {
  const problems: string[] = [];
  const f = fields(input, RING_GROUP_SETTINGS, "", problems) ?? {};
  return done(problems, ringGroupSettings(f, tenant, problems));
}

/**
 * What the store must confirm of a ring group's members and fallback: the
 * members are extensions of the tenant, what the fallback names exists, and
 * the fallback does not lead back to the group itself (through announcements,
 * other groups' fallbacks or the inbound flow): a call would ring the same
 * phones round and round.
 */
export async function ringGroupProblems(
  store: Store,
  tenant: string,
  group: string,
  settings: RingGroupPatch,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, n] of (settings.members ?? []).entries()) {
    if (!(await store.extensions.get(tenant, n))) {
      problems.push(`members[${i}] extension ${n} does not exist in tenant ${tenant}`);
    }
  }
  if (settings.fallback) {
    const missing = await destinationReferenceProblems(store, tenant, settings.fallback, "fallback");
    problems.push(...missing);
    if (missing.length === 0) {
      const self = (d: DestinationSpec) => d.type === "ring-group" && d.name === group;
      const way = await findWay(store, tenant, settings.fallback, self, true);
      if (way) problems.push(`fallback leads back to ring group ${group}${through(way)}`);
    }
  }
  return problems;
}

// The schedule.

function validateMode(input: unknown, path: string, tenant: DestinationTenant, problems: string[]) {
  const f = fields(input, ["label", "destination"], path, problems);
  if (!f) return undefined;
  checkLabel(f.label, `${path}.label`, problems);
  let destination: DestinationSpec | undefined;
  if (f.destination === undefined) problems.push(`${path}.destination is required`);
  else destination = validateDestination(f.destination, `${path}.destination`, tenant, problems);
  if (!destination) return undefined;
  const mode: ScheduleMode = { destination };
  if (f.label !== undefined) mode.label = f.label as string;
  return mode;
}

/** The keys an entry must have: the ranges' meaning is scheduleProblems', their presence is the document's shape. */
function entry(
  input: unknown,
  path: string,
  allowed: readonly string[],
  required: readonly string[],
  problems: string[],
): Record<string, unknown> | undefined {
  const f = fields(input, allowed, path, problems);
  if (!f) return undefined;
  for (const key of required) if (f[key] === undefined) problems.push(`${path}.${key} is required`);
  return f;
}

function listOf(v: unknown, path: string, max: number, problems: string[]): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > max) {
    problems.push(`${path} must be a list of at most ${max} entries`);
    return [];
  }
  return v;
}

/**
 * The schedule document: its shape here (modes with labels and destinations,
 * read like every destination; `weekly` and `exceptions` may be left out:
 * none), then what it means by schedule.ts's scheduleProblems, the rules of
 * the code that evaluates it (times, days, dates, end before start, overlaps,
 * unknown modes), each named by its path: "weekly[1].to: 12:00 is not after
 * from (13:30)".
 */
export function validateSchedule(input: unknown, tenant: DestinationTenant): Schedule {
  // `shape`: what scheduleProblems needs sound before it can judge; a mode's
  // bad destination (in `problems`) does not stop it.
  const shape: string[] = [];
  const problems: string[] = [];
  const f = fields(input, ["modes", "default", "weekly", "exceptions"], "", shape) ?? {};
  const modes: Record<string, ScheduleMode> = {};
  const names: string[] = [];
  if (f.modes === undefined) shape.push("modes is required");
  else if (!isObject(f.modes) || Object.keys(f.modes).length < 1 || Object.keys(f.modes).length > MAX_MODES) {
    shape.push(`modes must be an object of 1 to ${MAX_MODES} modes by name`);
  } else {
    for (const [name, value] of Object.entries(f.modes)) {
      names.push(name);
      const mode = validateMode(value, `modes.${name}`, tenant, problems);
      if (mode) modes[name] = mode;
    }
  }
  if (f.default === undefined) shape.push("default is required: the mode outside every range");
  const weekly = listOf(f.weekly, "weekly", MAX_WEEKLY_RANGES, shape);
  weekly.forEach((r, i) => {
    const range = entry(
      r,
      `weekly[${i}]`,
      ["days", "from", "to", "mode"],
      ["days", "from", "to", "mode"],
      shape,
    );
    if (range && range.days !== undefined && !Array.isArray(range.days)) {
      shape.push(`weekly[${i}].days must be a list of days among ${WEEKDAYS.join(", ")}`);
    }
  });
  const exceptions = listOf(f.exceptions, "exceptions", MAX_EXCEPTIONS, shape);
  exceptions.forEach((e, i) => {
    entry(e, `exceptions[${i}]`, ["date", "mode", "from", "to"], ["date", "mode"], shape);
  });
  if (shape.length === 0) {
    const hangup: ScheduleMode = { destination: { type: "hangup" } };
    const schedule = {
      modes: Object.fromEntries(names.map((n) => [n, modes[n] ?? hangup])),
      default: f.default,
      weekly,
      exceptions,
    } as Schedule;
    problems.push(...scheduleProblems(schedule).map((p) => `${p.path}: ${p.message}`));
  }
  return done([...shape, ...problems], {
    modes,
    default: f.default as string,
    weekly: (weekly as WeeklyRange[]).map((r) => ({
      days: [...r.days],
      from: r.from,
      to: r.to,
      mode: r.mode,
    })),
    exceptions: (exceptions as ScheduleException[]).map((e) => {
      const out: ScheduleException = { date: e.date, mode: e.mode };
      if (e.from !== undefined) out.from = e.from;
      if (e.to !== undefined) out.to = e.to;
      return out;
    }),
  });
}

// The call flow switch.

/** Two states exactly (the first is the normal one), `state` one of them. */
export function validateCallFlow(input: unknown, tenant: DestinationTenant): CallFlow {
  const problems: string[] = [];
  const f = fields(input, ["state", "states"], "", problems) ?? {};
  const states: Record<string, CallFlowState> = {};
  if (f.states === undefined) problems.push("states is required");
  else if (!isObject(f.states) || Object.keys(f.states).length !== 2) {
    problems.push("states must be an object of exactly two states by name, the normal one first");
  } else {
    for (const [name, value] of Object.entries(f.states)) {
      if (!checkName(name, `states.${name}`, "state", problems)) continue;
      const path = `states.${name}`;
      const s = fields(value, ["label", "destination"], path, problems);
      if (!s) continue;
      checkLabel(s.label, `${path}.label`, problems);
      const state: CallFlowState = {};
      if (s.label !== undefined) state.label = s.label as string;
      if (s.destination !== undefined) {
        const d = validateDestination(s.destination, `${path}.destination`, tenant, problems);
        if (d) state.destination = d;
      }
      states[name] = state;
    }
  }
  if (f.state === undefined) problems.push("state is required");
  else if (typeof f.state !== "string" || (isObject(f.states) && !Object.hasOwn(f.states, f.state))) {
    problems.push(`state ${show(f.state)} must be one of the states: ${Object.keys(states).join(", ")}`);
  }
  return done(problems, { state: f.state as string, states });
}

/** The destinations of the inbound flow's settings, each with its path. */
export function scheduleDestinations(schedule: Schedule): [string, DestinationSpec][] {
  return Object.entries(schedule.modes).map(([name, m]) => [`modes.${name}.destination`, m.destination]);
}

export function callFlowDestinations(flow: CallFlow): [string, DestinationSpec][] {
  return Object.entries(flow.states)
    .filter(([, s]) => s.destination !== undefined)
    .map(([name, s]) => [`states.${name}.destination`, s.destination as DestinationSpec]);
}

/**
 * What the store must confirm of the inbound flow's destinations (schedule
 * modes, call flow states): what they name exists, and none leads back to
 * the inbound flow (directly, after an announcement, or as a ring group's
 * fallback), where the same call would start over for ever.
 */
export async function inboundFlowProblems(
  store: Store,
  tenant: string,
  destinations: [string, DestinationSpec][],
): Promise<string[]> {
  const problems: string[] = [];
  for (const [path, d] of destinations) {
    const missing = await destinationReferenceProblems(store, tenant, d, path);
    problems.push(...missing);
    if (missing.length > 0) continue;
    const way = await findWay(store, tenant, d, (x) => x.type === "inbound-flow", false);
    if (way) {
      problems.push(
        `${path} leads back to the inbound flow${through(way)}: the call would start over for ever`,
      );
    }
  }
  return problems;
}

const through = (way: string[]) => (way.length === 0 ? "" : ` (through ${way.join(", then ")})`);

/**
 * Follows where a call goes on by itself from `start`: an announcement's
 * `then`, a ring group's fallback, and with `expandFlow` the inbound flow's
 * destinations (the stored schedule and call flow, else the defaults).
 * Returns the way to the first destination that `found` accepts (the groups
 * and flow passed through), or undefined. Each group is followed once.
 */
async function findWay(
  store: Store,
  tenant: string,
  start: DestinationSpec,
  found: (d: DestinationSpec) => boolean,
  expandFlow: boolean,
): Promise<string[] | undefined> {
  const queue: { d: DestinationSpec; way: string[] }[] = [{ d: start, way: [] }];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { d, way } = queue.shift() as { d: DestinationSpec; way: string[] };
    if (found(d)) return way;
    if (d.type === "announcement") queue.push({ d: d.then, way });
    else if (d.type === "ring-group" && !seen.has(`group:${d.name}`)) {
      seen.add(`group:${d.name}`);
      const g = await store.ringGroups.get(tenant, d.name);
      if (g) queue.push({ d: g.fallback, way: [...way, `ring group ${d.name}'s fallback`] });
    } else if (d.type === "inbound-flow" && expandFlow && !seen.has("flow")) {
      seen.add("flow");
      const schedule = (await store.companyFlow.schedule(tenant)) ?? DEFAULT_SCHEDULE;
      const flow = (await store.companyFlow.callFlow(tenant)) ?? DEFAULT_CALL_FLOW;
      for (const [path, next] of [...scheduleDestinations(schedule), ...callFlowDestinations(flow)]) {
        queue.push({ d: next, way: [...way, `the inbound flow's ${path}`] });
      }
    }
  }
  return undefined;
}

// Company audio.

export interface AudioTextInput {
  text: string;
  /** The tenant's language when missing. */
  language?: Language;
}

/** `{"text":"...","language"?}`: an announcement made by speech synthesis. */
export function validateAudioText(input: unknown): AudioTextInput {
  const problems: string[] = [];
  const f = fields(input, ["text", "language"], "", problems) ?? {};
  if (typeof f.text !== "string" || f.text.trim() === "" || f.text.length > AUDIO_TEXT_MAX) {
    problems.push(`text must be 1 to ${AUDIO_TEXT_MAX} characters to be spoken`);
  }
  if (f.language !== undefined && !(LANGUAGES as readonly unknown[]).includes(f.language)) {
    problems.push(`language ${show(f.language)} must be one of ${LANGUAGES.join(", ")}`);
  }
  const out: AudioTextInput = { text: f.text as string };
  if (f.language !== undefined) out.language = f.language as Language;
  return done(problems, out);
}
