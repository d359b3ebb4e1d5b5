import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { createDatabase } from "../../../test/support/postgres.ts";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { redactDatabaseUrl } from "./connect.ts";
import { migrate as migrateLegacySqlite } from "./legacy-sqlite-migrations.ts";
import { openStore, SQLITE_FILE } from "./open-store.ts";
import { TEST_PG_URL } from "./testing.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vpbx-open-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nobody listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

describe("openStore on SQLite", () => {
  test("creates <dataDir>/vpbx.sqlite in WAL mode, migrated; rows survive a reopen; close is once", async () => {
    const dataDir = join(dir, "data");
    const store = await openStore({ dataDir, clock });
    assert.equal(store.engine, "sqlite");
    assert.equal(store.location, join(dataDir, SQLITE_FILE));
    assert.ok(existsSync(store.location));
    const created = await store.tenants.create({ name: "acme", domain: "acme.test" });
    assert.equal(created.createdAt, "2026-01-05T08:00:00.000Z", "times from the store's clock");
    await Promise.all([store.close(), store.close()]);
    await store.close();

    const file = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
    try {
      assert.equal(file.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      file.close();
    }
    const again = await openStore({ dataDir, clock });
    try {
      assert.equal((await again.tenants.get("acme"))?.domain, "acme.test");
    } finally {
      await again.close();
    }
  });

  test("a file of the SQLite-only store keeps its data", async () => {
    // A file as the SQLite-only store left it: its raw migrations, its rows.
    const old = new Database(join(dir, SQLITE_FILE));
    migrateLegacySqlite(old);
    const at = new Date(clock.now()).toISOString();
    old
      .prepare(
        "INSERT INTO tenants (name, domain, language, timezone, country, created_at) VALUES (?, ?, 'fr', 'Europe/Zurich', 'CH', ?)",
      )
      .run("acme", "acme.test", at);
    const c = makeCredentials("101", "acme.test", "pw-101-secret");
    old
      .prepare(
        "INSERT INTO extensions (tenant, number, display_name, ring_timeout_seconds, realm, ha1_md5, ha1_sha256, created_at) VALUES ('acme', '101', 'Alice', 30, ?, ?, ?, ?)",
      )
      .run(c.realm, c.ha1Md5, c.ha1Sha256, at);
    old.close();

    const store = await openStore({ dataDir: dir, clock });
    try {
      assert.equal((await store.tenants.get("acme"))?.domain, "acme.test");
      assert.equal((await store.extensions.get("acme", "101"))?.displayName, "Alice");
    } finally {
      await store.close();
    }
  });
});

describe("openStore on PostgreSQL", () => {
  test("an unreachable server is named, without the password", async () => {
    const port = await closedPort();
    await assert.rejects(
      openStore({ dataDir: dir, databaseUrl: `postgres://vpbx:hunter2-secret@127.0.0.1:${port}/vpbx` }),
      (err: unknown) =>
        err instanceof Error &&
        err.message.startsWith(`cannot reach PostgreSQL at 127.0.0.1:${port} (VPBX_DATABASE_URL): `) &&
        !err.message.includes("hunter2"),
    );
    assert.ok(!existsSync(join(dir, SQLITE_FILE)), "no SQLite file on the side");
  });

  test("the URL without its password", () => {
    assert.equal(
      redactDatabaseUrl("postgres://vpbx:s3cret@db.example:5433/vpbx"),
      "postgres://vpbx@db.example:5433/vpbx",
    );
    assert.equal(redactDatabaseUrl("postgres://db.example/vpbx"), "postgres://db.example/vpbx");
    assert.equal(redactDatabaseUrl("not a url s3cret"), "(unparsable database URL)");
  });

  describe("on the test run's server", { skip: TEST_PG_URL === undefined }, () => {
    test("migrates, reports the location without the password, works, closes once", async () => {
      const database = await createDatabase(TEST_PG_URL as string);
      try {
        const withPassword = new URL(database.url);
        withPassword.password = "ignored-by-trust-auth";
        const store = await openStore({ dataDir: dir, databaseUrl: withPassword.toString(), clock });
        assert.equal(store.engine, "postgres");
        assert.equal(store.location, database.url);
        assert.ok(!existsSync(join(dir, SQLITE_FILE)));
        await store.tenants.create({ name: "acme", domain: "acme.test" });
        assert.equal((await store.tenants.getByDomain("ACME.test"))?.name, "acme");
        await Promise.all([store.close(), store.close()]);

        const again = await openStore({ dataDir: dir, databaseUrl: database.url, clock });
        try {
          assert.equal((await again.tenants.list()).length, 1);
        } finally {
          await again.close();
        }
      } finally {
        await database.drop();
      }
    });

    test("a database that does not exist: the server refused", async () => {
      const url = new URL(TEST_PG_URL as string);
      url.pathname = "/vpbx_no_such_database";
      await assert.rejects(
        openStore({ dataDir: dir, databaseUrl: url.toString() }),
        /PostgreSQL at 127\.0\.0\.1:[0-9]+ refused the connection \(VPBX_DATABASE_URL\): database "vpbx_no_such_database" does not exist/,
      );
    });
  });
});
