// Input rules for tenants, extensions and feature codes, shared by the REST
// API (after its JSON-schema pass) and the CLI, so that both refuse the same
// things with the same words. The JSON schemas in schemas.ts are built from
// the same patterns and limits.
import { isSupportedCountry } from "libphonenumber-js";
import { IANAZone } from "luxon";
import { FEATURE_CODE_PATTERN, isFeatureAction } from "../store/feature-code-table.ts";
import {
  DEFAULT_FEATURES,
  type FeatureAction,
  type FeatureSwitches,
  LANGUAGES,
  type Language,
  type NewTenant,
  type TenantPatch,
} from "../store/types.ts";

export { FEATURE_CODE_PATTERN };
export const TENANT_NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";
export const EXTENSION_NUMBER_PATTERN = "^[0-9]{2,6}$";
/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export const DOMAIN_PATTERN =
  "^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$";
/** No control characters: the name ends up in SIP From headers (CR/LF injection). */
export const DISPLAY_NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f]{1,64}$";
export const COUNTRY_PATTERN = "^[A-Z]{2}$";
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const RING_TIMEOUT_MIN = 5;
export const RING_TIMEOUT_MAX = 300;
export const TIMEZONE_MAX = 64;

/** Input that breaks the rules; `problems` are one sentence each. */
export class ValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "ValidationError";
  }
}

const re = (p: string) => new RegExp(p, "u");
const TENANT_NAME = re(TENANT_NAME_PATTERN);
const NUMBER = re(EXTENSION_NUMBER_PATTERN);
const DOMAIN = re(DOMAIN_PATTERN);
const DISPLAY_NAME = re(DISPLAY_NAME_PATTERN);
const COUNTRY = re(COUNTRY_PATTERN);
const CODE = re(FEATURE_CODE_PATTERN);

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
type Check = (value: unknown) => string | undefined;

export const checkTenantName: Check = (v) =>
  typeof v === "string" && TENANT_NAME.test(v)
    ? undefined
    : `tenant name ${show(v)} must be 1 to 63 lowercase letters, digits or hyphens, not starting with a hyphen`;

export const checkDomain: Check = (v) =>
  typeof v === "string" && DOMAIN.test(v)
    ? undefined
    : `domain ${show(v)} must be a host name such as pbx.example.ch`;

export const checkLanguage: Check = (v) =>
  typeof v === "string" && (LANGUAGES as readonly string[]).includes(v)
    ? undefined
    : `language ${show(v)} must be one of ${LANGUAGES.join(", ")}`;

export const checkTimezone: Check = (v) =>
  typeof v === "string" && v.length <= TIMEZONE_MAX && IANAZone.isValidZone(v)
    ? undefined
    : `timezone ${show(v)} must be an IANA time zone such as Europe/Zurich`;

export const checkCountry: Check = (v) =>
  typeof v === "string" && COUNTRY.test(v) && isSupportedCountry(v)
    ? undefined
    : `country ${show(v)} must be an ISO 3166-1 alpha-2 code in capitals, such as CH`;

export const checkExtensionNumber: Check = (v) =>
  typeof v === "string" && NUMBER.test(v) ? undefined : `extension number ${show(v)} must be 2 to 6 digits`;

export const checkDisplayName: Check = (v) =>
  typeof v === "string" && DISPLAY_NAME.test(v)
    ? undefined
    : `display name ${show(v)} must be 1 to 64 characters without control characters`;

export const checkRingTimeout: Check = (v) =>
  Number.isInteger(v) && (v as number) >= RING_TIMEOUT_MIN && (v as number) <= RING_TIMEOUT_MAX
    ? undefined
    : `ringTimeoutSeconds ${show(v)} must be a whole number of seconds from ${RING_TIMEOUT_MIN} to ${RING_TIMEOUT_MAX}`;

export const checkFeatureCode: Check = (v) =>
  typeof v === "string" && CODE.test(v)
    ? undefined
    : `feature code ${show(v)} must be * followed by 1 to 4 digits`;

export const checkFeatureAction: Check = (v) =>
  typeof v === "string" && isFeatureAction(v) ? undefined : `feature action ${show(v)} is unknown`;

