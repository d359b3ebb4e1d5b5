// The `vpbx` command's logic, apart from process plumbing so that tests run
// it in-process. Tenant, extension, trunk and number commands open the store
// directly and apply the API's validation rules (src/api/validation.ts), so
// the CLI and the API refuse the same input with the same words.
import { join, sep } from "node:path";
import { parseArgs } from "node:util";
import { generatePassword, hashPassword, passwordProblem } from "../api/auth/passwords.ts";
import { normaliseUsername, usernameProblem } from "../api/auth/usernames.ts";
import { extensionView } from "../api/server.ts";
import {
  checkDestinationExists,
  checkLanguage,
  ValidationError,
  validateNewExtension,
  validateNewNumber,
  validateNewTenant,
  validateNewTrunk,
} from "../api/validation.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { makeCredentials } from "../store/credentials.ts";
import { openStore } from "../store/sql/open-store.ts";
import { loadSecretKey } from "../store/sql/secret-key.ts";
import {
  type Actor,
  type DestinationSpec,
  type Language,
  type NewConsoleUser,
  type Store,
  StoreConflict,
} from "../store/types.ts";
import { type Clock, SystemClock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/log.ts";

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  clock?: Clock;
  /** Starts the server; injected by main.ts (and by tests). */
  start?(config: Config): Promise<{ stop(): Promise<void>; httpPort: number; sipPort: number }>;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal?(): Promise<void>;
  /**
   * The standard input when it is piped (`echo secret | vpbx user add …`);
   * undefined when it is a terminal. Defaults to the process's own stdin.
   */
  readStdin?(): Promise<string | undefined>;
  /** Defaults to buildPromptCache of src/prompts, loaded only when needed. */
  buildPrompts?(opts: {
    dataDir: string;
    languages?: Language[];
    log: Logger;
  }): Promise<{ generated: number; cached: number; ms: number }>;
}

