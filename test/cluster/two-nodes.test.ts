// Two vpbx nodes behind Kamailio, as a provider runs them (issue #11): one
// throw-away PostgreSQL database, two `vpbx start` child processes with their
// own data directories and a shared audio directory, and Kamailio with the
// repository's deploy/kamailio/kamailio.cfg on ephemeral loopback ports. The
// harness phones use Kamailio as their registrar and outbound proxy, from
// 127.0.0.2 (Kamailio and the nodes are on 127.0.0.1).
//
// Which node took a request is read from Kamailio's log ("vpbx dispatch
// <method> <Call-ID> to <node>"); which node carries a call, from the
// node's own /api/v1/calls.
//
// Without kamailio or PostgreSQL the file is skipped with a message; under
// CI=true their absence fails it.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { concat, correlate, silence, sine, speechLike } from "../harness/audio.ts";
import { type OutgoingCall, SipPhone } from "../harness/sip-phone.ts";
import { Subscriber } from "../harness/subscriber.ts";
import { createDatabase } from "../support/postgres.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { SHARED_PROMPT_CACHE } from "../support/test-pbx.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const KAMAILIO_CFG = join(ROOT, "deploy/kamailio/kamailio.cfg");
const TOKEN = "cluster-admin-token-0123456789abcdef";
const PIN = "4826";
/** Loading the whole server through tsx takes a while on a busy machine. */
const START_MS = 45_000;
/**
 * Kamailio's dialog keep-alives: KA_INTERVAL cannot go below 30 s (the
 * dialog module refuses to start). The calls of a dead node end sooner: the
 * dispatcher's OPTIONS probe (every DS_PING_INTERVAL = 1 s here, FR_TIMER to
 * time out) takes the node out and Kamailio ends its calls with BYE; the
 * keep-alives are the net under it. Either way, within the keep-alive interval.
 */
const KA_INTERVAL_S = 30;
const FR_TIMER_MS = 1000;

function findKamailio(): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]) {
    if (dir !== "" && existsSync(join(dir, "kamailio"))) return join(dir, "kamailio");
  }
  return undefined;
}

const KAMAILIO = findKamailio();
const PG_URL = process.env.VPBX_TEST_PG_URL || undefined;
const missing = [
  ...(KAMAILIO ? [] : ["kamailio (Debian: apt-get install kamailio kamailio-extra-modules)"]),
  ...(PG_URL ? [] : ["PostgreSQL (VPBX_TEST_PG_URL, set by npm test when postgres is installed)"]),
];
if (missing.length > 0 && process.env.CI === "true") {
  test("the cluster test needs kamailio and PostgreSQL", () => {
    assert.fail(`missing under CI=true: ${missing.join("; ")}`);
  });
}
const skip = missing.length > 0 ? `needs ${missing.join(" and ")}` : false;

/** A child process whose output is collected as it comes. */
class Child {
  readonly proc: ChildProcess;
  out = "";
  readonly exited: Promise<void>;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    file: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = spawn(file, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const take = (s: string) => {
      this.out += s;
      for (const l of this.listeners) l();
    };
    this.proc.stdout?.setEncoding("utf8").on("data", take);
    this.proc.stderr?.setEncoding("utf8").on("data", take);
    this.exited = new Promise((resolve) => this.proc.once("close", () => resolve()));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Resolves with the first match of `re` in the output from offset `from`
   * on (now or later); rejects when the process ends first.
   */
  waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = () => {
        const m = re.exec(this.out.slice(from));
        if (m) {
          done();
          resolve(m);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.name} ended before printing ${re}:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} did not print ${re} within ${ms} ms:\n${this.tail()}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  tail(lines = 40): string {
    return this.out.split("\n").slice(-lines).join("\n");
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    const late = setTimeout(() => this.proc.kill("SIGKILL"), 8000);
    await this.exited;
    clearTimeout(late);
  }
}

interface Node {
  name: string;
  child: Child;
  sipPort: number;
  httpPort: number;
  /** How it was started, to start it again. */
  env: Record<string, string>;
  rtpBase: number;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** The test's own environment without VPBX_* or node:test settings leaking into a child. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VPBX_") && !k.startsWith("NODE_TEST")) env[k] = v;
  }
  return env;
}

