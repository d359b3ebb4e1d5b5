import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import type { Actor } from "../types.ts";
import { openPostgres, openSqlite, openStore, SQLITE_FILE, type SqlStore } from "./open-store.ts";
import { cacheKey, effectOf, READ_CACHE_MAX_AGE_MS, ReadCache } from "./read-cache.ts";
import { SecretBox } from "./secret-box.ts";
import { SqlBindings } from "./sql-bindings.ts";
import type { SqlContext } from "./sql-context.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlForwarding } from "./sql-forwarding.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlTrunks } from "./sql-trunks.ts";
import { TEST_PG_URL, TEST_SECRET_KEY } from "./testing.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

/** A phone's binding, written on the soft connection (a REGISTER); its source is data, nothing binds it. */
function registerPhone(ctx: SqlContext, clock: FakeClock, extension: string, address: string): Promise<void> {
  return new SqlBindings(ctx).upsert({
    tenant: "acme",
    extension,
    contact: `sip:${extension}@${address}`,
    callId: `reg@${address}`,
    cseq: 1,
    expiresAt: clock.now() + 3600_000,
    source: { transport: "UDP", address, port: 5062 },
  });
}

/** What the `vpbx` CLI does beside a running server: its own connection to the file, one commit. */
function renameFromAnotherProcess(dir: string): void {
  const cli = new Database(join(dir, SQLITE_FILE));
  try {
    cli.prepare("update extensions set display_name = 'From the CLI' where number = '101'").run();
  } finally {
    cli.close();
  }
}
const ADMIN: Actor = { kind: "system", id: "test" };

describe("effectOf: what a statement changes", () => {
  test("an INSERT or UPDATE changes its table; anything else of unknown reach, everything", () => {
    const table = (t: string) => ({ kind: "table", table: t });
    assert.deepEqual(effectOf('insert into "extensions" ("tenant") values (?)', false), table("extensions"));
    assert.deepEqual(effectOf('INSERT OR IGNORE INTO "Bindings"(x) values (?)', false), table("bindings"));
    assert.deepEqual(
      effectOf(
        'insert into "bindings" (a) values (?) on conflict ("a") do update set "b" = "excluded"."b"',
        false,
      ),
      table("bindings"),
      "an upsert updates, never deletes",
    );
    assert.deepEqual(
      effectOf('insert into "call_history" (id) values (?) returning "id"', false),
      table("call_history"),
    );
    assert.deepEqual(
      effectOf('update "tenants" set "operator" = ? where "name" = ?', false),
      table("tenants"),
    );
    assert.deepEqual(effectOf("update trunks set is_default = 0", false), table("trunks"));
    assert.deepEqual(effectOf('insert or replace into "tenants" values (?)', false), { kind: "all" });
    assert.deepEqual(effectOf('replace into "tenants" values (?)', false), { kind: "all" });
    assert.deepEqual(effectOf('update or replace "tenants" set name = ?', false), { kind: "all" });
    assert.deepEqual(
      effectOf('delete from "extensions" where "tenant" = ?', false),
      { kind: "all" },
      "cascades",
    );
    assert.deepEqual(effectOf('insert into "main"."tenants" values (?)', false), { kind: "all" });
    assert.deepEqual(effectOf('create table "x" ("a" text)', false), { kind: "all" });
    assert.deepEqual(effectOf("pragma user_version = 3", false), { kind: "all" });
    assert.deepEqual(effectOf('with t as (select 1) delete from "x"', false), { kind: "all" });
  });

  test("reads and the start of a transaction change nothing; its end makes its writes visible", () => {
    assert.equal(effectOf('select * from "extensions" where "tenant" = ?', true), undefined);
    assert.equal(effectOf("begin", true), undefined);
    assert.equal(effectOf('savepoint "sp"', true), undefined);
    for (const end of ["commit", "END", "rollback", 'rollback to "sp"', 'release "sp"']) {
      assert.deepEqual(effectOf(end, true), { kind: "end" }, end);
    }
  });
});

