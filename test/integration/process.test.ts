// `vpbx start` as an operator runs it: a child process configured by VPBX_*
// variables, stopped by SIGTERM or SIGINT, refusing a bad configuration or a
// taken port with one line, and shared with the CLI over one data directory.
// Both entry points are exercised: bin/vpbx.js (the installed command and
// `npm start`: the compiled server, dist/server) and `node --import tsx
// src/cli/main.ts` (the sources as they are, a developer's start).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { newBranch, newCallId, newTag, parseUri } from "../../src/sip/message/index.ts";
import { speechLike } from "../harness/audio.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** bin/vpbx.js runs as an executable, through its first line (#!/usr/bin/env -S node <options>), as `npm start` runs it. */
const ENTRY = {
  bin: [join(ROOT, "bin", "vpbx.js")],
  tsx: [process.execPath, "--import", "tsx", "src/cli/main.ts"],
} as const;
type Entry = keyof typeof ENTRY;

/** Loading the whole server through tsx takes a while on a busy machine. */
const START_MS = 30_000;
const TOKEN_LINE = /^vpbx: generated admin API token \(shown once, keep it\): (\S+)$/m;

const children = new Set<Vpbx>();
const phones: SipPhone[] = [];
const dirs: string[] = [];

after(async () => {
  for (const c of children) c.proc.kill("SIGKILL");
  await Promise.all(phones.map((p) => p.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** One vpbx process with its output collected as it comes. */
class Vpbx {
  readonly proc: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  constructor(entry: Entry, args: string[], env: Record<string, string>) {
    const [command, ...before] = ENTRY[entry];
    this.proc = spawn(command, [...before, ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(this);
    this.proc.stdout?.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
      for (const l of this.listeners) l();
    });
    this.proc.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderr += s;
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => {
      this.proc.on("close", (code, signal) => {
        children.delete(this);
        for (const l of this.listeners) l();
        resolve({ code, signal });
      });
    });
  }

  /** Resolves when stdout matches, rejects with everything printed if the process ends or time runs out. */
  waitForStdout(re: RegExp, ms = START_MS): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        const m = re.exec(this.stdout);
        if (m) {
          done();
          resolve(m);
        } else if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          done();
          reject(new Error(`vpbx ended before printing ${re}:\n${this.output()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`vpbx did not print ${re} within ${ms} ms:\n${this.output()}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  async exit(ms = START_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`vpbx still running after ${ms} ms:\n${this.output()}`)), ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  output(): string {
    return `--- stdout\n${this.stdout}--- stderr\n${this.stderr}`;
  }
}

/** The test's own environment without any VPBX_* setting that could leak into the child. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VPBX_") && !k.startsWith("NODE_TEST")) env[k] = v;
  }
  return env;
}

/** A port free for both UDP and TCP on loopback right now (SIP listens on both). */
async function freeSipPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const tcp = await listenTcp(0);
    const port = (tcp.address() as { port: number }).port;
    const udp = await bindUdp(port).catch(() => undefined);
    await closeTcp(tcp);
    if (udp) {
      await closeUdp(udp);
      return port;
    }
    if (attempt > 20) throw new Error("no port free for both UDP and TCP");
  }
}

async function freeTcpPort(): Promise<number> {
  const tcp = await listenTcp(0);
  const port = (tcp.address() as { port: number }).port;
  await closeTcp(tcp);
  return port;
}

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(s));
  });
}

function bindUdp(port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, "127.0.0.1", () => resolve(s));
  });
}

const closeTcp = (s: Server) => new Promise<void>((r) => s.close(() => r()));
const closeUdp = (s: UdpSocket) => new Promise<void>((r) => s.close(() => r()));

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "vpbx-proc-"));
  dirs.push(d);
  return d;
}

/** Each server of this file gets its own slice of RTP ports (test files run side by side). */
function rtpRange(): string {
  const base = 40000 + 2 * Math.floor(Math.random() * 10000);
  return `${base}-${base + 200}`;
}

interface Setup {
  dataDir: string;
  sipPort: number;
  httpPort: number;
  env: Record<string, string>;
}

async function setup(): Promise<Setup> {
  const dataDir = await tempDir();
  const sipPort = await freeSipPort();
  const httpPort = await freeTcpPort();
  return {
    dataDir,
    sipPort,
    httpPort,
    env: {
      VPBX_DATA_DIR: dataDir,
      VPBX_BIND: "127.0.0.1",
      VPBX_SIP_PORT: String(sipPort),
      VPBX_HTTP_PORT: String(httpPort),
      // Several servers run at once: each takes a free TLS port, not 5061.
      VPBX_SIP_TLS_PORT: "0",
      // Test processes share two cores: a call must not be refused because
      // the machine, not this server, is busy (test/integration/overload.test.ts
      // tests the guard).
      VPBX_OVERLOAD_DELAY_MS: "0",
      VPBX_RTP_PORTS: rtpRange(),
      VPBX_LOG_LEVEL: "info",
    },
  };
}

