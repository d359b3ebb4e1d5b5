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
//
// Hot reads. On SQLite a read cache (read-cache.ts) watches both connections
// and answers the reads that every call repeats from memory until a write
// changes their table; PostgreSQL has none (other nodes write without telling).
//
// Secrets at rest. The data directory is created 0700 and the SQLite file
// 0600 before SQLite opens it (SQLite gives its -wal and -shm files the mode
// of the database file), whatever the umask. Credentials are sealed under a
// key kept apart from the database (secret-box.ts, secret-key.ts): at open,
// a sealed check value proves that the key is the one the database was
// written with (a wrong key stops the start with a clear error rather than
// failing every phone), and credentials stored in clear by an older vpbx are
// sealed, in one transaction.
import { join } from "node:path";
import type { Kysely } from "kysely";
import { type Clock, SystemClock } from "../../util/clock.ts";
import {
  createPrivateFile,
  ensurePrivateDir,
  modeString,
  PRIVATE_FILE_MODE,
  tighten,
} from "../../util/file-permissions.ts";
import type { Logger } from "../../util/log.ts";
import type { Store } from "../types.ts";
import { connectPostgres, connectSqlite, redactDatabaseUrl, sqliteKysely } from "./connect.ts";
import { migrateToLatest } from "./migrations.ts";
import { ReadCache } from "./read-cache.ts";
import type { Database } from "./schema.ts";
import { SecretBox, SecretKeyMismatch } from "./secret-box.ts";
import { readOrCreateKeyFile, SECRET_KEY_FILE } from "./secret-key.ts";
import { SqlApiTokens } from "./sql-api-tokens.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlAuthBlocks } from "./sql-auth-blocks.ts";
import { SqlBindings } from "./sql-bindings.ts";
import { SqlCallHistory } from "./sql-call-history.ts";
import { NO_CHANGES, PostgresChanges } from "./sql-changes.ts";
import { SqlCompanyAudio } from "./sql-company-audio.ts";
import { SqlCompanyFlow } from "./sql-company-flow.ts";
import type { Engine, SqlContext } from "./sql-context.ts";
import { SqlExtensions, sealPlainExtensions } from "./sql-extensions.ts";
import { SqlFeatureCodes } from "./sql-feature-codes.ts";
import { SqlForwarding } from "./sql-forwarding.ts";
import { SqlNumbers } from "./sql-numbers.ts";
import { SqlRingGroups } from "./sql-ring-groups.ts";
import { SqlSecrets, sealPlainSecrets } from "./sql-secrets.ts";
import { SqlSessions } from "./sql-sessions.ts";
import { SqlSubscriptions } from "./sql-subscriptions.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlTrunks, sealPlainTrunks } from "./sql-trunks.ts";
import { SqlUsers } from "./sql-users.ts";
import { SqlVoicemail } from "./sql-voicemail.ts";

export interface OpenStoreOptions {
  dataDir: string;
  /** postgres://user:password@host:5432/vpbx; undefined: SQLite in `<dataDir>/vpbx.sqlite`. */
  databaseUrl?: string;
  clock?: Clock;
  /**
   * Where a PostgreSQL connection that fails while idle is reported (default:
   * stderr), and the permissions tightened on the SQLite files.
   */
  log?: Logger;
  /**
   * The key that seals stored credentials (loadSecretKey: VPBX_SECRET_KEY or
   * its file); undefined: the key file of the data directory
   * (`<dataDir>/secret.key`), created on first use.
   */
  secretKey?: Buffer;
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
  const box = new SecretBox(
    opts.secretKey ??
      readOrCreateKeyFile(join(opts.dataDir, SECRET_KEY_FILE), { log: opts.log, inDataDir: true }),
  );
  const opened =
    opts.databaseUrl === undefined
      ? await openSqlite(opts.dataDir, opts.log, clock)
      : await openPostgres(opts.databaseUrl, opts.log);
  const ctx: SqlContext = {
    engine: opened.engine,
    db: opened.db,
    soft: opened.soft,
    iso: () => new Date(clock.now()).toISOString(),
    now: () => clock.now(),
    secrets: box,
    ...(opened.cache === undefined ? {} : { cache: opened.cache }),
  };
  try {
    await checkSecretKey(ctx);
    const sealed = await sealStoredSecrets(ctx);
    if (sealed.extensions + sealed.trunks + sealed.secrets > 0) {
      opts.log?.info(sealed, "credentials stored in clear by an older vpbx are now sealed");
    }
  } catch (err) {
    await opened.close();
    throw err;
  }
  // Several nodes on one PostgreSQL database hear each other's changes (sql-changes.ts).
  const changes =
    opened.engine === "postgres" && opts.databaseUrl !== undefined
      ? new PostgresChanges({ url: opts.databaseUrl, db: opened.db, clock, log: opts.log })
      : undefined;
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
    callHistory: new SqlCallHistory(ctx),
    users: new SqlUsers(ctx),
    sessions: new SqlSessions(ctx),
    apiTokens: new SqlApiTokens(ctx),
    changes: changes ?? NO_CHANGES,
    close() {
      closing ??= (async () => {
        await changes?.close();
        await opened.close();
      })();
      return closing;
    },
  };
}

