// JSON schemas of the REST API: Fastify validates requests and serialises
// responses with them, and the OpenAPI document is built from the very same
// objects, so the document cannot drift from what the server does.

import { MAX_EXCEPTIONS, MAX_MODES, MAX_WEEKLY_RANGES } from "../pbx/company/schedule.ts";
import { GREETING_KINDS } from "../pbx/voicemail/voicemail-admin.ts";
import {
  ANNOUNCEMENT_KINDS,
  DEFAULT_FEATURES,
  DESTINATION_TYPES,
  FEATURE_ACTIONS,
  FORWARDING_KINDS,
  LANGUAGES,
  MAX_DESTINATION_DEPTH,
  USER_ROLES,
  WEEKDAYS,
} from "../store/types.ts";
import { API_TOKEN_ID_PATTERN } from "./auth/api-tokens.ts";
import { LOGIN_PASSWORD_MAX } from "./auth/passwords.ts";
import { USERNAME_PATTERN } from "./auth/usernames.ts";
import {
  AUDIO_TEXT_MAX,
  LABEL_MAX,
  LABEL_PATTERN,
  MEMBER_TIMEOUT_MAX,
  MEMBER_TIMEOUT_MIN,
  MODE_NAME_MAX,
  MODE_NAME_PATTERN,
  RING_GROUP_MEMBERS_MAX,
  RING_GROUP_STRATEGIES,
  RING_GROUP_TIMEOUT_MAX,
  RING_GROUP_TIMEOUT_MIN,
} from "./company-validation.ts";
import {
  AUDIT_LIMIT_MAX,
  COMPANY_CODE_EXTENSIONS_MAX,
  COUNTRY_PATTERN,
  DISPLAY_NAME_PATTERN,
  DOMAIN_PATTERN,
  E164_PATTERN,
  EMAIL_MAX,
  EMAIL_PATTERN,
  EXTENSION_NUMBER_PATTERN,
  FEATURE_CODE_PATTERN,
  INBOUND_ADDRESSES_MAX,
  MAX_CALLS_MAX,
  MAX_CALLS_MIN,
  MAX_EXTERNAL_CALLS_MAX,
  MAX_MESSAGE_SECONDS_MAX,
  MAX_MESSAGE_SECONDS_MIN,
  NO_ANSWER_MAX,
  NO_ANSWER_MIN,
  NUMBER_FORMATS,
  PASSWORD_MAX,
  PASSWORD_MIN,
  PICKUP_GROUP_MAX,
  PICKUP_GROUP_PATTERN,
  PIN_PATTERN,
  POLICY_SWITCHES,
  PORT_MAX,
  PORT_MIN,
  RING_GROUP_NAME_MAX,
  RING_GROUP_NAME_PATTERN,
  RING_TIMEOUT_MAX,
  RING_TIMEOUT_MIN,
  SIP_USER_PATTERN,
  TENANT_MAX_CALLS_MAX,
  TENANT_MAX_CALLS_MIN,
  TENANT_NAME_PATTERN,
  TIMEZONE_MAX,
  TRANSPORTS,
  TRUNK_NAME_PATTERN,
  TRUNK_PASSWORD_PATTERN,
  TYPED_NUMBER_MAX,
  TYPED_NUMBER_PATTERN,
  VOICEMAIL_FOLDERS,
  WAITING_SECONDS_MAX,
  WAITING_SECONDS_MIN,
} from "./validation.ts";

export type JsonSchema = Record<string, unknown>;

