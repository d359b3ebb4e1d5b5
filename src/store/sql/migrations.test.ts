import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { createDatabase } from "../../../test/support/postgres.ts";
import { connectPostgres } from "./connect.ts";
import { MIGRATIONS, migrate } from "./legacy-sqlite-migrations.ts";
import { migrateToLatest, SQL_MIGRATIONS, SQLITE_USER_VERSION } from "./migrations.ts";
import type { Database as Tables } from "./schema.ts";
import { constraint, type Db } from "./sql-context.ts";
import { TEST_ENGINES, TEST_PG_URL, type TestContext } from "./testing.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const TABLES = [
  "api_tokens",
  "audit",
  "auth_blocks",
  "bindings",
  "call_history",
  "company_audio",
  "company_flow",
  "extensions",
  "feature_codes",
  "forwarding",
  "mail_queue",
  "mailbox_locks",
  "mailboxes",
  "numbers",
  "pin_failures",
  "provider_audit",
  "ring_groups",
  "schedule_overrides",
  "schema_migrations",
  "secrets",
  "sessions",
  "subscriptions",
  "tenants",
  "trunks",
  "users",
  "voicemail_messages",
];

/** The named indexes of the SQLite-only store, kept by the baseline. */
const INDEXES = [
  "audit_tenant",
  "bindings_expires_at",
  "mail_queue_due",
  "mail_queue_message",
  "mailbox_locks_subject",
  "numbers_tenant",
  "pin_failures_caller",
  "pin_failures_mailbox",
  "pin_failures_source",
  "subscriptions_expires_at",
  "subscriptions_tenant",
  "trunks_one_default",
  "voicemail_messages_mailbox",
];

async function tablesOf(t: TestContext): Promise<string[]> {
  const q =
    t.ctx.engine === "sqlite"
      ? sql<{
          name: string;
        }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`
      : sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = 'public'`;
  return (await q.execute(t.ctx.db)).rows.map((r) => r.name).sort();
}

async function indexesOf(t: TestContext): Promise<string[]> {
  const q =
    t.ctx.engine === "sqlite"
      ? sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and name not like 'sqlite_%'`
      : sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = 'public'`;
  return (await q.execute(t.ctx.db)).rows.map((r) => r.name).sort();
}

async function rejects(work: Promise<unknown>, kind: "unique" | "foreign" | "check"): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    if (kind !== "check") return constraint(err) === kind;
    const code = (err as { code?: unknown }).code;
    return code === "SQLITE_CONSTRAINT_CHECK" || code === "23514"; // SQLSTATE check_violation
  });
}

function insertTrunk(db: Db, name: string, isDefault: number) {
  return db
    .insertInto("trunks")
    .values({
      name,
      host: `${name}.example`,
      port: 5060,
      transport: "udp",
      username: null,
      password: null,
      register: 0,
      number_format: "e164",
      inbound_addresses: "[]",
      is_default: isDefault,
      created_at: "2026-01-05T08:00:00.000Z",
    })
    .execute();
}