async function startServer(entry: Entry, env: Record<string, string>): Promise<Vpbx> {
  const server = new Vpbx(entry, ["start"], env);
  await server.waitForStdout(/^vpbx: running, SIP on port \d+, API on port \d+$/m);
  // pino writes asynchronously: its line may follow the CLI's own.
  await server.waitForStdout(/"msg":"vpbx started"/);
  return server;
}

/** A CLI command against the same data directory, run to its end. */
async function cli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = new Vpbx("bin", args, env);
  const { code } = await run.exit();
  return { code, stdout: run.stdout, stderr: run.stderr };
}

async function expectCli(env: Record<string, string>, ...args: string[]): Promise<string> {
  const r = await cli(env, ...args);
  assert.equal(r.code, 0, `vpbx ${args.join(" ")}:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stderr, "");
  return r.stdout;
}

async function api(
  s: Setup,
  token: string | undefined,
  path: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function phone(s: Setup, user: string): Promise<SipPhone> {
  const p = await SipPhone.create({
    user,
    password: `secret-${user}-pw`,
    domain: "acme.test",
    server: { host: "127.0.0.1", port: s.sipPort },
  });
  phones.push(p);
  return p;
}

/** Every line of stdout is a pino JSON record, except the CLI's own "vpbx: ..." announcements. */
function assertJsonLogs(stdout: string): void {
  const lines = stdout.split("\n").filter((l) => l !== "");
  assert.ok(lines.length > 0);
  for (const line of lines) {
    if (line.startsWith("vpbx: ")) continue;
    let record: { level?: unknown; time?: unknown; msg?: unknown };
    try {
      record = JSON.parse(line);
    } catch {
      assert.fail(`not a JSON log line: ${line}`);
    }
    assert.equal(typeof record.level, "number", line);
    assert.equal(typeof record.time, "number", line);
    assert.equal(typeof record.msg, "string", line);
  }
}

/** Exactly one line on stderr, and no stack trace. */
function oneLine(run: Vpbx): string {
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr:\n${run.output()}`);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
  return lines[0];
}

