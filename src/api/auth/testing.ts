// For the auth tests: the whole API over a real store (SQLite in a temporary
// directory) on a fake clock, two companies (acme: extensions 101 and 102;
// bistro: 201), and helpers to log in and to call with a token or a cookie.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";
import { CompanyAudioFiles } from "../../pbx/company/company-audio.ts";
import { CompanyService } from "../../pbx/company/company-service.ts";
import { openStore } from "../../store/sql/open-store.ts";
import type { Store } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import type { CallView } from "../pbx-view.ts";
import { type ApiDeps, buildApi } from "../server.ts";
import { SESSION_COOKIE } from "./sessions.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
/** Good enough for zxcvbn (score 3+), and not on any list. */
export const GOOD_PASSWORD = "Quokka-juggles-7-plums!";
export const OTHER_GOOD_PASSWORD = "Marmot-sails-to-Ithaca-42";

export interface TestApi {
  app: FastifyInstance;
  store: Store;
  clock: FakeClock;
  dataDir: string;
  /** The calls the fake PBX says are in progress. */
  calls: CallView[];
  /** The same data directory, a new store and a new server (a restart). */
  restart(): Promise<TestApi>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  dataDir?: string;
  clock?: FakeClock;
  deps?: Partial<ApiDeps>;
}

export async function testApi(opts: TestApiOptions = {}): Promise<TestApi> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "vpbx-auth-"));
  const clock = opts.clock ?? new FakeClock(Date.UTC(2026, 2, 2, 9, 0, 0));
  const store = await openStore({ dataDir, clock });
  const calls: CallView[] = [];
  const audio = new CompanyAudioFiles({
    store,
    dataDir,
    log: silentLogger(),
    speak: async () => new Int16Array(8000),
    convert: async () => {
      throw new Error("no conversion in these tests");
    },
  });
  const company = new CompanyService({ store, clock, log: silentLogger(), audio });
  const app = buildApi({
    store,
    pbx: { registrations: async () => [], calls: () => calls },
    company,
    verifyToken: (t) => t === ADMIN_TOKEN,
    log: silentLogger(),
    isReady: () => true,
    clock,
    ...opts.deps,
  });
  await app.ready();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    company.close();
    await app.close();
    await store.close();
  };
  return {
    app,
    store,
    clock,
    dataDir,
    calls,
    async restart() {
      await close();
      return testApi({ ...opts, dataDir, clock });
    },
    async close() {
      await close();
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A console session as the browser holds it: the cookie and the CSRF token the login returned. */
export interface Session {
  cookie: string;
  csrf: string;
}

export interface CallOptions {
  body?: unknown;
  /** A bearer token (admin or API token). */
  token?: string;
  /** A session: its cookie, and its CSRF token on requests that change something unless `csrf` says otherwise. */
  session?: Session;
  /** The X-CSRF-Token to send (null: none), instead of the session's. */
  csrf?: string | null;
  from?: string;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON of any route, read by the tests as they expect it
  body: any;
  raw: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export async function call(
  app: FastifyInstance,
  method: Method,
  url: string,
  o: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.session) {
    headers.cookie = `${SESSION_COOKIE}=${o.session.cookie}`;
    const csrf = o.csrf === undefined ? o.session.csrf : o.csrf;
    if (csrf !== null && method !== "GET") headers["x-csrf-token"] = csrf;
  } else if (typeof o.csrf === "string") {
    headers["x-csrf-token"] = o.csrf;
  }
  const opts: InjectOptions = { method, url, headers, ...(o.from ? { remoteAddress: o.from } : {}) };
  if (o.body !== undefined) opts.payload = o.body as InjectOptions["payload"];
  const res = await app.inject(opts);
  const json = String(res.headers["content-type"] ?? "").startsWith("application/json");
  return {
    status: res.statusCode,
    body: json && res.body ? JSON.parse(res.body) : undefined,
    raw: res.body,
    headers: res.headers,
  };
}

/** The session cookie's value in a Set-Cookie answer. */
export function sessionCookie(a: Answer): string | undefined {
  const set = a.headers["set-cookie"];
  const all = Array.isArray(set) ? set : set === undefined ? [] : [String(set)];
  for (const c of all) {
    const m = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(c);
    if (m) return m[1];
  }
  return undefined;
}

export async function login(
  app: FastifyInstance,
  username: string,
  password: string,
  from = "192.0.2.10",
): Promise<{ answer: Answer; session?: Session }> {
  const answer = await call(app, "POST", "/api/v1/session", { body: { username, password }, from });
  const cookie = sessionCookie(answer);
  return {
    answer,
    ...(answer.status === 200 && cookie
      ? { session: { cookie, csrf: answer.body.csrfToken as string } }
      : {}),
  };
}

/** Logs in and fails loudly when that does not work. */
export async function loggedIn(
  app: FastifyInstance,
  username: string,
  password = GOOD_PASSWORD,
): Promise<Session> {
  const { answer, session } = await login(app, username, password);
  if (!session) throw new Error(`login of ${username} failed: ${answer.status} ${answer.raw}`);
  return session;
}

/** Two companies with the admin token: acme (101, 102) and bistro (201). */
export async function seedCompanies(app: FastifyInstance): Promise<void> {
  const must = async (method: Method, url: string, body: unknown) => {
    const r = await call(app, method, url, { token: ADMIN_TOKEN, body });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.raw}`);
  };
  await must("POST", "/api/v1/tenants", { name: "acme", domain: "acme.test", language: "de" });
  await must("POST", "/api/v1/tenants", { name: "bistro", domain: "bistro.test", language: "it" });
  for (const [tenant, number] of [
    ["acme", "101"],
    ["acme", "102"],
    ["bistro", "201"],
  ]) {
    await must("POST", `/api/v1/tenants/${tenant}/extensions`, {
      number,
      password: "correct-horse-battery",
      displayName: `Phone ${number}`,
    });
  }
}

/** A console user made with the admin token. */
export async function addUser(
  app: FastifyInstance,
  user: {
    username: string;
    role: "provider" | "admin" | "user";
    tenant?: string;
    extension?: string;
    language?: string;
  },
  password = GOOD_PASSWORD,
): Promise<void> {
  const r = await call(app, "POST", "/api/v1/users", { token: ADMIN_TOKEN, body: { ...user, password } });
  if (r.status !== 201) throw new Error(`user ${user.username}: ${r.status} ${r.raw}`);
}

/** An API token made with the admin token; returns the whole token. */
export async function addToken(
  app: FastifyInstance,
  tenant: string,
  body: { role?: "admin" | "user"; extension?: string; description?: string } = {},
): Promise<string> {
  const r = await call(app, "POST", `/api/v1/tenants/${tenant}/tokens`, { token: ADMIN_TOKEN, body });
  if (r.status !== 201) throw new Error(`token of ${tenant}: ${r.status} ${r.raw}`);
  return r.body.token as string;
}