/** Exit statuses: 0 done, 1 refused or failed, 2 misused (unknown command or option). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

class Failure extends Error {}

interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: "string" | "boolean"; short?: string }>;
  positionals: string[];
  run(ctx: Context): Promise<number>;
}

interface Context {
  io: CliIo;
  args: string[];
  values: Record<string, string | boolean | undefined>;
  config(): Config;
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
}

const COMMANDS: Record<string, Command> = {
  start: {
    usage: "vpbx start",
    summary: "run the PBX (SIP, media and the REST API) until SIGTERM or SIGINT",
    positionals: [],
    async run({ io, config }) {
      const cfg = config();
      if (!io.start || !io.stopSignal) throw new Failure("this build cannot start a server");
      // Listen for signals first: one that arrives while starting stops the
      // server as soon as it is up.
      const stopRequested = io.stopSignal();
      let running: Awaited<ReturnType<NonNullable<CliIo["start"]>>>;
      try {
        running = await io.start(cfg);
      } catch (err) {
        throw new Failure(`cannot start: ${startProblem(err, cfg)}`);
      }
      io.out(`vpbx: running, SIP on port ${running.sipPort}, API on port ${running.httpPort}`);
      await stopRequested;
      await running.stop();
      return EXIT_OK;
    },
  },
  "tenant add": {
    usage:
      "vpbx tenant add <name> <domain> [--language fr|de|it|en] [--timezone Europe/Zurich] [--country CH]",
    summary: "create a tenant (a company) with its SIP domain",
    options: { language: { type: "string" }, timezone: { type: "string" }, country: { type: "string" } },
    positionals: ["name", "domain"],
    async run({ io, args, values, withStore }) {
      const input = validateNewTenant({
        name: args[0],
        domain: args[1],
        ...defined({ language: values.language, timezone: values.timezone, country: values.country }),
      });
      const t = await withStore((s) => s.tenants.create(input, cliActor(io)));
      io.out(
        `tenant ${t.name} created: domain ${t.domain}, language ${t.language}, ${t.timezone}, ${t.country}`,
      );
      return EXIT_OK;
    },
  },
  "tenant list": {
    usage: "vpbx tenant list",
    summary: "list the tenants",
    positionals: [],
    async run({ io, withStore }) {
      const tenants = await withStore((s) => s.tenants.list());
      if (tenants.length === 0) io.out("no tenants");
      const rows = tenants.map((t) => [
        t.name,
        t.domain,
        t.language,
        t.timezone,
        t.country,
        features(t.features),
      ]);
      table(io, ["NAME", "DOMAIN", "LANG", "TIMEZONE", "COUNTRY", "FEATURES"], rows);
      return EXIT_OK;
    },
  },
  "tenant remove": {
    usage: "vpbx tenant remove <name>",
    summary: "delete a tenant with all its extensions and settings",
    positionals: ["name"],
    async run({ io, args, withStore }) {
      if (!(await withStore((s) => s.tenants.delete(args[0], cliActor(io)))))
        throw new Failure(`tenant ${args[0]} does not exist`);
      io.out(`tenant ${args[0]} removed`);
      return EXIT_OK;
    },
  },
  "ext add": {
    usage:
      'vpbx ext add <tenant> <number> --password <secret> [--name "Alice Muster"] [--language fr|de|it|en] [--ring-timeout 30]',
    summary: "create an extension (a phone account)",
    options: {
      password: { type: "string" },
      name: { type: "string" },
      language: { type: "string" },
      "ring-timeout": { type: "string" },
    },
    positionals: ["tenant", "number"],
    async run({ io, args, values, withStore }) {
      const [tenantName, number] = args;
      const ring = values["ring-timeout"];
      const input = validateNewExtension({
        number,
        password: values.password,
        displayName: values.name ?? number,
        ...defined({
          language: values.language,
          ringTimeoutSeconds:
            typeof ring === "string" ? (/^[0-9]+$/.test(ring) ? Number(ring) : ring) : undefined,
        }),
      });
      const e = await withStore(async (s) => {
        const tenant = await s.tenants.get(tenantName);
        if (!tenant) throw new Failure(`tenant ${tenantName} does not exist`);
        return s.extensions.create({
          tenant: tenant.name,
          number: input.number,
          displayName: input.displayName,
          language: input.language,
          ringTimeoutSeconds: input.ringTimeoutSeconds,
          credentials: makeCredentials(input.number, tenant.domain, input.password),
        });
      });
      io.out(`extension ${e.number} (${e.displayName}) created in tenant ${e.tenant}`);
      return EXIT_OK;
    },
  },
  "ext list": {
    usage: "vpbx ext list <tenant>",
    summary: "list a tenant's extensions",
    positionals: ["tenant"],
    async run({ io, args, withStore }) {
      const list = await withStore(async (s) => {
        if (!(await s.tenants.get(args[0]))) throw new Failure(`tenant ${args[0]} does not exist`);
        return s.extensions.list(args[0]);
      });
      if (list.length === 0) io.out(`no extensions in tenant ${args[0]}`);
      const rows = list
        .map(extensionView)
        .map((e) => [e.number, e.displayName, e.language ?? "-", String(e.ringTimeoutSeconds)]);
      table(io, ["NUMBER", "NAME", "LANG", "RING(S)"], rows);
      return EXIT_OK;
    },
  },
  "ext remove": {
    usage: "vpbx ext remove <tenant> <number>",
    summary: "delete an extension with its registrations and forwardings",
    positionals: ["tenant", "number"],
    async run({ io, args, withStore }) {
      const [tenant, number] = args;
      if (!(await withStore((s) => s.extensions.delete(tenant, number)))) {
        throw new Failure(`extension ${number} does not exist in tenant ${tenant}`);
      }
      io.out(`extension ${number} removed from tenant ${tenant}`);
      return EXIT_OK;
    },
  },
  "trunk add": {
    usage:
      "vpbx trunk add <name> <host> [--port 5060] [--transport udp|tcp|tls] [--username <user> --password <secret>] [--register] [--national] [--inbound ADDR,ADDR]",
    summary:
      "create a SIP trunk to a carrier (the first one is the default); --register keeps a registration alive, --national writes numbers as 0215550100",
    options: {
      port: { type: "string" },
      transport: { type: "string" },
      username: { type: "string" },
      password: { type: "string" },
      register: { type: "boolean" },
      national: { type: "boolean" },
      inbound: { type: "string" },
    },
    positionals: ["name", "host"],
    async run({ io, args, values, withStore }) {
      const port = values.port;
      const input = validateNewTrunk({
        name: args[0],
        host: args[1],
        ...defined({
          port: typeof port === "string" ? (/^[0-9]{1,6}$/.test(port) ? Number(port) : port) : undefined,
          transport: values.transport,
          username: values.username,
          password: values.password,
          register: values.register,
          numberFormat: values.national ? "national" : undefined,
          inboundAddresses:
            typeof values.inbound === "string"
              ? values.inbound
                  .split(",")
                  .map((a) => a.trim())
                  .filter((a) => a !== "")
              : undefined,
        }),
      });
      const t = await withStore((s) => s.trunks.create(input, cliActor(io)));
      const auth = t.username ? `, digest as ${t.username}` : "";
      const registers = t.register ? ", registers" : "";
      const isDefault = t.isDefault ? ", the default trunk" : "";
      io.out(`trunk ${t.name} created: ${t.host}:${t.port} ${t.transport}${auth}${registers}${isDefault}`);
      return EXIT_OK;
    },
  },
  "trunk list": {
    usage: "vpbx trunk list",
    summary: "list the trunks (never their passwords)",
    positionals: [],
    async run({ io, withStore }) {
      const trunks = await withStore((s) => s.trunks.list());
      if (trunks.length === 0) io.out("no trunks");
      const rows = trunks.map((t) => [
        t.name,
        t.host,
        String(t.port),
        t.transport,
        t.numberFormat,
        t.username ?? "-",
        t.register ? "yes" : "no",
        t.isDefault ? "yes" : "",
        t.inboundAddresses.join(",") || "-",
      ]);
      table(
        io,
        ["NAME", "HOST", "PORT", "TRANSPORT", "FORMAT", "USER", "REGISTER", "DEFAULT", "INBOUND"],
        rows,
      );
      return EXIT_OK;
    },
  },
  "trunk remove": {
    usage: "vpbx trunk remove <name>",
    summary: "delete a trunk (refused while a tenant uses it); the oldest remaining becomes the default",
    positionals: ["name"],
    async run({ io, args, withStore }) {
      if (!(await withStore((s) => s.trunks.delete(args[0], cliActor(io)))))
        throw new Failure(`trunk ${args[0]} does not exist`);
      io.out(`trunk ${args[0]} removed`);
      return EXIT_OK;
    },
  },
  "number add": {
    usage: "vpbx number add <tenant> <number> <extension>",
    summary:
      "give a tenant a public number (E.164 or as written in its country) that rings an extension; the first is the main number",
    positionals: ["tenant", "number", "extension"],
    async run({ io, args, withStore }) {
      const [tenantName, typed, extension] = args;
      const n = await withStore(async (s) => {
        const tenant = await s.tenants.get(tenantName);
        if (!tenant) throw new Failure(`tenant ${tenantName} does not exist`);
        const input = validateNewNumber(
          { number: typed, destination: { type: "extension", number: extension } },
          tenant,
        );
        await checkDestinationExists(s, tenant.name, input.destination);
        return s.numbers.add({ tenant: tenant.name, ...input });
      });
      io.out(`number ${n.number} added to tenant ${n.tenant}, rings ${destination(n.destination)}`);
      return EXIT_OK;
    },
  },
  "number list": {
    usage: "vpbx number list <tenant>",
    summary: "list a tenant's public numbers, the main number first",
    positionals: ["tenant"],
    async run({ io, args, withStore }) {
      const list = await withStore(async (s) => {
        if (!(await s.tenants.get(args[0]))) throw new Failure(`tenant ${args[0]} does not exist`);
        return s.numbers.list(args[0]);
      });
      if (list.length === 0) io.out(`no numbers in tenant ${args[0]}`);
      const rows = list.map((n, i) => [n.number, destination(n.destination), i === 0 ? "main" : ""]);
      table(io, ["NUMBER", "DESTINATION", ""], rows);
      return EXIT_OK;
    },
  },
  "user add": {
    usage:
      "vpbx user add <username> --provider | --tenant <tenant> [--extension <number>] [--password <secret>] [--language fr|de|it|en]",
    summary:
      "create a console user: the provider, an administrator of a tenant, or the user of one extension; without --password it is read from a pipe, or a strong one is made and printed once",
    options: {
      provider: { type: "boolean" },
      tenant: { type: "string" },
      extension: { type: "string" },
      password: { type: "string" },
      language: { type: "string" },
    },
    positionals: ["username"],
    async run({ io, args, values, withStore }) {
      const tenantName = typeof values.tenant === "string" ? values.tenant : undefined;
      const extension = typeof values.extension === "string" ? values.extension : undefined;
      const language = typeof values.language === "string" ? values.language : undefined;
      const problems = [
        usernameProblem(args[0]),
        language === undefined ? undefined : checkLanguage(language),
      ];
      if (values.provider && (tenantName !== undefined || extension !== undefined)) {
        problems.push("--provider names no tenant and no extension");
      }
      if (!values.provider && tenantName === undefined) {
        problems.push(
          "say who the user is: --provider, or --tenant <tenant> (with --extension <number> for one extension's user)",
        );
      }
      const found = problems.filter((p): p is string => p !== undefined);
      if (found.length > 0) throw new ValidationError(found);
      const username = normaliseUsername(args[0]);
      let password = typeof values.password === "string" ? values.password : undefined;
      if (password === undefined) {
        const piped = await (io.readStdin ?? readProcessStdin)();
        // The first line of what was piped; nothing piped: one is made.
        const line = piped?.split(/\r?\n/, 1)[0];
        if (line) password = line;
      }
      const generated = password === undefined;
      const secret = password ?? generatePassword();
      const u = await withStore(async (s) => {
        const tenant = tenantName === undefined ? undefined : await s.tenants.get(tenantName);
        if (tenantName !== undefined && !tenant) throw new Failure(`tenant ${tenantName} does not exist`);
        if (tenant && extension !== undefined && !(await s.extensions.get(tenant.name, extension))) {
          throw new Failure(`extension ${extension} does not exist in tenant ${tenant.name}`);
        }
        const weak = passwordProblem(secret, [username, ...(tenant ? [tenant.name, tenant.domain] : [])]);
        if (weak) throw new ValidationError([weak]);
        const input: NewConsoleUser = {
          username,
          passwordHash: await hashPassword(secret),
          role: values.provider ? "provider" : extension === undefined ? "admin" : "user",
          ...(tenant ? { tenant: tenant.name } : {}),
          ...(extension === undefined ? {} : { extension }),
          ...(language === undefined ? {} : { language: language as Language }),
        };
        return s.users.create(input, cliActor(io));
      });
      io.out(`user ${u.username} created: ${roleText(u)}`);
      if (generated) io.out(`password (shown this once): ${secret}`);
      return EXIT_OK;
    },
  },
  "user list": {
    usage: "vpbx user list [--tenant <tenant>]",
    summary: "list the console users (never their passwords)",
    options: { tenant: { type: "string" } },
    positionals: [],
    async run({ io, values, withStore }) {
      const tenant = typeof values.tenant === "string" ? values.tenant : undefined;
      const users = await withStore((s) => s.users.list(tenant));
      if (users.length === 0) io.out("no users");
      const rows = users.map((u) => [
        u.username,
        u.role,
        u.tenant ?? "-",
        u.extension ?? "-",
        u.language ?? "-",
      ]);
      table(io, ["USERNAME", "ROLE", "TENANT", "EXTENSION", "LANG"], rows);
      return EXIT_OK;
    },
  },
  "user remove": {
    usage: "vpbx user remove <username>",
    summary: "delete a console user; its sessions end",
    positionals: ["username"],
    async run({ io, args, withStore }) {
      const username = normaliseUsername(args[0]);
      if (!(await withStore((s) => s.users.delete(username, cliActor(io))))) {
        throw new Failure(`user ${username} does not exist`);
      }
      io.out(`user ${username} removed`);
      return EXIT_OK;
    },
  },
  "prompts build": {
    usage: "vpbx prompts build [--language fr,de,it,en]",
    summary: "synthesise every voice prompt not cached yet (the server also does it in the background)",
    options: { language: { type: "string" } },
    positionals: [],
    async run({ io, values, config }) {
      const cfg = config();
      let languages: Language[] | undefined;
      if (typeof values.language === "string") {
        languages = values.language.split(",").map((l) => l.trim()) as Language[];
        const problems = languages.map(checkLanguage).filter((p) => p !== undefined);
        if (problems.length > 0) throw new ValidationError(problems);
      }
      const build =
        io.buildPrompts ??
        (async (opts: Parameters<NonNullable<CliIo["buildPrompts"]>>[0]) => {
          const { buildPromptCache } = await import("../prompts/index.ts");
          return buildPromptCache(opts);
        });
      const r = await build({ dataDir: cfg.dataDir, languages, log: createLogger(cfg.logLevel) });
      io.out(`prompts: ${r.generated} generated, ${r.cached} already cached (${(r.ms / 1000).toFixed(1)} s)`);
      return EXIT_OK;
    },
  },
  status: {
    usage: "vpbx status",
    summary: "registered phones per tenant; active calls when VPBX_ADMIN_TOKEN is set and the server runs",
    positionals: [],
    async run({ io, config, withStore }) {
      const cfg = config();
      const now = (io.clock ?? new SystemClock()).now();
      await withStore(async (s) => {
        const tenants = await s.tenants.list();
        if (tenants.length === 0) io.out("no tenants");
        for (const t of tenants) {
          const extensions = await s.extensions.list(t.name);
          const live = (await s.bindings.list(t.name)).filter((b) => b.expiresAt > now);
          const registered = new Set(live.map((b) => b.extension)).size;
          io.out(
            `${t.name} (${t.domain}): ${plural(extensions.length, "extension")}, ${registered} registered`,
          );
          for (const b of live) {
            const source = `${b.source.transport.toLowerCase()}:${b.source.address}:${b.source.port}`;
            const ua = b.userAgent ? ` ${b.userAgent}` : "";
            io.out(
              `  ${b.extension}  ${b.contact}  from ${source}  until ${new Date(b.expiresAt).toISOString()}${ua}`,
            );
          }
        }
      });
      await showCalls(io, cfg);
      return EXIT_OK;
    },
  },
};

async function showCalls(io: CliIo, cfg: Config): Promise<void> {
  if (!cfg.adminToken) {
    io.out("calls: not shown (set VPBX_ADMIN_TOKEN to ask the running server)");
    return;
  }
  const url = `http://127.0.0.1:${cfg.httpPort}/api/v1/calls`;
  let calls: { id: string; tenant: string; from: string; to: string; state: string; startedAt: string }[];
  try {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${cfg.adminToken}` },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    calls = (await res.json()) as typeof calls;
  } catch (err) {
    io.out(`calls: unknown, the server at ${url} did not answer (${describe(err)})`);
    return;
  }
  io.out(`calls: ${calls.length} active`);
  for (const c of calls) io.out(`  ${c.tenant}  ${c.from} -> ${c.to}  ${c.state} since ${c.startedAt}`);
}

/** Who the audit log names for a change made with the CLI: the system user who ran it. */
function cliActor(io: CliIo): Actor {
  return { kind: "cli", id: io.env.USER || io.env.LOGNAME || "cli" };
}