/** A context as openStore makes it on SQLite: both connections watched by one cache. */
async function cachedContext(dir: string, clock: FakeClock) {
  const opened = await openSqlite(dir, undefined, clock);
  const cache = opened.cache;
  assert.ok(cache, "SQLite has a read cache");
  const ctx: SqlContext = {
    engine: "sqlite",
    db: opened.db,
    soft: opened.soft,
    iso: () => new Date(clock.now()).toISOString(),
    now: () => clock.now(),
    secrets: new SecretBox(TEST_SECRET_KEY),
    cache,
  };
  return { ctx, cache, close: () => opened.close() };
}

describe("read cache on SQLite", () => {
  let dir: string;
  let clock: FakeClock;
  let ctx: SqlContext;
  let cache: ReadCache;
  let close: () => Promise<void>;
  let tenants: SqlTenants;
  let extensions: SqlExtensions;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-read-cache-"));
    clock = new FakeClock(T0);
    ({ ctx, cache, close } = await cachedContext(dir, clock));
    tenants = new SqlTenants(ctx);
    extensions = new SqlExtensions(ctx);
    await tenants.create({ name: "acme", domain: "Acme.Test" });
    for (const number of ["101", "102"]) {
      await extensions.create({
        tenant: "acme",
        number,
        displayName: `Phone ${number}`,
        credentials: makeCredentials(number, "acme.test", "pw"),
      });
    }
  });
  afterEach(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a second read is answered from memory, as a fresh object each time", async () => {
    const first = await extensions.get("acme", "101");
    const misses = cache.misses;
    const second = await extensions.get("acme", "101");
    assert.equal(cache.misses, misses, "no query");
    assert.ok(cache.hits > 0);
    assert.deepEqual(second, first);
    assert.notEqual(second, first);
    second!.displayName = "changed by a caller";
    second!.credentials.ha1Md5 = "x";
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Phone 101");
    assert.equal((await extensions.get("acme", "101"))?.credentials.ha1Md5, first!.credentials.ha1Md5);
    assert.equal(await extensions.get("acme", "999"), undefined);
    assert.equal(await extensions.get("acme", "999"), undefined, "an absent row is remembered too");
  });

  test("a write through the store is seen at the next read: update, delete", async () => {
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Phone 101");
    await extensions.update("acme", "101", { displayName: "Reception" });
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Reception");
    assert.equal(await extensions.delete("acme", "101"), true);
    assert.equal(await extensions.get("acme", "101"), undefined);
    assert.equal((await extensions.get("acme", "102"))?.number, "102");
  });

  test("tenants by name and by domain (any case, through the NOCASE index), trunks, forwarding", async () => {
    assert.equal((await tenants.getByDomain("ACME.test"))?.name, "acme");
    assert.equal((await tenants.getByDomain("acme.TEST"))?.name, "acme");
    assert.equal(await tenants.getByDomain("other.test"), undefined);
    await tenants.update("acme", { domain: "acme.example" }, ADMIN);
    assert.equal(await tenants.getByDomain("acme.test"), undefined);
    assert.equal((await tenants.getByDomain("ACME.example"))?.name, "acme");
    assert.equal((await tenants.get("acme"))?.domain, "acme.example");
    await tenants.update("acme", { maxCalls: 7 }, ADMIN);
    assert.equal((await tenants.get("acme"))?.maxCalls, 7);

    const trunks = new SqlTrunks(ctx);
    assert.deepEqual(await trunks.list(), []);
    await trunks.create({ name: "carrier", host: "sip.example.net", password: "s3cret" }, ADMIN);
    assert.deepEqual(
      (await trunks.list()).map((t) => [t.name, t.password]),
      [["carrier", "s3cret"]],
    );
    await trunks.update("carrier", { password: "new" }, ADMIN);
    assert.equal((await trunks.list())[0]?.password, "new");

    const forwarding = new SqlForwarding(ctx);
    assert.deepEqual(await forwarding.list("acme", "101"), []);
    await forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "102" }, ADMIN);
    assert.deepEqual(
      (await forwarding.list("acme", "101")).map((f) => f.target),
      ["102"],
    );
    await forwarding.clear("acme", "101", undefined, ADMIN);
    assert.deepEqual(await forwarding.list("acme", "101"), []);
  });

  test("deleting a tenant (ON DELETE CASCADE) empties what was read of its extensions", async () => {
    assert.ok(await extensions.get("acme", "101"));
    assert.ok(await tenants.getByDomain("acme.test"));
    assert.equal(await tenants.delete("acme", ADMIN), true);
    assert.equal(await extensions.get("acme", "101"), undefined);
    assert.equal(await tenants.getByDomain("acme.test"), undefined);
  });

  test("a write of bindings (the soft connection) leaves the extensions' entries fresh", async () => {
    await extensions.get("acme", "101");
    await tenants.getByDomain("acme.test");
    const misses = cache.misses;
    await registerPhone(ctx, clock, "101", "192.0.2.10");
    await extensions.get("acme", "101");
    await tenants.getByDomain("acme.test");
    assert.equal(cache.misses, misses, "answered from memory");
    // ...but a change of an extension on that connection would be seen.
    await ctx.soft
      .updateTable("extensions")
      .set({ display_name: "Soft" })
      .where("number", "=", "101")
      .execute();
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Soft");
  });

  test("a commit by another process (the vpbx CLI) is seen at the next look for one", async () => {
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Phone 101");
    renameFromAnotherProcess(dir);
    // Looked for every FOREIGN_CHECK_MS of real time; the test looks now.
    cache.checkForeign();
    assert.equal((await extensions.get("acme", "101"))?.displayName, "From the CLI");
  });

  test("the soft connection's commits (a REGISTER flood) do not empty the cache at the next look", async () => {
    // The set-up wrote on both connections: that window's look assumes another process.
    cache.checkForeign();
    await extensions.get("acme", "101");
    await registerPhone(ctx, clock, "101", "192.0.2.10");
    await registerPhone(ctx, clock, "102", "192.0.2.12");
    const misses = cache.misses;
    cache.checkForeign();
    cache.checkForeign();
    await extensions.get("acme", "101");
    assert.equal(cache.misses, misses, "answered from memory after both looks");
  });

  test("a foreign commit among the soft connection's commits is seen at the next look", async () => {
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Phone 101");
    await registerPhone(ctx, clock, "101", "192.0.2.10");
    renameFromAnotherProcess(dir);
    await registerPhone(ctx, clock, "102", "192.0.2.12");
    cache.checkForeign();
    assert.equal((await extensions.get("acme", "101"))?.displayName, "From the CLI");
  });

  test("a foreign commit followed by writes of both our connections is still seen at the next look", async () => {
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Phone 101");
    renameFromAnotherProcess(dir);
    // Writes of both our connections in between do not hide it.
    await registerPhone(ctx, clock, "102", "192.0.2.12");
    await new SqlTrunks(ctx).create({ name: "carrier", host: "sip.example.net" }, ADMIN);
    cache.checkForeign();
    assert.equal((await extensions.get("acme", "101"))?.displayName, "From the CLI");
  });

  test("a read that races a write never leaves a stale entry", async () => {
    // The store's own order: the read's query runs first, the write after it.
    const reading = extensions.get("acme", "101");
    const writing = extensions.update("acme", "101", { displayName: "Reception" });
    assert.equal((await reading)?.displayName, "Phone 101");
    await writing;
    assert.equal((await extensions.get("acme", "101"))?.displayName, "Reception");

    // A load that answers only after the write: what it read is from before.
    const key = cacheKey("race");
    let loads = 0;
    let answer: (v: string) => void = () => {};
    const slow = cache.read(key, ["extensions"], () => {
      loads++;
      return new Promise<string>((resolve) => {
        answer = resolve;
      });
    });
    await extensions.update("acme", "101", { displayName: "Later" });
    answer("from before the write");
    assert.equal(await slow, "from before the write");
    assert.equal(
      await cache.read(key, ["extensions"], async () => `load ${++loads}`),
      "load 2",
      "read again",
    );
    assert.equal(await cache.read(key, ["extensions"], async () => `load ${++loads}`), "load 2", "now kept");
  });

  test("a read on the other connection during a transaction is not kept past its commit", async () => {
    // The update is done but not committed: the soft connection still reads the old name.
    const key = cacheKey("during a transaction");
    const readSoft = async () =>
      (
        await ctx.soft
          .selectFrom("extensions")
          .select("display_name")
          .where("number", "=", "101")
          .executeTakeFirstOrThrow()
      ).display_name;
    await ctx.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("extensions")
        .set({ display_name: "Committed" })
        .where("number", "=", "101")
        .execute();
      assert.equal(await cache.read(key, ["extensions"], readSoft), "Phone 101");
    });
    assert.equal(await cache.read(key, ["extensions"], readSoft), "Committed");
  });

  test("an entry ages out on the store's clock", async () => {
    await extensions.get("acme", "101");
    const misses = cache.misses;
    await clock.advance(READ_CACHE_MAX_AGE_MS - 1);
    await extensions.get("acme", "101");
    assert.equal(cache.misses, misses);
    await clock.advance(1);
    await extensions.get("acme", "101");
    assert.equal(cache.misses, misses + 1, "read again");
  });
});