for (const engine of TEST_ENGINES) {
  describe(`sql migrations on ${engine.name}`, () => {
    let t: TestContext;
    beforeEach(async () => {
      t = await engine.open();
    });
    afterEach(() => t.close());

    test("a fresh database gets every table and index, and its version", async () => {
      assert.deepEqual(await tablesOf(t), TABLES);
      const indexes = await indexesOf(t);
      for (const name of INDEXES) assert.ok(indexes.includes(name), `index ${name}`);
      const versions = await sql<{
        version: number;
        description: string;
      }>`select version, description from schema_migrations order by version`.execute(t.ctx.db);
      assert.deepEqual(
        versions.rows.map((v) => [v.version, v.description]),
        SQL_MIGRATIONS.map((m) => [m.version, m.description]),
      );
    });

    test("running again is a no-op that reports the version found", async () => {
      const before = await indexesOf(t);
      assert.equal(await migrateToLatest(t.ctx.db, t.ctx.engine), SQL_MIGRATIONS.length);
      assert.equal(await migrateToLatest(t.ctx.db, t.ctx.engine), SQL_MIGRATIONS.length);
      assert.deepEqual(await indexesOf(t), before);
      const rows = await sql<{ n: number }>`select count(*) as n from schema_migrations`.execute(t.ctx.db);
      assert.equal(Number(rows.rows[0].n), SQL_MIGRATIONS.length);
    });

    test("a database newer than this code is refused", async () => {
      await sql`insert into schema_migrations (version, description, applied_at) values (${SQL_MIGRATIONS.length + 1}, 'from the future', '2030-01-01T00:00:00.000Z')`.execute(
        t.ctx.db,
      );
      await assert.rejects(migrateToLatest(t.ctx.db, t.ctx.engine), /newer than this vpbx knows/);
    });

    test("constraints: case-insensitive domain, one default trunk, checks, cascades, named trunks stay", async () => {
      const db = t.ctx.db;
      await insertTenant(db, "acme");
      await rejects(
        db
          .insertInto("tenants")
          .values({
            name: "other",
            domain: "ACME.Test",
            language: "fr",
            timezone: "Europe/Zurich",
            country: "CH",
            features: "{}",
            policy: "{}",
            trunk: null,
            operator: null,
            waiting_seconds: 30,
            company_codes: "{}",
            created_at: "2026-01-05T08:00:00.000Z",
          })
          .execute(),
        "unique",
      );

      await insertTrunk(db, "carrier", 1);
      await insertTrunk(db, "backup", 0);
      await insertTrunk(db, "spare", 0);
      await rejects(insertTrunk(db, "second-default", 1), "unique");
      await rejects(insertTrunk(db, "carrier", 0), "unique");
      const ids = (await db.selectFrom("trunks").select("id").orderBy("id").execute()).map((r) => r.id);
      assert.equal(ids.length, 3);
      assert.ok(ids[0] < ids[1] && ids[1] < ids[2], "ids in the order of creation");
      await db.updateTable("tenants").set({ trunk: "backup" }).where("name", "=", "acme").execute();
      await rejects(db.deleteFrom("trunks").where("name", "=", "backup").execute(), "foreign");
      await rejects(
        db.updateTable("tenants").set({ trunk: "nowhere" }).where("name", "=", "acme").execute(),
        "foreign",
      );

      await insertExtension(db, "acme", "101");
      await rejects(insertExtension(db, "acme", "101"), "unique");
      await rejects(insertExtension(db, "nobody", "101"), "foreign");
      const at = Date.UTC(2026, 0, 5, 8, 0, 0); // beyond 32 bits: the millisecond columns are BIGINT
      await db
        .insertInto("bindings")
        .values({
          tenant: "acme",
          extension: "101",
          contact: "sip:101@192.0.2.10:5060",
          call_id: "c1",
          cseq: 1,
          expires_at: at,
          transport: "udp",
          address: "192.0.2.10",
          port: 5060,
          user_agent: null,
        })
        .execute();
      const binding = await db.selectFrom("bindings").select("expires_at").executeTakeFirstOrThrow();
      assert.equal(binding.expires_at, at, "read back as a number");
      await rejects(
        db
          .insertInto("voicemail_messages")
          .values({
            id: "m1",
            tenant: "acme",
            mailbox: "101",
            folder: "trash",
            caller_number: "+41215550100",
            caller_name: null,
            received_at: "2026-01-05T08:00:00.000Z",
            duration_ms: 1000,
          })
          .execute(),
        "check",
      );
      const defaults = await db
        .selectFrom("tenants")
        .select(["features", "policy", "waiting_seconds", "company_codes"])
        .executeTakeFirstOrThrow();
      assert.deepEqual(defaults, { features: "{}", policy: "{}", waiting_seconds: 30, company_codes: "{}" });

      await db.deleteFrom("tenants").where("name", "=", "acme").execute();
      assert.equal((await db.selectFrom("extensions").selectAll().execute()).length, 0);
      assert.equal((await db.selectFrom("bindings").selectAll().execute()).length, 0);
    });

    test("no triggers: deleting an extension leaves the tenant's columns to the code", async () => {
      const db = t.ctx.db;
      await insertTenant(db, "acme");
      await insertExtension(db, "acme", "101");
      await db
        .updateTable("tenants")
        .set({ operator: "101", company_codes: '{"extensions":["101"]}' })
        .where("name", "=", "acme")
        .execute();
      await db.deleteFrom("extensions").execute();
      const row = await db
        .selectFrom("tenants")
        .select(["operator", "company_codes"])
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { operator: "101", company_codes: '{"extensions":["101"]}' });
    });
  });
}