const tenantName = { type: "string", pattern: TENANT_NAME_PATTERN, description: "slug" };
const domain = {
  type: "string",
  maxLength: 253,
  pattern: DOMAIN_PATTERN,
  description: "SIP domain and digest realm",
};
const language = { type: "string", enum: [...LANGUAGES] };
const timezone = {
  type: "string",
  minLength: 1,
  maxLength: TIMEZONE_MAX,
  description: "IANA zone, e.g. Europe/Zurich",
};
const country = { type: "string", pattern: COUNTRY_PATTERN, description: "ISO 3166-1 alpha-2, e.g. CH" };
const extensionNumber = { type: "string", pattern: EXTENSION_NUMBER_PATTERN };
const password = {
  type: "string",
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  writeOnly: true,
  description:
    "SIP password; only its digest hashes are stored. At least 10 characters, not the extension number, not a common password, and hard to guess (zxcvbn score 3 or more)",
};
const displayName = { type: "string", pattern: DISPLAY_NAME_PATTERN, maxLength: 64 };
const ringTimeoutSeconds = { type: "integer", minimum: RING_TIMEOUT_MIN, maximum: RING_TIMEOUT_MAX };
const featureCode = {
  type: "string",
  pattern: FEATURE_CODE_PATTERN,
  description: "* followed by 1 to 4 digits",
};
const featureAction = { type: "string", enum: [...FEATURE_ACTIONS] };
const featureNames = Object.keys(DEFAULT_FEATURES);
const timestamp = { type: "string", format: "date-time" };
const trunkName = { type: "string", pattern: TRUNK_NAME_PATTERN, description: "slug" };
const nullable = (schema: JsonSchema, description?: string): JsonSchema => ({
  ...schema,
  type: [schema.type as string, "null"],
  ...(description ? { description } : {}),
});
const e164 = { type: "string", pattern: E164_PATTERN, description: "E.164, e.g. +41215550100" };
const typedNumber = {
  type: "string",
  pattern: TYPED_NUMBER_PATTERN,
  maxLength: TYPED_NUMBER_MAX,
  description: "E.164 (+41215550100) or as written in the tenant's country (021 555 01 00); stored in E.164",
};
const noAnswerSeconds = {
  type: "integer",
  minimum: NO_ANSWER_MIN,
  maximum: NO_ANSWER_MAX,
  description: "how long a call rings before forwarding on no answer takes it",
};
const callWaiting = { type: "boolean", description: "a second call rings while one is in progress" };
const mwiUnsolicited = {
  type: "boolean",
  description:
    "message waiting is sent to the phones without their subscribing (after each registration and change)",
};
const pickupGroup = {
  type: "string",
  pattern: PICKUP_GROUP_PATTERN,
  maxLength: PICKUP_GROUP_MAX,
  description: "group pickup (*8) takes calls ringing in this group, e.g. sales",
};
const waitingSeconds = {
  type: "integer",
  minimum: WAITING_SECONDS_MIN,
  maximum: WAITING_SECONDS_MAX,
  description:
    "seconds a caller of the inbound flow waits before the waiting announcement, and between its repeats (default 30)",
};
const maxCalls = {
  type: "integer",
  minimum: MAX_CALLS_MIN,
  maximum: MAX_CALLS_MAX,
  description: "with call waiting, calls at once before the extension is busy",
};
const requireEncryption = {
  type: "boolean",
  description:
    "the company's phones must encrypt: SIP over TLS or a secure WebSocket, and SRTP; plain REGISTERs and calls get 403 (default false)",
};
const tenantMaxCalls = {
  type: "integer",
  minimum: TENANT_MAX_CALLS_MIN,
  maximum: TENANT_MAX_CALLS_MAX,
  description:
    "simultaneous calls of the company, from its phones and to its numbers; a call over it is refused (503 to a phone, 486 to the trunk), emergency calls never",
};

const object = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  properties,
  required,
});

export const FeatureSwitches = object(
  Object.fromEntries(featureNames.map((n) => [n, { type: "boolean" }])),
  featureNames,
);
export const FeatureSwitchesPatch = object(
  Object.fromEntries(featureNames.map((n) => [n, { type: "boolean" }])),
);

export const DiallingPolicy = object(
  {
    ...Object.fromEntries(POLICY_SWITCHES.map((n) => [n, { type: "boolean" }])),
    maxExternalCalls: {
      type: "integer",
      minimum: 0,
      maximum: MAX_EXTERNAL_CALLS_MAX,
      description: "simultaneous calls through the trunk, in and out",
    },
  },
  [...POLICY_SWITCHES, "maxExternalCalls"],
);
export const DiallingPolicyPatch = { ...DiallingPolicy, required: [] };

