// The console's checks of a form before it is sent: the API's own rules
// (src/api/validation.ts, whose patterns are copied here and compared in
// validate.test.ts), so that a typing error is said next to its field at
// once. The API checks again and has the last word (a weak password, a
// number the tenant may not dial): its answer is shown under the form.
import type { MessageKey, Vars } from "../i18n/index.ts";
import { WEEKDAYS, type Weekday } from "../types.ts";

export interface Problem {
  key: MessageKey;
  vars?: Vars;
}
export type Problems<F extends string = string> = Partial<Record<F, Problem>>;

export const PATTERNS = {
  tenantName: "^[a-z0-9][a-z0-9-]{0,62}$",
  extensionNumber: "^[0-9]{2,6}$",
  domain:
    "^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
  displayName: "^[^\\u0000-\\u001f\\u007f]{1,64}$",
  country: "^[A-Z]{2}$",
  typedNumber: "^[0-9 +()./-]{1,32}$",
  email:
    '^[^\\u0000-\\u0020\\u007f@"<>(),;:\\\\\\[\\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$',
  ringGroupName: "^[a-z0-9][a-z0-9-]{0,31}$",
  modeName: "^[a-z][a-z0-9-]{0,31}$",
  label: "^[^\\u0000-\\u001f\\u007f]{1,40}$",
  pickupGroup: "^[a-z0-9-]{1,32}$",
} as const;

const re = (p: string) => new RegExp(p, "u");
const RE = Object.fromEntries(Object.entries(PATTERNS).map(([k, v]) => [k, re(v)])) as Record<
  keyof typeof PATTERNS,
  RegExp
>;

export const LIMITS = {
  passwordMin: 10,
  passwordMax: 128,
  pinMin: 4,
  pinMax: 10,
  noAnswerMin: 5,
  noAnswerMax: 300,
  ringTimeoutMin: 5,
  ringTimeoutMax: 300,
  maxCallsMin: 1,
  maxCallsMax: 10,
  tenantMaxCallsMax: 10000,
  maxExternalCallsMax: 1000,
  messageSecondsMin: 10,
  messageSecondsMax: 600,
  groupTimeoutMin: 5,
  groupTimeoutMax: 600,
  memberTimeoutMin: 5,
  memberTimeoutMax: 120,
  waitingSecondsMin: 10,
  waitingSecondsMax: 300,
} as const;

const problem = (key: MessageKey, vars?: Vars): Problem => (vars ? { key, vars } : { key });

export function hasProblems(p: Problems): boolean {
  return Object.values(p).some((v) => v !== undefined);
}

/** Removes the fields without a problem (what the forms keep in their state). */
function only<F extends string>(p: Record<F, Problem | undefined>): Problems<F> {
  const out: Problems<F> = {};
  for (const [k, v] of Object.entries(p) as [F, Problem | undefined][]) if (v) out[k] = v;
  return out;
}

export function checkRequired(v: string): Problem | undefined {
  return v.trim() === "" ? problem("validate.required") : undefined;
}

export function checkTenantName(v: string): Problem | undefined {
  return checkRequired(v) ?? (RE.tenantName.test(v) ? undefined : problem("validate.slug"));
}

export function checkDomain(v: string): Problem | undefined {
  return checkRequired(v) ?? (RE.domain.test(v) ? undefined : problem("validate.domain"));
}

export function checkExtensionNumber(v: string): Problem | undefined {
  return checkRequired(v) ?? (RE.extensionNumber.test(v) ? undefined : problem("validate.extension"));
}

export function checkDisplayName(v: string): Problem | undefined {
  return checkRequired(v) ?? (RE.displayName.test(v) ? undefined : problem("validate.displayName"));
}

/** A password (an extension's SIP password, a console login's): long enough, not the number. */
export function checkPassword(v: string, number?: string): Problem | undefined {
  if (v.length < LIMITS.passwordMin) return problem("validate.passwordShort", { min: LIMITS.passwordMin });
  if (v.length > LIMITS.passwordMax) return problem("validate.passwordLong", { max: LIMITS.passwordMax });
  if (number && v.includes(number) && v.length - number.length < LIMITS.passwordMin) {
    return problem("validate.passwordNumber");
  }
  return undefined;
}

/** A public number as typed ("079 123 12 12", "+41 79 123 12 12"). */
export function checkPhoneNumber(v: string): Problem | undefined {
  return (
    checkRequired(v) ?? (RE.typedNumber.test(v) && /[0-9]/.test(v) ? undefined : problem("validate.phone"))
  );
}

