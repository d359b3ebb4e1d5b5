// The REST API (Fastify 5, JSON). Every route says who may use it
// (`access`: public, authenticated, provider, tenant, extension), and one
// guard (auth/guard.ts) checks it before any handler runs: the provider's
// admin bearer token (RFC 6750), an API token scoped to a tenant or an
// extension, or a console user's session cookie (with its CSRF token).
// Requests are validated twice on purpose: the JSON schemas (shape, also
// published as OpenAPI) and then validation.ts (what schemas cannot say:
// known time zones and countries, weak passwords, phone numbers read in the
// tenant's country), shared with the CLI. Forwarding targets are read and
// checked by the PBX's own setForwarding, the same code a phone's *72 runs.
// Mailboxes are changed through the running voicemail service (PbxView.voicemail),
// the one the voice menus use, so that a phone's lamp follows an API change;
// likewise the company's schedule, call flow and audio go through the running
// Company service (company-routes.ts).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import fastifyWebSocket from "@fastify/websocket";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Company } from "../pbx/company/company.ts";
import { type ForwardingRefusal, setForwarding } from "../pbx/routing/forwarding-settings.ts";
import { hashPin } from "../pbx/voicemail/pin.ts";
import { InvalidGreeting, type VoicemailAdmin } from "../pbx/voicemail/voicemail-admin.ts";
import { makeCredentials } from "../store/credentials.ts";
import {
  type Actor,
  type Extension,
  type ExtensionPatch,
  FORWARDING_KINDS,
  type Forwarding,
  type ForwardingKind,
  type GreetingKind,
  type MailboxSettings,
  type ProviderAuditEvent,
  type Store,
  StoreConflict,
  type Tenant,
  type TenantNumber,
  type TenantPatch,
  type Trunk,
  type VoicemailMessage,
} from "../store/types.ts";
import type { AcmeChallengeLookup } from "../util/acme-challenges.ts";
import { type Clock, SystemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { addAcmeChallenge } from "./acme-challenge.ts";
import { ADMIN_TOKEN_ACTOR, actorOf, addGuard, principalOf } from "./auth/guard.ts";
import { LoginGuard, type LoginLimits } from "./auth/login-guard.ts";
import { sessionRoutes } from "./auth/session-routes.ts";
import { type SessionLimits, SessionManager } from "./auth/sessions.ts";
import { tokenRoutes } from "./auth/token-routes.ts";
import { userRoutes } from "./auth/user-routes.ts";
import { addBodyTimeout, DEFAULT_BODY_BYTES_PER_SECOND, DEFAULT_BODY_TIMEOUT_MS } from "./body-timeout.ts";
import { COMPANY_AUDIO_MAX_BYTES, companyRoutes, refreshCompany } from "./company-routes.ts";
import { addConsoleStatic } from "./console-static.ts";
import { ApiError, codeForStatus, errorBody } from "./errors.ts";
import { historyRoutes } from "./history-routes.ts";
import { liveRoutes } from "./live-routes.ts";
import { metricsRoutes } from "./metrics.ts";
import { buildOpenApi } from "./openapi.ts";
import type { PbxView, TrunkRegistrationView } from "./pbx-view.ts";
import type { Route } from "./route.ts";
import * as S from "./schemas.ts";
import { softphoneRoutes } from "./softphone-routes.ts";
import { TokenGuard, type TokenGuardLimits } from "./token-guard.ts";
import {
  checkDestinationExists,
  ValidationError,
  validateAuditLimit,
  validateExtensionPatch,
  validateFeatureCode,
  validateFeatureSwitches,
  validateForwarding,
  validateMessagePatch,
  validateNewExtension,
  validateNewNumber,
  validateNewTenant,
  validateNewTrunk,
  validatePolicyPatch,
  validateTenantPatch,
  validateTrunkPatch,
} from "./validation.ts";

export const API_VERSION = "1.2.0";
/**
 * Who the audit log names for a change made with the admin token. Handlers
 * name the request's own actor (actorOf: a console user, an API token).
 */
export const API_ACTOR: Actor = ADMIN_TOKEN_ACTOR;
const OPENAPI_URL = "/api/v1/openapi.json";
/** An uploaded greeting may be this large (90 s of 44.1 kHz 16-bit stereo fits). */
export const GREETING_MAX_BYTES = 16 * 1024 * 1024;
/** The media types a greeting upload may declare (RFC 2361 and common practice). */
const WAV_TYPES = ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"];
/** Other audio a company's announcements take (MP3, RFC 3003), or bytes whose format is sniffed. */
const OTHER_AUDIO_TYPES = ["audio/mpeg", "application/octet-stream"];
/** What a company's administrator may change of its tenant (PATCH /api/v1/tenants/:name). */
const ADMIN_TENANT_FIELDS = ["language", "timezone", "operator", "waitingSeconds", "companyCodes"];
/** What a mailbox that was never configured shows (the store's defaults). */
const DEFAULT_MAILBOX_SECONDS = 180;

export interface ApiDeps {
  store: Store;
  pbx: PbxView;
  /** The running company service: schedule state, `*20`/`*11` from the API, company audio, lamps. */
  company: Company;
  verifyToken: (token: string) => boolean;
  log: Logger;
  isReady: () => boolean;
  /** Time of the wrong-token blocks and the body deadline; the system clock when absent. */
  clock?: Clock;
  /** Wrong admin tokens or API tokens per source before a block (10 a minute block for 5 minutes by default). */
  tokenGuard?: Partial<TokenGuardLimits>;
  /** The console's login lockout (auth/login-guard.ts); the phones' limits by default. */
  loginLimits?: LoginLimits;
  /** The console's session lifetimes (2 h idle, 12 h in all by default). */
  sessionLimits?: Partial<SessionLimits>;
  /** A request body must be complete this long after its headers (default 10 s, more for large uploads). */
  bodyTimeoutMs?: number;
  /**
   * SIP over WebSocket on this server (RFC 7118): `GET /sip` upgraded with
   * the `sip` subprotocol, without the admin token (phones authenticate in
   * SIP). The API knows nothing of SIP: each socket (a `ws` WebSocket) goes
   * to `onConnection` with its request, and main.ts hands it to the SIP
   * transport. Undefined: no WebSocket is accepted at all.
   */
  sipWebSocket?: {
    onConnection(socket: unknown, request: FastifyRequest): void;
    /** The largest message a client may send: a larger one closes its connection (1009). */
    maxMessageBytes: number;
  };
  /**
   * HTTPS instead of HTTP: certificate, key and TLS settings (a WebSocket is
   * then WSS). A renewed certificate is taken for new connections with
   * `server.setSecureContext` (tls.Server).
   */
  https?: HttpsServerOptions;
  /** VPBX_METRICS_TOKEN: the bearer token of GET /metrics; undefined: /metrics answers 404. */
  metricsToken?: string;
  /**
   * HTTP-01 answers of the ACME CA's validation (RFC 8555 §8.3) at the
   * public `/.well-known/acme-challenge/:token` (acme-challenge.ts).
   * Undefined: no ACME, the path is nobody's.
   */
  acmeChallenges?: AcmeChallengeLookup;
}

/** Where SIP over WebSocket is accepted, and the subprotocol it must ask for (RFC 7118 §4). */
export const SIP_WEBSOCKET_PATH = "/sip";
const SIP_WEBSOCKET_PROTOCOL = "sip";

/**
 * Node's own limits, a backstop behind the clock-driven body deadline: the
 * headers must arrive within 10 s (slowloris), a whole request within 2
 * minutes (the largest upload at the slowest rate the body deadline allows),
 * checked every second instead of Node's default 30.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 120_000;
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export function tenantView(t: Tenant) {
  return {
    name: t.name,
    domain: t.domain,
    language: t.language,
    timezone: t.timezone,
    country: t.country,
    features: t.features,
    policy: t.policy,
    trunk: t.trunk ?? null,
    operator: t.operator ?? null,
    waitingSeconds: t.waitingSeconds,
    maxCalls: t.maxCalls,
    requireEncryption: t.requireEncryption,
    // Never the PIN's hash: only whether one is asked.
    companyCodes: {
      extensions: t.companyCodes.extensions ?? null,
      pin: t.companyCodes.pinHash !== undefined,
    },
    createdAt: t.createdAt,
  };
}

/**
 * What the API shows of a mailbox: never the PIN or its hash (`hasPin`
 * says whether one is set); `pin` only when vpbx has just chosen one.
 */
export function voicemailView(
  settings: MailboxSettings | undefined,
  lockedUntil?: number,
  generatedPin?: string,
) {
  return {
    enabled: settings?.enabled ?? false,
    hasPin: settings?.pinHash !== undefined,
    remoteAccess: settings?.remoteAccess ?? false,
    skipPinOnOwnPhone: settings?.skipPinOnOwnPhone ?? false,
    email: settings?.email ?? null,
    deleteAfterEmail: settings?.deleteAfterEmail ?? false,
    maxMessageSeconds: settings?.maxMessageSeconds ?? DEFAULT_MAILBOX_SECONDS,
    remoteAccessLockedUntil: lockedUntil === undefined ? null : new Date(lockedUntil).toISOString(),
    ...(generatedPin === undefined ? {} : { pin: generatedPin }),
  };
}

export function voicemailMessageView(m: VoicemailMessage) {
  return {
    id: m.id,
    folder: m.folder,
    callerNumber: m.callerNumber,
    callerName: m.callerName ?? null,
    receivedAt: m.receivedAt,
    durationMs: m.durationMs,
  };
}

/** What the API shows of an extension: never the credentials. */
export function extensionView(e: Extension) {
  return {
    number: e.number,
    displayName: e.displayName,
    language: e.language ?? null,
    ringTimeoutSeconds: e.ringTimeoutSeconds,
    noAnswerSeconds: e.noAnswerSeconds,
    callWaiting: e.callWaiting,
    maxCalls: e.maxCalls,
    callerId: e.callerId ?? null,
    mwiUnsolicited: e.mwiUnsolicited,
    pickupGroup: e.pickupGroup ?? null,
    createdAt: e.createdAt,
  };
}

/**
 * What the API shows of a trunk: never the password (`hasPassword` says
 * whether one is set). `registration` comes from the running PBX; a trunk
 * that does not register is "disabled" even when the PBX says nothing.
 */
export function trunkView(t: Trunk, registration: TrunkRegistrationView | undefined) {
  return {
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username ?? null,
    hasPassword: t.password !== undefined && t.password !== "",
    register: t.register,
    numberFormat: t.numberFormat,
    inboundAddresses: t.inboundAddresses,
    isDefault: t.isDefault,
    createdAt: t.createdAt,
    registration: registration ?? (t.register ? null : { state: "disabled" as const }),
  };
}

export function numberView(n: TenantNumber) {
  return { number: n.number, destination: n.destination, createdAt: n.createdAt };
}

function forwardingView(rules: Forwarding[], e: Extension) {
  const view: Record<ForwardingKind, string | null> & { noAnswerSeconds: number } = {
    unconditional: null,
    busy: null,
    noAnswer: null,
    unreachable: null,
    noAnswerSeconds: e.noAnswerSeconds,
  };
  for (const r of rules) view[r.kind] = r.target;
  return view;
}

function auditView(e: ProviderAuditEvent) {
  return { at: e.at, actor: e.actor, action: e.action, subject: e.subject, old: e.old, new: e.new };
}

/** One sentence naming the rule and why its target was refused. */
function refusal(kind: ForwardingKind, typed: string, why: ForwardingRefusal, extension: string): string {
  const target = JSON.stringify(typed);
  const reason: Record<ForwardingRefusal, string> = {
    invalid: `${target} is neither a valid phone number nor an extension of this tenant`,
    "not-allowed": `calls to ${target} are not allowed (the tenant's dialling policy, or an emergency number)`,
    self: `extension ${extension} cannot forward to itself`,
    loop: `forwarding to ${target} would lead back to extension ${extension}`,
  };
  return `forwarding rule ${kind}: ${reason[why]}`;
}

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Ajv's errors as one sentence naming each field, e.g. `body.language must be one of: fr, de, it, en`. */
function formatSchemaErrors(errors: SchemaError[], dataVar: string): Error {
  const parts = errors.map((e) => {
    const where = dataVar + e.instancePath.replace(/\//g, ".");
    if (e.keyword === "additionalProperties")
      return `${where} has unknown field ${JSON.stringify(e.params.additionalProperty)}`;
    if (e.keyword === "enum")
      return `${where} must be one of: ${(e.params.allowedValues as unknown[]).join(", ")}`;
    if (e.keyword === "required") return `${where}.${String(e.params.missingProperty)} is required`;
    return `${where} ${e.message ?? "is invalid"}`;
  });
  return new Error(parts.join("; "));
}

/** Builds the server without listening: the caller (main) calls listen(). */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const { store, pbx } = deps;
  const clock = deps.clock ?? new SystemClock();
  const tokenGuard = new TokenGuard(clock, deps.tokenGuard);
  const sessions = new SessionManager(store, clock, deps.https !== undefined, deps.sessionLimits);
  const loginGuard = new LoginGuard({
    clock,
    log: deps.log,
    blocks: store.authBlocks,
    limits: deps.loginLimits,
  });
  const serverLimits = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
  };
  // https.createServer takes the http limits beside the TLS options. The
  // instance is typed as the HTTP one: nothing here depends on which it is.
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...(deps.https ? { https: { ...deps.https, ...serverLimits } } : { http: serverLimits }),
    schemaErrorFormatter: formatSchemaErrors,
    ajv: {
      // Refuse unknown fields instead of silently dropping them, and do not
      // turn "30" into 30: a client sending the wrong type should hear so.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true },
    },
  }) as unknown as FastifyInstance;
  if (deps.sipWebSocket) addSipWebSocket(app, deps.sipWebSocket);
  // Before the console's hook, which answers every other GET outside the API.
  if (deps.acmeChallenges) addAcmeChallenge(app, deps.acmeChallenges);
  // The web console (console/dist) for any GET outside the API: before the token check, its files are public.
  addConsoleStatic(app);

  // JSON only: a text/plain body is refused (415) rather than half-parsed.
  app.removeContentTypeParser("text/plain");
  // Except audio uploads: the file as it is, up to its own limit (an
  // announcement route raises it with its own bodyLimit).
  app.addContentTypeParser(
    WAV_TYPES,
    { parseAs: "buffer", bodyLimit: GREETING_MAX_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser(
    OTHER_AUDIO_TYPES,
    { parseAs: "buffer", bodyLimit: COMPANY_AUDIO_MAX_BYTES },
    (_req, body, done) => done(null, body),
  );

  const tenantOr404 = async (name: string): Promise<Tenant> => {
    const t = await store.tenants.get(name);
    if (!t) throw new ApiError(404, "not_found", `tenant ${name} does not exist`);
    return t;
  };
  const trunkOr404 = async (name: string): Promise<Trunk> => {
    const t = await store.trunks.get(name);
    if (!t) throw new ApiError(404, "not_found", `trunk ${name} does not exist`);
    return t;
  };
  const extensionOr404 = async (tenant: string, number: string): Promise<Extension> => {
    const e = await store.extensions.get(tenant, number);
    if (!e) throw new ApiError(404, "not_found", `extension ${number} does not exist in tenant ${tenant}`);
    return e;
  };
  const voicemailOr503 = (): VoicemailAdmin => {
    const service = pbx.voicemail?.();
    if (!service) throw new ApiError(503, "unavailable", "voicemail is not running on this server");
    return service;
  };
  /** The tenant and the extension must exist (404), and the voicemail service run (503). */
  const mailboxOr404 = async (tenant: string, number: string) => {
    await tenantOr404(tenant);
    await extensionOr404(tenant, number);
    return voicemailOr503();
  };
  const messageOr404 = async (vm: VoicemailAdmin, tenant: string, number: string, id: string) => {
    const m = await vm.message(tenant, number, id);
    if (!m)
      throw new ApiError(404, "not_found", `message ${id} is not in mailbox ${number} of tenant ${tenant}`);
    return m;
  };
  /** An extension with its mailbox's options. */
  const extensionWithVoicemail = async (e: Extension, generatedPin?: string) => {
    const settings = await store.voicemail.settings(e.tenant, e.number);
    const lockedUntil = await pbx.voicemail?.()?.remoteLockedUntil(e.tenant, e.number);
    return { ...extensionView(e), voicemail: voicemailView(settings, lockedUntil, generatedPin) };
  };
  /** Removes the audio of a deleted extension or tenant; the deletion stands even when this fails. */
  const forgetAudio = async (req: FastifyRequest, tenant: string, number?: string) => {
    try {
      await pbx.voicemail?.()?.forget(tenant, number);
    } catch (err) {
      req.log.error({ err, tenant, extension: number }, "removing the voicemail files failed");
    }
  };
  /** Streams a WAV file; 404 naming `what` when it is missing. */
  const sendWav = async (reply: FastifyReply, path: string, what: string, filename: string) => {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new ApiError(404, "not_found", `${what} is missing`);
      throw err;
    }
    return reply
      .header("content-type", "audio/wav")
      .header("content-length", size)
      .header("content-disposition", `attachment; filename="${filename}"`)
      .send(createReadStream(path));
  };

  const routes: Route[] = [
    {
      method: "GET",
      url: "/health",
      access: "public",
      summary: "Liveness and readiness (no token)",
      schema: { response: { 200: S.Health, 503: S.Health } },
      errors: [],
      async handler(_req, reply) {
        if (deps.isReady()) return { status: "ok" };
        return reply.code(503).send({ status: "unavailable" });
      },
    },
    {
      method: "GET",
      url: OPENAPI_URL,
      access: "public",
      summary: "This API's OpenAPI 3.1 document (no token)",
      schema: {},
      async handler() {
        return openapi;
      },
    },
    {
      method: "POST",
      url: "/api/v1/tenants",
      access: "provider",
      summary: "Create a tenant (company); 409 when the name or domain is taken or the trunk unknown",
      schema: { body: S.NewTenant, response: { 201: S.Tenant } },
      errors: [409],
      async handler(req, reply) {
        const t = await store.tenants.create(validateNewTenant(req.body), actorOf(req));
        return reply.code(201).send(tenantView(t));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants",
      access: "authenticated",
      summary: "List tenants: all for the provider, its own for a company's administrator or user",
      schema: { response: { 200: S.arrayOf(S.Tenant) } },
      async handler(req) {
        const p = principalOf(req);
        if (p.role === "provider") return (await store.tenants.list()).map(tenantView);
        const own = p.tenant === undefined ? undefined : await store.tenants.get(p.tenant);
        return own ? [tenantView(own)] : [];
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name",
      access: "tenant",
      summary: "Get a tenant",
      schema: { params: S.params.tenant, response: { 200: S.Tenant } },
      errors: [404],
      async handler(req) {
        return tenantView(await tenantOr404(req.params.name));
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/tenants/:name",
      access: "tenant",
      summary:
        "Change a tenant's domain, language, time zone, country, trunk (null: the default trunk), voicemail operator (an extension, or null), waiting announcement interval, who may dial the company-wide codes (extensions, PIN), its cap of simultaneous calls (maxCalls, audited), or whether its phones must encrypt (requireEncryption, audited)",
      schema: { params: S.params.tenant, body: S.TenantPatch, response: { 200: S.Tenant } },
      errors: [404, 409],
      async handler(req) {
        // A company's administrator runs its own settings; what the provider
        // sells or operates (domain, country, trunk, caps, encryption) is the provider's.
        const p = principalOf(req);
        if (p.role !== "provider" && req.body !== null && typeof req.body === "object") {
          const theirs = Object.keys(req.body).filter((k) => !ADMIN_TENANT_FIELDS.includes(k));
          if (theirs.length > 0) {
            throw new ApiError(
              403,
              "forbidden",
              `only the provider may change ${theirs.join(", ")} of a tenant; an administrator may change ${ADMIN_TENANT_FIELDS.join(", ")}`,
            );
          }
        }
        // Extensions keep the realm of their stored digests: phones keep
        // working, and move to the new realm when their password changes.
        const { companyCodes, ...input } = validateTenantPatch(req.body);
        const current = await tenantOr404(req.params.name);
        const missing: string[] = [];
        if (
          typeof input.operator === "string" &&
          !(await store.extensions.get(current.name, input.operator))
        ) {
          missing.push(`operator ${input.operator} is not an extension of tenant ${current.name}`);
        }
        for (const [i, n] of (companyCodes?.extensions ?? []).entries()) {
          if (!(await store.extensions.get(current.name, n))) {
            missing.push(`companyCodes.extensions[${i}] ${n} is not an extension of tenant ${current.name}`);
          }
        }
        if (missing.length > 0) throw new ValidationError(missing);
        const patch: TenantPatch = { ...input };
        if (companyCodes) {
          // Replaces the whole rule: a missing key keeps what was there.
          const extensions =
            companyCodes.extensions === undefined ? current.companyCodes.extensions : companyCodes.extensions;
          const pinHash =
            companyCodes.pin === undefined
              ? current.companyCodes.pinHash
              : companyCodes.pin === null
                ? null
                : await hashPin(companyCodes.pin);
          patch.companyCodes = {};
          if (extensions) patch.companyCodes.extensions = extensions;
          if (pinHash) patch.companyCodes.pinHash = pinHash;
        }
        const t = await store.tenants.update(req.params.name, patch, actorOf(req));
        if (!t) throw new ApiError(404, "not_found", `tenant ${req.params.name} does not exist`);
        return tenantView(t);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name",
      access: "provider",
      summary:
        "Delete a tenant and everything that belongs to it (its audit log too; the provider's log keeps tenant.delete)",
      schema: { params: S.params.tenant },
      errors: [404],
      async handler(req, reply) {
        if (!(await store.tenants.delete(req.params.name, actorOf(req)))) {
          throw new ApiError(404, "not_found", `tenant ${req.params.name} does not exist`);
        }
        await forgetAudio(req, req.params.name);
        // Its override's timer stops, its lamps go dark, its announcements and music go.
        try {
          await deps.company.forgetTenant(req.params.name);
        } catch (err) {
          req.log.error(
            { err, tenant: req.params.name },
            "forgetting the company's schedule and audio failed",
          );
        }
        return reply.code(204).send();
      },
    },
    {
      method: "POST",
      url: "/api/v1/tenants/:name/extensions",
      access: "tenant",
      summary: "Create an extension (a phone account)",
      schema: { params: S.params.tenant, body: S.NewExtension, response: { 201: S.Extension } },
      errors: [404, 409],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        const { password, ...input } = validateNewExtension(req.body, tenant);
        const e = await store.extensions.create({
          ...input,
          tenant: tenant.name,
          credentials: makeCredentials(input.number, tenant.domain, password),
        });
        return reply.code(201).send(await extensionWithVoicemail(e));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions",
      access: "tenant",
      summary: "List a tenant's extensions",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.Extension) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const all = await store.extensions.list(tenant.name);
        return Promise.all(all.map((e) => extensionWithVoicemail(e)));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number",
      access: "extension",
      summary: "Get an extension with its mailbox's options (never a password or PIN)",
      schema: { params: S.params.extension, response: { 200: S.Extension } },
      errors: [404],
      async handler(req) {
        return extensionWithVoicemail(await extensionOr404(req.params.name, req.params.number));
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/tenants/:name/extensions/:number",
      access: "tenant",
      summary:
        "Change an extension and its mailbox (voicemail); a new password is hashed in the tenant's current domain; a mailbox enabled without a PIN gets one, returned once",
      schema: { params: S.params.extension, body: S.ExtensionPatch, response: { 200: S.Extension } },
      errors: [404, 503],
      async handler(req) {
        const { name, number } = req.params;
        const tenant = await tenantOr404(name);
        await extensionOr404(name, number);
        const { password, voicemail, ...input } = validateExtensionPatch(req.body, number, tenant);
        // Everything is checked before anything changes.
        const service = voicemail === undefined ? undefined : voicemailOr503();
        const patch: ExtensionPatch = { ...input };
        if (password !== undefined) patch.credentials = makeCredentials(number, tenant.domain, password);
        const e = await store.extensions.update(name, number, patch);
        if (!e) throw new ApiError(404, "not_found", `extension ${number} does not exist in tenant ${name}`);
        let generatedPin: string | undefined;
        if (service && voicemail) {
          generatedPin = (await service.configure(name, number, voicemail, actorOf(req))).generatedPin;
        }
        return extensionWithVoicemail(e, generatedPin);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name/extensions/:number",
      access: "tenant",
      summary: "Delete an extension with its registrations, forwardings and mailbox (messages included)",
      schema: { params: S.params.extension },
      errors: [404],
      async handler(req, reply) {
        const { name, number } = req.params;
        if (!(await store.extensions.delete(name, number))) {
          throw new ApiError(404, "not_found", `extension ${number} does not exist in tenant ${name}`);
        }
        await forgetAudio(req, name, number);
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/forwarding",
      access: "extension",
      summary: "An extension's forwarding rules and its no-answer time",
      schema: { params: S.params.extension, response: { 200: S.Forwarding } },
      errors: [404],
      async handler(req) {
        const { name, number } = req.params;
        await tenantOr404(name);
        const e = await extensionOr404(name, number);
        return forwardingView(await store.forwarding.list(name, number), e);
      },
    },
    {
      method: "PUT",
      url: "/api/v1/tenants/:name/extensions/:number/forwarding",
      access: "extension",
      summary:
        "Set (a number or an extension), clear (null) or keep (missing) each forwarding rule; checked like *72 on a phone, audited",
      schema: { params: S.params.extension, body: S.ForwardingPut, response: { 200: S.Forwarding } },
      errors: [404],
      async handler(req) {
        const { name, number } = req.params;
        const tenant = await tenantOr404(name);
        const extension = await extensionOr404(name, number);
        const input = validateForwarding(req.body);
        const before = forwardingView(await store.forwarding.list(name, number), extension);
        const actor = actorOf(req);
        // setForwarding checks and writes one rule at a time; when a later
        // rule is refused, the earlier ones are put back (audited both ways)
        // so that a refused request changes nothing.
        const applied: ForwardingKind[] = [];
        const putBack = async () => {
          for (const kind of applied) {
            const old = before[kind];
            if (old === null) await store.forwarding.clear(name, number, kind, actor);
            else await store.forwarding.set({ tenant: name, extension: number, kind, target: old }, actor);
          }
        };
        for (const kind of FORWARDING_KINDS) {
          const typed = input.rules[kind];
          if (typed === undefined) continue;
          let result: Awaited<ReturnType<typeof setForwarding>>;
          try {
            result = await setForwarding(store, tenant, number, kind, typed, actor);
          } catch (err) {
            await putBack();
            throw err;
          }
          if (!result.ok) {
            await putBack();
            throw new ValidationError([refusal(kind, typed ?? "", result.why, number)]);
          }
          applied.push(kind);
        }
        if (input.noAnswerSeconds !== undefined) {
          await store.extensions.update(name, number, { noAnswerSeconds: input.noAnswerSeconds });
        }
        const e = await extensionOr404(name, number);
        return forwardingView(await store.forwarding.list(name, number), e);
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/messages",
      access: "extension",
      summary: "The mailbox's messages: new ones first, then saved (old) ones, oldest first in each",
      schema: {
        params: S.params.extension,
        querystring: S.VoicemailMessagesQuery,
        response: { 200: S.arrayOf(S.VoicemailMessage) },
      },
      errors: [404, 503],
      async handler(req) {
        const { name, number } = req.params;
        const vm = await mailboxOr404(name, number);
        const folder = req.query.folder;
        const all = await vm.messages(name, number);
        return all.filter((m) => folder === undefined || m.folder === folder).map(voicemailMessageView);
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/messages/:id",
      access: "extension",
      summary: "One message's metadata",
      schema: { params: S.params.message, response: { 200: S.VoicemailMessage } },
      errors: [404, 503],
      async handler(req) {
        const { name, number, id } = req.params;
        const vm = await mailboxOr404(name, number);
        return voicemailMessageView(await messageOr404(vm, name, number, id));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/messages/:id/audio",
      access: "extension",
      summary: "A message's audio (WAV, 8 kHz, 16-bit mono), streamed",
      schema: { params: S.params.message },
      produces: "audio/wav",
      errors: [404, 503],
      async handler(req, reply) {
        const { name, number, id } = req.params;
        const vm = await mailboxOr404(name, number);
        const m = await messageOr404(vm, name, number, id);
        return sendWav(reply, vm.audioPath(m), `the audio of message ${id}`, `${id}.wav`);
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/messages/:id",
      access: "extension",
      summary: 'Move a message to "new" or "old" (saved); the message-waiting lamp follows',
      schema: {
        params: S.params.message,
        body: S.VoicemailMessagePatch,
        response: { 200: S.VoicemailMessage },
      },
      errors: [404, 503],
      async handler(req) {
        const { name, number, id } = req.params;
        const vm = await mailboxOr404(name, number);
        const { folder } = validateMessagePatch(req.body);
        const m = await vm.setFolder(name, number, id, folder);
        if (!m)
          throw new ApiError(404, "not_found", `message ${id} is not in mailbox ${number} of tenant ${name}`);
        return voicemailMessageView(m);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/messages/:id",
      access: "extension",
      summary: "Delete a message and its audio; the message-waiting lamp follows",
      schema: { params: S.params.message },
      errors: [404, 503],
      async handler(req, reply) {
        const { name, number, id } = req.params;
        const vm = await mailboxOr404(name, number);
        if (!(await vm.removeMessage(name, number, id))) {
          throw new ApiError(404, "not_found", `message ${id} is not in mailbox ${number} of tenant ${name}`);
        }
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/greetings/:kind",
      access: "extension",
      summary: "A recorded greeting (unavailable, busy or name) as WAV; 404 when none is recorded",
      schema: { params: S.params.greeting },
      produces: "audio/wav",
      errors: [404, 503],
      async handler(req, reply) {
        const { name, number, kind } = req.params;
        const vm = await mailboxOr404(name, number);
        const path = await vm.greeting(name, number, kind as GreetingKind);
        if (!path) throw new ApiError(404, "not_found", `mailbox ${number} has no ${kind} greeting`);
        return sendWav(reply, path, `the ${kind} greeting`, `greeting-${kind}.wav`);
      },
    },
    {
      method: "PUT",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/greetings/:kind",
      access: "extension",
      summary: `Upload a greeting: a WAV file (Content-Type: audio/wav, any rate, at most ${GREETING_MAX_BYTES / 1024 / 1024} MiB), kept at 8 kHz at the prompts' loudness`,
      schema: { params: S.params.greeting },
      consumes: "audio/wav",
      errors: [404, 413, 415, 503],
      async handler(req, reply) {
        const { name, number, kind } = req.params;
        const vm = await mailboxOr404(name, number);
        const type = (req.headers["content-type"] ?? "").split(";", 1)[0].trim().toLowerCase();
        if (!Buffer.isBuffer(req.body) || !WAV_TYPES.includes(type)) {
          throw new ApiError(
            415,
            "unsupported_media_type",
            "a greeting is a WAV file: send it with Content-Type: audio/wav",
          );
        }
        try {
          await vm.uploadGreeting(name, number, kind as GreetingKind, req.body);
        } catch (err) {
          if (err instanceof InvalidGreeting) throw new ValidationError([err.message]);
          throw err;
        }
        return reply.code(204).send();
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/greetings/:kind",
      access: "extension",
      summary: "Delete a greeting: callers hear the default one again",
      schema: { params: S.params.greeting },
      errors: [404, 503],
      async handler(req, reply) {
        const { name, number, kind } = req.params;
        const vm = await mailboxOr404(name, number);
        if (!(await vm.deleteGreeting(name, number, kind as GreetingKind))) {
          throw new ApiError(404, "not_found", `mailbox ${number} has no ${kind} greeting`);
        }
        return reply.code(204).send();
      },
    },
    {
      method: "POST",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/unlock",
      access: "tenant",
      summary: "Lift a lockout of remote access after wrong PINs (and of the callers it locked); audited",
      schema: { params: S.params.extension, response: { 200: S.MailboxOptions } },
      errors: [404, 503],
      async handler(req) {
        const { name, number } = req.params;
        const vm = await mailboxOr404(name, number);
        await vm.unlock(name, number, actorOf(req));
        return voicemailView(
          await store.voicemail.settings(name, number),
          await vm.remoteLockedUntil(name, number),
        );
      },
    },
    {
      method: "POST",
      url: "/api/v1/tenants/:name/extensions/:number/voicemail/pin-reset",
      access: "tenant",
      summary: "Give the mailbox a new random PIN, returned this once; audited",
      schema: { params: S.params.extension, response: { 200: S.PinReset } },
      errors: [404, 503],
      async handler(req) {
        const { name, number } = req.params;
        const vm = await mailboxOr404(name, number);
        return { pin: await vm.resetPin(name, number, actorOf(req)) };
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/features",
      access: "tenant",
      summary: "The features enabled on request for this tenant",
      schema: { params: S.params.tenant, response: { 200: S.FeatureSwitches } },
      errors: [404],
      async handler(req) {
        return (await tenantOr404(req.params.name)).features;
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/tenants/:name/features",
      access: "provider",
      summary: "Switch features on or off for this tenant (audited)",
      schema: { params: S.params.tenant, body: S.FeatureSwitchesPatch, response: { 200: S.FeatureSwitches } },
      errors: [404],
      async handler(req) {
        const t = await store.tenants.update(
          req.params.name,
          { features: validateFeatureSwitches(req.body) },
          actorOf(req),
        );
        if (!t) throw new ApiError(404, "not_found", `tenant ${req.params.name} does not exist`);
        return t.features;
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/feature-codes",
      access: "tenant",
      summary: "The tenant's feature codes (defaults with its changes)",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.FeatureCode) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return store.featureCodes.list(tenant.name);
      },
    },
    {
      method: "PUT",
      url: "/api/v1/tenants/:name/feature-codes/:action",
      access: "tenant",
      summary: "Give an action another code; refused when it equals or prefixes another code",
      schema: {
        params: S.params.featureCode,
        body: S.FeatureCodeBody,
        response: { 200: S.arrayOf(S.FeatureCode) },
      },
      errors: [404, 409],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const { action, code } = validateFeatureCode(
          req.params.action,
          (req.body as { code?: unknown }).code,
        );
        await store.featureCodes.set(tenant.name, action, code);
        // A lamp of *11 or *20 follows its code: the old one goes dark, the new one shows the state.
        await refreshCompany(deps.company, req, tenant.name);
        return store.featureCodes.list(tenant.name);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name/feature-codes",
      access: "tenant",
      summary: "Return to the default feature codes",
      schema: { params: S.params.tenant },
      errors: [404],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        await store.featureCodes.reset(tenant.name);
        await refreshCompany(deps.company, req, tenant.name);
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/policy",
      access: "tenant",
      summary: "What the tenant may dial through the trunk (forwarded calls included)",
      schema: { params: S.params.tenant, response: { 200: S.DiallingPolicy } },
      errors: [404],
      async handler(req) {
        return (await tenantOr404(req.params.name)).policy;
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/tenants/:name/policy",
      access: "provider",
      summary: "Allow or refuse costly destinations, limit simultaneous outside calls (audited)",
      schema: { params: S.params.tenant, body: S.DiallingPolicyPatch, response: { 200: S.DiallingPolicy } },
      errors: [404],
      async handler(req) {
        const t = await store.tenants.update(
          req.params.name,
          { policy: validatePolicyPatch(req.body) },
          actorOf(req),
        );
        if (!t) throw new ApiError(404, "not_found", `tenant ${req.params.name} does not exist`);
        return t.policy;
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/audit",
      access: "tenant",
      summary: "Who changed forwarding, policy, features and mailboxes (PINs only as changed), newest first",
      schema: {
        params: S.params.tenant,
        querystring: S.AuditQuery,
        response: { 200: S.arrayOf(S.AuditEvent) },
      },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        const limit = validateAuditLimit(req.query.limit);
        return (await store.audit.list(tenant.name, { limit })).map(auditView);
      },
    },
    {
      method: "GET",
      url: "/api/v1/audit",
      access: "provider",
      summary:
        "The provider's own log: who created, changed and deleted trunks (never a password), created and deleted companies, and made, changed and deleted provider users; newest first",
      schema: { querystring: S.AuditQuery, response: { 200: S.arrayOf(S.ProviderAuditEvent) } },
      async handler(req) {
        const limit = validateAuditLimit(req.query.limit);
        return (await store.audit.listProvider({ limit })).map(auditView);
      },
    },
    {
      method: "POST",
      url: "/api/v1/tenants/:name/numbers",
      access: "provider",
      summary:
        "Give the tenant a public number (DID) and say where its calls go; the first is the main number",
      schema: { params: S.params.tenant, body: S.NewTenantNumber, response: { 201: S.TenantNumber } },
      errors: [404, 409],
      async handler(req, reply) {
        const tenant = await tenantOr404(req.params.name);
        const input = validateNewNumber(req.body, tenant);
        await checkDestinationExists(store, tenant.name, input.destination);
        const n = await store.numbers.add({ tenant: tenant.name, ...input });
        return reply.code(201).send(numberView(n));
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/numbers",
      access: "tenant",
      summary: "The tenant's public numbers, main number first",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.TenantNumber) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return (await store.numbers.list(tenant.name)).map(numberView);
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/tenants/:name/numbers/:number",
      access: "provider",
      summary: "Take a public number (E.164, URL-encoded: %2B41215550100) from the tenant",
      schema: { params: S.params.number },
      errors: [404],
      async handler(req, reply) {
        const { name, number } = req.params;
        await tenantOr404(name);
        if (!(await store.numbers.delete(name, number))) {
          throw new ApiError(404, "not_found", `number ${number} does not belong to tenant ${name}`);
        }
        return reply.code(204).send();
      },
    },
    {
      method: "POST",
      url: "/api/v1/trunks",
      access: "provider",
      summary: "Create a SIP trunk to a carrier; the first one is the default",
      schema: { body: S.NewTrunk, response: { 201: S.Trunk } },
      errors: [409],
      async handler(req, reply) {
        const t = await store.trunks.create(validateNewTrunk(req.body), actorOf(req));
        pbx.trunksChanged?.();
        return reply.code(201).send(trunkView(t, pbx.trunkRegistration?.(t.name)));
      },
    },
    {
      method: "GET",
      url: "/api/v1/trunks",
      access: "provider",
      summary: "List the trunks with their registration state",
      schema: { response: { 200: S.arrayOf(S.Trunk) } },
      async handler() {
        return (await store.trunks.list()).map((t) => trunkView(t, pbx.trunkRegistration?.(t.name)));
      },
    },
    {
      method: "GET",
      url: "/api/v1/trunks/:name",
      access: "provider",
      summary: "Get a trunk (never its password) with its registration state",
      schema: { params: S.params.trunk, response: { 200: S.Trunk } },
      errors: [404],
      async handler(req) {
        const t = await trunkOr404(req.params.name);
        return trunkView(t, pbx.trunkRegistration?.(t.name));
      },
    },
    {
      method: "PATCH",
      url: "/api/v1/trunks/:name",
      access: "provider",
      summary: "Change a trunk; isDefault true moves the default here; username/password null removes them",
      schema: { params: S.params.trunk, body: S.TrunkPatch, response: { 200: S.Trunk } },
      errors: [404, 409],
      async handler(req) {
        const current = await trunkOr404(req.params.name);
        const t = await store.trunks.update(
          current.name,
          validateTrunkPatch(req.body, current),
          actorOf(req),
        );
        pbx.trunksChanged?.();
        if (!t) throw new ApiError(404, "not_found", `trunk ${req.params.name} does not exist`);
        return trunkView(t, pbx.trunkRegistration?.(t.name));
      },
    },
    {
      method: "DELETE",
      url: "/api/v1/trunks/:name",
      access: "provider",
      summary: "Delete a trunk; 409 while a tenant names it. The oldest remaining becomes the default",
      schema: { params: S.params.trunk },
      errors: [404, 409],
      async handler(req, reply) {
        if (!(await store.trunks.delete(req.params.name, actorOf(req)))) {
          throw new ApiError(404, "not_found", `trunk ${req.params.name} does not exist`);
        }
        pbx.trunksChanged?.();
        return reply.code(204).send();
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/registrations",
      access: "tenant",
      summary: "Phones currently registered in this tenant",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.Registration) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return pbx.registrations(tenant.name);
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/subscriptions",
      access: "tenant",
      summary: "Event subscriptions of this tenant's phones: busy lamps, presence, message waiting",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.Subscription) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return pbx.subscriptions?.(tenant.name) ?? [];
      },
    },
    ...companyRoutes({
      store,
      company: deps.company,
      actorOf,
      tenantOr404,
      sendWav,
    }),
    {
      method: "GET",
      url: "/api/v1/calls",
      access: "provider",
      summary: "Calls in progress, all tenants",
      schema: { response: { 200: S.arrayOf(S.Call) } },
      async handler() {
        return pbx.calls();
      },
    },
    {
      method: "GET",
      url: "/api/v1/tenants/:name/calls",
      access: "tenant",
      summary: "The tenant's calls in progress",
      schema: { params: S.params.tenant, response: { 200: S.arrayOf(S.Call) } },
      errors: [404],
      async handler(req) {
        const tenant = await tenantOr404(req.params.name);
        return pbx.calls().filter((c) => c.tenant === tenant.name);
      },
    },
    ...sessionRoutes({ store, sessions, loginGuard }),
    ...userRoutes({ store, sessions, loginGuard }),
    ...tokenRoutes({ store, tenantOr404 }),
    ...liveRoutes({ pbx, store, clock }),
    ...historyRoutes({ store, tenantOr404 }),
    ...softphoneRoutes({ store, tenantOr404, sipWebSocket: deps.sipWebSocket !== undefined }),
    ...metricsRoutes({ pbx, token: deps.metricsToken }),
  ];

  const openapi = buildOpenApi(routes, API_VERSION);

  // Who is asking, and whether the route is theirs: before any body is read.
  addGuard(app, { store, clock, sessions, tokenGuard, verifyAdminToken: deps.verifyToken });
  app.addHook("onClose", () => loginGuard.close());
  addBodyTimeout(app, {
    clock,
    timeoutMs: deps.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    bytesPerSecond: DEFAULT_BODY_BYTES_PER_SECOND,
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    if (err instanceof ValidationError) return reply.code(400).send(errorBody("bad_request", err.message));
    if (err instanceof StoreConflict) return reply.code(409).send(errorBody("conflict", err.message));
    const fe = err as FastifyError;
    if (fe.validation) return reply.code(400).send(errorBody("bad_request", fe.message));
    const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
    if (status === 415) {
      return reply
        .code(415)
        .send(errorBody(codeForStatus(415), "the body must be JSON (Content-Type: application/json)"));
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(codeForStatus(status), fe.message));
    }
    req.log.error({ err }, "API request failed");
    return reply.code(500).send(errorBody("internal", "internal error; see the server log"));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody("not_found", `no route ${req.method} ${req.url.split("?", 1)[0]}`));
  });

  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      schema: r.schema,
      config: { access: r.access },
      ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
      handler: r.handler as (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    });
  }
  return app;
}

/**
 * The upgrade of `GET /sip` to a WebSocket for SIP (RFC 7118), through
 * @fastify/websocket. Refused before the upgrade, the socket closed after
 * the answer: an upgrade without `sip` among its subprotocols (§4, 400), and
 * an upgrade to any other path (404), whose socket nothing would close
 * otherwise (Node leaves an upgrade's socket to its listener).
 */
function addSipWebSocket(app: FastifyInstance, opts: NonNullable<ApiDeps["sipWebSocket"]>): void {
  // First of the onRequest hooks: before the admin token is asked for.
  app.addHook("onRequest", async (req, reply) => {
    if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") return;
    const path = req.url.split("?", 1)[0];
    const offered = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim());
    let refusal: ApiError | undefined;
    if (path !== SIP_WEBSOCKET_PATH) {
      refusal = new ApiError(404, "not_found", `no WebSocket at ${path}: SIP over WebSocket is at /sip`);
    } else if (!offered.includes(SIP_WEBSOCKET_PROTOCOL)) {
      refusal = new ApiError(
        400,
        "bad_request",
        "SIP over WebSocket needs the subprotocol sip (Sec-WebSocket-Protocol: sip, RFC 7118 §4)",
      );
    }
    if (!refusal) return;
    reply.raw.once("finish", () => req.raw.socket.destroy());
    throw refusal;
  });
  app.register(fastifyWebSocket, {
    options: {
      maxPayload: opts.maxMessageBytes,
      // The agreed subprotocol is sip even when the client offered others first.
      handleProtocols: (offered: Set<string>) =>
        offered.has(SIP_WEBSOCKET_PROTOCOL) ? SIP_WEBSOCKET_PROTOCOL : false,
    },
    // A socket's error (a client gone, a message over the limit) closes it;
    // a client can cause one at will, so it is no error of ours.
    errorHandler: (err, socket, req) => {
      req.log.debug({ err, source: req.ip }, "WebSocket closed on an error");
      socket.terminate();
    },
  });
  app.register(async (scope) => {
    scope.get(SIP_WEBSOCKET_PATH, { websocket: true }, (socket, req) => {
      try {
        opts.onConnection(socket, req);
      } catch (err) {
        // A fault of ours, not the client's: said as such, and the socket dropped.
        req.log.error({ err, source: req.ip }, "taking over a SIP WebSocket failed");
        socket.terminate();
      }
    });
  });
}
