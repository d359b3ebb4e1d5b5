// Connections of the SQL store, shared by openStore and the tests' contexts
// (testing.ts), so that both talk to the engines the same way.
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, type SqliteStatement } from "kysely";
import pg from "pg";
import type { Logger } from "../../util/log.ts";
import type { ReadCache } from "./read-cache.ts";
import type { Database } from "./schema.ts";

/** Connections of the PostgreSQL pool. */
export const PG_POOL_SIZE = 10;
/** How long a new PostgreSQL connection may take before the attempt fails. */
const PG_CONNECT_TIMEOUT_MS = 10_000;
/** pg's type OID of BIGINT (int8): the millisecond columns, count(*). */
const PG_INT8 = 20;

/** A better-sqlite3 connection with the store's settings. */
export function connectSqlite(path: string, synchronous: "FULL" | "NORMAL"): BetterSqlite3.Database {
  const file = new BetterSqlite3(path);
  try {
    file.pragma("journal_mode = WAL");
    // Another process (the `vpbx` CLI beside a running server) may hold the
    // write lock for a moment: wait rather than fail.
    file.pragma("busy_timeout = 5000");
    file.pragma("foreign_keys = ON");
    file.pragma(`synchronous = ${synchronous}`);
  } catch (err) {
    file.close();
    throw err;
  }
  return file;
}

/** How many compiled statements a SQLite connection keeps. */
const SQLITE_STATEMENT_CACHE = 500;

/**
 * A Kysely over a SQLite connection. Kysely prepares every query it runs;
 * compiling the same SQL again on each REGISTER and call cost a quarter of
 * the call rate, so compiled statements are kept by their text (the store's
 * queries are a few hundred shapes; their values are parameters).
 *
 * With a `cache`, every statement is shown to it once: its writes then
 * invalidate what the cache holds of the tables they change (read-cache.ts).
 */
export function sqliteKysely(file: BetterSqlite3.Database, cache?: ReadCache): Kysely<Database> {
  const statements = new Map<string, SqliteStatement>();
  const watched = cache?.watch(file);
  const database = {
    close: () => file.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (!statement) {
        const prepared = file.prepare(sql);
        statement = watched ? watched(sql, prepared) : prepared;
        if (statements.size >= SQLITE_STATEMENT_CACHE) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

/**
 * A Kysely over a pg pool on `url`, once a first connection has succeeded: an
 * unreachable server or a refused login is reported with the address (never
 * the password) rather than at the first query. destroy() ends the pool.
 */
export async function connectPostgres(
  url: string,
  opts: { max?: number; log?: Logger } = {},
): Promise<Kysely<Database>> {
  const where = serverOf(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? PG_POOL_SIZE,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // BIGINT arrives as a string by default (it may exceed 2^53); our BIGINT
    // columns hold milliseconds since the epoch and counts, far below that.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8 && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that the server ends (restart, failover) is dropped
  // from the pool and replaced on next use; without a listener pg's "error"
  // event would end the process.
  pool.on("error", (err) => {
    if (opts.log) opts.log.warn({ err }, `PostgreSQL connection to ${where} lost while idle`);
    else console.error(`PostgreSQL connection to ${where} lost while idle: ${err.message}`);
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end();
    const reason = err instanceof Error ? err.message : String(err);
    // A five-character SQLSTATE: the server answered (bad password, no such database).
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
      throw new Error(`PostgreSQL at ${where} refused the connection (VPBX_DATABASE_URL): ${reason}`);
    }
    throw new Error(`cannot reach PostgreSQL at ${where} (VPBX_DATABASE_URL): ${reason}`);
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: nulSafe(pool) }) });
}

const PATCHED = Symbol("nul-safe");

/**
 * PostgreSQL text cannot hold NUL (0x00), which SQLite stores and compares
 * like any character; a username or domain from the network may carry one
 * (RFC 4475 §3.1.2.4 escnull). So a query with a NUL in a parameter never
 * reaches the server: a SELECT finds nothing, as SQLite would; a write is
 * refused with a RangeError (bad input, not a server error).
 */
function nulSafe(pool: pg.Pool): pg.Pool {
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const wrapped = async (): Promise<pg.PoolClient> => {
    const client = await connect();
    const patched = client as pg.PoolClient & { [PATCHED]?: true };
    if (!patched[PATCHED]) {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      patched.query = ((...args: unknown[]) => {
        const [text, params] = args;
        if (typeof text === "string" && Array.isArray(params) && params.some(hasNul)) {
          if (/^\s*select\b/i.test(text))
            return Promise.resolve({ rows: [], rowCount: 0, command: "SELECT" });
          return Promise.reject(new RangeError("a text value contains a NUL character"));
        }
        return query(...args);
      }) as typeof client.query;
      patched[PATCHED] = true;
    }
    return client;
  };
  return Object.assign(pool, { connect: wrapped });
}

const hasNul = (v: unknown): boolean => typeof v === "string" && v.includes("\u0000");

/** The URL without its password: "postgres://vpbx@db:5432/vpbx". */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    // Not a URL (the configuration refuses those): say nothing of it rather than risk a password.
    return "(unparsable database URL)";
  }
}

/** host:port of a PostgreSQL URL, for messages. */
function serverOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}`;
  } catch {
    // pg reports its own parse error in the message that follows.
    return "(unparsable VPBX_DATABASE_URL)";
  }
}