/** The connections of a store, before the repositories. */
export interface Opened {
  engine: Engine;
  location: string;
  db: Kysely<Database>;
  soft: Kysely<Database>;
  /** SQLite: the read cache that watches both connections; PostgreSQL: none. */
  cache?: ReadCache;
  close(): Promise<void>;
}

/** The two connections to `<dataDir>/vpbx.sqlite`, migrated, with the read cache on the store's clock. */
export async function openSqlite(
  dataDir: string,
  log: Logger | undefined,
  clock: Clock = new SystemClock(),
): Promise<Opened> {
  ensurePrivateDir(dataDir);
  const path = join(dataDir, SQLITE_FILE);
  // 0600 before SQLite opens it: SQLite creates the -wal and -shm files with
  // the database file's mode. Files of an older vpbx (0644) are tightened.
  if (!createPrivateFile(path)) {
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      const was = tighten(file, PRIVATE_FILE_MODE);
      if (was !== undefined) {
        log?.warn(
          { path: file, was: modeString(was) },
          `${file} was ${modeString(was)}, readable by other users: tightened to 0600`,
        );
      }
    }
  }
  const cache = new ReadCache(() => clock.now());
  const settingsFile = connectSqlite(path, "FULL");
  const db = sqliteKysely(settingsFile, cache);
  let soft: Kysely<Database>;
  let softFile: ReturnType<typeof connectSqlite>;
  try {
    await migrateToLatest(db, "sqlite", settingsFile);
    softFile = connectSqlite(path, "NORMAL");
    soft = sqliteKysely(softFile, cache);
  } catch (err) {
    await db.destroy(); // closes the file
    throw err;
  }
  return {
    engine: "sqlite",
    location: path,
    db,
    soft,
    cache,
    async close() {
      // Kysely's destroy closes the better-sqlite3 connection under it, but
      // only once a query has run on it: a connection never used (the soft
      // one of a CLI command) stays open, and with it the WAL, which then is
      // not checkpointed into the file. So each file is closed here too.
      cache.close();
      await soft.destroy();
      await db.destroy();
      for (const file of [softFile, settingsFile]) if (file.open) file.close();
    },
  };
}

/** A pool on `url`, migrated; no read cache (other nodes write without telling this one). */
export async function openPostgres(url: string, log: Logger | undefined): Promise<Opened> {
  const db = await connectPostgres(url, { log });
  try {
    await migrateToLatest(db, "postgres");
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { engine: "postgres", location: redactDatabaseUrl(url), db, soft: db, close: () => db.destroy() };
}

/** The shared secret whose sealed value proves the key (any value: GCM's tag is the proof). */
export const KEY_CHECK_SECRET = "vpbx.secret-key-check";

/**
 * The first opening writes a sealed check value; every later one (any node)
 * opens it: SecretKeyMismatch, with the message an operator acts on, when this
 * key is not the one the database was written with.
 */
export async function checkSecretKey(ctx: SqlContext): Promise<void> {
  try {
    await new SqlSecrets(ctx).setIfAbsent(KEY_CHECK_SECRET, "vpbx");
  } catch (err) {
    if (err instanceof SecretKeyMismatch) {
      throw new SecretKeyMismatch(`the key given has fingerprint ${ctx.secrets.fingerprint}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Seals, in one transaction, every credential stored in clear (by a vpbx
 * from before sealing, or adopted from a SQLite-only store): HA1 values,
 * trunk passwords, shared secrets. Returns how many rows of each.
 */
export async function sealStoredSecrets(
  ctx: SqlContext,
): Promise<{ extensions: number; trunks: number; secrets: number }> {
  return ctx.db.transaction().execute(async (trx) => ({
    extensions: await sealPlainExtensions(trx, ctx.secrets),
    trunks: await sealPlainTrunks(trx, ctx.secrets),
    secrets: await sealPlainSecrets(trx, ctx.secrets),
  }));
}
