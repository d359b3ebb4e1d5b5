// Opens the store on either engine: an embedded SQLite file under the data
// directory (the default), or a PostgreSQL server (VPBX_DATABASE_URL). Both
// are migrated to the latest schema (migrations.ts) before the repositories
// see them.
//
// SQLite durability. Two connections to the same file, both in WAL mode:
// - `db` (settings, voicemail, audit, the company's inbound flow) uses
//   synchronous=FULL: the WAL is fsynced at every commit, so a change that
//   the API or a voice prompt has confirmed survives a power cut.
// - `soft` (bindings, subscriptions) uses synchronous=NORMAL: a commit
//   survives a process crash and only a power cut can lose the last ones.
//   Bindings are soft state that every phone refreshes by itself (RFC 3261
//   §10.2.1), and at 2000 REGISTER/s an fsync per commit would stall the
//   event loop. Event subscriptions (RFC 6665) are soft state of the same kind.
// PostgreSQL: one pool serves both; the server's own durability settings apply.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { type Clock, SystemClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { Store } from "../types.ts";
import { connectPostgres, connectSqlite, redactDatabaseUrl, sqliteKysely } from "./connect.ts";
import { migrateToLatest } from "./migrations.ts";
import type { Database } from "./schema.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlAuthBlocks } from "./sql-auth-blocks.ts";
import { SqlBindings } from "./sql-bindings.ts";
import { SqlCompanyAudio } from "./sql-company-audio.ts";
import { SqlCompanyFlow } from "./sql-company-flow.ts";
import type { Engine, SqlContext } from "./sql-context.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlFeatureCodes } from "./sql-feature-codes.ts";
import { SqlForwarding } from "./sql-forwarding.ts";
import { SqlNumbers } from "./sql-numbers.ts";
import { SqlRingGroups } from "./sql-ring-groups.ts";
import { SqlSecrets } from "./sql-secrets.ts";
import { SqlSubscriptions } from "./sql-subscriptions.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlTrunks } from "./sql-trunks.ts";
import { SqlVoicemail } from "./sql-voicemail.ts";

export interface OpenStoreOptions {
  dataDir: string;
  /** postgres://user:password@host:5432/vpbx; undefined: SQLite in `<dataDir>/vpbx.sqlite`. */
  databaseUrl?: string;
  clock?: Clock;
  /** Where a PostgreSQL connection that fails while idle is reported (default: stderr). */
  log?: Logger;
}

export interface SqlStore extends Store {
  readonly engine: Engine;
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string;
}

/** The SQLite file of a data directory. */
export const SQLITE_FILE = "vpbx.sqlite";

/** Opens (creating and migrating when needed) the store. */
export async function openStore(opts: OpenStoreOptions): Promise<SqlStore> {
  const clock = opts.clock ?? new SystemClock();
  const opened =
    opts.databaseUrl === undefined
      ? await openSqlite(opts.dataDir)
      : await openPostgres(opts.databaseUrl, opts.log);
  const ctx: SqlContext = {
    engine: opened.engine,
    db: opened.db,
    soft: opened.soft,
    iso: () => new Date(clock.now()).toISOString(),
    now: () => clock.now(),
  };
  let closing: Promise<void> | undefined;
  return {
    engine: opened.engine,
    location: opened.location,
    tenants: new SqlTenants(ctx),
    extensions: new SqlExtensions(ctx),
    bindings: new SqlBindings(ctx),
    subscriptions: new SqlSubscriptions(ctx),
    forwarding: new SqlForwarding(ctx),
    featureCodes: new SqlFeatureCodes(ctx),
    trunks: new SqlTrunks(ctx),
    numbers: new SqlNumbers(ctx),
    audit: new SqlAudit(ctx),
    voicemail: new SqlVoicemail(ctx),
    ringGroups: new SqlRingGroups(ctx),
    companyFlow: new SqlCompanyFlow(ctx),
    companyAudio: new SqlCompanyAudio(ctx),
    secrets: new SqlSecrets(ctx),
    authBlocks: new SqlAuthBlocks(ctx),
    close() {
      closing ??= opened.close();
      return closing;
    },
  };
}

interface Opened {
  engine: Engine;
  location: string;
  db: Kysely<Database>;
  soft: Kysely<Database>;
  close(): Promise<void>;
}

async function openSqlite(dataDir: string): Promise<Opened> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, SQLITE_FILE);
  const settingsFile = connectSqlite(path, "FULL");
  const db = sqliteKysely(settingsFile);
  let soft: Kysely<Database>;
  try {
    await migrateToLatest(db, "sqlite", settingsFile);
    soft = sqliteKysely(connectSqlite(path, "NORMAL"));
  } catch (err) {
    await db.destroy(); // closes the file
    throw err;
  }
  return {
    engine: "sqlite",
    location: path,
    db,
    soft,
    async close() {
      // Kysely's destroy closes the better-sqlite3 connection under it.
      await soft.destroy();
      await db.destroy();
    },
  };
}

async function openPostgres(url: string, log: Logger | undefined): Promise<Opened> {
  const db = await connectPostgres(url, { log });
  try {
    await migrateToLatest(db, "postgres");
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { engine: "postgres", location: redactDatabaseUrl(url), db, soft: db, close: () => db.destroy() };
}
