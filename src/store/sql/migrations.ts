// Versioned schema changes of the SQL store: ONE set for both engines,
// written with Kysely's schema builder. The database remembers how far it got
// in `schema_migrations`; each step runs in its own transaction together with
// its version record, so a crash mid-upgrade leaves the previous version
// intact (both engines have transactional DDL). Append new steps at the end;
// never edit one that has shipped.
//
// Version 1 is the baseline: the schema of the SQLite store after its own
// migrations 1–6 (src/store/sqlite/migrations.ts), column for column, without
// its two triggers (the repositories do their work: an extension's delete
// clears the tenant's operator and its entry in company_codes). A file of that
// store keeps its rows: its own migrations bring it to 6, then the baseline is
// recorded as applied.
import type BetterSqlite3 from "better-sqlite3";
import { type CreateTableBuilder, type Kysely, sql } from "kysely";
import { migrate as migrateLegacySqlite } from "./legacy-sqlite-migrations.ts";
import type { Engine } from "./sql-context.ts";

/** The database as a migration sees it: the schema of its own time, not today's schema.ts. */
// biome-ignore lint/suspicious/noExplicitAny: no table type fits every version of the schema
export type MigrationDb = Kysely<any>;

export interface SqlMigration {
  /** 1, 2, 3... in order, without gaps. */
  version: number;
  description: string;
  /** Runs inside the step's transaction (`db` is that transaction). */
  up(db: MigrationDb, engine: Engine): Promise<void>;
}

/** The last schema version of the SQLite-only store (PRAGMA user_version); its files are adopted. */
export const LEGACY_SQLITE_VERSION = 6;
/**
 * The `user_version` this set leaves in a SQLite file: above every version
 * the SQLite-only store knows, so that an older vpbx refuses the file ("newer
 * than this vpbx knows") instead of running without the schema it expects.
 */
export const SQLITE_USER_VERSION = LEGACY_SQLITE_VERSION + 1;
/** The key of the PostgreSQL advisory lock that serialises two processes migrating at once. */
const PG_MIGRATION_LOCK = 0x76706278; // "vpbx"

const BASELINE_DESCRIPTION =
  "baseline: tenants, extensions, bindings, forwarding, feature codes, trunks, numbers, audit, subscriptions, voicemail, ring groups, company flow and audio";

export const SQL_MIGRATIONS: readonly SqlMigration[] = [
  { version: 1, description: BASELINE_DESCRIPTION, up: baseline },
  {
    version: 2,
    description: "hardening: tenant call cap, shared secrets, authentication blocks",
    up: hardening,
  },
  { version: 3, description: "bindings: the Path of a registration (RFC 3327)", up: bindingPath },
  { version: 4, description: "tenants: encryption required of their phones", up: requireEncryption },
  {
    version: 5,
    description: "console: users, their sessions, API tokens; the call history",
    up: consoleAndHistory,
  },
  {
    version: 6,
    description: "provider audit: changes of trunks, companies and provider users",
    up: providerAudit,
  },
];

/**
 * Brings the database to the latest version; returns the version it found
 * (0: a fresh database, or a file of the SQLite-only store, adopted here).
 * `legacySqlite` is the better-sqlite3 connection under `db` when the engine
 * is SQLite: a file of the SQLite-only store is brought to its version 6 on it.
 */