describe("sql migrations on a file of the SQLite-only store", () => {
  let dir: string;
  let opened: Array<{ file: Database.Database; db: Kysely<Tables> }>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-migrations-"));
    opened = [];
  });
  afterEach(async () => {
    for (const o of opened) await o.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (name: string) => {
    const file = new Database(join(dir, name));
    file.pragma("foreign_keys = ON");
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: file }) });
    opened.push({ file, db });
    return { file, db };
  };

  /** What SQLite says of a table: columns, indexes (with their columns), foreign keys. */
  const shape = (file: Database.Database) => {
    const tables = file
      .prepare(
        "select name from sqlite_master where type = 'table' and name <> 'schema_migrations' order by name",
      )
      .pluck()
      .all() as string[];
    return tables.map((table) => ({
      table,
      strict: (
        file.prepare("select strict from pragma_table_list where name = ?").get(table) as { strict: number }
      ).strict,
      columns: (file.pragma(`table_info(${table})`) as Array<Record<string, unknown>>).map((c) => ({
        ...c,
        type: String(c.type).toLowerCase(),
      })),
      indexes: (file.pragma(`index_list(${table})`) as Array<{ name: string }>)
        .map((i) => ({ ...i, seq: undefined, columns: file.pragma(`index_info(${i.name})`) }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      foreignKeys: (file.pragma(`foreign_key_list(${table})`) as Array<Record<string, unknown>>).map((f) => ({
        table: f.table,
        from: f.from,
        to: f.to,
        on_update: f.on_update,
        on_delete: f.on_delete,
      })),
    }));
  };

  test("the baseline has exactly the schema of the SQLite-only store at version 6, without its triggers", async () => {
    const legacy = open("legacy.sqlite");
    migrate(legacy.file);
    const fresh = open("fresh.sqlite");
    assert.equal(await migrateToLatest(fresh.db, "sqlite", fresh.file, SQL_MIGRATIONS.slice(0, 1)), 0);
    assert.deepEqual(shape(fresh.file), shape(legacy.file));
    const triggers = fresh.file.prepare("select name from sqlite_master where type = 'trigger'").all();
    assert.deepEqual(triggers, []);
    // The CHECK constraints too (table_info does not show them).
    const checks = (file: Database.Database) =>
      (file.prepare("select sql from sqlite_master where type = 'table'").pluck().all() as string[])
        .flatMap((s) => s.match(/check \([^)]*\)/gi) ?? [])
        .map((c) => c.toLowerCase());
    assert.deepEqual(checks(fresh.file).sort(), checks(legacy.file).sort());
    assert.equal(checks(fresh.file).length, 3);
  });

  for (const version of [5, 6]) {
    test(`a version ${version} file keeps its rows, loses its triggers and gets schema_migrations`, async () => {
      const { file, db } = open("vpbx.sqlite");
      migrate(file, MIGRATIONS.slice(0, version));
      file.exec(`
        INSERT INTO tenants (name, domain, language, timezone, country, created_at, operator)
          VALUES ('acme', 'acme.test', 'fr', 'Europe/Zurich', 'CH', '2026-01-05T08:00:00.000Z', '101');
        INSERT INTO extensions (tenant, number, display_name, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at)
          VALUES ('acme', '101', 'Alice', 30, 'acme.test', 'md5', 'sha', '2026-01-05T08:00:00.000Z');
        INSERT INTO mailboxes (tenant, mailbox, enabled) VALUES ('acme', '101', 1);
        INSERT INTO voicemail_messages (id, tenant, mailbox, folder, caller_number, received_at, duration_ms)
          VALUES ('m1', 'acme', '101', 'new', '+41215550100', '2026-01-05T08:00:00.000Z', 4200);
      `);

      assert.equal(await migrateToLatest(db, "sqlite", file), 0);
      assert.equal(file.pragma("user_version", { simple: true }), SQLITE_USER_VERSION);
      const tenant = await db.selectFrom("tenants").selectAll().executeTakeFirstOrThrow();
      assert.equal(tenant.operator, "101");
      assert.equal(tenant.waiting_seconds, 30, "version 6 columns with their defaults");
      assert.equal(tenant.company_codes, "{}");
      assert.equal(
        (await db.selectFrom("voicemail_messages").selectAll().executeTakeFirstOrThrow()).duration_ms,
        4200,
      );
      assert.equal((await db.selectFrom("ring_groups").selectAll().execute()).length, 0);
      const versions = await sql<{ version: number }>`select version from schema_migrations`.execute(db);
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        SQL_MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(file.prepare("select name from sqlite_master where type = 'trigger'").all(), []);

      // Then it is a file like any other: again is a no-op.
      assert.equal(await migrateToLatest(db, "sqlite", file), SQL_MIGRATIONS.length);
      assert.equal((await db.selectFrom("extensions").selectAll().execute()).length, 1);
    });
  }

  test("an old file without its connection, or from a newer SQLite-only store, is refused unchanged", async () => {
    const { file, db } = open("vpbx.sqlite");
    migrate(file, MIGRATIONS.slice(0, 5));
    await assert.rejects(migrateToLatest(db, "sqlite"), /older vpbx \(schema version 5\)/);
    assert.equal(file.pragma("user_version", { simple: true }), 5);
    file.pragma("user_version = 9");
    await assert.rejects(migrateToLatest(db, "sqlite", file), /newer than this vpbx knows/);
  });

  test("the SQLite-only store refuses a file of this set (user_version above its own)", async () => {
    const { file, db } = open("vpbx.sqlite");
    await migrateToLatest(db, "sqlite", file);
    assert.throws(() => migrate(file), /newer than this vpbx knows/);
  });
});

