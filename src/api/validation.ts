// Input rules for tenants, extensions, feature codes, trunks, numbers,
// forwarding and dialling policy, shared by the REST API (after its
// JSON-schema pass) and the CLI, so that both refuse the same things with the
// same words. The JSON schemas in schemas.ts are built from the same patterns
// and limits.
import { isIP } from "node:net";
import { isSupportedCountry } from "libphonenumber-js";
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";
import { IANAZone } from "luxon";
import { type PolicyRefusal, policyRefusal } from "../pbx/routing/dialling-policy.ts";
import { storedDestination } from "../pbx/routing/phone-number.ts";
import { checkPin, PIN_MAX_DIGITS, PIN_MIN_DIGITS } from "../pbx/voicemail/pin.ts";
import type { MailboxOptionsInput } from "../pbx/voicemail/voicemail-admin.ts";
import { FEATURE_CODE_PATTERN, isFeatureAction } from "../store/feature-code-table.ts";
import {
  ANNOUNCEMENT_KINDS,
  type AnnouncementKind,
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURES,
  DESTINATION_TYPES,
  type DestinationSpec,
  type DiallingPolicy,
  type FeatureAction,
  type FeatureSwitches,
  FORWARDING_KINDS,
  type ForwardingKind,
  LANGUAGES,
  type Language,
  MAX_DESTINATION_DEPTH,
  type NewTenant,
  type NewTrunk,
  type Store,
  type Tenant,
  type TenantPatch,
  type TrunkPatch,
  type VoicemailFolder,
} from "../store/types.ts";
import { passwordStrength } from "./password-strength.ts";

export { FEATURE_CODE_PATTERN };
export const TENANT_NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";
export const EXTENSION_NUMBER_PATTERN = "^[0-9]{2,6}$";
/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export const DOMAIN_PATTERN =
  "^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$";
/** No control characters: the name ends up in SIP From headers (CR/LF injection). */
export const DISPLAY_NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f]{1,64}$";
export const COUNTRY_PATTERN = "^[A-Z]{2}$";
/** An extension's password: at least 10 characters, and zxcvbn must find it hard (password-strength.ts). */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
export const RING_TIMEOUT_MIN = 5;
export const RING_TIMEOUT_MAX = 300;
export const TIMEZONE_MAX = 64;
/** Trunks are named like tenants: a slug. */
export const TRUNK_NAME_PATTERN = TENANT_NAME_PATTERN;
/** E.164 as stored and as written in URLs: "+" and up to 15 digits (ITU-T E.164 §6). */
export const E164_PATTERN = "^\\+[1-9][0-9]{1,14}$";
/** A public number as a person writes it: digits, spaces, + ( ) . / - */
export const TYPED_NUMBER_PATTERN = "^[0-9 +()./-]{1,32}$";
export const TYPED_NUMBER_MAX = 32;
/**
 * RFC 3261 §25.1 `user`: unreserved, escaped and user-unreserved characters;
 * it is written into the From and To headers toward the carrier.
 */
export const SIP_USER_PATTERN = "^(?:[A-Za-z0-9\\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}){1,64}$";
/** A trunk password goes into digest responses only; no control characters. */
export const TRUNK_PASSWORD_PATTERN = "^[^\\u0000-\\u001f\\u007f]{1,128}$";
export const PORT_MIN = 1;
export const PORT_MAX = 65535;
export const TRANSPORTS = ["udp", "tcp", "tls"] as const;
export const NUMBER_FORMATS = ["e164", "national"] as const;
export const INBOUND_ADDRESSES_MAX = 32;
export const NO_ANSWER_MIN = 5;
export const NO_ANSWER_MAX = 300;
export const MAX_CALLS_MIN = 1;
export const MAX_CALLS_MAX = 10;
/** A company's simultaneous calls, in and out (Tenant.maxCalls). */
export const TENANT_MAX_CALLS_MIN = 1;
export const TENANT_MAX_CALLS_MAX = 10000;
export const MAX_EXTERNAL_CALLS_MAX = 1000;
export const AUDIT_LIMIT_MAX = 1000;
export const POLICY_SWITCHES = ["international", "premiumRate", "sharedCost", "personal"] as const;
/** A pickup group's name: short, lower-case, safe in a URL and a log line ("sales", "floor-2"). */
export const PICKUP_GROUP_PATTERN = "^[a-z0-9-]{1,32}$";
export const PICKUP_GROUP_MAX = 32;
/** A mailbox PIN as typed: digits only (checkPin says whether it is too easy). */
export const PIN_PATTERN = `^[0-9]{${PIN_MIN_DIGITS},${PIN_MAX_DIGITS}}$`;
/**
 * An e-mail address for voicemail (RFC 5321 §4.1.2 mailbox, without quoted
 * local parts or address literals): no spaces, control characters or header
 * punctuation, so it can go into a mail header as it is.
 */
export const EMAIL_PATTERN =
  '^[^\\u0000-\\u0020\\u007f@"<>(),;:\\\\\\[\\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$';