function roleText(u: { role: string; tenant?: string; extension?: string }): string {
  if (u.role === "provider") return "provider";
  if (u.role === "admin") return `administrator of tenant ${u.tenant}`;
  return `user of extension ${u.extension} of tenant ${u.tenant}`;
}

/** The whole standard input when it is piped; undefined when it is a terminal. */
async function readProcessStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function destination(d: DestinationSpec): string {
  switch (d.type) {
    case "hangup":
      return "nothing (hangs up)";
    case "ring-group":
      return `ring-group ${d.name}`;
    case "announcement":
      return `announcement ${d.announcement} → ${destination(d.then)}`;
    case "inbound-flow":
      return "inbound-flow";
    default:
      return `${d.type} ${d.number}`;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function features(f: object): string {
  const on = Object.entries(f)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  return on.length > 0 ? on.join(",") : "-";
}

function table(io: CliIo, head: string[], rows: string[][]): void {
  if (rows.length === 0) return;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows])
    io.out(
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    );
}

/**
 * What stopped the server from starting, said so that the operator knows
 * which setting to change: a taken port names its variable, a data directory
 * that cannot be written names VPBX_DATA_DIR. Anything else as it came.
 */
function startProblem(err: unknown, cfg: Config): string {
  if (!(err instanceof Error)) return describe(err);
  const e = err as NodeJS.ErrnoException & { port?: unknown; address?: unknown };
  if ((e.code === "EADDRINUSE" || e.code === "EACCES") && typeof e.port === "number") {
    const where = `${typeof e.address === "string" ? e.address : cfg.bind}:${e.port}`;
    const taken = e.code === "EADDRINUSE";
    const why = taken
      ? "is already in use by another program"
      : "may not be opened by this user (ports below 1024 need privileges)";
    const fix = taken ? "stop the other program or set" : "set";
    if (e.port === cfg.sipPort && e.port === cfg.httpPort) {
      return `VPBX_SIP_PORT and VPBX_HTTP_PORT are both ${e.port}: SIP over TCP and the API need a port each, set them apart`;
    }
    if (cfg.sipTlsPort !== undefined && e.port === cfg.sipTlsPort) {
      return `SIP over TLS port ${where} ${why}: ${fix} VPBX_SIP_TLS_PORT to a free port (or "off")`;
    }
    if (e.port === cfg.sipPort) {
      // dgram reports its failure from bind(2), net (TCP) from listen(2).
      const proto = e.syscall === "bind" ? "UDP" : "TCP";
      return `SIP port ${where} (${proto}) ${why}: ${fix} VPBX_SIP_PORT to a free port (UDP and TCP)`;
    }
    if (e.port === cfg.httpPort) return `HTTP API port ${where} ${why}: ${fix} VPBX_HTTP_PORT to a free port`;
    return `port ${where} ${why}`;
  }
  if (typeof e.code === "string" && /^SQLITE_(NOTADB|CORRUPT)/.test(e.code)) {
    const db = join(cfg.dataDir, "vpbx.sqlite");
    return `the database ${db} is damaged (${e.message}): restore it from a backup, or move it away to start empty`;
  }
  const inDataDir =
    typeof e.path === "string" && (e.path === cfg.dataDir || e.path.startsWith(`${cfg.dataDir}${sep}`));
  // better-sqlite3 names the failure in its code but not the file.
  const sqliteFile = typeof e.code === "string" && /^SQLITE_(CANTOPEN|READONLY|PERM|FULL|IOERR)/.test(e.code);
  if (inDataDir || sqliteFile) {
    const detail = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
    return `VPBX_DATA_DIR=${cfg.dataDir} is not usable (${detail}): expected a directory that this user can create and write`;
  }
  return describe(err);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `${err.message}${cause}`;
  }
  return String(err);
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return [
    "usage: vpbx <command> [options]   (vpbx <command> --help for one command)",
    "",
    "commands:",
    ...lines,
    "",
    "configuration comes from VPBX_* environment variables (VPBX_DATA_DIR, VPBX_HTTP_PORT, ...)",
  ].join("\n");
}