describe("sql migrations on postgres, two processes at once", { skip: TEST_PG_URL === undefined }, () => {
  test("both end on the latest version, the steps applied once", async () => {
    const database = await createDatabase(TEST_PG_URL as string);
    const a = await connectPostgres(database.url, { max: 2 });
    const b = await connectPostgres(database.url, { max: 2 });
    try {
      const found = await Promise.all([migrateToLatest(a, "postgres"), migrateToLatest(b, "postgres")]);
      // One of them starts on the fresh database; the other finds some steps done (each step is its own transaction).
      assert.equal(Math.min(...found), 0);
      assert.ok(Math.max(...found) <= SQL_MIGRATIONS.length);
      const rows = await sql<{ n: number }>`select count(*) as n from schema_migrations`.execute(a);
      assert.equal(rows.rows[0].n, SQL_MIGRATIONS.length, "count(*) (BIGINT) read as a number");
    } finally {
      await a.destroy();
      await b.destroy();
      await database.drop();
    }
  });
});

/** An empty database of `engine`, not migrated: SQLite in a temporary file, or a fresh PostgreSQL database. */
async function rawDatabase(engine: "sqlite" | "postgres"): Promise<{ db: Db; close(): Promise<void> }> {
  if (engine === "postgres") {
    const database = await createDatabase(TEST_PG_URL as string);
    const db = await connectPostgres(database.url, { max: 2 });
    return {
      db,
      async close() {
        await db.destroy();
        await database.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "vpbx-migrations-"));
  const file = new Database(join(dir, "vpbx.sqlite"));
  file.pragma("foreign_keys = ON");
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: file }) });
  return {
    db,
    async close() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const engine of TEST_ENGINES) {
  describe(`sql migration 3 (binding path) on ${engine.name}`, () => {
    test("a binding of version 2 keeps its row and reads back without a path; a path is then kept", async () => {
      const raw = await rawDatabase(engine.name);
      try {
        assert.equal(await migrateToLatest(raw.db, engine.name, undefined, SQL_MIGRATIONS.slice(0, 2)), 0);
        await insertTenant(raw.db, "acme");
        await insertExtension(raw.db, "acme", "101");
        // biome-ignore lint/suspicious/noExplicitAny: the bindings table of version 2 has no path column
        await (raw.db as Kysely<any>)
          .insertInto("bindings")
          .values({
            tenant: "acme",
            extension: "101",
            contact: "sip:101@192.0.2.10:5060",
            call_id: "c1",
            cseq: 1,
            expires_at: Date.UTC(2026, 0, 5, 9, 0, 0),
            transport: "UDP",
            address: "192.0.2.10",
            port: 5060,
            user_agent: null,
          })
          .execute();
        assert.equal(await migrateToLatest(raw.db, engine.name), 2);
        const row = await raw.db.selectFrom("bindings").select(["contact", "path"]).executeTakeFirstOrThrow();
        assert.deepEqual(row, { contact: "sip:101@192.0.2.10:5060", path: null });
        await raw.db
          .updateTable("bindings")
          .set({ path: JSON.stringify(["<sip:192.0.2.1:5060;lr>"]) })
          .execute();
        const updated = await raw.db.selectFrom("bindings").select("path").executeTakeFirstOrThrow();
        assert.equal(updated.path, '["<sip:192.0.2.1:5060;lr>"]');
      } finally {
        await raw.close();
      }
    });
  });
}