describe("a running server, its data directory and the CLI", () => {
  let s: Setup;
  let server: Vpbx;
  let token: string;
  let alice: SipPhone;
  let bob: SipPhone;

  test("the first start prints a generated admin token once; logs are JSON lines; /health answers 200", async () => {
    s = await setup();
    server = await startServer("bin", s.env);
    // The command's memory policy (bin/vpbx.js's first line) is that of the running server.
    const cmdline = (await readFile(`/proc/${server.proc.pid}/cmdline`, "utf8")).split("\0");
    assert.ok(cmdline.includes("--max-old-space-size=1024"), cmdline.join(" "));
    const printed = server.stdout.match(new RegExp(TOKEN_LINE, "gm")) ?? [];
    assert.equal(printed.length, 1, server.output());
    token = (TOKEN_LINE.exec(server.stdout) as RegExpExecArray)[1];
    assertJsonLogs(server.stdout);
    assert.equal(server.stderr, "");

    assert.equal((await api(s, undefined, "/health")).status, 200);
    assert.equal((await api(s, token, "/api/v1/tenants")).status, 200);
    assert.equal((await api(s, "not-the-token-0123456789", "/api/v1/tenants")).status, 401);
    assert.equal((await api(s, undefined, "/api/v1/tenants")).status, 401);
  });

  test("an OPTIONS keep-alive gets 200 without credentials", async () => {
    const p = await phone(s, "keepalive");
    // RFC 3261 §11: OPTIONS asks for capabilities; phones and NATed devices send it as a keep-alive.
    const res = await p.transact({
      type: "request",
      method: "OPTIONS",
      uri: parseUri(`sip:127.0.0.1:${s.sipPort}`),
      headers: [
        p.via(newBranch()),
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: p.fromHeader(newTag()) },
        { name: "To", value: `<sip:127.0.0.1:${s.sipPort}>` },
        { name: "Call-ID", value: newCallId() },
        { name: "CSeq", value: "1 OPTIONS" },
        { name: "Content-Length", value: "0" },
      ],
      body: Buffer.alloc(0),
    });
    assert.equal(res.status, 200);
  });

  test("tenant add, ext add, ext list and status work beside the running server; a new extension registers at once", async () => {
    assert.match(
      await expectCli(s.env, "tenant", "add", "acme", "acme.test"),
      /^tenant acme created: domain acme\.test/,
    );
    for (const n of ["101", "102"]) {
      await expectCli(s.env, "ext", "add", "acme", n, "--password", `secret-${n}-pw`, "--name", `Ext ${n}`);
    }
    const list = await expectCli(s.env, "ext", "list", "acme");
    assert.match(list, /^101\s+Ext 101\s/m);
    assert.match(list, /^102\s+Ext 102\s/m);

    // The server reads extensions from the store: no restart, no reload.
    alice = await phone(s, "101");
    bob = await phone(s, "102");
    assert.equal((await alice.register({ expires: 300 })).status, 200);
    assert.equal((await bob.register({ expires: 300 })).status, 200);

    const status = await expectCli(s.env, "status");
    assert.match(status, /^acme \(acme\.test\): 2 extensions, 2 registered$/m);
    assert.match(
      status,
      new RegExp(
        `^  101  sip:101@127\\.0\\.0\\.1:${alice.localPort}  from udp:127\\.0\\.0\\.1:${alice.localPort}  until `,
        "m",
      ),
    );
    assert.match(status, /^calls: not shown/m);
    const withToken = await expectCli({ ...s.env, VPBX_ADMIN_TOKEN: token }, "status");
    assert.match(withToken, /^calls: 0 active$/m);
  });

  test("SIGTERM during a call: both phones get a BYE, the process exits 0 within seconds", async () => {
    bob.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    const incoming = await bob.waitForCall();
    await incoming.waitForAck();

    const status = await expectCli({ ...s.env, VPBX_ADMIN_TOKEN: token }, "status");
    assert.match(status, /^calls: 1 active$/m);
    assert.match(status, /^ {2}acme {2}101 -> 102 {2}answered since /m);

    const t0 = performance.now();
    server.proc.kill("SIGTERM");
    const [a, b] = await Promise.all([call.waitFor("ended"), incoming.waitFor("ended")]);
    assert.deepEqual([a.by, a.reason], ["remote", "bye"]);
    assert.deepEqual([b.by, b.reason], ["remote", "bye"]);
    const { code, signal } = await server.exit(10_000);
    assert.equal(signal, null);
    assert.equal(code, 0, server.output());
    assert.ok(performance.now() - t0 < 5000, `stopped in ${Math.round(performance.now() - t0)} ms`);
    assert.match(server.stdout, /"msg":"vpbx stopped"/);
    assert.equal(server.stderr, "");
    assertJsonLogs(server.stdout);
  });

  test("a restart (from the sources, through tsx) keeps tenant, extensions and registrations, prints no new token", async () => {
    server = await startServer("tsx", s.env);
    assert.doesNotMatch(server.stdout, /admin API token/);
    assert.equal((await api(s, undefined, "/health")).status, 200);

    const tenants = await api(s, token, "/api/v1/tenants");
    assert.equal(tenants.status, 200, "the first token still opens the API");
    assert.deepEqual(
      (tenants.body as Array<{ name: string; domain: string }>).map((t) => [t.name, t.domain]),
      [["acme", "acme.test"]],
    );
    const exts = await api(s, token, "/api/v1/tenants/acme/extensions");
    assert.deepEqual(
      (exts.body as Array<{ number: string }>).map((e) => e.number),
      ["101", "102"],
    );
    const regs = await api(s, token, "/api/v1/tenants/acme/registrations");
    assert.deepEqual((regs.body as Array<{ extension: string }>).map((r) => r.extension).sort(), [
      "101",
      "102",
    ]);
  });

  test("SIGINT stops like SIGTERM: BYE to both phones, exit 0 (the phones did not register again)", async () => {
    const call = await alice.call("102");
    await call.waitFor("answered");
    const incoming = await bob.waitForCall();
    await incoming.waitForAck();

    const t0 = performance.now();
    server.proc.kill("SIGINT");
    const [a, b] = await Promise.all([call.waitFor("ended"), incoming.waitFor("ended")]);
    assert.deepEqual([a.by, a.reason], ["remote", "bye"]);
    assert.deepEqual([b.by, b.reason], ["remote", "bye"]);
    const { code, signal } = await server.exit(10_000);
    assert.equal(signal, null);
    assert.equal(code, 0, server.output());
    assert.ok(performance.now() - t0 < 5000, `stopped in ${Math.round(performance.now() - t0)} ms`);
    assert.equal(server.stderr, "");
  });
});

