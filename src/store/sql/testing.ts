// A SqlContext for the repositories' own tests, on a fresh database migrated
// by the store's migration set (migrations.ts): a SQLite file always, and a
// PostgreSQL database when the test run started a server
// (scripts/run-tests.mjs, test/support/postgres.ts). Credentials are sealed
// under TEST_SECRET_KEY unless a test gives another key.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Kysely } from "kysely";
import { createDatabase } from "../../../test/support/postgres.ts";
import { type Clock, FakeClock } from "../../util/clock.ts";
import { connectPostgres, sqliteKysely } from "./connect.ts";
import { migrateToLatest } from "./migrations.ts";
import type { Database as Tables } from "./schema.ts";
import { SecretBox } from "./secret-box.ts";
import type { SqlContext } from "./sql-context.ts";

export interface TestContext {
  ctx: SqlContext;
  clock: Clock;
  close(): Promise<void>;
}

export interface TestEngine {
  name: "sqlite" | "postgres";
  open(clock?: Clock, secretKey?: Buffer): Promise<TestContext>;
}

/** The PostgreSQL server of this test run (its maintenance database), when there is one. */
export const TEST_PG_URL: string | undefined = process.env.VPBX_TEST_PG_URL || undefined;

/** The key of the tests' stores: random, once per test process. */
export const TEST_SECRET_KEY: Buffer = randomBytes(32);

export async function sqliteTestContext(
  clock: Clock = new FakeClock(),
  secretKey: Buffer = TEST_SECRET_KEY,
): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-sql-"));
  const file = new Database(join(dir, "vpbx.sqlite"));
  file.pragma("journal_mode = WAL");
  file.pragma("foreign_keys = ON");
  const db = sqliteKysely(file);
  try {
    await migrateToLatest(db, "sqlite", file);
  } catch (err) {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    clock,
    ctx: contextOn("sqlite", db, clock, secretKey),
    async close() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the test run's PostgreSQL server, migrated; dropped on close. */
export async function postgresTestContext(
  clock: Clock = new FakeClock(),
  secretKey: Buffer = TEST_SECRET_KEY,
): Promise<TestContext> {
  if (TEST_PG_URL === undefined) throw new Error("no PostgreSQL for the tests: VPBX_TEST_PG_URL is not set");
  const database = await createDatabase(TEST_PG_URL);
  let db: Kysely<Tables> | undefined;
  try {
    db = await connectPostgres(database.url, { max: 4 });
    await migrateToLatest(db, "postgres");
  } catch (err) {
    await db?.destroy();
    await database.drop();
    throw err;
  }
  const opened = db;
  return {
    clock,
    ctx: contextOn("postgres", opened, clock, secretKey),
    async close() {
      await opened.destroy();
      await database.drop();
    },
  };
}

function contextOn(
  engine: SqlContext["engine"],
  db: Kysely<Tables>,
  clock: Clock,
  secretKey: Buffer,
): SqlContext {
  return {
    engine,
    db,
    soft: db,
    iso: () => new Date(clock.now()).toISOString(),
    now: () => clock.now(),
    secrets: new SecretBox(secretKey),
  };
}

/**
 * The engines every repository test runs on: SQLite always; PostgreSQL
 * when the test run started one (VPBX_TEST_PG_URL).
 */
export const TEST_ENGINES: TestEngine[] = [
  { name: "sqlite", open: sqliteTestContext },
  ...(TEST_PG_URL === undefined ? [] : [{ name: "postgres" as const, open: postgresTestContext }]),
];
