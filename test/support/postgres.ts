// A throw-away PostgreSQL server for the tests: initdb into a temporary
// directory, one postmaster on a free loopback port, trust authentication on
// loopback only, fsync off (nothing here must survive a power cut). One server
// serves a whole test run (scripts/run-tests.mjs); each test context gets its
// own database (createDatabase).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres: the superuser on the maintenance database. */
  url: string;
  /** Fast shutdown (SIGINT), then the directory goes. Safe to call twice. */
  stop(): Promise<void>;
}

/** How long a fresh server may take to accept connections. */
const START_TIMEOUT_MS = 30_000;
const SUPERUSER = "postgres";

/**
 * The directory of initdb and postgres: on PATH, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH).
 * Undefined when PostgreSQL is not installed.
 */
export function findPostgresBin(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"))) return dir;
  }
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^[0-9]+(\.[0-9]+)?$/.test(v) && existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], "bin") : undefined;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error("PostgreSQL is not installed (Debian: apt-get install postgresql)");
  const dir = mkdtempSync(join(tmpdir(), "vpbx-pg-"));
  try {
    // postgres refuses to run as root: run it as the postgres user, which
    // must own the directory.
    const owner = process.getuid?.() === 0 ? systemUser(SUPERUSER) : undefined;
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const data = join(dir, "data");
    const log = join(dir, "postgres.log");
    await run(
      join(bin, "initdb"),
      ["-D", data, "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8", "--no-locale"],
      dir,
      owner,
    );

    let lastError: unknown;
    // A port found free may be taken before postgres binds it: try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const logFd = openSync(log, "a");
      const child = spawn(
        join(bin, "postgres"),
        [
          "-D",
          data,
          "-p",
          String(port),
          "-k",
          dir,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          "synchronous_commit=off",
          "-c",
          "full_page_writes=off",
          "-c",
          "max_connections=300",
        ],
        { cwd: dir, stdio: ["ignore", logFd, logFd], ...(owner ?? {}) },
      );
      closeSync(logFd);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      let alive = true;
      child.once("exit", () => {
        alive = false;
      });
      const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
      try {
        await waitForConnections(url, () => alive);
      } catch (err) {
        lastError = err;
        if (alive) child.kill("SIGKILL");
        await exited;
        continue;
      }
      let stopped = false;
      return {
        url,
        async stop() {
          if (stopped) return;
          stopped = true;
          // SIGINT: "fast shutdown", the sessions are ended without waiting.
          if (alive) child.kill("SIGINT");
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    throw new Error(`PostgreSQL did not start: ${String(lastError)}\n${tail(log)}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A fresh, empty database on the server of `url`; drop() ends its sessions and removes it. */
export async function createDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vpbx_test_${randomBytes(6).toString("hex")}`;
  await onMaintenance(url, (c) => c.query(`CREATE DATABASE ${name}`));
  const own = new URL(url);
  own.pathname = `/${name}`;
  let dropped = false;
  return {
    url: own.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await onMaintenance(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function onMaintenance(url: string, work: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

async function waitForConnections(url: string, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!alive()) throw new Error("postgres exited");
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      // Not up yet (connection refused, "the database system is starting up"): ask again shortly.
      if (Date.now() > deadline) throw err;
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function systemUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

function run(file: string, args: string[], cwd: string, owner?: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"], ...(owner ?? {}) });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}:\n${output}`)),
    );
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch (err) {
    return `(no log: ${String(err)})`;
  }
}