export const Tenant = object(
  {
    name: tenantName,
    domain,
    language,
    timezone,
    country,
    features: FeatureSwitches,
    policy: DiallingPolicy,
    trunk: nullable(trunkName, "null: the provider's default trunk"),
    operator: nullable(
      extensionNumber,
      "the extension that 0 during a voicemail greeting reaches; null: none",
    ),
    waitingSeconds,
    companyCodes: object(
      {
        extensions: nullable(
          { type: "array", items: extensionNumber },
          "who may dial *20, *11 and *30-*33; null: every extension",
        ),
        pin: { type: "boolean", description: "a PIN is asked (it is stored hashed and never shown)" },
      },
      ["extensions", "pin"],
    ),
    maxCalls: tenantMaxCalls,
    requireEncryption,
    createdAt: timestamp,
  },
  [
    "name",
    "domain",
    "language",
    "timezone",
    "country",
    "features",
    "policy",
    "trunk",
    "operator",
    "waitingSeconds",
    "companyCodes",
    "maxCalls",
    "requireEncryption",
    "createdAt",
  ],
);
export const NewTenant = object({ name: tenantName, domain, language, timezone, country, trunk: trunkName }, [
  "name",
  "domain",
]);
export const TenantPatch = object({
  domain,
  language,
  timezone,
  country,
  trunk: nullable(trunkName, "null: back to the provider's default trunk"),
  operator: nullable(extensionNumber, "an extension of the tenant; null: none"),
  waitingSeconds,
  companyCodes: object({
    extensions: nullable(
      {
        type: "array",
        maxItems: COMPANY_CODE_EXTENSIONS_MAX,
        uniqueItems: true,
        items: extensionNumber,
      },
      "only these extensions may dial *20, *11 and *30-*33; null: every extension; missing: unchanged",
    ),
    pin: nullable(
      {
        type: "string",
        pattern: PIN_PATTERN,
        writeOnly: true,
        description: "4 to 10 digits, not trivial (one digit repeated, a run such as 1234)",
      },
      "asked before the company-wide codes; null: none; missing: unchanged",
    ),
  }),
  maxCalls: tenantMaxCalls,
  requireEncryption,
});

const mailboxFields = {
  enabled: {
    type: "boolean",
    description: "the mailbox takes messages (with the tenant's voicemail feature)",
  },
  remoteAccess: {
    type: "boolean",
    description:
      "* during the greeting asks for the PIN (with the tenant's voicemailRemoteAccess feature); off by default",
  },
  skipPinOnOwnPhone: { type: "boolean", description: "*97 from the extension's own phone skips the PIN" },
  email: nullable(
    { type: "string", pattern: EMAIL_PATTERN, maxLength: EMAIL_MAX },
    "messages by e-mail, the WAV attached; null: none",
  ),
  deleteAfterEmail: { type: "boolean", description: "a message is deleted once its e-mail was sent" },
  maxMessageSeconds: {
    type: "integer",
    minimum: MAX_MESSAGE_SECONDS_MIN,
    maximum: MAX_MESSAGE_SECONDS_MAX,
    description: "how long a message may be (default 180)",
  },
};
const generatedPin = {
  type: "string",
  pattern: PIN_PATTERN,
  description: "a PIN chosen by vpbx, shown this once (mailbox enabled without a PIN, or a reset)",
};
export const MailboxOptions = object(
  {
    ...mailboxFields,
    hasPin: { type: "boolean", description: "a PIN is set (it is stored hashed and never shown)" },
    remoteAccessLockedUntil: nullable(
      timestamp,
      "remote access locked after wrong PINs until then; null: open",
    ),
    pin: generatedPin,
  },
  [...Object.keys(mailboxFields), "hasPin", "remoteAccessLockedUntil"],
);
export const MailboxOptionsPatch = object({
  ...mailboxFields,
  pin: {
    type: "string",
    pattern: PIN_PATTERN,
    writeOnly: true,
    description:
      "4 to 10 digits, not trivial (one digit repeated, a run such as 1234, the extension's number)",
  },
});

