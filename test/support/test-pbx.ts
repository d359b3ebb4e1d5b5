// Starts a whole vpbx on loopback for an integration test: ephemeral SIP and
// HTTP ports, a fresh data directory, a known admin token, and helpers to
// create tenants and extensions through the real REST API.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config.ts";
import { type RunningVpbx, startVpbx } from "../../src/main.ts";
import type { AppRegistry } from "../../src/pbx/apps/dispatcher.ts";
import type { LoadProbe } from "../../src/pbx/security/overload-guard.ts";
import type { Clock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/log.ts";
import { createDatabase } from "./postgres.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface TestPbx {
  readonly vpbx: RunningVpbx;
  readonly config: Config;
  readonly sip: { host: string; port: number };
  readonly dataDir: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  addTenant(name: string, domain: string, extra?: Record<string, unknown>): Promise<void>;
  addExtension(tenant: string, number: string, password: string, displayName?: string): Promise<void>;
  restart(): Promise<TestPbx>;
  stop(): Promise<void>;
}

export interface TestPbxOptions {
  clock?: Clock;
  dataDir?: string;
  mediaTimeoutSeconds?: number;
  keepDataDir?: boolean;
  apps?: AppRegistry;
  /** Overload control's load reading (default: the real event loop; off unless config.overloadDelayMs is set). */
  loadProbe?: LoadProbe;
  sipPort?: number;
  httpPort?: number;
  /** How many RTP port pairs the PBX may use (default 200). */
  rtpPairs?: number;
  /** The mail server of voicemail e-mails (default: none). */
  smtpUrl?: string;
  /** A PostgreSQL database to keep across a restart (set by restart()). */
  databaseUrl?: string;
  /** Settings written over the test defaults (e.g. the TCP caps: tcpMaxPerSource). */
  config?: Partial<Config>;
}

/**
 * With VPBX_TEST_STORE=postgres the PBX of every integration test runs on a
 * fresh PostgreSQL database of the run's server (VPBX_TEST_PG_URL) instead
 * of SQLite in its data directory.
 */
async function testDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  if (process.env.VPBX_TEST_STORE !== "postgres") return undefined;
  const server = process.env.VPBX_TEST_PG_URL;
  if (!server) throw new Error("VPBX_TEST_STORE=postgres needs VPBX_TEST_PG_URL (npm test starts a server)");
  return createDatabase(server);
}

/** Prompts synthesised once for every test run, not once per test. */
export const SHARED_PROMPT_CACHE = join(tmpdir(), "vpbx-test-prompt-cache");

export async function startTestPbx(opts: TestPbxOptions = {}): Promise<TestPbx> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "vpbx-it-")));
  const database = opts.databaseUrl ? undefined : await testDatabase();
  const databaseUrl = opts.databaseUrl ?? database?.url;
  // Tests run two files at once: give each its own slice of RTP ports.
  const base = 20000 + 2 * Math.floor(Math.random() * 15000);
  const config: Config = {
    dataDir,
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1",
    sipPort: opts.sipPort ?? 0,
    httpPort: opts.httpPort ?? 0,
    rtpPorts: { min: base, max: base + 2 * (opts.rtpPairs ?? 200) - 1 },
    // Every integration test's calls have their media on a worker thread (0: on the main thread).
    mediaThreads: Number(process.env.VPBX_TEST_MEDIA_THREADS ?? 1),
    // Two test files share two cores: the event loop lags now and then, and
    // a test does not want its calls refused for it. The overload test turns it on.
    overloadDelayMs: 0,
    adminToken: ADMIN_TOKEN,
    logLevel: process.env.VPBX_TEST_LOG ?? "silent",
    mediaTimeoutSeconds: opts.mediaTimeoutSeconds ?? 60,
    digestAlgorithms: ["MD5"],
    smtpFrom: "vpbx@test.invalid",
    smtpUrl: opts.smtpUrl,
    databaseUrl,
    ...opts.config,
  };
  const vpbx = await startVpbx(config, {
    clock: opts.clock,
    log: createLogger(config.logLevel),
    warmPrompts: false,
    promptCacheDir: SHARED_PROMPT_CACHE,
    apps: opts.apps,
    loadProbe: opts.loadProbe,
  });
  const baseUrl = `http://127.0.0.1:${vpbx.httpPort}`;
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const expectCreated = (what: string, res: { status: number; body: unknown }) => {
    if (res.status !== 201) throw new Error(`creating ${what}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const self: TestPbx = {
    vpbx,
    config,
    sip: { host: "127.0.0.1", port: vpbx.sipPort },
    dataDir,
    api,
    async addTenant(name, domain, extra = {}) {
      expectCreated(`tenant ${name}`, await api("POST", "/api/v1/tenants", { name, domain, ...extra }));
    },
    async addExtension(tenant, number, password, displayName = `Ext ${number}`) {
      expectCreated(
        `extension ${number}`,
        await api("POST", `/api/v1/tenants/${tenant}/extensions`, { number, password, displayName }),
      );
    },
    async restart() {
      await vpbx.stop();
      // Same ports, as a restarted server would have: phones keep their configuration.
      return startTestPbx({ ...opts, dataDir, databaseUrl, sipPort: vpbx.sipPort, httpPort: vpbx.httpPort });
    },
    async stop() {
      await vpbx.stop();
      if (!opts.keepDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        await database?.drop();
      }
    },
  };
  return self;
}