async function startNode(name: string, env: Record<string, string>, rtpBase: number): Promise<Node> {
  const child = new Child(name, process.execPath, ["--import", "tsx", "src/cli/main.ts", "start"], {
    ...baseEnv(),
    ...env,
    VPBX_RTP_PORTS: `${rtpBase}-${rtpBase + 199}`,
  });
  const line = (await child.waitFor(/^.*"msg":"vpbx started".*$|^vpbx: cannot start.*$/m, START_MS))[0];
  if (line.startsWith("vpbx: cannot start")) throw new Error(`${name}: ${line}\n${child.tail()}`);
  const started = JSON.parse(line) as { sip: string; http: string };
  const sipPort = Number(started.sip.split(":").pop());
  const httpPort = Number(started.http.split(":").pop());
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return { name, child, sipPort, httpPort, env, rtpBase, api };
}

/** A port free for both UDP and TCP on loopback right now (Kamailio listens on both). */
async function freeSipPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const tcp = await new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => resolve(s));
    });
    const port = (tcp.address() as { port: number }).port;
    const udp = await new Promise<UdpSocket | undefined>((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(undefined);
      });
      s.bind(port, "127.0.0.1", () => resolve(s));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (udp) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
    if (attempt > 20) throw new Error("no port free for both UDP and TCP");
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("two vpbx nodes behind Kamailio", { skip }, () => {
  const dirs: string[] = [];
  const phones: SipPhone[] = [];
  let database: { url: string; drop(): Promise<void> } | undefined;
  let kamailio: Child | undefined;
  let kamailioPort = 0;
  let nodes: Node[] = [];
  let audioDir = "";

  before(async () => {
    const work = await mkdtemp(join(tmpdir(), "vpbx-cluster-"));
    dirs.push(work);
    database = await createDatabase(PG_URL as string);
    audioDir = join(work, "shared-audio");
    await mkdir(audioDir, { recursive: true });
    // Prompts synthesised once for every test run (test-pbx.ts), not once per node.
    const prompts = join(SHARED_PROMPT_CACHE, "prompts");
    await mkdir(prompts, { recursive: true });
    const common = {
      VPBX_DATABASE_URL: database.url,
      VPBX_BIND: "127.0.0.1",
      VPBX_PUBLIC_ADDRESS: "127.0.0.1",
      VPBX_SIP_PORT: "0",
      VPBX_HTTP_PORT: "0",
      VPBX_ADMIN_TOKEN: TOKEN,
      VPBX_SECRET_KEY: randomBytes(32).toString("hex"),
      VPBX_TRUSTED_PROXIES: "127.0.0.1",
      VPBX_AUDIO_URL: `file://${audioDir}`,
      VPBX_MEDIA_THREADS: "1",
      // Kamailio talks to the nodes over UDP.
      VPBX_SIP_TLS_PORT: "off",
      // Shared cores, not a busy node: calls must not be refused for it.
      VPBX_OVERLOAD_DELAY_MS: "0",
      VPBX_LOG_LEVEL: process.env.VPBX_TEST_LOG ?? "info",
    };
    const rtpBase = 30000 + 2 * Math.floor(Math.random() * 5000);
    nodes = await Promise.all(
      ["node1", "node2"].map(async (name, i) => {
        const dataDir = join(work, name);
        await mkdir(dataDir, { recursive: true, mode: 0o700 });
        await symlink(prompts, join(dataDir, "prompts"));
        return startNode(name, { ...common, VPBX_DATA_DIR: dataDir }, rtpBase + i * 200);
      }),
    );

    const list = join(work, "dispatcher.list");
    await writeFile(list, nodes.map((n) => `1 sip:127.0.0.1:${n.sipPort}\n`).join(""));
    const run = join(work, "kamailio-run");
    await mkdir(run);
    kamailioPort = await freeSipPort();
    kamailio = new Child(
      "kamailio",
      KAMAILIO as string,
      [
        "-DD",
        "-E",
        "-f",
        KAMAILIO_CFG,
        "-Y",
        run,
        "-w",
        run,
        "-m",
        "64",
        "-M",
        "8",
        "-A",
        "LISTEN_ADDR=127.0.0.1",
        "-A",
        `SIP_PORT=${kamailioPort}`,
        "-A",
        `DISPATCHER_LIST="${list}"`,
        "-A",
        "DS_PING_INTERVAL=1",
        "-A",
        "DS_PROBING_THRESHOLD=1",
        "-A",
        `FR_TIMER=${FR_TIMER_MS}`,
        "-A",
        `KA_INTERVAL=${KA_INTERVAL_S}`,
        "-A",
        "KA_TIMER=1",
      ],
      baseEnv(),
    );
    // Ready when it answers a keep-alive OPTIONS.
    const probe = await phone("probe");
    await waitUntil(
      "kamailio answering OPTIONS",
      async () => {
        if (!kamailio?.running) throw new Error(`kamailio exited:\n${kamailio?.tail()}`);
        const res = await probe
          .transact(
            {
              type: "request",
              method: "OPTIONS",
              uri: { scheme: "sip", host: "127.0.0.1", port: kamailioPort, params: {}, headers: {} },
              headers: [
                probe.via(),
                { name: "Max-Forwards", value: "70" },
                { name: "From", value: probe.fromHeader("p") },
                { name: "To", value: "<sip:127.0.0.1>" },
                { name: "Call-ID", value: randomBytes(8).toString("hex") },
                { name: "CSeq", value: "1 OPTIONS" },
                { name: "Content-Length", value: "0" },
              ],
              body: Buffer.alloc(0),
            },
            { timeoutMs: 300 },
          )
          .catch(() => undefined);
        return res?.status === 200;
      },
      10_000,
    );

    const api = nodes[0].api;
    const created = async (what: string, r: Promise<{ status: number; body: unknown }>) => {
      const res = await r;
      if (res.status !== 201 && res.status !== 200)
        throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    await created("tenant", api("POST", "/api/v1/tenants", { name: "acme", domain: "acme.test" }));
    for (const n of ["101", "102", "103", "104", "105", "106", "107"]) {
      await created(
        `extension ${n}`,
        api("POST", "/api/v1/tenants/acme/extensions", {
          number: n,
          password: `secret-${n}-pw`,
          displayName: `Ext ${n}`,
        }),
      );
    }
    await created("voicemail feature", api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true }));
    await created(
      "mailbox 102",
      api("PATCH", "/api/v1/tenants/acme/extensions/102", { voicemail: { enabled: true, pin: PIN } }),
    );
  });

  after(async () => {
    // VPBX_CLUSTER_LOG=<dir>: what Kamailio and the nodes said, for a failure's post-mortem.
    const keep = process.env.VPBX_CLUSTER_LOG;
    if (keep) {
      await mkdir(keep, { recursive: true });
      for (const c of [kamailio, ...nodes.map((n) => n.child)]) {
        if (c) await writeFile(join(keep, `${c.name}.log`), c.out);
      }
      for (const p of phones) {
        await writeFile(
          join(keep, `phone-${p.user}-${p.localPort}.log`),
          p.trace.map((t) => `--- ${t.dir} ${t.peer} ${new Date(t.at).toISOString()}\n${t.text}`).join("\n"),
        );
      }
    }
    await Promise.all(phones.map((p) => p.close()));
    await kamailio?.stop();
    await Promise.all(nodes.map((n) => n.child.stop()));
    await database?.drop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** A phone of extension `user` on 127.0.0.2 (or `address`), with Kamailio as registrar and proxy. */
  async function phone(user: string, address = "127.0.0.2"): Promise<SipPhone> {
    const p = await SipPhone.create({
      user,
      password: `secret-${user}-pw`,
      domain: "acme.test",
      server: { host: "127.0.0.1", port: kamailioPort },
      localAddress: address,
      timeoutMs: 8000,
    });
    phones.push(p);
    return p;
  }

  /** The node Kamailio last dispatched `method` of `callId` to (undefined: not yet). */
  function nodeOf(callId: string, method: string): Node | undefined {
    const re = new RegExp(
      `vpbx dispatch ${method} ${callId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} to sip:127\\.0\\.0\\.1:(\\d+)`,
      "g",
    );
    const all = [...(kamailio?.out ?? "").matchAll(re)];
    const port = all.length > 0 ? Number(all[all.length - 1][1]) : undefined;
    return nodes.find((n) => n.sipPort === port);
  }

  /**
   * The Contact a phone behind NAT would register: a private address that
   * nobody can send to. Requests reach the phone only through Kamailio, at
   * the address its Path's "received" says (RFC 3327, path use_received).
   */
  const privateContact = (p: SipPhone) => `<sip:${p.user}@10.0.0.9:${p.localPort}>`;

  async function registerThrough(p: SipPhone, expires = 600): Promise<Node> {
    const res = await p.register({ expires, contacts: [privateContact(p)], headers: { Supported: "path" } });
    assert.equal(res.status, 200, `register ${p.user}: ${p.recent()}`);
    const callId = res.headers.find((h) => h.name === "Call-ID")?.value ?? "";
    const node = nodeOf(callId, "REGISTER");
    assert.ok(node, `kamailio dispatched the REGISTER of ${p.user}:\n${kamailio?.tail()}`);
    return node;
  }

  /**
   * `p` calls `target` until the call lands on `want` (Kamailio hashes the
   * Call-ID): a call that went to the other node is cancelled at once and
   * placed again with a new Call-ID.
   */
  async function callOn(p: SipPhone, target: string, want: Node): Promise<OutgoingCall> {
    for (let attempt = 0; attempt < 24; attempt++) {
      const call = await p.call(target);
      await waitUntil(
        `the INVITE of ${p.user} dispatched`,
        () => nodeOf(call.callId, "INVITE") !== undefined,
        5000,
      );
      if (nodeOf(call.callId, "INVITE") === want) return call;
      // The wrong node: cancelled, or hung up if it answered meanwhile.
      // (A failure that came first has ended it already.)
      await call.cancel().catch(async () => {
        if (call.state !== "ended") await call.waitFor("answered", 8000).then(() => call.bye());
      });
      await call.waitFor("ended", 8000);
    }
    throw new Error(`no call of ${p.user} landed on ${want.name} in 24 attempts`);
  }

  async function callsOn(node: Node): Promise<Array<{ from: string; to: string; state: string }>> {
    const res = await node.api<Array<{ from: string; to: string; state: string }>>("GET", "/api/v1/calls");
    assert.equal(res.status, 200);
    return res.body;
  }

  async function messagesOn(node: Node): Promise<Array<{ id: string; callerNumber: string }>> {
    const res = await node.api<Array<{ id: string; callerNumber: string }>>(
      "GET",
      "/api/v1/tenants/acme/extensions/102/voicemail/messages",
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  const registered = new Map<string, SipPhone>();
  const homes = new Map<string, Node>();

  test("(a) phones register through Kamailio and land on both nodes; a guesser behind it blocks only itself", async () => {
    for (const user of ["101", "102", "103", "104", "105", "106"]) {
      const p = await phone(user);
      homes.set(user, await registerThrough(p));
      registered.set(user, p);
    }
    // Kamailio hashes the Call-ID: a phone that landed where the others did
    // registers again with a new Call-ID until both nodes have phones.
    for (let attempt = 0; new Set(homes.values()).size < 2; attempt++) {
      assert.ok(attempt < 16, "the phones never landed on the second node");
      const old = registered.get("106") as SipPhone;
      assert.equal((await old.register({ expires: 0, contacts: [privateContact(old)] })).status, 200);
      const p = await phone("106");
      homes.set("106", await registerThrough(p));
      registered.set("106", p);
    }
    // The store is shared: every node lists every registration, each with
    // its Path (the source is Kamailio, the contact the phone's).
    for (const node of nodes) {
      const res = await node.api<Array<{ extension: string; source: string; contact: string }>>(
        "GET",
        "/api/v1/tenants/acme/registrations",
      );
      assert.equal(res.status, 200);
      assert.deepEqual([...new Set(res.body.map((r) => r.extension))].sort(), [
        "101",
        "102",
        "103",
        "104",
        "105",
        "106",
      ]);
      for (const r of res.body) {
        assert.equal(r.source, `udp:127.0.0.1:${kamailioPort}`);
        assert.match(r.contact, /^sip:\d+@10\.0\.0\.9:\d+$/);
      }
    }

    // 107 guesses from 127.0.0.3: after 10 wrong answers its address is
    // blocked (even its right password fails), not the phones on 127.0.0.2
    // behind the same Kamailio.
    // (Each register() answers three challenges: 12 failures, over the
    // limit per address, under the one per account. The REGISTERs of one
    // phone share a Call-ID, hence a node, whose guard holds the block.)
    const guesser = await phone("107", "127.0.0.3");
    guesser.usePassword("wrong-guess");
    for (let i = 0; i < 4; i++) assert.equal((await guesser.register()).status, 401);
    guesser.usePassword("secret-107-pw");
    assert.equal((await guesser.register()).status, 401, "the guessing address is blocked");
    const colleague = await phone("107");
    assert.equal((await colleague.register()).status, 200, "another phone behind Kamailio is not");
    assert.equal((await colleague.unregister()).status, 200);
  });

  test("(b) a call between phones registered on different nodes, with audio both ways", async () => {
    const users = [...homes.keys()];
    const a = users.find((u) => homes.get(u) === nodes[0]) as string;
    const b = users.find((u) => homes.get(u) === nodes[1]) as string;
    const caller = registered.get(a) as SipPhone;
    const callee = registered.get(b) as SipPhone;
    callee.autoAnswer();
    const call = await caller.call(b);
    await call.waitFor("answered", 10_000);
    const incoming = await callee.waitForCall();
    await incoming.waitForAck();
    // The INVITE to the callee came through Kamailio (its Path), to its
    // registered (private) contact as Request-URI.
    assert.equal(incoming.request.uri.host, "10.0.0.9");
    assert.match(
      incoming.request.headers.find((h) => h.name === "Record-Route")?.value ?? "",
      new RegExp(`127\\.0\\.0\\.1:${kamailioPort}`),
    );
    const toneA = sine(440, 600);
    const toneB = sine(1200, 600);
    await Promise.all([call.playAudio(toneA), incoming.playAudio(toneB)]);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(correlate(incoming.receivedPcm(), toneA).score > 0.9, `${b} hears ${a}`);
    assert.ok(correlate(call.receivedPcm(), toneB).score > 0.9, `${a} hears ${b}`);
    await call.bye();
    await incoming.waitFor("ended");
    callee.onIncomingCall = undefined;
  });

  test("(c, d) a node killed during calls: its calls end with BYE, the other node takes over, nothing confirmed is lost", async () => {
    // A call in progress: the node that carries it is the one that will be killed.
    const p105 = registered.get("105") as SipPhone;
    const p106 = registered.get("106") as SipPhone;
    p106.autoAnswer();
    const carried = await p105.call("106");
    await carried.waitFor("answered", 10_000);
    const carriedIn = await p106.waitForCall();
    await carriedIn.waitForAck();
    p106.onIncomingCall = undefined;
    const doomed = nodeOf(carried.callId, "INVITE") as Node;
    const survivor = nodes.find((n) => n !== doomed) as Node;
    assert.deepEqual(
      (await callsOn(doomed)).map((c) => [c.from, c.to, c.state]),
      [["105", "106", "answered"]],
    );

    // *72: 104 forwards every call to 103, on whichever node takes it.
    const p104 = registered.get("104") as SipPhone;
    const code = await p104.call("*72103");
    await code.waitFor("answered", 10_000);
    await untilQuietAfterSound(code);
    await code.bye().catch(() => undefined);
    await waitUntil("the forwarding stored", async () => {
      const res = await survivor.api<{ unconditional: string | null }>(
        "GET",
        "/api/v1/tenants/acme/extensions/104/forwarding",
      );
      return res.body?.unconditional === "103";
    });

    // 102's voicemail lamp, subscribed through the surviving node.
    const p101 = registered.get("101") as SipPhone;
    const p102 = registered.get("102") as SipPhone;
    let lamp: Subscriber | undefined;
    for (let attempt = 0; !lamp; attempt++) {
      assert.ok(attempt < 24, "no SUBSCRIBE landed on the surviving node");
      const sub = new Subscriber(p102, "102", "message-summary");
      assert.equal((await sub.subscribe(600)).status, 200);
      if (nodeOf(sub.callId, "SUBSCRIBE") === survivor) lamp = sub;
      else sub.forget();
    }
    await lamp.waitForNotifies(1);
    assert.match(lamp.lastBody, /Messages-Waiting: no/);

    // (d) 101 leaves a message for 102 (busy) on the doomed node; the other lists it.
    p102.autoAnswer({ status: 486 });
    const speech = speechLike(2500);
    const deposit = await callOn(p101, "102", doomed);
    await deposit.waitFor("answered", 15_000);
    await untilQuietAfterSound(deposit);
    await deposit.playAudio(concat(speech, silence(300)));
    await deposit.bye();
    p102.onIncomingCall = undefined;
    await waitUntil(
      "the message listed by the other node",
      async () => (await messagesOn(survivor)).length === 1,
      15_000,
    );
    assert.equal((await messagesOn(survivor))[0].callerNumber, "101");
    // The lamp held by the other node lights at once (the store's change feed).
    const litLamp = lamp;
    await waitUntil(
      "the lamp on the other node lit",
      () => /Messages-Waiting: yes/.test(litLamp.lastBody),
      5000,
    );

    // kill -9 the node that carries 105 ↔ 106 and took the message. Both
    // phones of the call get a BYE from Kamailio, within the keep-alive interval.
    const logMark = kamailio?.out.length ?? 0;
    doomed.child.proc.kill("SIGKILL");
    await doomed.child.exited;
    const killedAt = Date.now();
    const [endA, endB] = await Promise.all([
      carried.waitFor("ended", KA_INTERVAL_S * 1000),
      carriedIn.waitFor("ended", KA_INTERVAL_S * 1000),
    ]);
    for (const end of [endA, endB]) {
      assert.equal(end.by, "remote");
      assert.equal(end.reason, "bye");
    }
    const byeAfterMs = Date.now() - killedAt;
    assert.ok(byeAfterMs < KA_INTERVAL_S * 1000, `BYE ${byeAfterMs} ms after the kill`);

    // The dead node comes back (same SIP port, as its dispatcher entry says):
    // Kamailio's probes put it back in the set once it answers. Started now,
    // checked at the end.
    const back = startNode(
      doomed.name,
      { ...doomed.env, VPBX_SIP_PORT: String(doomed.sipPort) },
      doomed.rtpBase,
    ).then((node) => {
      nodes[nodes.indexOf(doomed)] = node;
      return node;
    });

    // The survivor takes everything new: REGISTERs (whatever node their
    // Call-ID hashes to: the dead one is out of the set)...
    const p103 = registered.get("103") as SipPhone;
    const again = await registerThrough(p103);
    assert.equal(again, survivor);
    // ...and registrations confirmed before the kill are all still there.
    const regs = await survivor.api<Array<{ extension: string }>>(
      "GET",
      "/api/v1/tenants/acme/registrations",
    );
    assert.deepEqual([...new Set(regs.body.map((r) => r.extension))].sort(), [
      "101",
      "102",
      "103",
      "104",
      "105",
      "106",
    ]);
    // The forwarding set with *72 before the kill applies: 101 → 104 rings 103.
    p103.autoAnswer();
    const forwarded = await p101.call("104");
    await forwarded.waitFor("answered", 15_000);
    const atTarget = await p103.waitForCall();
    assert.equal(atTarget.dialled, "103");
    assert.equal(nodeOf(forwarded.callId, "INVITE"), survivor);
    await forwarded.bye();
    p103.onIncomingCall = undefined;

    // (d) The owner hears the message through *97 on the surviving node.
    const menu = await p102.call("*97");
    await menu.waitFor("answered", 15_000);
    assert.equal(nodeOf(menu.callId, "INVITE"), survivor);
    await untilQuietAfterSound(menu);
    await menu.sendRfc4733(`${PIN}#`);
    await untilQuietAfterSound(menu);
    const before = menu.receivedPcm().length;
    await menu.sendRfc4733("1");
    await new Promise((r) => setTimeout(r, 6000));
    const heard = menu.receivedPcm().subarray(before);
    const match = correlate(heard, speech);
    assert.ok(
      match.score > 0.6,
      `the owner hears the message left on the dead node (score ${match.score.toFixed(3)})`,
    );
    await menu.bye();

    await back;
    await kamailio?.waitFor(
      new RegExp(
        `vpbx node sip:127\\.0\\.0\\.1:${doomed.sipPort} down[^]*vpbx node sip:127\\.0\\.0\\.1:${doomed.sipPort} up`,
      ),
      10_000,
      logMark,
    );
  });
});