export const Extension = object(
  {
    number: extensionNumber,
    displayName,
    language: { type: ["string", "null"], enum: [...LANGUAGES, null], description: "null: the tenant's" },
    ringTimeoutSeconds,
    noAnswerSeconds,
    callWaiting,
    maxCalls,
    callerId: nullable(e164, "shown on outside calls; null: the company's main number"),
    mwiUnsolicited,
    pickupGroup: nullable(pickupGroup, "group pickup (*8) group; null: the company's default group"),
    voicemail: { ...MailboxOptions, description: "the mailbox's options (never the PIN)" },
    createdAt: timestamp,
  },
  [
    "number",
    "displayName",
    "language",
    "ringTimeoutSeconds",
    "noAnswerSeconds",
    "callWaiting",
    "maxCalls",
    "callerId",
    "mwiUnsolicited",
    "pickupGroup",
    "createdAt",
  ],
);
export const NewExtension = object(
  {
    number: extensionNumber,
    password,
    displayName,
    language,
    ringTimeoutSeconds,
    noAnswerSeconds,
    callWaiting,
    maxCalls,
    callerId: typedNumber,
    mwiUnsolicited,
    pickupGroup,
  },
  ["number", "password", "displayName"],
);
export const ExtensionPatch = object({
  password,
  displayName,
  language: { type: ["string", "null"], enum: [...LANGUAGES, null] },
  ringTimeoutSeconds,
  noAnswerSeconds,
  callWaiting,
  maxCalls,
  callerId: nullable(typedNumber, "null: the company's main number"),
  mwiUnsolicited,
  pickupGroup: nullable(pickupGroup, "null: back to the company's default group"),
  voicemail: {
    ...MailboxOptionsPatch,
    description: "mailbox options; enabled without a PIN (none set yet) gets a random one, returned once",
  },
});

const messageId = {
  type: "string",
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
};
const folder = { type: "string", enum: [...VOICEMAIL_FOLDERS] };
export const VoicemailMessage = object(
  {
    id: messageId,
    folder,
    callerNumber: {
      type: "string",
      description: "as the call showed it (extension or E.164); empty: unknown",
    },
    callerName: { type: ["string", "null"] },
    receivedAt: timestamp,
    durationMs: { type: "integer", minimum: 0 },
  },
  ["id", "folder", "callerNumber", "callerName", "receivedAt", "durationMs"],
);
export const VoicemailMessagePatch = object({ folder }, ["folder"]);
export const VoicemailMessagesQuery = object({ folder });
export const PinReset = object({ pin: generatedPin }, ["pin"]);

export const FeatureCode = object({ code: featureCode, action: featureAction }, ["code", "action"]);
export const FeatureCodeBody = object({ code: featureCode }, ["code"]);

export const Registration = object(
  {
    extension: { type: "string" },
    contact: { type: "string" },
    expiresAt: timestamp,
    source: { type: "string", description: 'e.g. "udp:192.0.2.10:5060"' },
    userAgent: { type: "string" },
  },
  ["extension", "contact", "expiresAt", "source"],
);

export const Subscription = object(
  {
    extension: { type: "string", description: "the subscriber" },
    contact: { type: "string", description: "where its NOTIFYs go" },
    source: { type: "string", description: 'where it subscribed from, e.g. "udp:192.0.2.10:5060"' },
    package: { type: "string", enum: ["dialog", "presence", "message-summary"] },
    resource: {
      type: "string",
      description: 'what it watches: an extension ("102") or a feature code ("*11")',
    },
    expiresAt: timestamp,
  },
  ["extension", "contact", "source", "package", "resource", "expiresAt"],
);

export const Call = object(
  {
    id: { type: "string" },
    tenant: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    state: { type: "string", enum: ["ringing", "answered"] },
    startedAt: timestamp,
    answeredAt: timestamp,
    callIds: { type: "array", items: { type: "string" } },
  },
  ["id", "tenant", "from", "to", "state", "startedAt", "callIds"],
);

const host = {
  type: "string",
  maxLength: 253,
  minLength: 1,
  description: "host name or IP address of the carrier's SIP server",
};
const trunkFields = {
  host,
  port: { type: "integer", minimum: PORT_MIN, maximum: PORT_MAX },
  transport: { type: "string", enum: [...TRANSPORTS] },
  register: { type: "boolean", description: "keep a REGISTER alive toward the carrier" },
  numberFormat: {
    type: "string",
    enum: [...NUMBER_FORMATS],
    description: 'numbers toward the carrier: "+41215550100" or "0215550100"',
  },
  inboundAddresses: {
    type: "array",
    maxItems: INBOUND_ADDRESSES_MAX,
    items: { type: "string", maxLength: 45 },
    description: "IP addresses the carrier sends from, besides the host's own",
  },
  isDefault: { type: "boolean", description: "the trunk of every tenant that names none" },
};
const trunkUser = { type: "string", pattern: SIP_USER_PATTERN, maxLength: 192 };
const trunkPassword = {
  type: "string",
  pattern: TRUNK_PASSWORD_PATTERN,
  maxLength: 128,
  writeOnly: true,
  description: "digest password toward the carrier; never returned",
};