/** Never echoes the password. `number` is the extension's own: a phone's number is no secret. */
export function checkPassword(v: unknown, number: unknown): string | undefined {
  if (typeof v !== "string" || [...v].length < PASSWORD_MIN || [...v].length > PASSWORD_MAX) {
    return `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  }
  // SIP scanners try the extension number, and it repeated, first.
  if (typeof number === "string" && number.length > 0 && v.length % number.length === 0) {
    if (number.repeat(v.length / number.length) === v)
      return "password must not be the extension number repeated";
  }
  return undefined;
}

function fields(input: unknown, allowed: readonly string[], problems: string[]): Record<string, unknown> {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    problems.push("expected an object");
    return {};
  }
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) problems.push(`unknown field ${JSON.stringify(key)}`);
  }
  return input as Record<string, unknown>;
}

function run(problems: string[], value: unknown, check: Check, required: boolean, name: string): void {
  if (value === undefined) {
    if (required) problems.push(`${name} is required`);
    return;
  }
  const p = check(value);
  if (p) problems.push(p);
}

function done<T>(problems: string[], value: T): T {
  if (problems.length > 0) throw new ValidationError(problems);
  return value;
}

/** A new tenant; the domain is lower-cased (host names are case-insensitive). */
export function validateNewTenant(input: unknown): NewTenant {
  const problems: string[] = [];
  const f = fields(input, ["name", "domain", "language", "timezone", "country"], problems);
  run(problems, f.name, checkTenantName, true, "name");
  run(problems, f.domain, checkDomain, true, "domain");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.timezone, checkTimezone, false, "timezone");
  run(problems, f.country, checkCountry, false, "country");
  const t: NewTenant = { name: f.name as string, domain: String(f.domain).toLowerCase() };
  if (f.language !== undefined) t.language = f.language as Language;
  if (f.timezone !== undefined) t.timezone = f.timezone as string;
  if (f.country !== undefined) t.country = f.country as string;
  return done(problems, t);
}

export function validateTenantPatch(input: unknown): Omit<TenantPatch, "features"> {
  const problems: string[] = [];
  const f = fields(input, ["domain", "language", "timezone", "country"], problems);
  run(problems, f.domain, checkDomain, false, "domain");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.timezone, checkTimezone, false, "timezone");
  run(problems, f.country, checkCountry, false, "country");
  const p: TenantPatch = {};
  if (f.domain !== undefined) p.domain = String(f.domain).toLowerCase();
  if (f.language !== undefined) p.language = f.language as Language;
  if (f.timezone !== undefined) p.timezone = f.timezone as string;
  if (f.country !== undefined) p.country = f.country as string;
  return done(problems, p);
}

export interface NewExtensionInput {
  number: string;
  password: string;
  displayName: string;
  language?: Language;
  ringTimeoutSeconds?: number;
}

export function validateNewExtension(input: unknown): NewExtensionInput {
  const problems: string[] = [];
  const f = fields(input, ["number", "password", "displayName", "language", "ringTimeoutSeconds"], problems);
  run(problems, f.number, checkExtensionNumber, true, "number");
  run(problems, f.password, (v) => checkPassword(v, f.number), true, "password");
  run(problems, f.displayName, checkDisplayName, true, "displayName");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.ringTimeoutSeconds, checkRingTimeout, false, "ringTimeoutSeconds");
  const e: NewExtensionInput = {
    number: f.number as string,
    password: f.password as string,
    displayName: f.displayName as string,
  };
  if (f.language !== undefined) e.language = f.language as Language;
  if (f.ringTimeoutSeconds !== undefined) e.ringTimeoutSeconds = f.ringTimeoutSeconds as number;
  return done(problems, e);
}

export interface ExtensionPatchInput {
  password?: string;
  displayName?: string;
  /** null returns the phone to its tenant's language. */
  language?: Language | null;
  ringTimeoutSeconds?: number;
}

export function validateExtensionPatch(input: unknown, number: string): ExtensionPatchInput {
  const problems: string[] = [];
  const f = fields(input, ["password", "displayName", "language", "ringTimeoutSeconds"], problems);
  run(problems, f.password, (v) => checkPassword(v, number), false, "password");
  run(problems, f.displayName, checkDisplayName, false, "displayName");
  if (f.language !== null) run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.ringTimeoutSeconds, checkRingTimeout, false, "ringTimeoutSeconds");
  return done(problems, { ...f } as ExtensionPatchInput);
}

export function validateFeatureSwitches(input: unknown): Partial<FeatureSwitches> {
  const problems: string[] = [];
  const names = Object.keys(DEFAULT_FEATURES);
  const f = fields(input, names, problems);
  for (const name of names) {
    if (f[name] !== undefined && typeof f[name] !== "boolean") problems.push(`${name} must be true or false`);
  }
  return done(problems, { ...f } as Partial<FeatureSwitches>);
}

export function validateFeatureCode(action: unknown, code: unknown): { action: FeatureAction; code: string } {
  const problems: string[] = [];
  run(problems, action, checkFeatureAction, true, "action");
  run(problems, code, checkFeatureCode, true, "code");
  return done(problems, { action: action as FeatureAction, code: code as string });
}