for (const engine of TEST_ENGINES) {
  describe(`sql migration 6 (provider audit) on ${engine.name}`, () => {
    test("a database of version 5 keeps its companies' logs and gains an empty provider log that no company owns", async () => {
      const raw = await rawDatabase(engine.name);
      try {
        assert.equal(await migrateToLatest(raw.db, engine.name, undefined, SQL_MIGRATIONS.slice(0, 5)), 0);
        await insertTenant(raw.db, "acme");
        const event = {
          at: "2026-01-05T08:00:00.000Z",
          actor: '{"kind":"api","id":"admin"}',
          action: "features.update",
          subject: "features",
          old: "{}",
          new: '{"voicemail":true}',
        };
        await raw.db
          .insertInto("audit")
          .values({ tenant: "acme", ...event })
          .execute();
        assert.equal(await migrateToLatest(raw.db, engine.name), 5);
        assert.equal((await raw.db.selectFrom("audit").selectAll().execute()).length, 1);
        assert.deepEqual(await raw.db.selectFrom("provider_audit").selectAll().execute(), []);
        for (const subject of ["acme", "bistro"]) {
          await raw.db
            .insertInto("provider_audit")
            .values({ ...event, action: "tenant.create", subject })
            .execute();
        }
        const ids = (await raw.db.selectFrom("provider_audit").select("id").orderBy("id").execute()).map(
          (r) => Number(r.id),
        );
        assert.ok(ids[0] < ids[1], "ids in the order of writing");
        await raw.db.deleteFrom("tenants").where("name", "=", "acme").execute();
        assert.equal((await raw.db.selectFrom("audit").selectAll().execute()).length, 0, "cascade");
        assert.equal((await raw.db.selectFrom("provider_audit").selectAll().execute()).length, 2, "kept");
      } finally {
        await raw.close();
      }
    });
  });
}