export async function migrateToLatest(
  db: MigrationDb,
  engine: Engine,
  legacySqlite?: BetterSqlite3.Database,
  migrations: readonly SqlMigration[] = SQL_MIGRATIONS,
): Promise<number> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.description}`);
  });
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  let found: number | undefined;
  if (engine === "sqlite" && (await adoptLegacySqlite(db, legacySqlite))) found = 0;

  for (;;) {
    const applied = await db.transaction().execute(async (trx) => {
      // Two processes starting at once on one PostgreSQL database: the second
      // waits here, then finds the work done. (SQLite: the file's write lock.)
      if (engine === "postgres")
        await sql`select pg_advisory_xact_lock(${sql.lit(PG_MIGRATION_LOCK)})`.execute(trx);
      await createVersionTable(trx);
      const row = await trx
        .selectFrom("schema_migrations")
        .select((eb) => eb.fn.max("version").as("version"))
        .executeTakeFirst();
      const current = Number(row?.version ?? 0);
      found ??= current;
      if (current > latest) {
        throw new Error(
          `database schema version ${current} is newer than this vpbx knows (${latest}): upgrade vpbx or restore a matching backup`,
        );
      }
      const next = migrations[current];
      if (next === undefined) return false;
      await next.up(trx, engine);
      await trx
        .insertInto("schema_migrations")
        .values({
          version: next.version,
          description: next.description,
          applied_at: new Date().toISOString(),
        })
        .execute();
      if (engine === "sqlite") await fenceUserVersion(trx);
      return true;
    });
    if (!applied) break;
  }
  return found ?? 0;
}

async function createVersionTable(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable("schema_migrations")
    .ifNotExists()
    .addColumn("version", "integer", (c) => c.primaryKey())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("applied_at", "text", (c) => c.notNull())
    .execute();
}

async function fenceUserVersion(db: MigrationDb): Promise<void> {
  await sql`pragma user_version = ${sql.lit(SQLITE_USER_VERSION)}`.execute(db);
}

/**
 * A file of the SQLite-only store (user_version 1–6, no schema_migrations):
 * its own migrations bring it to 6 (the baseline's schema plus two triggers),
 * then, in one transaction, the triggers go and the baseline is recorded.
 */
async function adoptLegacySqlite(
  db: MigrationDb,
  legacySqlite: BetterSqlite3.Database | undefined,
): Promise<boolean> {
  const tables = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' and name = 'schema_migrations'
  `.execute(db);
  if (tables.rows.length > 0) return false;
  const version = (await sql<{ user_version: number }>`pragma user_version`.execute(db)).rows[0]
    ?.user_version;
  if (!version) return false; // a fresh file
  if (version > LEGACY_SQLITE_VERSION) {
    throw new Error(
      `database schema version ${version} without a schema_migrations table is newer than this vpbx knows: upgrade vpbx or restore a matching backup`,
    );
  }
  if (legacySqlite === undefined) {
    throw new Error(
      `the database is from an older vpbx (schema version ${version}): upgrading it needs its better-sqlite3 connection`,
    );
  }
  migrateLegacySqlite(legacySqlite);
  await db.transaction().execute(async (trx) => {
    await createVersionTable(trx);
    await sql`drop trigger if exists extensions_clear_operator`.execute(trx);
    await sql`drop trigger if exists extensions_leave_company_codes`.execute(trx);
    await trx
      .insertInto("schema_migrations")
      .values({ version: 1, description: BASELINE_DESCRIPTION, applied_at: new Date().toISOString() })
      .execute();
    await fenceUserVersion(trx);
  });
  return true;
}

