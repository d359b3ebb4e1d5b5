import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openStore } from "../store/sql/open-store.ts";
import { FakeClock } from "../util/clock.ts";
import { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, runCli } from "./run.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

function io(env: NodeJS.ProcessEnv = {}, extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const dataDir = join(root, `d${n++}`);
  const value: CliIo = {
    env: { VPBX_DATA_DIR: dataDir, ...env },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    clock,
    ...extra,
  };
  return { io: value, out, err, dataDir, text: () => out.join("\n"), errors: () => err.join("\n") };
}

test("tenant add, list, remove", async () => {
  const t = io();
  assert.equal(
    await runCli(["tenant", "add", "acme", "Acme.Test", "--language", "de", "--country", "CH"], t.io),
    EXIT_OK,
  );
  assert.match(t.text(), /tenant acme created: domain acme.test, language de/);
  assert.equal(
    await runCli(["tenant", "add", "bistro", "bistro.test", "--timezone", "Europe/Rome"], t.io),
    EXIT_OK,
  );
  assert.equal(await runCli(["tenant", "list"], t.io), EXIT_OK);
  assert.match(t.text(), /^acme\s+acme\.test\s+de\s+Europe\/Zurich\s+CH/m);
  assert.match(t.text(), /^bistro\s+bistro\.test\s+fr\s+Europe\/Rome/m);
  assert.equal(await runCli(["tenant", "add", "acme", "other.test"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /tenant acme already exists/);
  assert.equal(await runCli(["tenant", "remove", "bistro"], t.io), EXIT_OK);
  assert.equal(await runCli(["tenant", "remove", "bistro"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /tenant bistro does not exist/);
  const store = await openStore({ dataDir: t.dataDir });
  try {
    assert.deepEqual(
      (await store.tenants.list()).map((x) => x.name),
      ["acme"],
    );
  } finally {
    await store.close();
  }
});

test("bad tenant input is refused with every problem named", async () => {
  const t = io();
  const status = await runCli(
    ["tenant", "add", "Acme", "not a host", "--timezone", "Mars/Base", "--language", "es"],
    t.io,
  );
  assert.equal(status, EXIT_FAILED);
  const e = t.errors();
  for (const word of ["tenant name", "domain", "timezone", "language"]) assert.match(e, new RegExp(word));
  assert.doesNotMatch(e, /\n/, "one line");
});

test("ext add, list, remove; hashes stored, the password nowhere in the output", async () => {
  const t = io();
  await runCli(["tenant", "add", "acme", "acme.test"], t.io);
  assert.equal(
    await runCli(
      ["ext", "add", "acme", "101", "--password", "very-secret-1", "--name", "Alice Muster"],
      t.io,
    ),
    EXIT_OK,
  );
  assert.equal(
    await runCli(["ext", "add", "acme", "102", "--password", "very-secret-2", "--ring-timeout", "45"], t.io),
    0,
  );
  assert.equal(await runCli(["ext", "list", "acme"], t.io), EXIT_OK);
  assert.match(t.text(), /^101\s+Alice Muster\s+-\s+30$/m);
  assert.match(t.text(), /^102\s+102\s+-\s+45$/m);
  assert.doesNotMatch(t.text(), /very-secret/);
  assert.equal(await runCli(["ext", "add", "acme", "101", "--password", "very-secret-3"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /already exists/);
  assert.equal(
    await runCli(["ext", "add", "ghost", "101", "--password", "very-secret-3"], t.io),
    EXIT_FAILED,
  );
  assert.match(t.errors(), /tenant ghost does not exist/);
  assert.equal(await runCli(["ext", "list", "ghost"], t.io), EXIT_FAILED);
  for (const bad of [
    ["ext", "add", "acme", "103"],
    ["ext", "add", "acme", "103", "--password", "short"],
    ["ext", "add", "acme", "1", "--password", "long-enough"],
    ["ext", "add", "acme", "10101010", "--password", "10101010"],
    ["ext", "add", "acme", "1234", "--password", "12341234"],
    ["ext", "add", "acme", "103", "--password", "long-enough", "--ring-timeout", "2"],
    ["ext", "add", "acme", "103", "--password", "long-enough", "--ring-timeout", "soon"],
  ]) {
    assert.equal(await runCli(bad, t.io), EXIT_FAILED, bad.join(" "));
  }
  assert.match(t.errors(), /password is required/);
  assert.match(t.errors(), /password must not be the extension number/);
  assert.match(t.errors(), /ringTimeoutSeconds "soon"/);
  assert.equal(await runCli(["ext", "remove", "acme", "102"], t.io), EXIT_OK);
  assert.equal(await runCli(["ext", "remove", "acme", "102"], t.io), EXIT_FAILED);
  const store = await openStore({ dataDir: t.dataDir });
  try {
    const e = await store.extensions.list("acme");
    assert.deepEqual(
      e.map((x) => x.number),
      ["101"],
    );
    assert.equal(e[0].credentials.realm, "acme.test");
  } finally {
    await store.close();
  }
});

test("trunk add, list, remove; the password nowhere in the output; bad input refused", async () => {
  const t = io();
  assert.equal(
    await runCli(
      [
        "trunk",
        "add",
        "carrier",
        "SIP.Carrier.Example",
        "--username",
        "acme-trunk",
        "--password",
        "carrier-secret-pw",
        "--register",
        "--national",
        "--inbound",
        "203.0.113.7, 203.0.113.8",
      ],
      t.io,
    ),
    EXIT_OK,
    t.errors(),
  );
  assert.match(
    t.text(),
    /trunk carrier created: sip\.carrier\.example:5060 udp, digest as acme-trunk, registers, the default trunk/,
  );
  assert.equal(
    await runCli(["trunk", "add", "backup", "192.0.2.50", "--port", "5080", "--transport", "tcp"], t.io),
    EXIT_OK,
    t.errors(),
  );
  assert.equal(await runCli(["trunk", "list"], t.io), EXIT_OK);
  assert.match(
    t.text(),
    /^carrier\s+sip\.carrier\.example\s+5060\s+udp\s+national\s+acme-trunk\s+yes\s+yes\s+203\.0\.113\.7,203\.0\.113\.8$/m,
  );
  assert.match(t.text(), /^backup\s+192\.0\.2\.50\s+5080\s+tcp\s+e164\s+-\s+no\s+-$/m);
  assert.doesNotMatch(t.text(), /carrier-secret-pw/);
  for (const bad of [
    ["trunk", "add", "Bad", "h.example"],
    ["trunk", "add", "t3", "not a host"],
    ["trunk", "add", "t3", "h.example", "--port", "0"],
    ["trunk", "add", "t3", "h.example", "--port", "soon"],
    ["trunk", "add", "t3", "h.example", "--transport", "sctp"],
    ["trunk", "add", "t3", "h.example", "--register"],
    ["trunk", "add", "t3", "h.example", "--username", "u"],
    ["trunk", "add", "t3", "h.example", "--inbound", "carrier.example"],
  ]) {
    assert.equal(await runCli(bad, t.io), EXIT_FAILED, bad.join(" "));
  }
  const e = t.errors();
  for (const word of [
    /trunk name "Bad"/,
    /host "not a host"/,
    /port 0 must be/,
    /port "soon"/,
    /transport "sctp"/,
    /register needs a username and a password/,
    /username and password go together/,
    /inboundAddresses "carrier\.example"/,
  ]) {
    assert.match(e, word);
  }
  assert.equal(await runCli(["trunk", "add", "carrier", "x.example"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /trunk carrier already exists/);

  // A trunk a tenant uses cannot go.
  await runCli(["tenant", "add", "acme", "acme.test"], t.io);
  const store = await openStore({ dataDir: t.dataDir });
  await store.tenants.update("acme", { trunk: "backup" });
  await store.close();
  assert.equal(await runCli(["trunk", "remove", "backup"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /trunk backup is used by tenant acme/);
  assert.equal(await runCli(["trunk", "remove", "carrier"], t.io), EXIT_OK);
  assert.match(t.text(), /trunk carrier removed/);
  assert.equal(await runCli(["trunk", "remove", "carrier"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /trunk carrier does not exist/);
  const after = await openStore({ dataDir: t.dataDir });
  try {
    assert.deepEqual(
      (await after.trunks.list()).map((x) => [x.name, x.isDefault]),
      [["backup", true]],
      "the remaining trunk became the default",
    );
  } finally {
    await after.close();
  }
});

test("number add and list: read in the tenant's country, to an existing extension; unique across tenants", async () => {
  const t = io();
  await runCli(["tenant", "add", "acme", "acme.test"], t.io);
  await runCli(["tenant", "add", "bistro", "bistro.test", "--country", "DE"], t.io);
  await runCli(["ext", "add", "acme", "101", "--password", "very-secret-1"], t.io);
  await runCli(["ext", "add", "bistro", "20", "--password", "very-secret-2"], t.io);
  assert.equal(await runCli(["number", "add", "acme", "021 555 01 00", "101"], t.io), EXIT_OK, t.errors());
  assert.match(t.text(), /number \+41215550100 added to tenant acme, rings extension 101/);
  assert.equal(await runCli(["number", "add", "acme", "+41215550199", "101"], t.io), EXIT_OK, t.errors());
  assert.equal(await runCli(["number", "add", "bistro", "030 1234567", "20"], t.io), EXIT_OK, t.errors());
  assert.match(t.text(), /number \+49301234567 added to tenant bistro/);
  assert.equal(await runCli(["number", "list", "acme"], t.io), EXIT_OK);
  assert.match(t.text(), /^\+41215550100\s+extension 101\s+main$/m);
  assert.match(t.text(), /^\+41215550199\s+extension 101$/m);
  for (const bad of [
    ["number", "add", "acme", "12345", "101"],
    ["number", "add", "acme", "+41215550150", "555"],
    ["number", "add", "acme", "+41215550150", "1"],
    ["number", "add", "bistro", "+41 21 555 01 00", "20"],
    ["number", "add", "ghost", "+41215550150", "101"],
  ]) {
    assert.equal(await runCli(bad, t.io), EXIT_FAILED, bad.join(" "));
  }
  const e = t.errors();
  assert.match(e, /number "12345" must be a public phone number/);
  assert.match(e, /destination extension 555 does not exist in tenant acme/);
  assert.match(e, /extension number "1" must be 2 to 6 digits/);
  assert.match(e, /\+41215550100 already belongs to tenant acme/);
  assert.match(e, /tenant ghost does not exist/);
  assert.equal(await runCli(["number", "list", "ghost"], t.io), EXIT_FAILED);
  const empty = io({ VPBX_DATA_DIR: t.dataDir });
  await runCli(["tenant", "add", "empty", "empty.test"], empty.io);
  assert.equal(await runCli(["number", "list", "empty"], empty.io), EXIT_OK);
  assert.match(empty.text(), /no numbers in tenant empty/);
  const store = await openStore({ dataDir: t.dataDir });
  try {
    assert.deepEqual(
      (await store.numbers.listAll()).map((n) => `${n.tenant} ${n.number}`),
      ["acme +41215550100", "acme +41215550199", "bistro +49301234567"],
    );
  } finally {
    await store.close();
  }
});

test("user add, list, remove: provider, admin, user; passwords from the option, a pipe, or made and shown once", async () => {
  const { verifyPassword } = await import("../api/auth/passwords.ts");
  const piped: (string | undefined)[] = ["Marmot-sails-to-Ithaca-42\n", undefined, undefined];
  const t = io({}, { readStdin: async () => piped.shift() });
  await runCli(["tenant", "add", "acme", "acme.test"], t.io);
  await runCli(["ext", "add", "acme", "101", "--password", "correct-horse-battery"], t.io);
  assert.equal(
    await runCli(["user", "add", "Root", "--provider", "--password", "Quokka-juggles-7-plums!"], t.io),
    EXIT_OK,
  );
  assert.match(t.text(), /user root created: provider/);
  assert.equal(await runCli(["user", "add", "boss", "--tenant", "acme"], t.io), EXIT_OK, t.errors());
  assert.match(t.text(), /user boss created: administrator of tenant acme/);
  assert.doesNotMatch(t.text(), /Marmot/, "a piped password is not printed");
  // Nothing piped: a strong password is made and printed this once.
  assert.equal(
    await runCli(["user", "add", "anna", "--tenant", "acme", "--extension", "101", "--language", "it"], t.io),
    EXIT_OK,
  );
  const shown = /password \(shown this once\): (\S+)/.exec(t.text())?.[1] ?? "";
  assert.ok(shown.length >= 20, shown);
  assert.ok(!t.text().includes("Quokka"), "a given password is never printed");

  assert.equal(await runCli(["user", "list"], t.io), EXIT_OK);
  assert.match(t.text(), /^USERNAME\s+ROLE\s+TENANT\s+EXTENSION\s+LANG$/m);
  assert.match(t.text(), /^anna\s+user\s+acme\s+101\s+it$/m);
  assert.match(t.text(), /^boss\s+admin\s+acme\s+-\s+-$/m);
  assert.match(t.text(), /^root\s+provider\s+-\s+-\s+-$/m);
  assert.doesNotMatch(t.text(), /argon2/);

  const store = await openStore({ dataDir: t.dataDir });
  try {
    assert.ok(await verifyPassword((await store.users.get("root"))?.passwordHash, "Quokka-juggles-7-plums!"));
    assert.ok(
      await verifyPassword((await store.users.get("boss"))?.passwordHash, "Marmot-sails-to-Ithaca-42"),
    );
    assert.ok(await verifyPassword((await store.users.get("anna"))?.passwordHash, shown));
    const audit = await store.audit.list("acme");
    assert.deepEqual(audit[0].actor.kind, "cli");
    assert.equal(audit[0].action, "user.create");
  } finally {
    await store.close();
  }

  // Refused, with the reason: nothing is created.
  const bad = io({}, { readStdin: async () => undefined });
  bad.io.env = t.io.env;
  for (const [argv, why] of [
    [["user", "add", "x1", "--tenant", "acme", "--password", "password1234"], /too common/],
    [
      ["user", "add", "x2", "--tenant", "ghost", "--password", "Quokka-juggles-7-plums!"],
      /tenant ghost does not exist/,
    ],
    [
      [
        "user",
        "add",
        "x3",
        "--tenant",
        "acme",
        "--extension",
        "199",
        "--password",
        "Quokka-juggles-7-plums!",
      ],
      /extension 199 does not exist/,
    ],
    [["user", "add", "x4", "--provider", "--tenant", "acme"], /--provider names no tenant/],
    [["user", "add", "x5"], /--provider, or --tenant/],
    [["user", "add", "bad name!", "--provider"], /username "bad name!"/],
    [
      ["user", "add", "BOSS", "--tenant", "acme", "--password", "Quokka-juggles-7-plums!"],
      /user boss already exists/,
    ],
  ] as [string[], RegExp][]) {
    assert.equal(await runCli(argv, bad.io), EXIT_FAILED, argv.join(" "));
    assert.match(bad.errors(), why);
  }
  assert.equal(await runCli(["user", "remove", "BOSS"], t.io), EXIT_OK);
  assert.match(t.text(), /user boss removed/);
  assert.equal(await runCli(["user", "remove", "boss"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /user boss does not exist/);
  assert.equal(await runCli(["user", "list", "--tenant", "acme"], t.io), EXIT_OK);
  assert.doesNotMatch(t.text().split("user boss removed")[1], /^boss/m);
});

test("usage: unknown commands and options exit 2, --help exits 0", async () => {
  const t = io();
  assert.equal(await runCli([], t.io), EXIT_USAGE);
  assert.equal(await runCli(["frobnicate"], t.io), EXIT_USAGE);
  assert.match(t.errors(), /unknown command "frobnicate"/);
  assert.equal(await runCli(["tenant", "explode"], t.io), EXIT_USAGE);
  assert.equal(await runCli(["tenant", "add", "only-name"], t.io), EXIT_USAGE);
  assert.match(t.errors(), /tenant add expects <name> <domain>/);
  assert.equal(await runCli(["tenant", "list", "--color"], t.io), EXIT_USAGE);
  assert.equal(await runCli(["--help"], t.io), EXIT_OK);
  assert.match(t.text(), /vpbx ext add <tenant> <number> --password/);
  assert.match(t.text(), /vpbx trunk add <name> <host> \[--port 5060\]/);
  assert.match(t.text(), /vpbx number add <tenant> <number> <extension>/);
  for (const cmd of [
    ["start"],
    ["tenant", "add"],
    ["tenant", "list"],
    ["tenant", "remove"],
    ["ext", "add"],
    ["ext", "list"],
    ["ext", "remove"],
    ["trunk", "add"],
    ["trunk", "list"],
    ["trunk", "remove"],
    ["number", "add"],
    ["number", "list"],
    ["user", "add"],
    ["user", "list"],
    ["user", "remove"],
    ["status"],
  ]) {
    const h = io();
    assert.equal(await runCli([...cmd, "--help"], h.io), EXIT_OK, cmd.join(" "));
    assert.match(h.text(), new RegExp(`^usage: vpbx ${cmd.join(" ")}`));
  }
});

test("a bad configuration is one clear line and exit 1", async () => {
  const t = io({ VPBX_RTP_PORTS: "9-5", VPBX_LOG_LEVEL: "loud" });
  assert.equal(await runCli(["tenant", "list"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /^vpbx: invalid configuration: VPBX_RTP_PORTS="9-5" .*; VPBX_LOG_LEVEL="loud"/);
  assert.equal(t.err.length, 1);
});

test("status: live registrations per tenant; calls only with a token, from the server's API", async () => {
  const t = io();
  await runCli(["tenant", "add", "acme", "acme.test"], t.io);
  await runCli(["ext", "add", "acme", "101", "--password", "very-secret-1"], t.io);
  await runCli(["ext", "add", "acme", "102", "--password", "very-secret-2"], t.io);
  const store = await openStore({ dataDir: t.dataDir });
  const b = {
    tenant: "acme",
    callId: "c",
    cseq: 1,
    source: { transport: "UDP" as const, address: "192.0.2.7", port: 5062 },
  };
  await store.bindings.upsert({
    ...b,
    extension: "101",
    contact: "sip:101@192.0.2.7:5062",
    expiresAt: clock.now() + 60_000,
  });
  await store.bindings.upsert({
    ...b,
    extension: "102",
    contact: "sip:102@192.0.2.8",
    expiresAt: clock.now() - 1,
  });
  await store.close();

  assert.equal(await runCli(["status"], t.io), EXIT_OK);
  assert.match(t.text(), /acme \(acme\.test\): 2 extensions, 1 registered/);
  assert.match(t.text(), /101 {2}sip:101@192\.0\.2\.7:5062 {2}from udp:192\.0\.2\.7:5062/);
  assert.doesNotMatch(t.text(), /sip:102@/, "expired bindings are not shown");
  assert.match(t.text(), /calls: not shown/);

  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization}`);
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify([
        {
          id: "1",
          tenant: "acme",
          from: "101",
          to: "102",
          state: "ringing",
          startedAt: "2026-01-05T08:00:00.000Z",
          callIds: [],
        },
      ]),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as AddressInfo).port;
    const withToken = io({
      VPBX_DATA_DIR: t.dataDir,
      VPBX_HTTP_PORT: String(port),
      VPBX_ADMIN_TOKEN: "admin-token-for-tests",
    });
    assert.equal(await runCli(["status"], withToken.io), EXIT_OK);
    assert.deepEqual(seen, ["/api/v1/calls Bearer admin-token-for-tests"]);
    assert.match(withToken.text(), /calls: 1 active\n {2}acme {2}101 -> 102 {2}ringing/);
  } finally {
    server.close();
  }
});

test("start runs until the stop signal, then stops; a start failure is one line and exit 1", async () => {
  const events: string[] = [];
  let signal!: () => void;
  const t = io(
    {},
    {
      start: async (config) => {
        events.push(`start ${config.sipPort}`);
        return { sipPort: 5060, httpPort: 8080, stop: async () => void events.push("stop") };
      },
      stopSignal: () => new Promise<void>((r) => (signal = r)),
    },
  );
  const running = runCli(["start"], t.io);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ["start 5060"]);
  assert.match(t.text(), /running, SIP on port 5060, API on port 8080/);
  signal();
  assert.equal(await running, EXIT_OK);
  assert.deepEqual(events, ["start 5060", "stop"]);

  const failing = io(
    {},
    {
      start: async () => {
        throw Object.assign(new Error("listen EADDRINUSE: address already in use 0.0.0.0:5060"), {
          code: "EADDRINUSE",
        });
      },
      stopSignal: () => new Promise<void>(() => {}),
    },
  );
  assert.equal(await runCli(["start"], failing.io), EXIT_FAILED);
  assert.equal(
    failing.errors(),
    "vpbx: cannot start: listen EADDRINUSE: address already in use 0.0.0.0:5060",
  );
});

test("prompts build: asks the prompt cache for the chosen languages", async () => {
  const calls: { dataDir: string; languages?: string[] }[] = [];
  const t = io(
    { VPBX_LOG_LEVEL: "silent" },
    {
      buildPrompts: async (opts) => {
        calls.push({ dataDir: opts.dataDir, languages: opts.languages });
        return { generated: 12, cached: 300, ms: 4200 };
      },
    },
  );
  assert.equal(await runCli(["prompts", "build", "--language", "fr,de"], t.io), EXIT_OK);
  assert.deepEqual(calls, [{ dataDir: t.dataDir, languages: ["fr", "de"] }]);
  assert.equal(t.text(), "prompts: 12 generated, 300 already cached (4.2 s)");
  assert.equal(await runCli(["prompts", "build"], t.io), EXIT_OK);
  assert.equal(calls[1].languages, undefined, "all languages by default");
  assert.equal(await runCli(["prompts", "build", "--language", "fr,es"], t.io), EXIT_FAILED);
  assert.match(t.errors(), /language "es" must be one of fr, de, it, en/);
  assert.equal(calls.length, 2);
});

test("the real command: spawned process, exit codes and output", () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const env = { ...process.env, VPBX_DATA_DIR: join(root, "spawned") };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", main, ...args], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
  const add = run("tenant", "add", "acme", "acme.test");
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /tenant acme created/);
  const ext = run("ext", "add", "acme", "101", "--password", "spawned-secret", "--name", "Alice");
  assert.equal(ext.status, 0, ext.stderr);
  const list = run("ext", "list", "acme");
  assert.match(list.stdout, /^101\s+Alice/m);
  const bad = run("tenant", "add", "BAD", "acme2.test");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^vpbx: tenant name "BAD" must be/);
  const unknown = run("dance");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command/);
});