export const TrunkRegistration = object(
  {
    state: { type: "string", enum: ["disabled", "registering", "registered", "failed"] },
    expiresAt: timestamp,
    lastError: { type: "string" },
    lastStatus: { type: "integer" },
  },
  ["state"],
);

export const Trunk = object(
  {
    name: trunkName,
    ...trunkFields,
    username: nullable(trunkUser),
    hasPassword: { type: "boolean" },
    createdAt: timestamp,
    registration: {
      ...TrunkRegistration,
      type: ["object", "null"],
      description: "outbound registration as the running PBX sees it; null: unknown",
    },
  },
  [
    "name",
    "host",
    "port",
    "transport",
    "username",
    "hasPassword",
    "register",
    "numberFormat",
    "inboundAddresses",
    "isDefault",
    "createdAt",
    "registration",
  ],
);
export const NewTrunk = object(
  { name: trunkName, ...trunkFields, username: trunkUser, password: trunkPassword },
  ["name", "host"],
);
export const TrunkPatch = object({
  ...trunkFields,
  username: nullable(trunkUser, "null removes it"),
  password: nullable(trunkPassword, "null removes it"),
});

const destinationDoc =
  '{"type":"extension","number":"101"}, {"type":"external","number":"+41791231212"}, {"type":"voicemail","number":"101"}, {"type":"ring-group","name":"shop"}, {"type":"announcement","announcement":"closed","then":<destination>}, {"type":"inbound-flow"} or {"type":"hangup"}';
/**
 * A destination, with `then` nested down to MAX_DESTINATION_DEPTH levels.
 * Below that, `then` is left open here so that validation.ts refuses the
 * nesting in its own words, naming the path.
 */
function destination(depth: number): JsonSchema {
  return object(
    {
      type: { type: "string", enum: [...DESTINATION_TYPES] },
      number: {
        type: "string",
        maxLength: TYPED_NUMBER_MAX,
        description: "extension and voicemail: an extension number; external: a public number",
      },
      name: { type: "string", maxLength: RING_GROUP_NAME_MAX, description: "ring-group: the group's name" },
      announcement: {
        type: "string",
        enum: [...ANNOUNCEMENT_KINDS],
        description: "announcement: which of the company's announcements is said",
      },
      then:
        depth < MAX_DESTINATION_DEPTH
          ? { ...destination(depth + 1), description: "announcement: where the call goes after it" }
          : { description: `refused: destinations nest at most ${MAX_DESTINATION_DEPTH} deep` },
    },
    ["type"],
  );
}
export const Destination = { ...destination(1), description: destinationDoc };
export const TenantNumber = object({ number: e164, destination: Destination, createdAt: timestamp }, [
  "number",
  "destination",
  "createdAt",
]);
export const NewTenantNumber = object(
  {
    number: typedNumber,
    destination: {
      ...Destination,
      description: `${destinationDoc}; an external number may be national, it is stored in E.164`,
    },
  },
  ["number", "destination"],
);

const forwardingTarget = (description: string) => ({
  type: ["string", "null"],
  maxLength: TYPED_NUMBER_MAX,
  description,
});
export const Forwarding = object(
  {
    ...Object.fromEntries(
      FORWARDING_KINDS.map((k) => [k, forwardingTarget("E.164 or an extension number; null: off")]),
    ),
    noAnswerSeconds,
  },
  [...FORWARDING_KINDS, "noAnswerSeconds"],
);
export const ForwardingPut = object({
  ...Object.fromEntries(
    FORWARDING_KINDS.map((k) => [
      k,
      forwardingTarget(
        "an extension or a number as dialled in the tenant's country; null clears; missing: unchanged",
      ),
    ]),
  ),
  noAnswerSeconds,
});