/** Runs one command line; returns the exit status. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    (argv.length === 0 ? io.err : io.out)(usage());
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  const key = COMMANDS[argv[0]] ? argv[0] : `${argv[0]} ${argv[1] ?? ""}`;
  const command = COMMANDS[key];
  if (!command) {
    io.err(`vpbx: unknown command "${argv.slice(0, 2).join(" ")}"\n${usage()}`);
    return EXIT_USAGE;
  }
  const rest = argv.slice(key.split(" ").length);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`vpbx: ${describe(err)}\nusage: ${command.usage}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    io.out(`usage: ${command.usage}\n  ${command.summary}`);
    return EXIT_OK;
  }
  if (parsed.positionals.length !== command.positionals.length) {
    const expected = command.positionals.map((p) => `<${p}>`).join(" ") || "no arguments";
    io.err(`vpbx: ${key} expects ${expected}\nusage: ${command.usage}`);
    return EXIT_USAGE;
  }
  let config: Config | undefined;
  let store: Store | undefined;
  const ctx: Context = {
    io,
    args: parsed.positionals,
    values: parsed.values,
    config: () => {
      config ??= loadConfig(io.env);
      return config;
    },
    async withStore(fn) {
      if (!store) {
        const cfg = ctx.config();
        // The same key as the server's (VPBX_SECRET_KEY, its file, or <dataDir>/secret.key).
        const secretKey = await loadSecretKey(
          cfg,
          createLogger(cfg.logLevel === "silent" ? "silent" : "warn"),
        );
        store = await openStore({
          dataDir: cfg.dataDir,
          databaseUrl: cfg.databaseUrl,
          secretKey,
          clock: io.clock,
        });
      }
      return fn(store);
    },
  };
  try {
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof ValidationError || err instanceof StoreConflict || err instanceof Failure) {
      io.err(`vpbx: ${err.message}`);
    } else if (err instanceof ConfigError) {
      io.err(`vpbx: ${err.message}`);
    } else {
      io.err(`vpbx: ${key} failed: ${describe(err)}`);
    }
    return EXIT_FAILED;
  } finally {
    await store?.close();
  }
}