describe("a start that cannot work says why in one line", { concurrency: true }, () => {
  /** Starts with `change` applied and expects a refusal; returns the stderr line. */
  async function refused(s: Setup, change: Record<string, string>): Promise<string> {
    const run = new Vpbx("bin", ["start"], { ...s.env, ...change });
    const { code } = await run.exit();
    assert.notEqual(code, 0, run.output());
    assert.doesNotMatch(run.stdout, /admin API token|vpbx: running/, "a refused start shows no token");
    return oneLine(run);
  }

  /** A start that failed leaves no admin token behind that nobody has seen. */
  async function noTokenKept(dataDir: string): Promise<void> {
    const files = await readdir(dataDir).catch(() => [] as string[]);
    assert.ok(!files.includes("admin-token.sha256"), `left in ${dataDir}: ${files.join(", ")}`);
  }

  test("the SIP UDP port is taken", async () => {
    const s = await setup();
    const udp = await bindUdp(s.sipPort);
    try {
      const line = await refused(s, {});
      assert.match(line, new RegExp(`SIP port 127\\.0\\.0\\.1:${s.sipPort} \\(UDP\\) is already in use`));
      assert.match(line, /VPBX_SIP_PORT/);
      await noTokenKept(s.dataDir);
    } finally {
      await closeUdp(udp);
    }
  });

  test("the SIP TCP port is taken", async () => {
    const s = await setup();
    const tcp = await listenTcp(s.sipPort);
    try {
      const line = await refused(s, {});
      assert.match(line, new RegExp(`SIP port 127\\.0\\.0\\.1:${s.sipPort} \\(TCP\\) is already in use`));
      assert.match(line, /VPBX_SIP_PORT/);
      await noTokenKept(s.dataDir);
    } finally {
      await closeTcp(tcp);
    }
  });

  test("the HTTP port is taken", async () => {
    const s = await setup();
    const tcp = await listenTcp(s.httpPort);
    try {
      const line = await refused(s, {});
      assert.match(line, new RegExp(`HTTP API port 127\\.0\\.0\\.1:${s.httpPort} is already in use`));
      assert.match(line, /set VPBX_HTTP_PORT to a free port/);
      await noTokenKept(s.dataDir);
    } finally {
      await closeTcp(tcp);
    }
  });

  for (const [name, value, expected] of [
    ["VPBX_SIP_PORT", "abc", /expected an integer from 0 to 65535/],
    ["VPBX_RTP_PORTS", "20000-10000", /expected MIN-MAX/],
    ["VPBX_LOG_LEVEL", "loud", /expected one of fatal, error, warn, info, debug, trace, silent/],
  ] as const) {
    test(`${name}=${value}`, async () => {
      const s = await setup();
      const line = await refused(s, { [name]: value });
      assert.ok(line.includes(`${name}="${value}"`), line);
      assert.match(line, expected);
    });
  }

  test("a data directory that cannot be created", async () => {
    const s = await setup();
    // Under a regular file: refused even to root, who may write anywhere else.
    const file = join(s.dataDir, "not-a-dir");
    await writeFile(file, "");
    const dataDir = join(file, "data");
    const line = await refused(s, { VPBX_DATA_DIR: dataDir });
    assert.ok(line.includes(`VPBX_DATA_DIR=${dataDir} is not usable`), line);
    assert.match(line, /expected a directory that this user can create and write/);
  });

  test("a damaged database", async () => {
    const s = await setup();
    await writeFile(
      join(s.dataDir, "vpbx.sqlite"),
      "this is not an SQLite database, it is long enough to be read\n".repeat(100),
    );
    const line = await refused(s, {});
    assert.ok(line.includes(`the database ${join(s.dataDir, "vpbx.sqlite")} is damaged`), line);
    assert.match(line, /restore it from a backup/);
  });

  test("the same port for SIP and HTTP", async () => {
    const s = await setup();
    const line = await refused(s, { VPBX_HTTP_PORT: String(s.sipPort) });
    assert.match(line, new RegExp(`VPBX_SIP_PORT and VPBX_HTTP_PORT are both ${s.sipPort}`));
  });

  test("a data directory without write permission", {
    skip: process.getuid?.() === 0 && "root may write anywhere",
  }, async () => {
    const s = await setup();
    const dataDir = join(s.dataDir, "read-only");
    await mkdir(dataDir);
    await chmod(dataDir, 0o555);
    try {
      const line = await refused(s, { VPBX_DATA_DIR: dataDir });
      assert.ok(line.includes(`VPBX_DATA_DIR=${dataDir} is not usable`), line);
    } finally {
      await chmod(dataDir, 0o755);
    }
  });
});