const auditActor = object(
  {
    kind: { type: "string", enum: ["api", "user", "phone", "cli", "system"] },
    id: { type: "string" },
    source: { type: "string" },
  },
  ["kind", "id"],
);
const auditValues = {
  old: { description: "the value before (any JSON)" },
  new: { description: "the value after (any JSON)" },
};
export const AuditEvent = object(
  {
    at: timestamp,
    actor: auditActor,
    action: { type: "string", description: '"forwarding.set", "forwarding.clear", "policy.update", ...' },
    subject: { type: "string", description: '"101/unconditional", "policy", ...' },
    ...auditValues,
  },
  ["at", "actor", "action", "subject", "old", "new"],
);
/** An event of the provider's own log (GET /api/v1/audit): changes that belong to no company. */
export const ProviderAuditEvent = object(
  {
    at: timestamp,
    actor: auditActor,
    action: {
      type: "string",
      description:
        '"trunk.create", "trunk.update", "trunk.delete", "tenant.create", "tenant.delete", "user.create", "user.update", "user.delete"',
    },
    subject: { type: "string", description: "the trunk's, company's or provider user's name" },
    ...auditValues,
  },
  ["at", "actor", "action", "subject", "old", "new"],
);
export const AuditQuery = object({
  limit: {
    type: "string",
    pattern: "^[0-9]{1,5}$",
    description: `newest events to return, 1 to ${AUDIT_LIMIT_MAX} (default 100)`,
  },
});

const ringGroupName = {
  type: "string",
  pattern: RING_GROUP_NAME_PATTERN,
  maxLength: RING_GROUP_NAME_MAX,
  description: "slug, unique in the tenant",
};
const ringGroupFields = {
  members: {
    type: "array",
    minItems: 1,
    maxItems: RING_GROUP_MEMBERS_MAX,
    uniqueItems: true,
    items: extensionNumber,
    description: "extensions of the tenant, in the order a sequential group rings them",
  },
  strategy: {
    type: "string",
    enum: [...RING_GROUP_STRATEGIES],
    description: "ring every member at once, or one after the other (default simultaneous)",
  },
  timeout: {
    type: "integer",
    minimum: RING_GROUP_TIMEOUT_MIN,
    maximum: RING_GROUP_TIMEOUT_MAX,
    description: "seconds the group rings in all before the fallback takes the call",
  },
  memberTimeout: {
    type: "integer",
    minimum: MEMBER_TIMEOUT_MIN,
    maximum: MEMBER_TIMEOUT_MAX,
    description: "seconds each member rings in a sequential group",
  },
  fallback: {
    ...Destination,
    description: `where an unanswered call goes; not back to this group. ${destinationDoc}`,
  },
};
export const RingGroup = object({ name: ringGroupName, ...ringGroupFields, createdAt: timestamp }, [
  "name",
  "members",
  "strategy",
  "timeout",
  "memberTimeout",
  "fallback",
  "createdAt",
]);
export const NewRingGroup = object({ name: ringGroupName, ...ringGroupFields }, ["name", "members"]);
export const RingGroupPatch = object(ringGroupFields);

/**
 * Mode and state names, times, days and dates carry no pattern here: the
 * API's checks (schedule.ts's scheduleProblems for the schedule) name the
 * entry at fault in words ("weekly[1].to: 12:00 is not after from (13:30)").
 */
const modeName = {
  type: "string",
  maxLength: MODE_NAME_MAX,
  description: "a mode's name: a lowercase letter, then lowercase letters, digits or hyphens",
};
const label = {
  type: "string",
  pattern: LABEL_PATTERN,
  maxLength: LABEL_MAX,
  description: "what the confirmation and the console say; default: the name",
};
const timeOfDay = (description: string) => ({ type: "string", maxLength: 5, description });
const ScheduleMode = object({ label, destination: Destination }, ["destination"]);
const WeeklyRange = object(
  {
    days: {
      type: "array",
      minItems: 1,
      maxItems: WEEKDAYS.length,
      items: { type: "string", enum: [...WEEKDAYS] },
      description: "each day once",
    },
    from: timeOfDay("HH:MM (00:00 to 23:59) in the tenant's time zone"),
    to: timeOfDay('HH:MM after from; "24:00" is the end of the day'),
    mode: { ...modeName, description: "one of the modes" },
  },
  ["days", "from", "to", "mode"],
);
const ScheduleException = object(
  {
    date: { type: "string", maxLength: 10, description: "YYYY-MM-DD in the tenant's time zone" },
    mode: { ...modeName, description: "one of the modes" },
    from: timeOfDay("with to: part of the day only (HH:MM); without: the whole day"),
    to: timeOfDay('HH:MM after from; "24:00" is the end of the day'),
  },
  ["date", "mode"],
);
const scheduleFields = {
  modes: {
    type: "object",
    minProperties: 1,
    maxProperties: MAX_MODES,
    additionalProperties: ScheduleMode,
    description: `modes by name (${MODE_NAME_PATTERN}), e.g. {"open":{"destination":{"type":"ring-group","name":"shop"}}}; a destination must not lead back to the inbound flow`,
  },
  default: { ...modeName, description: "the mode outside every range: one of the modes" },
  weekly: {
    type: "array",
    maxItems: MAX_WEEKLY_RANGES,
    items: WeeklyRange,
    description: "weekly ranges; two ranges must not overlap on a day",
  },
  exceptions: {
    type: "array",
    maxItems: MAX_EXCEPTIONS,
    items: ScheduleException,
    description:
      "dated exceptions (holidays, closures); they take precedence over the weekly ranges; two on one date must not overlap",
  },
};
export const Schedule = object(scheduleFields, ["modes", "default", "weekly", "exceptions"]);
export const SchedulePut = object(scheduleFields, ["modes", "default"]);

