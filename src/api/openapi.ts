// An OpenAPI 3.1 document built from the route table that the server
// registers, so every route and schema in it is the one actually enforced.
// OpenAPI 3.1 schemas are JSON Schema 2020-12, a superset of what the routes use.
import type { Access } from "./auth/principal.ts";
import { SESSION_COOKIE } from "./auth/sessions.ts";
import { ErrorBody, type JsonSchema } from "./schemas.ts";

export interface RouteDoc {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  summary: string;
  /** Who may use it (see Route.access); documented as `x-vpbx-access` and in the description. */
  access?: Access;
  /** No bearer token needed: the same as access "public" (kept for older route tables). */
  public?: boolean;
  schema: {
    params?: JsonSchema;
    querystring?: JsonSchema;
    /** A JSON schema, or `{content: {<media type>: {schema}}}` (Fastify checks the body of those types only). */
    body?: JsonSchema;
    response?: Record<number, JsonSchema>;
  };
  /** Error statuses the route can answer besides 400 and 401. */
  errors?: number[];
  /** The 200 answer is a file of this media type (e.g. "audio/wav"), not JSON. */
  produces?: string;
  /** The body is a file of these media types (e.g. "audio/wav"), besides any JSON body of `schema.body`. */
  consumes?: string | string[];
}

const DESCRIPTIONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No content",
  400: "Invalid request",
  401: "Not authenticated: no valid bearer token (admin token or API token) or session cookie",
  403: "Authenticated, but not in this route's scope (see x-vpbx-access), or a change made with the session cookie without its X-CSRF-Token",
  404: "Not found",
  409: "Conflict with existing data",
  413: "Body too large",
  408: "The body did not arrive in time",
  415: "Unsupported body type",
  429: "Too many wrong tokens or passwords from this address (or for this user); see Retry-After",
  503: "Not ready, or the service is not running",
};

/** What each scope means, for the operations' descriptions. */
const ACCESS_WORDS: Record<Access, string> = {
  public: "public: no authentication",
  authenticated:
    "authenticated: anyone logged in or with a token; the answer is narrowed to what they may see",
  provider: "provider: the admin token or a provider user only",
  tenant: "tenant: the provider, or an administrator (user or API token) of the tenant {name}",
  extension:
    "extension: the provider, an administrator of the tenant {name}, or the user (or user API token) of its extension {number}",
};

export function buildOpenApi(routes: readonly RouteDoc[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const access: Access = r.access ?? (r.public ? "public" : "provider");
    const isPublic = access === "public";
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(r.schema.response ?? {})) {
      const s = schema as JsonSchema;
      responses[status] = {
        description: DESCRIPTIONS[Number(status)] ?? "",
        ...(s.type === "null" ? {} : { content: { "application/json": { schema: s } } }),
      };
    }
    if (r.produces) {
      responses["200"] = {
        description: DESCRIPTIONS[200],
        content: { [r.produces]: { schema: { type: "string", format: "binary" } } },
      };
    }
    const hasBody = r.schema.body !== undefined || r.consumes !== undefined;
    const errors = new Set([
      400,
      ...(isPublic ? [] : [401, 403, 429]),
      ...(hasBody ? [408] : []),
      ...(r.errors ?? []),
    ]);
    if (!r.schema.params && !r.schema.body && !r.schema.querystring && !r.consumes) errors.delete(400);
    for (const status of [...errors].sort()) {
      responses[String(status)] = {
        description: DESCRIPTIONS[status] ?? "",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    const properties = (r.schema.params?.properties ?? {}) as Record<string, JsonSchema>;
    const query = (r.schema.querystring?.properties ?? {}) as Record<string, JsonSchema>;
    const queryRequired = (r.schema.querystring?.required ?? []) as string[];
    const operation: Record<string, unknown> = {
      summary: r.summary,
      description: `Access: ${ACCESS_WORDS[access]}.`,
      operationId: operationId(r),
      "x-vpbx-access": access,
      responses,
    };
    const parameters = [
      ...Object.entries(properties).map(([name, schema]) => ({ name, in: "path", required: true, schema })),
      ...Object.entries(query).map(([name, schema]) => ({
        name,
        in: "query",
        required: queryRequired.includes(name),
        schema,
      })),
    ];
    if (parameters.length > 0) operation.parameters = parameters;
    const content: Record<string, unknown> = {};
    const body = r.schema.body;
    if (body?.content) Object.assign(content, body.content);
    else if (body) content["application/json"] = { schema: body };
    for (const type of typeof r.consumes === "string" ? [r.consumes] : (r.consumes ?? [])) {
      content[type] = { schema: { type: "string", format: "binary" } };
    }
    if (Object.keys(content).length > 0) operation.requestBody = { required: true, content };
    if (isPublic) operation.security = [];
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "vpbx",
      version,
      description:
        "Provisioning and status API of vpbx, a hosted multi-tenant virtual PBX. Authenticate with Authorization: Bearer <admin token or API token vpbx_…>, or with the console's session cookie (and X-CSRF-Token on changes). Each operation's x-vpbx-access names its scope: public, authenticated, provider, tenant (the provider or an administrator of {name}) or extension (also the user of {number}).",
      license: { name: "GPL-3.0-or-later", identifier: "GPL-3.0-or-later" },
    },
    // Either scheme: a bearer token, or the console's session cookie.
    security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer" },
        cookieAuth: {
          type: "apiKey",
          in: "cookie",
          name: SESSION_COOKIE,
          description:
            "The console's session (POST /api/v1/session). Every request that is not GET or HEAD must also send the session's csrfToken in the X-CSRF-Token header.",
        },
      },
      schemas: { Error: ErrorBody },
    },
  };
}

function operationId(r: RouteDoc): string {
  const words = r.url
    .replace(/^\/api\/v1/, "")
    .split("/")
    .filter((w) => w && !w.startsWith(":"))
    .map((w) => w.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : "")));
  const byParam = /\/:(name|number|id|kind|group)$/.test(r.url) ? "One" : "";
  return [r.method.toLowerCase(), ...words.map((w) => w[0].toUpperCase() + w.slice(1)), byParam].join("");
}