/** A forwarding target: empty (off), an extension, or a public number. */
export function checkForwardingTarget(v: string): Problem | undefined {
  const s = v.trim();
  if (s === "") return undefined;
  if (RE.extensionNumber.test(s)) return undefined;
  return RE.typedNumber.test(s) && /[0-9]/.test(s) ? undefined : problem("validate.target");
}

/** A mailbox PIN: 4 to 10 digits, not one digit repeated, not a run (1234, 9876), not the mailbox's number. */
export function checkPin(pin: string, mailbox = ""): Problem | undefined {
  if (!/^[0-9]+$/.test(pin) || pin.length < LIMITS.pinMin || pin.length > LIMITS.pinMax) {
    return problem("validate.pin", { min: LIMITS.pinMin, max: LIMITS.pinMax });
  }
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => (d - digits[i] + 10) % 10));
  if (steps.size === 1 && [0, 1, 9].includes([...steps][0])) return problem("validate.pinTrivial");
  if (
    mailbox.length > 0 &&
    pin.length % mailbox.length === 0 &&
    mailbox.repeat(pin.length / mailbox.length) === pin
  ) {
    return problem("validate.pinTrivial");
  }
  return undefined;
}

export function checkEmail(v: string): Problem | undefined {
  if (v.trim() === "") return undefined;
  return v.length <= 254 && RE.email.test(v) ? undefined : problem("validate.email");
}

/** A whole number from `min` to `max`, as typed in a field. */
export function checkInteger(v: string, min: number, max: number): Problem | undefined {
  if (!/^-?[0-9]+$/.test(v.trim())) return problem("validate.integer", { min, max });
  const n = Number(v);
  return n >= min && n <= max ? undefined : problem("validate.integer", { min, max });
}

/** HH:MM from 00:00 to 23:59 (or 24:00, the end of a day, when `end`). */
export function checkTime(v: string, end = false): Problem | undefined {
  const m = /^([0-9]{2}):([0-9]{2})$/.exec(v);
  if (!m) return problem("validate.time");
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (end && h === 24 && min === 0) return undefined;
  return h < 24 && min < 60 ? undefined : problem("validate.time");
}

const minutes = (v: string) => Number(v.slice(0, 2)) * 60 + Number(v.slice(3, 5));

/** A real calendar date YYYY-MM-DD. */
export function checkDate(v: string): Problem | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(v);
  if (!m) return problem("validate.date");
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const same =
    d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3]);
  return same ? undefined : problem("validate.date");
}

export function checkModeName(v: string): Problem | undefined {
  return checkRequired(v) ?? (RE.modeName.test(v) ? undefined : problem("validate.modeName"));
}

export function checkLabel(v: string): Problem | undefined {
  if (v === "") return undefined;
  return RE.label.test(v) ? undefined : problem("validate.label");
}

export function checkTimezone(v: string): Problem | undefined {
  if (checkRequired(v)) return problem("validate.required");
  try {
    new Intl.DateTimeFormat("en", { timeZone: v });
    return undefined;
  } catch {
    // Intl does not know the zone: say so in the form.
    return problem("validate.timezone");
  }
}

export function checkCountry(v: string): Problem | undefined {
  return RE.country.test(v) ? undefined : problem("validate.country");
}

/** A console login's name: 1 to 64 letters, digits or . _ @ + - (compared without case by the server). */
export function checkUsername(v: string): Problem | undefined {
  return (
    checkRequired(v) ??
    (/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/.test(v) ? undefined : problem("validate.username"))
  );
}

export function checkHost(v: string): Problem | undefined {
  if (checkRequired(v)) return problem("validate.required");
  return v.length <= 253 && /^[A-Za-z0-9.:[\]-]+$/.test(v) ? undefined : problem("validate.host");
}

// --- whole forms ---------------------------------------------------------

export interface NewTenantForm {
  name: string;
  domain: string;
  timezone: string;
  country: string;
}

export function validateNewTenant(f: NewTenantForm): Problems<keyof NewTenantForm> {
  return only({
    name: checkTenantName(f.name),
    domain: checkDomain(f.domain),
    timezone: f.timezone === "" ? undefined : checkTimezone(f.timezone),
    country: f.country === "" ? undefined : checkCountry(f.country),
  });
}

export interface NewExtensionForm {
  number: string;
  displayName: string;
  password: string;
}