const zonedTime = { type: "string", format: "date-time", description: "ISO 8601 in the tenant's time zone" };
export const ScheduleState = object(
  {
    mode: modeName,
    label: { type: "string" },
    overridden: { type: "boolean", description: "*20 forced the mode" },
    until: nullable(zonedTime, "when the mode now ends; null: not within the next weeks"),
    next: {
      ...object({ at: zonedTime, mode: modeName }, ["at", "mode"]),
      type: ["object", "null"],
      description: "the schedule's next transition (ignoring an override); null: none ahead",
    },
  },
  ["mode", "label", "overridden", "until", "next"],
);
export const ScheduleAdvance = object(
  {
    kind: {
      type: "string",
      enum: ["overridden", "cancelled", "no-transition"],
      description:
        "overridden: the next mode is forced until the transition after it; cancelled: an override was active and the schedule rules again; no-transition: nothing to force",
    },
    mode: { ...modeName, description: "overridden: the forced mode" },
    label: { type: "string" },
    until: { ...zonedTime, description: "overridden: when the schedule takes over again" },
    state: { ...ScheduleState, description: "cancelled: the schedule's mode now" },
  },
  ["kind"],
);

const CallFlowState = object({
  label,
  destination: { ...Destination, description: "where the inbound flow goes; none: on to the schedule" },
});
export const CallFlow = object(
  {
    state: { ...modeName, description: "the state now: one of states" },
    states: {
      type: "object",
      minProperties: 2,
      maxProperties: 2,
      additionalProperties: CallFlowState,
      description: `exactly two states by name (${MODE_NAME_PATTERN}); the first is the normal one (*11 lamp off); a destination must not lead back to the inbound flow`,
    },
  },
  ["state", "states"],
);
export const CallFlowView = object(
  {
    state: modeName,
    label: { type: "string" },
    normal: { type: "boolean", description: "the first state: the inbound flow goes on to the schedule" },
  },
  ["state", "label", "normal"],
);

export const CompanyAudio = object(
  {
    kind: { type: "string", enum: [...ANNOUNCEMENT_KINDS, "music"] },
    custom: { type: "boolean", description: "false: the default prompt plays (music: the ringback tone)" },
    source: {
      type: ["string", "null"],
      enum: ["recording", "upload", "text", null],
      description: "recorded on a phone (*30-*33), uploaded, or made from text",
    },
    text: { type: ["string", "null"], description: "the text it was made from" },
    durationMs: { type: ["integer", "null"], minimum: 0 },
    updatedAt: nullable(timestamp),
  },
  ["kind", "custom", "source", "text", "durationMs", "updatedAt"],
);
export const AudioText = object(
  {
    text: {
      type: "string",
      minLength: 1,
      maxLength: AUDIO_TEXT_MAX,
      description: "said by speech synthesis",
    },
    language: { ...language, description: "default: the tenant's language" },
  },
  ["text"],
);

// The console's users, sessions and API tokens (auth/*-routes.ts).
const username = {
  type: "string",
  pattern: USERNAME_PATTERN,
  description: "1 to 64 letters, digits or . _ @ + -; compared without case, kept in lower case",
};
const userRole = {
  type: "string",
  enum: [...USER_ROLES],
  description: "provider; admin (of a tenant); user (of one extension of a tenant)",
};
const consolePassword = {
  type: "string",
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  writeOnly: true,
  description:
    "kept as an argon2id hash. At least 10 characters, not a common password, and hard to guess (zxcvbn score 3 or more)",
};
const tokenId = { type: "string", pattern: API_TOKEN_ID_PATTERN };

