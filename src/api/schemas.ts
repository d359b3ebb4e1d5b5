// JSON schemas of the REST API: Fastify validates requests and serialises
// responses with them, and the OpenAPI document is built from the very same
// objects, so the document cannot drift from what the server does.
import { DEFAULT_FEATURES, FEATURE_ACTIONS, LANGUAGES } from "../store/types.ts";
import {
  COUNTRY_PATTERN,
  DISPLAY_NAME_PATTERN,
  DOMAIN_PATTERN,
  EXTENSION_NUMBER_PATTERN,
  FEATURE_CODE_PATTERN,
  PASSWORD_MAX,
  PASSWORD_MIN,
  RING_TIMEOUT_MAX,
  RING_TIMEOUT_MIN,
  TENANT_NAME_PATTERN,
  TIMEZONE_MAX,
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
  description: "SIP password; only its digest hashes are stored. Must not be the extension number.",
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

export const Tenant = object(
  { name: tenantName, domain, language, timezone, country, features: FeatureSwitches, createdAt: timestamp },
  ["name", "domain", "language", "timezone", "country", "features", "createdAt"],
);
export const NewTenant = object({ name: tenantName, domain, language, timezone, country }, [
  "name",
  "domain",
]);
export const TenantPatch = object({ domain, language, timezone, country });

export const Extension = object(
  {
    number: extensionNumber,
    displayName,
    language: { type: ["string", "null"], enum: [...LANGUAGES, null], description: "null: the tenant's" },
    ringTimeoutSeconds,
    createdAt: timestamp,
  },
  ["number", "displayName", "language", "ringTimeoutSeconds", "createdAt"],
);
export const NewExtension = object(
  { number: extensionNumber, password, displayName, language, ringTimeoutSeconds },
  ["number", "password", "displayName"],
);
export const ExtensionPatch = object({
  password,
  displayName,
  language: { type: ["string", "null"], enum: [...LANGUAGES, null] },
  ringTimeoutSeconds,
});

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
};