describe("read cache bounds", () => {
  test("at most maxEntries entries: the oldest go", async () => {
    const clock = new FakeClock(T0);
    const cache = new ReadCache(() => clock.now(), { maxEntries: 3 });
    const loads: string[] = [];
    const read = (k: string) =>
      cache.read(cacheKey("bound", k), ["tenants"], async () => {
        loads.push(k);
        return { k };
      });
    for (const k of ["a", "b", "c", "d", "e"]) await read(k);
    assert.equal(cache.size, 3);
    await read("e");
    await read("c");
    assert.deepEqual(loads, ["a", "b", "c", "d", "e"], "the newest three are kept");
    await read("a");
    assert.deepEqual(loads.at(-1), "a", "the oldest was dropped");
    assert.equal(cache.size, 3);
  });

  test("the keys of different parameters never meet, whatever text they hold", () => {
    assert.notEqual(cacheKey("q", "a\u0000b", "c"), cacheKey("q", "a", "b\u0000c"));
    assert.notEqual(cacheKey("q", 'a","b'), cacheKey("q", "a", "b"));
  });

  test("rows are frozen: a caller cannot change what the next one reads", async () => {
    const cache = new ReadCache(() => T0);
    const row = await cache.read(cacheKey("frozen"), ["tenants"], async () => [{ name: "acme" }]);
    assert.ok(Object.isFrozen(row) && Object.isFrozen(row[0]));
  });
});