export const Login = object(
  {
    // Not the username's pattern: a malformed name is a wrong login (401), like an unknown one.
    username: { type: "string", minLength: 1, maxLength: 254 },
    password: { type: "string", minLength: 1, maxLength: LOGIN_PASSWORD_MAX, writeOnly: true },
  },
  ["username", "password"],
);
export const SessionUser = object(
  {
    username: { type: "string" },
    role: userRole,
    tenant: nullable(tenantName),
    extension: nullable(extensionNumber),
    language: {
      type: ["string", "null"],
      enum: [...LANGUAGES, null],
      description: "the user's, else the tenant's; null for the provider without one",
    },
  },
  ["username", "role", "tenant", "extension", "language"],
);
export const Session = object(
  {
    user: SessionUser,
    csrfToken: {
      type: "string",
      description: "send it as X-CSRF-Token with every request that is not GET or HEAD",
    },
  },
  ["user", "csrfToken"],
);
export const User = object(
  {
    username: { type: "string" },
    role: userRole,
    tenant: nullable(tenantName),
    extension: nullable(extensionNumber),
    language: { type: ["string", "null"], enum: [...LANGUAGES, null] },
    createdAt: timestamp,
  },
  ["username", "role", "tenant", "extension", "language", "createdAt"],
);
export const NewUser = object(
  {
    username,
    password: consolePassword,
    role: userRole,
    tenant: { ...tenantName, description: "an admin's or a user's tenant (an admin's own by default)" },
    extension: { ...extensionNumber, description: "a user's extension" },
    language,
  },
  ["username", "password", "role"],
);
export const UserPatch = object({
  password: consolePassword,
  currentPassword: {
    type: "string",
    minLength: 1,
    maxLength: LOGIN_PASSWORD_MAX,
    writeOnly: true,
    description: "asked when users change their own password",
  },
  language: {
    type: ["string", "null"],
    enum: [...LANGUAGES, null],
    description: "null: the tenant's language",
  },
});
export const UsersQuery = object({ tenant: tenantName });
const apiTokenFields = {
  id: tokenId,
  role: { type: "string", enum: ["admin", "user"] },
  extension: nullable(extensionNumber),
  description: { type: "string" },
  createdBy: { type: "string", description: "a username, admin (the admin token) or token:<id>" },
  createdAt: timestamp,
  lastUsedAt: nullable(timestamp),
};
export const ApiToken = object(apiTokenFields, Object.keys(apiTokenFields));
export const CreatedApiToken = object(
  {
    ...apiTokenFields,
    token: {
      type: "string",
      description: "vpbx_<id>_<secret>: shown this once, send it as Authorization: Bearer <token>",
    },
  },
  [...Object.keys(apiTokenFields), "token"],
);
export const NewApiToken = object({
  role: { type: "string", enum: ["admin", "user"], description: "default admin (of the tenant)" },
  extension: { ...extensionNumber, description: "a user token's extension" },
  description: { type: "string", maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]*$" },
});

export const ErrorBody = object(
  { error: object({ code: { type: "string" }, message: { type: "string" } }, ["code", "message"]) },
  ["error"],
);

export const Health = object({ status: { type: "string", enum: ["ok", "unavailable"] } }, ["status"]);

export const arrayOf = (items: JsonSchema): JsonSchema => ({ type: "array", items });

export const params = {
  tenant: object({ name: tenantName }, ["name"]),
  extension: object({ name: tenantName, number: extensionNumber }, ["name", "number"]),
  featureCode: object({ name: tenantName, action: featureAction }, ["name", "action"]),
  trunk: object({ name: trunkName }, ["name"]),
  user: object({ username: { type: "string", minLength: 1, maxLength: 254 } }, ["username"]),
  token: object({ name: tenantName, id: tokenId }, ["name", "id"]),
  number: object({ name: tenantName, number: e164 }, ["name", "number"]),
  message: object({ name: tenantName, number: extensionNumber, id: messageId }, ["name", "number", "id"]),
  ringGroup: object({ name: tenantName, group: ringGroupName }, ["name", "group"]),
  announcement: object(
    { name: tenantName, kind: { type: "string", description: "welcome, waiting, closed or vacation" } },
    ["name", "kind"],
  ),
  greeting: object(
    { name: tenantName, number: extensionNumber, kind: { type: "string", enum: [...GREETING_KINDS] } },
    ["name", "number", "kind"],
  ),
};