export const EMAIL_MAX = 254;
export const MAX_MESSAGE_SECONDS_MIN = 10;
export const MAX_MESSAGE_SECONDS_MAX = 600;
export const VOICEMAIL_FOLDERS: readonly VoicemailFolder[] = ["new", "old"];

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
const TYPED_NUMBER = re(TYPED_NUMBER_PATTERN);
const SIP_USER = re(SIP_USER_PATTERN);
const TRUNK_PASSWORD = re(TRUNK_PASSWORD_PATTERN);
const PICKUP_GROUP = re(PICKUP_GROUP_PATTERN);
const EMAIL = re(EMAIL_PATTERN);

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

/**
 * Never echoes the password. `number` is the extension's own: a phone's
 * number is no secret. `known` are other words an attacker knows (the
 * company's name and domain, the display name): a password built on them is
 * guessable. Past length and the extension number, zxcvbn judges it: on the
 * list of common passwords is "too common", an estimate under 10^8 guesses
 * "too guessable" with what makes it so.
 */
export function checkPassword(
  v: unknown,
  number: unknown,
  known: readonly unknown[] = [],
): string | undefined {
  // SIP scanners try the extension number, and it repeated, first: the most
  // specific reason is named, even for one that is also too short.
  if (
    typeof v === "string" &&
    typeof number === "string" &&
    number.length > 0 &&
    v.length % number.length === 0
  ) {
    if (number.repeat(v.length / number.length) === v)
      return "password must not be the extension number repeated";
  }
  if (typeof v !== "string" || [...v].length < PASSWORD_MIN || [...v].length > PASSWORD_MAX) {
    return `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  }
  const words = [number, ...known].filter((w): w is string => typeof w === "string");
  const verdict = passwordStrength(v, words);
  if (verdict.ok) return undefined;
  if (verdict.why === "too-common") return "password: too common (it is on a list of leaked passwords)";
  return `password: too guessable: ${verdict.feedback}`;
}

/** The words of a tenant that a password should not be built on. */
function tenantWords(tenant: { name?: string; domain?: string } | undefined): string[] {
  if (!tenant) return [];
  return [tenant.name, tenant.domain, ...(tenant.domain?.split(".") ?? [])].filter(
    (w): w is string => typeof w === "string" && w.length > 2,
  );
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
  const f = fields(input, ["name", "domain", "language", "timezone", "country", "trunk"], problems);
  run(problems, f.name, checkTenantName, true, "name");
  run(problems, f.domain, checkDomain, true, "domain");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.timezone, checkTimezone, false, "timezone");
  run(problems, f.country, checkCountry, false, "country");
  run(problems, f.trunk, checkTrunkName, false, "trunk");
  const t: NewTenant = { name: f.name as string, domain: String(f.domain).toLowerCase() };
  if (f.language !== undefined) t.language = f.language as Language;
  if (f.timezone !== undefined) t.timezone = f.timezone as string;
  if (f.country !== undefined) t.country = f.country as string;
  if (f.trunk !== undefined) t.trunk = f.trunk as string;
  return done(problems, t);
}

/** Seconds before the waiting announcement of the inbound flow, and between its repeats. */
export const WAITING_SECONDS_MIN = 10;
export const WAITING_SECONDS_MAX = 300;
/** How many extensions the company-wide codes may be restricted to. */
export const COMPANY_CODE_EXTENSIONS_MAX = 1000;

/** Who may dial the company-wide codes, as the API takes it: the PIN in clear (hashed before it is stored). */
export interface CompanyCodesInput {
  /** null: every extension again; missing: unchanged. Whether they exist is checked against the store. */
  extensions?: string[] | null;
  /** null: no PIN; missing: unchanged. */
  pin?: string | null;
}

export type TenantPatchInput = Omit<TenantPatch, "features" | "policy" | "companyCodes"> & {
  companyCodes?: CompanyCodesInput;
};

export const checkWaitingSeconds: Check = (v) =>
  Number.isInteger(v) && (v as number) >= WAITING_SECONDS_MIN && (v as number) <= WAITING_SECONDS_MAX
    ? undefined
    : `waitingSeconds ${show(v)} must be a whole number of seconds from ${WAITING_SECONDS_MIN} to ${WAITING_SECONDS_MAX}`;

/** The company's cap of simultaneous calls (every call of its phones and to its numbers). */
export const checkTenantMaxCalls: Check = (v) =>
  Number.isInteger(v) && (v as number) >= TENANT_MAX_CALLS_MIN && (v as number) <= TENANT_MAX_CALLS_MAX
    ? undefined
    : `maxCalls ${show(v)} must be a whole number of simultaneous calls from ${TENANT_MAX_CALLS_MIN} to ${TENANT_MAX_CALLS_MAX}`;

/**
 * Never echoes the PIN. The rules of a mailbox PIN (not one digit repeated,
 * not a run such as 1234): the codes it guards switch the whole company's
 * calls to voicemail.
 */
export function checkCompanyPin(v: unknown): string | undefined {
  if (typeof v !== "string" || !re(PIN_PATTERN).test(v)) {
    return `companyCodes.pin must be ${PIN_MIN_DIGITS} to ${PIN_MAX_DIGITS} digits`;
  }
  return checkPin(v, "") === "ok"
    ? undefined
    : "companyCodes.pin is too easy to guess (one digit repeated, or a run up or down such as 3456 or 6543): choose another";
}

function companyCodes(input: unknown, problems: string[]): CompanyCodesInput {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    problems.push('companyCodes must be an object such as {"extensions":["101"],"pin":null}');
    return {};
  }
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (key !== "extensions" && key !== "pin")
      problems.push(`companyCodes has unknown field ${JSON.stringify(key)}`);
  }
  const out: CompanyCodesInput = {};
  if (f.extensions === null) out.extensions = null;
  else if (f.extensions !== undefined) {
    const list = f.extensions;
    if (!Array.isArray(list) || list.length > COMPANY_CODE_EXTENSIONS_MAX) {
      problems.push(
        `companyCodes.extensions must be a list of at most ${COMPANY_CODE_EXTENSIONS_MAX} extension numbers, or null for every extension`,
      );
    } else {
      list.forEach((n, i) => {
        if (checkExtensionNumber(n))
          problems.push(`companyCodes.extensions[${i}] ${show(n)} must be 2 to 6 digits`);
        else if (list.indexOf(n) !== i)
          problems.push(`companyCodes.extensions[${i}] ${show(n)} is listed twice`);
      });
      out.extensions = [...(list as string[])];
    }
  }
  if (f.pin === null) out.pin = null;
  else if (f.pin !== undefined) {
    const p = checkCompanyPin(f.pin);
    if (p) problems.push(p);
    out.pin = f.pin as string;
  }
  return out;
}

/**
 * `trunk`: a trunk's name, or null to return to the provider's default trunk.
 * `operator`: an extension number (whether it exists is checked against the
 * store by the caller), or null for none. `companyCodes`: see CompanyCodesInput.
 */
export function validateTenantPatch(input: unknown): TenantPatchInput {
  const problems: string[] = [];
  const f = fields(
    input,
    [
      "domain",
      "language",
      "timezone",
      "country",
      "trunk",
      "operator",
      "waitingSeconds",
      "companyCodes",
      "maxCalls",
      "requireEncryption",
    ],
    problems,
  );
  run(problems, f.domain, checkDomain, false, "domain");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.timezone, checkTimezone, false, "timezone");
  run(problems, f.country, checkCountry, false, "country");
  if (f.trunk !== null) run(problems, f.trunk, checkTrunkName, false, "trunk");
  if (f.operator !== null)
    run(problems, f.operator, (v) => prefixed("operator", checkExtensionNumber(v)), false, "operator");
  run(problems, f.waitingSeconds, checkWaitingSeconds, false, "waitingSeconds");
  run(problems, f.maxCalls, checkTenantMaxCalls, false, "maxCalls");
  run(problems, f.requireEncryption, checkBoolean("requireEncryption"), false, "requireEncryption");
  const p: TenantPatchInput = {};
  if (f.domain !== undefined) p.domain = String(f.domain).toLowerCase();
  if (f.language !== undefined) p.language = f.language as Language;
  if (f.timezone !== undefined) p.timezone = f.timezone as string;
  if (f.country !== undefined) p.country = f.country as string;
  if (f.trunk !== undefined) p.trunk = f.trunk as string | null;
  if (f.operator !== undefined) p.operator = f.operator as string | null;
  if (f.waitingSeconds !== undefined) p.waitingSeconds = f.waitingSeconds as number;
  if (f.maxCalls !== undefined) p.maxCalls = f.maxCalls as number;
  if (f.requireEncryption !== undefined) p.requireEncryption = f.requireEncryption as boolean;
  if (f.companyCodes !== undefined) p.companyCodes = companyCodes(f.companyCodes, problems);
  return done(problems, p);
}

export const checkNoAnswerSeconds: Check = (v) =>
  Number.isInteger(v) && (v as number) >= NO_ANSWER_MIN && (v as number) <= NO_ANSWER_MAX
    ? undefined
    : `noAnswerSeconds ${show(v)} must be a whole number of seconds from ${NO_ANSWER_MIN} to ${NO_ANSWER_MAX}`;

export const checkMaxCalls: Check = (v) =>
  Number.isInteger(v) && (v as number) >= MAX_CALLS_MIN && (v as number) <= MAX_CALLS_MAX
    ? undefined
    : `maxCalls ${show(v)} must be a whole number from ${MAX_CALLS_MIN} to ${MAX_CALLS_MAX}`;

export const checkPickupGroup: Check = (v) =>
  typeof v === "string" && PICKUP_GROUP.test(v)
    ? undefined
    : `pickupGroup ${show(v)} must be 1 to ${PICKUP_GROUP_MAX} lowercase letters, digits or hyphens`;

const checkBoolean =
  (name: string): Check =>
  (v) =>
    typeof v === "boolean" ? undefined : `${name} must be true or false`;

/**
 * A public number as typed ("+41 21 555 01 00", "021 555 01 00",
 * "0041215550100"), read in `country` (the tenant's), to E.164; undefined
 * when it is not a valid number (libphonenumber's full metadata). Without a
 * country only the international form (+...) is understood.
 */
export function readPublicNumber(typed: unknown, country?: string): string | undefined {
  if (typeof typed !== "string" || !TYPED_NUMBER.test(typed)) return undefined;
  const parsed =
    country === undefined
      ? parsePhoneNumberFromString(typed)
      : parsePhoneNumberFromString(typed, country.toUpperCase() as CountryCode);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** Checks and converts in one: pushes a problem and returns undefined when unreadable. */
function publicNumber(
  typed: unknown,
  country: string | undefined,
  name: string,
  problems: string[],
): string | undefined {
  const e164 = readPublicNumber(typed, country);
  if (e164 === undefined) {
    const national = country === undefined ? "" : ` or as written in ${country} (021 555 01 00)`;
    problems.push(`${name} ${show(typed)} must be a public phone number, in E.164 (+41215550100)${national}`);
  }
  return e164;
}

export interface NewExtensionInput {
  number: string;
  password: string;
  displayName: string;
  language?: Language;
  ringTimeoutSeconds?: number;
  noAnswerSeconds?: number;
  callWaiting?: boolean;
  maxCalls?: number;
  /** E.164. */
  callerId?: string;
  /** Message waiting without subscription (RFC 3842). */
  mwiUnsolicited?: boolean;
  /** Group pickup (`*8`); absent: the company's default group. */
  pickupGroup?: string;
}

const EXTENSION_SETTINGS = [
  "noAnswerSeconds",
  "callWaiting",
  "maxCalls",
  "callerId",
  "mwiUnsolicited",
  "pickupGroup",
] as const;

/**
 * `tenant.country` reads a national caller id ("021 555 01 00"); without a
 * tenant only E.164 is understood.
 */
export function validateNewExtension(
  input: unknown,
  tenant?: { country: string; name?: string; domain?: string },
): NewExtensionInput {
  const problems: string[] = [];
  const f = fields(
    input,
    ["number", "password", "displayName", "language", "ringTimeoutSeconds", ...EXTENSION_SETTINGS],
    problems,
  );
  run(problems, f.number, checkExtensionNumber, true, "number");
  run(
    problems,
    f.password,
    (v) => checkPassword(v, f.number, [...tenantWords(tenant), f.displayName]),
    true,
    "password",
  );
  run(problems, f.displayName, checkDisplayName, true, "displayName");
  run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.ringTimeoutSeconds, checkRingTimeout, false, "ringTimeoutSeconds");
  const settings = extensionSettings(f, tenant, problems);
  const e: NewExtensionInput = {
    number: f.number as string,
    password: f.password as string,
    displayName: f.displayName as string,
  };
  if (f.language !== undefined) e.language = f.language as Language;
  if (f.ringTimeoutSeconds !== undefined) e.ringTimeoutSeconds = f.ringTimeoutSeconds as number;
  if (settings.callerId === null) problems.push("callerId may be null only when changing an extension");
  if (settings.pickupGroup === null) problems.push("pickupGroup may be null only when changing an extension");
  return done(problems, { ...e, ...settings } as NewExtensionInput);
}

function extensionSettings(
  f: Record<string, unknown>,
  tenant: { country: string } | undefined,
  problems: string[],
): {
  noAnswerSeconds?: number;
  callWaiting?: boolean;
  maxCalls?: number;
  callerId?: string | null;
  mwiUnsolicited?: boolean;
  pickupGroup?: string | null;
} {
  run(problems, f.noAnswerSeconds, checkNoAnswerSeconds, false, "noAnswerSeconds");
  run(problems, f.callWaiting, checkBoolean("callWaiting"), false, "callWaiting");
  run(problems, f.maxCalls, checkMaxCalls, false, "maxCalls");
  run(problems, f.mwiUnsolicited, checkBoolean("mwiUnsolicited"), false, "mwiUnsolicited");
  if (f.pickupGroup !== null) run(problems, f.pickupGroup, checkPickupGroup, false, "pickupGroup");
  const out: ReturnType<typeof extensionSettings> = {};
  if (f.noAnswerSeconds !== undefined) out.noAnswerSeconds = f.noAnswerSeconds as number;
  if (f.callWaiting !== undefined) out.callWaiting = f.callWaiting as boolean;
  if (f.maxCalls !== undefined) out.maxCalls = f.maxCalls as number;
  if (f.mwiUnsolicited !== undefined) out.mwiUnsolicited = f.mwiUnsolicited as boolean;
  if (f.pickupGroup !== undefined) out.pickupGroup = f.pickupGroup as string | null;
  if (f.callerId === null) out.callerId = null;
  else if (f.callerId !== undefined) {
    const e164 = publicNumber(f.callerId, tenant?.country, "callerId", problems);
    if (e164 !== undefined) out.callerId = e164;
  }
  return out;
}

export interface ExtensionPatchInput {
  password?: string;
  displayName?: string;
  /** null returns the phone to its tenant's language. */
  language?: Language | null;
  ringTimeoutSeconds?: number;
  noAnswerSeconds?: number;
  callWaiting?: boolean;
  maxCalls?: number;
  /** E.164; null: the company's main number again. */
  callerId?: string | null;
  mwiUnsolicited?: boolean;
  /** null: back to the company's default group. */
  pickupGroup?: string | null;
  /** The mailbox's options (the PIN in clear, checked: never trivial). */
  voicemail?: MailboxOptionsInput;
}

export function validateExtensionPatch(
  input: unknown,
  number: string,
  tenant?: { country: string; name?: string; domain?: string },
): ExtensionPatchInput {
  const problems: string[] = [];
  const f = fields(
    input,
    ["password", "displayName", "language", "ringTimeoutSeconds", ...EXTENSION_SETTINGS, "voicemail"],
    problems,
  );
  run(
    problems,
    f.password,
    (v) => checkPassword(v, number, [...tenantWords(tenant), f.displayName]),
    false,
    "password",
  );
  run(problems, f.displayName, checkDisplayName, false, "displayName");
  if (f.language !== null) run(problems, f.language, checkLanguage, false, "language");
  run(problems, f.ringTimeoutSeconds, checkRingTimeout, false, "ringTimeoutSeconds");
  const settings = extensionSettings(f, tenant, problems);
  const p: ExtensionPatchInput = {};
  if (f.password !== undefined) p.password = f.password as string;
  if (f.displayName !== undefined) p.displayName = f.displayName as string;
  if (f.language !== undefined) p.language = f.language as Language | null;
  if (f.ringTimeoutSeconds !== undefined) p.ringTimeoutSeconds = f.ringTimeoutSeconds as number;
  if (f.voicemail !== undefined) p.voicemail = mailboxOptions(f.voicemail, number, problems);
  return done(problems, { ...p, ...settings });
}

// Voicemail.

const prefixed = (name: string, problem: string | undefined) =>
  problem === undefined ? undefined : problem.startsWith(name) ? problem : `${name}: ${problem}`;

/** Never echoes the PIN: the message could reach a log. */
export function checkMailboxPin(v: unknown, mailbox: string): string | undefined {
  if (typeof v !== "string" || !re(PIN_PATTERN).test(v)) {
    return `voicemail.pin must be ${PIN_MIN_DIGITS} to ${PIN_MAX_DIGITS} digits`;
  }
  return checkPin(v, mailbox) === "ok"
    ? undefined
    : "voicemail.pin is too easy to guess (one digit repeated, a run up or down such as 3456 or 6543, or the extension's number): choose another";
}

export const checkEmail: Check = (v) =>
  typeof v === "string" && v.length <= EMAIL_MAX && EMAIL.test(v)
    ? undefined
    : `voicemail.email ${show(v)} must be an e-mail address such as alice@example.ch`;

export const checkMaxMessageSeconds: Check = (v) =>
  Number.isInteger(v) && (v as number) >= MAX_MESSAGE_SECONDS_MIN && (v as number) <= MAX_MESSAGE_SECONDS_MAX
    ? undefined
    : `voicemail.maxMessageSeconds ${show(v)} must be a whole number of seconds from ${MAX_MESSAGE_SECONDS_MIN} to ${MAX_MESSAGE_SECONDS_MAX}`;

const MAILBOX_OPTIONS = [
  "enabled",
  "pin",
  "remoteAccess",
  "skipPinOnOwnPhone",
  "email",
  "deleteAfterEmail",
  "maxMessageSeconds",
] as const;

function mailboxOptions(input: unknown, mailbox: string, problems: string[]): MailboxOptionsInput {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    problems.push("voicemail must be an object");
    return {};
  }
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!(MAILBOX_OPTIONS as readonly string[]).includes(key)) {
      problems.push(`voicemail has unknown field ${JSON.stringify(key)}`);
    }
  }
  for (const name of ["enabled", "remoteAccess", "skipPinOnOwnPhone", "deleteAfterEmail"] as const) {
    run(problems, f[name], checkBoolean(`voicemail.${name}`), false, name);
  }
  run(problems, f.pin, (v) => checkMailboxPin(v, mailbox), false, "pin");
  if (f.email !== null) run(problems, f.email, checkEmail, false, "email");
  run(problems, f.maxMessageSeconds, checkMaxMessageSeconds, false, "maxMessageSeconds");
  const out: MailboxOptionsInput = {};
  for (const key of MAILBOX_OPTIONS) {
    if (f[key] !== undefined) (out as Record<string, unknown>)[key] = f[key];
  }
  return out;
}

/** A mailbox's options on their own (the PIN checked against `mailbox`, the extension's number). */
export function validateMailboxOptions(input: unknown, mailbox: string): MailboxOptionsInput {
  const problems: string[] = [];
  const out = mailboxOptions(input, mailbox, problems);
  return done(problems, out);
}

/** `{"folder":"new"|"old"}` of a message. */
export function validateMessagePatch(input: unknown): { folder: VoicemailFolder } {
  const problems: string[] = [];
  const f = fields(input, ["folder"], problems);
  if (!(VOICEMAIL_FOLDERS as readonly unknown[]).includes(f.folder)) {
    problems.push(`folder ${show(f.folder)} must be one of ${VOICEMAIL_FOLDERS.join(", ")}`);
  }
  return done(problems, { folder: f.folder as VoicemailFolder });
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

// Trunks.

export const checkTrunkName: Check = (v) =>
  typeof v === "string" && TENANT_NAME.test(v)
    ? undefined
    : `trunk name ${show(v)} must be 1 to 63 lowercase letters, digits or hyphens, not starting with a hyphen`;

/** A host name (RFC 1123) or an IPv4 or IPv6 address literal. */
export const checkHost: Check = (v) =>
  typeof v === "string" && (isIP(v) !== 0 || DOMAIN.test(v))
    ? undefined
    : `host ${show(v)} must be a host name such as sip.carrier.example or an IP address`;

export const checkPort: Check = (v) =>
  Number.isInteger(v) && (v as number) >= PORT_MIN && (v as number) <= PORT_MAX
    ? undefined
    : `port ${show(v)} must be a whole number from ${PORT_MIN} to ${PORT_MAX}`;

export const checkTransport: Check = (v) =>
  typeof v === "string" && (TRANSPORTS as readonly string[]).includes(v)
    ? undefined
    : `transport ${show(v)} must be one of ${TRANSPORTS.join(", ")}`;

export const checkNumberFormat: Check = (v) =>
  typeof v === "string" && (NUMBER_FORMATS as readonly string[]).includes(v)
    ? undefined
    : `numberFormat ${show(v)} must be one of ${NUMBER_FORMATS.join(", ")}`;

export const checkSipUser: Check = (v) =>
  typeof v === "string" && SIP_USER.test(v)
    ? undefined
    : `username ${show(v)} must be 1 to 64 characters allowed in a SIP user name (letters, digits, - _ . ! ~ * ' ( ) & = + $ , ; ? / or %XX)`;

/** Never echoes the password. */
export const checkTrunkPassword: Check = (v) =>
  typeof v === "string" && TRUNK_PASSWORD.test(v)
    ? undefined
    : "password must be 1 to 128 characters without control characters";

/** The carrier's source addresses: IP literals (the trunk directory matches packets' sources). */
export const checkInboundAddresses: Check = (v) => {
  if (!Array.isArray(v) || v.length > INBOUND_ADDRESSES_MAX) {
    return `inboundAddresses must be a list of at most ${INBOUND_ADDRESSES_MAX} IP addresses`;
  }
  const bad = v.filter((a) => typeof a !== "string" || isIP(a) === 0);
  return bad.length === 0
    ? undefined
    : `inboundAddresses ${bad.map(show).join(", ")} must be IP addresses such as 203.0.113.7`;
};

const TRUNK_FIELDS = [
  "host",
  "port",
  "transport",
  "username",
  "password",
  "register",
  "numberFormat",
  "inboundAddresses",
  "isDefault",
] as const;

function trunkFields(f: Record<string, unknown>, problems: string[], patch: boolean): void {
  run(problems, f.port, checkPort, false, "port");
  run(problems, f.transport, checkTransport, false, "transport");
  if (!(patch && f.username === null)) run(problems, f.username, checkSipUser, false, "username");
  if (!(patch && f.password === null)) run(problems, f.password, checkTrunkPassword, false, "password");
  run(problems, f.register, checkBoolean("register"), false, "register");
  run(problems, f.numberFormat, checkNumberFormat, false, "numberFormat");
  run(problems, f.inboundAddresses, checkInboundAddresses, false, "inboundAddresses");
  run(problems, f.isDefault, checkBoolean("isDefault"), false, "isDefault");
}

/**
 * The digest toward the carrier needs both a username and a password; and
 * registering needs them (a carrier answers an anonymous REGISTER with 401
 * for ever).
 */
function credentialProblems(
  t: { register?: unknown; username?: unknown; password?: unknown },
  problems: string[],
): void {
  const hasUser = t.username !== undefined && t.username !== null;
  const hasPassword = t.password !== undefined && t.password !== null;
  if (hasUser !== hasPassword) problems.push("username and password go together: give both or neither");
  else if (t.register === true && !hasUser) problems.push("register needs a username and a password");
}

/** A new trunk; the host is lower-cased when it is a name. */
export function validateNewTrunk(input: unknown): NewTrunk {
  const problems: string[] = [];
  const f = fields(input, ["name", ...TRUNK_FIELDS], problems);
  run(problems, f.name, checkTrunkName, true, "name");
  run(problems, f.host, checkHost, true, "host");
  trunkFields(f, problems, false);
  credentialProblems(f, problems);
  const t: NewTrunk = { name: f.name as string, host: hostOf(f.host) };
  for (const key of TRUNK_FIELDS) {
    if (key !== "host" && f[key] !== undefined) (t as Record<string, unknown>)[key] = f[key];
  }
  if (t.inboundAddresses) t.inboundAddresses = [...t.inboundAddresses];
  return done(problems, t);
}

/**
 * A change of a trunk; `username`/`password` null removes them. `current`
 * (the stored trunk) lets the check "register needs credentials" see the
 * result of the change.
 */
export function validateTrunkPatch(
  input: unknown,
  current?: { register: boolean; username?: string; password?: string },
): TrunkPatch {
  const problems: string[] = [];
  const f = fields(input, TRUNK_FIELDS, problems);
  run(problems, f.host, checkHost, false, "host");
  trunkFields(f, problems, true);
  if (current) {
    credentialProblems(
      {
        register: f.register ?? current.register,
        username: f.username === undefined ? current.username : f.username,
        password: f.password === undefined ? current.password : f.password,
      },
      problems,
    );
  }
  const p: TrunkPatch = {};
  for (const key of TRUNK_FIELDS) {
    if (f[key] !== undefined) (p as Record<string, unknown>)[key] = f[key];
  }
  if (p.host !== undefined) p.host = hostOf(p.host);
  if (p.inboundAddresses) p.inboundAddresses = [...p.inboundAddresses];
  return done(problems, p);
}

function hostOf(v: unknown): string {
  const host = String(v);
  return isIP(host) === 0 ? host.toLowerCase() : host;
}

// Public numbers.

export interface NewNumberInput {
  /** E.164. */
  number: string;
  destination: DestinationSpec;
}

/**
 * A public number of a tenant and where its calls go, read in the tenant's
 * country (an external destination also passes its dialling policy).
 * Whether the extensions and ring groups it names exist is checked against
 * the store with checkDestinationExists.
 */
export function validateNewNumber(input: unknown, tenant: DestinationTenant): NewNumberInput {
  const problems: string[] = [];
  const f = fields(input, ["number", "destination"], problems);
  let number: string | undefined;
  if (f.number === undefined) problems.push("number is required");
  else number = publicNumber(f.number, tenant.country, "number", problems);
  let destination: DestinationSpec | undefined;
  if (f.destination === undefined) problems.push("destination is required");
  else destination = validateDestination(f.destination, "destination", tenant, problems);
  return done(problems, { number: number as string, destination: destination as DestinationSpec });
}

// Destinations: one reading for every place a call can be sent (public
// numbers, ring group fallbacks, schedule modes, call flow states), so that
// each refuses the same things with the same words, naming the field.

/** What reading a destination needs of its tenant: the country (national numbers) and the dialling policy. */
export type DestinationTenant = Pick<Tenant, "country" | "policy">;

/** A ring group's name: a short slug, unique in the tenant ("shop", "floor-2"). */
export const RING_GROUP_NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,31}$";
export const RING_GROUP_NAME_MAX = 32;
const RING_GROUP_NAME = re(RING_GROUP_NAME_PATTERN);

const DESTINATION_FIELDS: Record<DestinationSpec["type"], readonly string[]> = {
  extension: ["type", "number"],
  external: ["type", "number"],
  voicemail: ["type", "number"],
  "ring-group": ["type", "name"],
  announcement: ["type", "announcement", "then"],
  "inbound-flow": ["type"],
  hangup: ["type"],
};

/** The words of a dialling policy's refusal, as the tenant's provider would switch it on. */
const POLICY_WORDS: Record<PolicyRefusal, string> = {
  international: "calls abroad",
  premiumRate: "premium-rate numbers",
  sharedCost: "shared-cost numbers",
  personal: "personal numbers",
};

export const checkRingGroupName: Check = (v) =>
  typeof v === "string" && RING_GROUP_NAME.test(v)
    ? undefined
    : `ring group name ${show(v)} must be 1 to ${RING_GROUP_NAME_MAX} lowercase letters, digits or hyphens, not starting with a hyphen`;

/**
 * Reads one destination at `path` (e.g. "modes.open.destination"): pushes a
 * problem naming the offending field ("modes.open.destination.then.number")
 * and returns undefined when it is not a destination. An external number is
 * read in the tenant's country, stored in E.164, and must pass the tenant's
 * dialling policy (a number's calls forwarded to a premium-rate line cost the
 * company like a call made from its phones). `announcement.then` nests at
 * most MAX_DESTINATION_DEPTH destinations deep, counting this one.
 */
export function validateDestination(
  input: unknown,
  path: string,
  tenant: DestinationTenant,
  problems: string[],
  depth = 1,
): DestinationSpec | undefined {
  const d = input as Record<string, unknown> | null;
  if (d === null || typeof d !== "object" || Array.isArray(d)) {
    problems.push(`${path} must be a destination such as {"type":"extension","number":"101"}`);
    return undefined;
  }
  if (!(DESTINATION_TYPES as readonly unknown[]).includes(d.type)) {
    problems.push(`${path}.type must be one of ${DESTINATION_TYPES.join(", ")}`);
    return undefined;
  }
  const type = d.type as DestinationSpec["type"];
  const before = problems.length;
  for (const key of Object.keys(d)) {
    if (!DESTINATION_FIELDS[type].includes(key))
      problems.push(`${path} has unknown field ${JSON.stringify(key)}`);
  }
  const required = (key: string) => {
    if (d[key] !== undefined) return true;
    problems.push(`${path}.${key} is required for type ${type}`);
    return false;
  };
  const ok = <T extends DestinationSpec>(value: T) => (problems.length === before ? value : undefined);
  switch (type) {
    case "hangup":
    case "inbound-flow":
      return ok({ type });
    case "extension":
    case "voicemail": {
      if (!required("number")) return undefined;
      const p = checkExtensionNumber(d.number);
      if (p) problems.push(`${path}.number: ${p}`);
      return ok({ type, number: d.number as string });
    }
    case "external": {
      if (!required("number")) return undefined;
      const e164 = publicNumber(d.number, tenant.country, `${path}.number`, problems);
      if (e164 === undefined) return undefined;
      const refusal = policyRefusal(tenant.policy, storedDestination(e164, tenant));
      if (refusal !== undefined) {
        problems.push(
          `${path}.number ${e164} is refused by the tenant's dialling policy (${POLICY_WORDS[refusal]} are not allowed)`,
        );
      }
      return ok({ type, number: e164 });
    }
    case "ring-group": {
      if (!required("name")) return undefined;
      const p = checkRingGroupName(d.name);
      if (p) problems.push(`${path}.name: ${p}`);
      return ok({ type, name: d.name as string });
    }
    case "announcement": {
      const hasKind = required("announcement");
      const hasThen = required("then");
      if (hasKind && !(ANNOUNCEMENT_KINDS as readonly unknown[]).includes(d.announcement)) {
        problems.push(
          `${path}.announcement ${show(d.announcement)} must be one of ${ANNOUNCEMENT_KINDS.join(", ")}`,
        );
      }
      if (!hasThen) return undefined;
      if (depth >= MAX_DESTINATION_DEPTH) {
        problems.push(
          `${path}.then nests too deep: destinations go at most ${MAX_DESTINATION_DEPTH} deep (an announcement, then another, then where the call goes)`,
        );
        return undefined;
      }
      const then = validateDestination(d.then, `${path}.then`, tenant, problems, depth + 1);
      if (then === undefined) return undefined;
      return ok({ type, announcement: d.announcement as AnnouncementKind, then });
    }
  }
}

/**
 * The extensions (also a mailbox's) and ring groups that a destination names,
 * down its announcements, must exist in the tenant: one problem per missing
 * one, naming the destination's path.
 */
export async function destinationReferenceProblems(
  store: Store,
  tenant: string,
  destination: DestinationSpec,
  path: string,
): Promise<string[]> {
  switch (destination.type) {
    case "extension":
    case "voicemail":
      return (await store.extensions.get(tenant, destination.number))
        ? []
        : [`${path} extension ${destination.number} does not exist in tenant ${tenant}`];
    case "ring-group":
      return (await store.ringGroups.get(tenant, destination.name))
        ? []
        : [`${path} ring group ${destination.name} does not exist in tenant ${tenant}`];
    case "announcement":
      return destinationReferenceProblems(store, tenant, destination.then, `${path}.then`);
    default:
      return [];
  }
}

/** The extensions and ring groups a destination names must exist in the tenant (a ValidationError, 400). */
export async function checkDestinationExists(
  store: Store,
  tenant: string,
  destination: DestinationSpec,
  path = "destination",
): Promise<void> {
  const problems = await destinationReferenceProblems(store, tenant, destination, path);
  if (problems.length > 0) throw new ValidationError(problems);
}

// Forwarding and dialling policy.

export interface ForwardingInput {
  /** Per kind: what was typed (read by setForwarding), or null to clear. */
  rules: Partial<Record<ForwardingKind, string | null>>;
  noAnswerSeconds?: number;
}

/** The shape only: the targets themselves are read and checked by setForwarding. */
export function validateForwarding(input: unknown): ForwardingInput {
  const problems: string[] = [];
  const f = fields(input, [...FORWARDING_KINDS, "noAnswerSeconds"], problems);
  const rules: ForwardingInput["rules"] = {};
  for (const kind of FORWARDING_KINDS) {
    const v = f[kind];
    if (v === undefined) continue;
    if (v === null || (typeof v === "string" && v.length >= 1 && v.length <= TYPED_NUMBER_MAX))
      rules[kind] = v;
    else
      problems.push(
        `${kind} must be a number or an extension (1 to ${TYPED_NUMBER_MAX} characters), or null`,
      );
  }
  run(problems, f.noAnswerSeconds, checkNoAnswerSeconds, false, "noAnswerSeconds");
  const out: ForwardingInput = { rules };
  if (f.noAnswerSeconds !== undefined) out.noAnswerSeconds = f.noAnswerSeconds as number;
  return done(problems, out);
}

export const checkMaxExternalCalls: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_EXTERNAL_CALLS_MAX
    ? undefined
    : `maxExternalCalls ${show(v)} must be a whole number from 0 to ${MAX_EXTERNAL_CALLS_MAX}`;

export function validatePolicyPatch(input: unknown): Partial<DiallingPolicy> {
  const problems: string[] = [];
  const f = fields(input, Object.keys(DEFAULT_DIALLING_POLICY), problems);
  for (const name of POLICY_SWITCHES) run(problems, f[name], checkBoolean(name), false, name);
  run(problems, f.maxExternalCalls, checkMaxExternalCalls, false, "maxExternalCalls");
  return done(problems, { ...f } as Partial<DiallingPolicy>);
}

/** `?limit=` of the audit log: a whole number from 1 to AUDIT_LIMIT_MAX, given as text. */
export function validateAuditLimit(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "string" && /^[0-9]{1,5}$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= AUDIT_LIMIT_MAX)) {
    throw new ValidationError([`limit ${show(v)} must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`]);
  }
  return n;
}