export function validateNewExtension(f: NewExtensionForm): Problems<keyof NewExtensionForm> {
  return only({
    number: checkExtensionNumber(f.number),
    displayName: checkDisplayName(f.displayName),
    password: checkPassword(f.password, f.number),
  });
}

export interface ForwardingForm {
  unconditional: string;
  busy: string;
  noAnswer: string;
  unreachable: string;
  noAnswerSeconds: string;
}

export function validateForwarding(f: ForwardingForm, own?: string): Problems<keyof ForwardingForm> {
  const target = (v: string) =>
    checkForwardingTarget(v) ??
    (own !== undefined && v.trim() === own ? problem("validate.self") : undefined);
  return only({
    unconditional: target(f.unconditional),
    busy: target(f.busy),
    noAnswer: target(f.noAnswer),
    unreachable: target(f.unreachable),
    noAnswerSeconds: checkInteger(f.noAnswerSeconds, LIMITS.noAnswerMin, LIMITS.noAnswerMax),
  });
}

export interface RangeForm {
  days: Weekday[];
  from: string;
  to: string;
  mode: string;
}

export function validateRange(f: RangeForm, modes: readonly string[]): Problems<keyof RangeForm> {
  const from = checkTime(f.from);
  const to = checkTime(f.to, true);
  return only({
    days:
      f.days.length === 0 || f.days.some((d) => !WEEKDAYS.includes(d)) ? problem("validate.days") : undefined,
    from,
    to:
      to ??
      (from === undefined && minutes(f.to) <= minutes(f.from) ? problem("validate.toAfterFrom") : undefined),
    mode: modes.includes(f.mode) ? undefined : problem("validate.mode"),
  });
}

export interface ExceptionForm {
  date: string;
  mode: string;
  wholeDay: boolean;
  from: string;
  to: string;
}

export function validateException(f: ExceptionForm, modes: readonly string[]): Problems<keyof ExceptionForm> {
  const from = f.wholeDay ? undefined : checkTime(f.from);
  const to = f.wholeDay ? undefined : checkTime(f.to, true);
  return only({
    date: checkDate(f.date),
    mode: modes.includes(f.mode) ? undefined : problem("validate.mode"),
    wholeDay: undefined,
    from,
    to:
      to ??
      (!f.wholeDay && from === undefined && minutes(f.to) <= minutes(f.from)
        ? problem("validate.toAfterFrom")
        : undefined),
  });
}

export interface RingGroupForm {
  name: string;
  members: string[];
  timeout: string;
  memberTimeout: string;
}

export function validateRingGroup(f: RingGroupForm, isNew: boolean): Problems<keyof RingGroupForm> {
  return only({
    name: isNew
      ? (checkRequired(f.name) ?? (RE.ringGroupName.test(f.name) ? undefined : problem("validate.slug")))
      : undefined,
    members: f.members.length === 0 ? problem("validate.members") : undefined,
    timeout: checkInteger(f.timeout, LIMITS.groupTimeoutMin, LIMITS.groupTimeoutMax),
    memberTimeout: checkInteger(f.memberTimeout, LIMITS.memberTimeoutMin, LIMITS.memberTimeoutMax),
  });
}

export interface TrunkForm {
  name: string;
  host: string;
  port: string;
}

export function validateTrunk(f: TrunkForm, isNew: boolean): Problems<keyof TrunkForm> {
  return only({
    name: isNew ? checkTenantName(f.name) : undefined,
    host: checkHost(f.host),
    port: checkInteger(f.port, 1, 65535),
  });
}

export interface UserForm {
  username: string;
  password: string;
  role: string;
  tenant: string;
  extension: string;
}

export function validateUser(f: UserForm): Problems<keyof UserForm> {
  return only({
    username: checkUsername(f.username),
    password: checkPassword(f.password),
    role: ["provider", "admin", "user"].includes(f.role) ? undefined : problem("validate.required"),
    tenant: f.role !== "provider" && f.tenant === "" ? problem("validate.required") : undefined,
    extension: f.role === "user" ? checkExtensionNumber(f.extension) : undefined,
  });
}

export interface MailboxForm {
  email: string;
  maxMessageSeconds: string;
  pin: string;
}

export function validateMailbox(f: MailboxForm, mailbox: string): Problems<keyof MailboxForm> {
  return only({
    email: checkEmail(f.email),
    maxMessageSeconds: checkInteger(f.maxMessageSeconds, LIMITS.messageSecondsMin, LIMITS.messageSecondsMax),
    pin: f.pin === "" ? undefined : checkPin(f.pin, mailbox),
  });
}