describe("read cache between two stores on one SQLite file", () => {
  let dir: string;
  let a: SqlStore;
  let b: SqlStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-read-cache-two-"));
    const clock = new FakeClock(T0);
    a = await openStore({ dataDir: dir, clock, secretKey: TEST_SECRET_KEY });
    b = await openStore({ dataDir: dir, clock, secretKey: TEST_SECRET_KEY });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a write by the other store is seen at the next read", async () => {
    await a.tenants.create({ name: "acme", domain: "acme.test" });
    await a.extensions.create({
      tenant: "acme",
      number: "101",
      displayName: "Phone 101",
      credentials: makeCredentials("101", "acme.test", "pw"),
    });
    assert.equal((await b.extensions.get("acme", "101"))?.displayName, "Phone 101");
    assert.equal((await b.tenants.getByDomain("acme.test"))?.name, "acme");
    await a.extensions.update("acme", "101", { displayName: "Reception" });
    assert.equal((await b.extensions.get("acme", "101"))?.displayName, "Reception");
    // A soft write of one store (a call record) then a write of the other: neither hides the other.
    await b.callHistory.add({
      id: "r1",
      tenant: "acme",
      callId: "c1",
      direction: "internal",
      startedAt: T0,
      endedAt: T0,
      caller: "101",
      dialled: "102",
      outcome: "failed",
      extensions: ["101"],
    });
    await a.tenants.update("acme", { domain: "acme.example" });
    assert.equal(await b.tenants.getByDomain("acme.test"), undefined);
    await b.extensions.delete("acme", "101");
    assert.equal(await a.extensions.get("acme", "101"), undefined);
  });
});

describe("read cache on PostgreSQL", {
  skip: TEST_PG_URL === undefined && "no PostgreSQL for the tests",
}, () => {
  test("none: other nodes write without telling", async () => {
    const { createDatabase } = await import("../../../test/support/postgres.ts");
    const database = await createDatabase(TEST_PG_URL!);
    try {
      const opened = await openPostgres(database.url, undefined);
      try {
        assert.equal(opened.cache, undefined);
      } finally {
        await opened.close();
      }
    } finally {
      await database.drop();
    }
  });
});