/** Version 1: every table of schema.ts, as the SQLite-only store left them after its version 6. */
async function baseline(db: MigrationDb, engine: Engine): Promise<void> {
  const pg = engine === "postgres";
  // Instants in milliseconds outgrow a 32-bit integer; SQLite's INTEGER is 64-bit already.
  const ms = pg ? "bigint" : "integer";
  // SQLite: STRICT tables, as the SQLite-only store made them (a value of the
  // wrong type is refused rather than stored).
  const table = (name: string): CreateTableBuilder<string, never> => {
    const t = db.schema.createTable(name);
    return pg ? t : t.modifyEnd(sql`strict`);
  };
  // `integer primary key` is SQLite's rowid alias (the order of creation);
  // PostgreSQL numbers the rows with an identity column.
  const id = (t: CreateTableBuilder<string, never>) =>
    t.addColumn("id", "integer", (c) =>
      pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
    );

  // Before tenants: PostgreSQL checks that a referenced table exists. The id
  // keeps the order of creation: after the default trunk is deleted, the
  // oldest remaining one becomes the default.
  await id(table("trunks"))
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("port", "integer", (c) => c.notNull())
    .addColumn("transport", "text", (c) => c.notNull())
    .addColumn("username", "text")
    // In clear: answering the carrier's digest challenge needs it.
    .addColumn("password", "text")
    .addColumn("register", "integer", (c) => c.notNull())
    .addColumn("number_format", "text", (c) => c.notNull())
    .addColumn("inbound_addresses", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("is_default", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  // At most one default, enforced by the database itself.
  await db.schema
    .createIndex("trunks_one_default")
    .on("trunks")
    .column("is_default")
    .unique()
    .where(sql.ref("is_default"), "=", 1)
    .execute();

  await table("tenants")
    .addColumn("name", "text", (c) => c.primaryKey())
    // Unique case-insensitively: SQLite by the column's collation, PostgreSQL
    // by a unique index on lower(domain) (below).
    .addColumn("domain", pg ? "text" : sql`text collate nocase`, (c) =>
      pg ? c.notNull() : c.notNull().unique(),
    )
    .addColumn("language", "text", (c) => c.notNull())
    .addColumn("timezone", "text", (c) => c.notNull())
    .addColumn("country", "text", (c) => c.notNull())
    // JSON documents: a new key needs no migration, a missing one reads as its default.
    .addColumn("features", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("policy", "text", (c) => c.notNull().defaultTo("{}"))
    // NULL: the default trunk. No ON DELETE action: a named trunk cannot go.
    .addColumn("trunk", "text", (c) => c.references("trunks.name"))
    // The extension that 0 during a greeting reaches. No foreign key (a
    // composite one would SET NULL the tenant's name too): deleting the
    // extension clears it (the extensions repository).
    .addColumn("operator", "text")
    .addColumn("waiting_seconds", "integer", (c) => c.notNull().defaultTo(30))
    .addColumn("company_codes", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  if (pg) {
    await db.schema
      .createIndex("tenants_domain_lower")
      .on("tenants")
      .unique()
      .expression(sql`lower(domain)`)
      .execute();
  }

  await table("extensions")
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("number", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("language", "text")
    .addColumn("ring_timeout_seconds", "integer", (c) => c.notNull())
    // The realm belongs to the credential, not to the tenant: a tenant whose
    // domain changes keeps working phones (RFC 7616 §3.4.2).
    .addColumn("realm", "text", (c) => c.notNull())
    .addColumn("ha1_md5", "text", (c) => c.notNull())
    .addColumn("ha1_sha256", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("no_answer_seconds", "integer", (c) => c.notNull().defaultTo(20))
    .addColumn("call_waiting", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_calls", "integer", (c) => c.notNull().defaultTo(2))
    .addColumn("caller_id", "text")
    .addColumn("mwi_unsolicited", "integer", (c) => c.notNull().defaultTo(0))
    // NULL: the company's default group (every extension starts there).
    .addColumn("pickup_group", "text")
    .addPrimaryKeyConstraint("extensions_pkey", ["tenant", "number"])
    .execute();

  // What hangs off one extension goes with it.
  const ofExtension = <T extends CreateTableBuilder<string, string>>(t: T, name: string, column: string): T =>
    t.addForeignKeyConstraint(
      `${name}_${column}_fkey`,
      ["tenant", column],
      "extensions",
      ["tenant", "number"],
      (f) => f.onDelete("cascade"),
    ) as T;

  await ofExtension(
    table("bindings")
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("extension", "text", (c) => c.notNull())
      .addColumn("contact", "text", (c) => c.notNull())
      .addColumn("call_id", "text", (c) => c.notNull())
      .addColumn("cseq", "integer", (c) => c.notNull())
      .addColumn("expires_at", ms, (c) => c.notNull())
      .addColumn("transport", "text", (c) => c.notNull())
      .addColumn("address", "text", (c) => c.notNull())
      .addColumn("port", "integer", (c) => c.notNull())
      .addColumn("user_agent", "text")
      .addPrimaryKeyConstraint("bindings_pkey", ["tenant", "extension", "contact"]),
    "bindings",
    "extension",
  ).execute();
  await db.schema.createIndex("bindings_expires_at").on("bindings").column("expires_at").execute();

  await ofExtension(
    table("forwarding")
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("extension", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("target", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("forwarding_pkey", ["tenant", "extension", "kind"]),
    "forwarding",
    "extension",
  ).execute();

  // Only a tenant's changes; the defaults live in the code.
  await table("feature_codes")
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("code", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("feature_codes_pkey", ["tenant", "action"])
    .execute();

  // A public number belongs to one company: unique across tenants. The id
  // keeps the order of creation (the first is the main number).
  await id(table("numbers"))
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("number", "text", (c) => c.notNull().unique())
    .addColumn("destination", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("numbers_tenant").on("numbers").columns(["tenant", "id"]).execute();

  // Who changed which setting, old and new values as JSON.
  await id(table("audit"))
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("old", "text", (c) => c.notNull())
    .addColumn("new", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_tenant").on("audit").columns(["tenant", "id"]).execute();

  // One row per subscription dialog (RFC 6665): enough to send the next
  // NOTIFY after a restart (RFC 3261 §12.1: Call-ID, tags, URIs, remote
  // target, route set, CSeqs).
  await ofExtension(
    table("subscriptions")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("extension", "text", (c) => c.notNull())
      .addColumn("package", "text", (c) => c.notNull())
      .addColumn("event_id", "text")
      .addColumn("resource", "text", (c) => c.notNull())
      .addColumn("call_id", "text", (c) => c.notNull())
      .addColumn("local_tag", "text", (c) => c.notNull())
      .addColumn("remote_tag", "text", (c) => c.notNull())
      .addColumn("local_uri", "text", (c) => c.notNull())
      .addColumn("remote_uri", "text", (c) => c.notNull())
      .addColumn("remote_target", "text", (c) => c.notNull())
      .addColumn("route_set", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("local_contact", "text", (c) => c.notNull())
      .addColumn("local_seq", "integer", (c) => c.notNull())
      .addColumn("remote_seq", "integer", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("transport", "text", (c) => c.notNull())
      .addColumn("address", "text", (c) => c.notNull())
      .addColumn("port", "integer", (c) => c.notNull())
      .addColumn("expires_at", ms, (c) => c.notNull()),
    "subscriptions",
    "extension",
  ).execute();
  await db.schema
    .createIndex("subscriptions_tenant")
    .on("subscriptions")
    .columns(["tenant", "extension"])
    .execute();
  await db.schema.createIndex("subscriptions_expires_at").on("subscriptions").column("expires_at").execute();

  // One row per extension whose mailbox was ever configured.
  await ofExtension(
    table("mailboxes")
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("mailbox", "text", (c) => c.notNull())
      .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(0))
      // "scrypt$<salt hex>$<hash hex>"; the PIN itself is never stored.
      .addColumn("pin_hash", "text")
      .addColumn("remote_access", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("skip_pin_on_own_phone", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("email", "text")
      .addColumn("delete_after_email", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("max_message_seconds", "integer", (c) => c.notNull().defaultTo(180))
      .addPrimaryKeyConstraint("mailboxes_pkey", ["tenant", "mailbox"]),
    "mailboxes",
    "mailbox",
  ).execute();

  // A message's audio is <dataDir>/voicemail/<tenant>/<mailbox>/<id>.wav,
  // committed on disk before its row (start-up recovers a file without a row).
  await ofExtension(
    table("voicemail_messages")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("mailbox", "text", (c) => c.notNull())
      .addColumn("folder", "text", (c) => c.notNull().check(sql`folder in ('new', 'old')`))
      .addColumn("caller_number", "text", (c) => c.notNull())
      .addColumn("caller_name", "text")
      .addColumn("received_at", "text", (c) => c.notNull())
      .addColumn("duration_ms", "integer", (c) => c.notNull()),
    "voicemail_messages",
    "mailbox",
  ).execute();
  await db.schema
    .createIndex("voicemail_messages_mailbox")
    .on("voicemail_messages")
    .columns(["tenant", "mailbox", "folder", "received_at"])
    .execute();

  // Wrong PINs of remote access, counted across calls and restarts.
  await ofExtension(
    id(table("pin_failures"))
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("mailbox", "text", (c) => c.notNull())
      .addColumn("at", ms, (c) => c.notNull())
      .addColumn("caller", "text", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull()),
    "pin_failures",
    "mailbox",
  ).execute();
  for (const by of ["mailbox", "caller", "source"]) {
    await db.schema
      .createIndex(`pin_failures_${by}`)
      .on("pin_failures")
      .columns(["tenant", by, "at"])
      .execute();
  }

  // Locks of remote access: subject '' is the mailbox itself; any other
  // subject is a caller locked out of the whole tenant on behalf of this
  // mailbox (its unlock lifts them).
  await ofExtension(
    table("mailbox_locks")
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("mailbox", "text", (c) => c.notNull())
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("until", ms, (c) => c.notNull())
      .addPrimaryKeyConstraint("mailbox_locks_pkey", ["tenant", "mailbox", "subject"]),
    "mailbox_locks",
    "mailbox",
  ).execute();
  await db.schema
    .createIndex("mailbox_locks_subject")
    .on("mailbox_locks")
    .columns(["tenant", "subject"])
    .execute();

  // Voicemail e-mails until the SMTP server accepts them; a deleted message
  // takes its pending e-mail with it.
  await id(table("mail_queue"))
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("mailbox", "text", (c) => c.notNull())
    .addColumn("message_id", "text", (c) =>
      c.notNull().references("voicemail_messages.id").onDelete("cascade"),
    )
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", ms, (c) => c.notNull())
    .addColumn("last_error", "text")
    .execute();
  await db.schema.createIndex("mail_queue_due").on("mail_queue").column("next_attempt_at").execute();
  await db.schema.createIndex("mail_queue_message").on("mail_queue").column("message_id").execute();

  // Members (extension numbers, in ringing order) and the fallback
  // destination as JSON. A deleted extension leaves the member lists in the
  // same transaction; a group that something names cannot go.
  await table("ring_groups")
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("members", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("strategy", "text", (c) => c.notNull().check(sql`strategy in ('simultaneous', 'sequential')`))
    .addColumn("timeout", "integer", (c) => c.notNull())
    .addColumn("member_timeout", "integer", (c) => c.notNull())
    .addColumn("fallback", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("ring_groups_pkey", ["tenant", "name"])
    .execute();

  // One row per company that set its schedule or call flow; NULL: the
  // default of the code (DEFAULT_SCHEDULE, DEFAULT_CALL_FLOW).
  await table("company_flow")
    .addColumn("tenant", "text", (c) => c.primaryKey().references("tenants.name").onDelete("cascade"))
    .addColumn("schedule", "text")
    .addColumn("call_flow", "text")
    .execute();

  // The *20 override with its end: it survives a restart and ends on time
  // even when the PBX was down at the transition.
  await table("schedule_overrides")
    .addColumn("tenant", "text", (c) => c.primaryKey().references("tenants.name").onDelete("cascade"))
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("since", ms, (c) => c.notNull())
    .addColumn("until", ms, (c) => c.notNull())
    .execute();

  // What is known of a company's own audio; the audio itself is
  // <dataDir>/company-audio/<tenant>/<kind>.wav, written before the row.
  await table("company_audio")
    .addColumn("tenant", "text", (c) => c.notNull().references("tenants.name").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull().check(sql`source in ('recording', 'upload', 'text')`))
    .addColumn("text", "text")
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("company_audio_pkey", ["tenant", "kind"])
    .execute();
}

/**
 * Version 2: a company's cap of simultaneous calls (one tenant cannot take
 * every media port), secrets every node shares (the nonce key), and the
 * growing blocks of sources and accounts that kept guessing passwords, kept
 * across restarts.
 */
async function hardening(db: MigrationDb, engine: Engine): Promise<void> {
  const pg = engine === "postgres";
  const ms = pg ? "bigint" : "integer";
  const table = (name: string): CreateTableBuilder<string, never> => {
    const t = db.schema.createTable(name);
    return pg ? t : t.modifyEnd(sql`strict`);
  };
  await db.schema
    .alterTable("tenants")
    .addColumn("max_calls", "integer", (c) => c.notNull().defaultTo(20))
    .execute();
  await table("secrets")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await table("auth_blocks")
    .addColumn("subject", "text", (c) => c.primaryKey())
    .addColumn("offences", "integer", (c) => c.notNull())
    .addColumn("until", ms, (c) => c.notNull())
    .addColumn("last_at", ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("auth_blocks_until").on("auth_blocks").column("until").execute();
}

/**
 * Version 3: the Path header field values of a REGISTER (RFC 3327 §5.3),
 * kept with the binding as a JSON list of name-addrs, topmost first (NULL:
 * none). Behind a proxy (Kamailio in front of several nodes) they are the
 * route set pre-loaded on every request sent to that contact (§5.4), so
 * that it reaches the phone through the proxy that saw it register.
 */
async function bindingPath(db: MigrationDb): Promise<void> {
  await db.schema.alterTable("bindings").addColumn("path", "text").execute();
}

/** Version 4: a company whose phones must use SIP over TLS and SRTP (0: plain allowed). */
async function requireEncryption(db: MigrationDb): Promise<void> {
  await db.schema
    .alterTable("tenants")
    .addColumn("require_encryption", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

/**
 * Version 5: who logs into the console (the provider, a company's
 * administrators, an extension's user) and their sessions, the API tokens of
 * integrations (kept as hashes: a copied database lets nobody in), and one
 * record per call for the history.
 */
async function consoleAndHistory(db: MigrationDb, engine: Engine): Promise<void> {
  const pg = engine === "postgres";
  const ms = pg ? "bigint" : "integer";
  const table = (name: string): CreateTableBuilder<string, never> => {
    const t = db.schema.createTable(name);
    return pg ? t : t.modifyEnd(sql`strict`);
  };
  await table("users")
    .addColumn("username", "text", (c) => c.primaryKey())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("tenant", "text")
    .addColumn("extension", "text")
    .addColumn("language", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("users_tenant").on("users").column("tenant").execute();
  await table("sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("csrf_token", "text", (c) => c.notNull())
    .addColumn("created_at", ms, (c) => c.notNull())
    .addColumn("expires_at", ms, (c) => c.notNull())
    .addColumn("last_seen_at", ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_username").on("sessions").column("username").execute();
  await db.schema.createIndex("sessions_expires_at").on("sessions").column("expires_at").execute();
  await table("api_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("tenant", "text")
    .addColumn("extension", "text")
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", ms)
    .execute();
  await db.schema.createIndex("api_tokens_tenant").on("api_tokens").column("tenant").execute();
  await table("call_history")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("call_id", "text", (c) => c.notNull())
    .addColumn("direction", "text", (c) => c.notNull())
    .addColumn("started_at", ms, (c) => c.notNull())
    .addColumn("answered_at", ms)
    .addColumn("ended_at", ms, (c) => c.notNull())
    .addColumn("caller", "text", (c) => c.notNull())
    .addColumn("caller_name", "text")
    .addColumn("dialled", "text", (c) => c.notNull())
    .addColumn("destination", "text")
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("forwarded_to", "text")
    .addColumn("trunk", "text")
    .addColumn("extensions", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("call_history_tenant_started")
    .on("call_history")
    .columns(["tenant", "started_at"])
    .execute();
  await db.schema.createIndex("call_history_started").on("call_history").column("started_at").execute();
}

/**
 * Version 6: the provider's own audit log, for changes that belong to no
 * company (trunks, companies created and deleted, provider users). Apart
 * from `audit`, whose rows go with their company (ON DELETE CASCADE): a
 * deleted company's "tenant.delete" must outlive it. Encoded as `audit`:
 * ISO time, actor and old/new as JSON text.
 */
async function providerAudit(db: MigrationDb, engine: Engine): Promise<void> {
  const pg = engine === "postgres";
  const t = db.schema.createTable("provider_audit");
  // As the baseline's `audit`: SQLite's rowid alias (rows are never deleted,
  // so it only grows), PostgreSQL's identity column; "newest first" is by id.
  await (pg ? t : t.modifyEnd(sql`strict`))
    .addColumn("id", "integer", (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("old", "text", (c) => c.notNull())
    .addColumn("new", "text", (c) => c.notNull())
    .execute();
}