describe("stopping with a phone that no longer answers", () => {
  test("SIGTERM does not wait for the BYE of a vanished phone beyond a short grace", async () => {
    const s = await setup();
    const adminToken = "process-test-admin-token-0123456789";
    const server = await startServer("bin", { ...s.env, VPBX_ADMIN_TOKEN: adminToken });
    assert.doesNotMatch(server.stdout, /admin API token/, "a configured token is not printed");
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 201, await res.text());
    };
    await post("/api/v1/tenants", { name: "acme", domain: "acme.test" });
    for (const n of ["101", "102"]) {
      await post("/api/v1/tenants/acme/extensions", {
        number: n,
        password: `secret-${n}-pw`,
        displayName: `Ext ${n}`,
      });
    }
    const alice = await phone(s, "101");
    const bob = await phone(s, "102");
    assert.equal((await alice.register({ expires: 300 })).status, 200);
    assert.equal((await bob.register({ expires: 300 })).status, 200);
    bob.autoAnswer();
    const call = await alice.call("102");
    await call.waitFor("answered");
    await (await bob.waitForCall()).waitForAck();
    // Bob's phone loses power: its BYE will never be answered (Timer F would wait 32 s).
    await bob.close();

    const t0 = performance.now();
    server.proc.kill("SIGTERM");
    const end = await call.waitFor("ended");
    assert.equal(end.reason, "bye");
    const { code } = await server.exit(40_000);
    const ms = Math.round(performance.now() - t0);
    assert.equal(code, 0, server.output());
    assert.ok(ms < 8000, `stopped after ${ms} ms`);
    assert.match(server.stdout, /not every BYE was answered in time/);
  });
});

describe("a voicemail confirmed to the caller survives a crash", () => {
  test("SIGKILL right after a message was left: after the restart it is there exactly once; one cut short leaves nothing behind", async () => {
    const s = await setup();
    const adminToken = "process-test-admin-token-0123456789";
    const env = { ...s.env, VPBX_ADMIN_TOKEN: adminToken };
    const send = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    let server = await startServer("bin", env);
    await send("POST", "/api/v1/tenants", { name: "acme", domain: "acme.test" });
    for (const n of ["101", "102"]) {
      await send("POST", "/api/v1/tenants/acme/extensions", {
        number: n,
        password: `secret-${n}-pw`,
        displayName: `Ext ${n}`,
      });
    }
    await send("PATCH", "/api/v1/tenants/acme/features", { voicemail: true });
    await send("PATCH", "/api/v1/tenants/acme/extensions/102", { voicemail: { enabled: true, pin: "4826" } });
    const alice = await phone(s, "101");
    assert.equal((await alice.register({ expires: 300 })).status, 200);

    // 102 has no phone registered: the call goes to its mailbox. The caller speaks, then hangs up.
    const call = await alice.call("102");
    await call.waitFor("answered", 20_000);
    await untilQuietAfterSound(call, 30_000);
    await call.playAudio(speechLike(2500));
    await call.bye();
    await waitForLog(server, /"msg":"voicemail message filed"|"msg":"voicemail message left"/);
    server.proc.kill("SIGKILL");
    await server.exit();

    server = await startServer("bin", env);
    const listed = (await send("GET", "/api/v1/tenants/acme/extensions/102/voicemail/messages")) as unknown[];
    assert.equal(listed.length, 1, "the message is there exactly once");

    // Killed while the caller is still speaking: nothing was confirmed, nothing half-filed remains.
    assert.equal((await alice.register({ expires: 300 })).status, 200);
    const cut = await alice.call("102");
    await cut.waitFor("answered", 20_000);
    await untilQuietAfterSound(cut, 30_000);
    void cut.playAudio(speechLike(3000));
    await new Promise((r) => setTimeout(r, 1000));
    server.proc.kill("SIGKILL");
    await server.exit();
    server = await startServer("bin", env);
    const after = (await send("GET", "/api/v1/tenants/acme/extensions/102/voicemail/messages")) as unknown[];
    assert.equal(after.length, 1, "still exactly the one message");
    assert.deepEqual(await readdir(join(s.dataDir, "recordings", "tmp")), []);
    server.proc.kill("SIGTERM");
    await server.exit();
  });
});

async function waitForLog(server: Vpbx, re: RegExp): Promise<void> {
  await server.waitForStdout(re, 10_000);
}
