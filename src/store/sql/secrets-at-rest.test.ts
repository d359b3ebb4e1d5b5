// Secrets at rest (issue 10): HA1 values, trunk passwords and shared secrets
// are stored sealed, open only with the key they were written with, refuse a
// tampered or moved value, and rows of an older vpbx are sealed at open. On
// both engines.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { Kysely } from "kysely";
import { createDatabase } from "../../../test/support/postgres.ts";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { connectPostgres, sqliteKysely } from "./connect.ts";
import { checkSecretKey, KEY_CHECK_SECRET, openStore, SQLITE_FILE, sealStoredSecrets } from "./open-store.ts";
import type { Database as Tables } from "./schema.ts";
import { isSealed, SecretBox, SecretKeyMismatch, UnsealedSecret, WRONG_KEY_MESSAGE } from "./secret-box.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlSecrets } from "./sql-secrets.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlTrunks } from "./sql-trunks.ts";
import { TEST_ENGINES, TEST_PG_URL, type TestContext } from "./testing.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const alice = makeCredentials("101", "acme.test", "pw-101-secret");
const bob = makeCredentials("102", "acme.test", "pw-102-secret");
const TRUNK_PASSWORD = "carrier-trunk-pw-7781";

const isWrongKey = (err: unknown) =>
  err instanceof SecretKeyMismatch && err.message.startsWith(WRONG_KEY_MESSAGE);

async function rawExtension(db: Kysely<Tables>, number: string) {
  return db
    .selectFrom("extensions")
    .select(["ha1_md5", "ha1_sha256"])
    .where("tenant", "=", "acme")
    .where("number", "=", number)
    .executeTakeFirstOrThrow();
}

for (const engine of TEST_ENGINES) {
  describe(`secrets at rest on ${engine.name}: repositories`, () => {
    let t: TestContext;
    let extensions: SqlExtensions;
    let trunks: SqlTrunks;
    beforeEach(async () => {
      t = await engine.open(clock);
      extensions = new SqlExtensions(t.ctx);
      trunks = new SqlTrunks(t.ctx);
      await new SqlTenants(t.ctx).create({ name: "acme", domain: "acme.test" });
      await extensions.create({ tenant: "acme", number: "101", displayName: "Alice", credentials: alice });
      await extensions.create({ tenant: "acme", number: "102", displayName: "Bob", credentials: bob });
      await trunks.create({
        name: "carrier",
        host: "sip.carrier.example",
        username: "acme",
        password: TRUNK_PASSWORD,
      });
    });
    afterEach(() => t.close());

    test("round trip: sealed in the columns, in clear through the repositories (create, update, list)", async () => {
      const raw = await rawExtension(t.ctx.db, "101");
      assert.ok(isSealed(raw.ha1_md5) && isSealed(raw.ha1_sha256));
      assert.ok(!raw.ha1_md5.includes(alice.ha1Md5) && !raw.ha1_sha256.includes(alice.ha1Sha256));
      assert.deepEqual((await extensions.get("acme", "101"))?.credentials, alice);
      assert.deepEqual(
        (await extensions.list("acme")).map((e) => e.credentials),
        [alice, bob],
      );
      const next = makeCredentials("101", "acme.test", "another-pw-101");
      await extensions.update("acme", "101", { credentials: next });
      await extensions.update("acme", "101", { displayName: "Alice B." }); // rewrites the row, credentials kept
      assert.deepEqual((await extensions.get("acme", "101"))?.credentials, next);

      const trunkRow = await t.ctx.db.selectFrom("trunks").select("password").executeTakeFirstOrThrow();
      assert.ok(trunkRow.password !== null && isSealed(trunkRow.password));
      assert.ok(!trunkRow.password.includes(TRUNK_PASSWORD));
      assert.equal((await trunks.get("carrier"))?.password, TRUNK_PASSWORD);
      await trunks.update("carrier", { host: "sip2.carrier.example" });
      assert.equal((await trunks.list())[0].password, TRUNK_PASSWORD);
      await trunks.update("carrier", { password: null });
      assert.equal(
        (await t.ctx.db.selectFrom("trunks").select("password").executeTakeFirstOrThrow()).password,
        null,
      );

      const secrets = new SqlSecrets(t.ctx);
      assert.equal(await secrets.setIfAbsent("nonce", "nonce-key-hex"), "nonce-key-hex");
      const stored = await t.ctx.db
        .selectFrom("secrets")
        .select("value")
        .where("name", "=", "nonce")
        .executeTakeFirstOrThrow();
      assert.ok(isSealed(stored.value) && !stored.value.includes("nonce-key-hex"));
      assert.equal(await secrets.get("nonce"), "nonce-key-hex");
    });

    test("a modified ciphertext is refused, and so is Bob's sealed HA1 moved onto Alice's row", async () => {
      const raw = await rawExtension(t.ctx.db, "101");
      const [v, iv, tag, ct] = raw.ha1_md5.split(":");
      const bytes = Buffer.from(ct, "base64");
      bytes[3] ^= 0x20;
      await t.ctx.db
        .updateTable("extensions")
        .set({ ha1_md5: [v, iv, tag, bytes.toString("base64")].join(":") })
        .where("number", "=", "101")
        .execute();
      await assert.rejects(extensions.get("acme", "101"), SecretKeyMismatch);

      // Whoever can write the database but lacks the key knows Bob's password
      // (Bob), and copies his sealed HA1 onto Alice: it does not open there.
      const bobs = await rawExtension(t.ctx.db, "102");
      await t.ctx.db
        .updateTable("extensions")
        .set({ ha1_md5: bobs.ha1_md5, ha1_sha256: bobs.ha1_sha256 })
        .where("number", "=", "101")
        .execute();
      await assert.rejects(extensions.get("acme", "101"), SecretKeyMismatch);
      await assert.rejects(extensions.list("acme"), SecretKeyMismatch);
      // Nor can an HA1 be planted in clear.
      await t.ctx.db
        .updateTable("extensions")
        .set({ ha1_md5: bob.ha1Md5, ha1_sha256: bob.ha1Sha256 })
        .where("number", "=", "101")
        .execute();
      await assert.rejects(extensions.get("acme", "101"), UnsealedSecret);
      assert.deepEqual((await extensions.get("acme", "102"))?.credentials, bob, "the others still open");

      const sealed = await t.ctx.db.selectFrom("trunks").select("password").executeTakeFirstOrThrow();
      await t.ctx.db
        .updateTable("trunks")
        .set({ password: `${sealed.password?.slice(0, -4)}AAA=` })
        .execute();
      await assert.rejects(trunks.get("carrier"), SecretKeyMismatch);
    });

    test("another key opens no credential: the clear error", async () => {
      const other = new SecretBox(randomBytes(32));
      const ctx = { ...t.ctx, secrets: other };
      await assert.rejects(new SqlExtensions(ctx).get("acme", "101"), isWrongKey);
      await assert.rejects(new SqlExtensions(ctx).list("acme"), isWrongKey);
      await assert.rejects(new SqlTrunks(ctx).get("carrier"), isWrongKey);
      await new SqlSecrets(t.ctx).setIfAbsent(KEY_CHECK_SECRET, "vpbx");
      await assert.rejects(
        checkSecretKey(ctx),
        (err: unknown) => isWrongKey(err) && (err as Error).message.includes(other.fingerprint),
      );
      await checkSecretKey(t.ctx);
    });

    test("rows of an older vpbx (HA1 and passwords in clear) are sealed once, and read as before", async () => {
      await insertTenant(t.ctx.db, "bistro");
      await insertExtension(t.ctx.db, "bistro", "201");
      await t.ctx.db
        .insertInto("trunks")
        .values({
          name: "old",
          host: "192.0.2.9",
          port: 5060,
          transport: "udp",
          username: "u",
          password: "old-clear-pw",
          register: 0,
          number_format: "e164",
          inbound_addresses: "[]",
          is_default: 0,
          created_at: "2026-01-05T08:00:00.000Z",
        })
        .execute();
      await t.ctx.db
        .insertInto("secrets")
        .values({ name: "nonce", value: "clear-nonce-key", created_at: "2026-01-05T08:00:00.000Z" })
        .execute();
      await assert.rejects(extensions.get("bistro", "201"), UnsealedSecret, "refused while in clear");

      assert.deepEqual(await sealStoredSecrets(t.ctx), { extensions: 1, trunks: 1, secrets: 1 });
      assert.deepEqual(await sealStoredSecrets(t.ctx), { extensions: 0, trunks: 0, secrets: 0 }, "once");
      const legacy = makeCredentials("201", "bistro.test", "pw-201-secret");
      const raw = await t.ctx.db
        .selectFrom("extensions")
        .select(["ha1_md5", "ha1_sha256"])
        .where("number", "=", "201")
        .executeTakeFirstOrThrow();
      assert.ok(isSealed(raw.ha1_md5) && isSealed(raw.ha1_sha256));
      assert.deepEqual((await extensions.get("bistro", "201"))?.credentials, legacy);
      assert.equal((await trunks.get("old"))?.password, "old-clear-pw");
      assert.equal(await new SqlSecrets(t.ctx).get("nonce"), "clear-nonce-key");
      assert.deepEqual((await extensions.get("acme", "101"))?.credentials, alice, "sealed rows untouched");
    });
  });
}

/** A store of one engine that a test opens, closes and opens again with a key of its choice. */
interface StoreSite {
  open(secretKey?: Buffer): ReturnType<typeof openStore>;
  /** The tables, straight (no sealing): what a copy of the database shows. */
  raw(): Promise<{ db: Kysely<Tables>; close(): Promise<void> }>;
  close(): Promise<void>;
}

const SITES: Array<{ name: string; make(dir: string): Promise<StoreSite> }> = [
  {
    name: "sqlite",
    async make(dir) {
      const dataDir = join(dir, "data");
      return {
        open: (secretKey) => openStore({ dataDir, clock, ...(secretKey ? { secretKey } : {}) }),
        async raw() {
          const db = sqliteKysely(new Database(join(dataDir, SQLITE_FILE)));
          return { db, close: () => db.destroy() };
        },
        close: async () => {},
      };
    },
  },
  ...(TEST_PG_URL === undefined
    ? []
    : [
        {
          name: "postgres",
          async make(dir: string): Promise<StoreSite> {
            const database = await createDatabase(TEST_PG_URL as string);
            return {
              open: (secretKey) =>
                openStore({
                  dataDir: dir,
                  databaseUrl: database.url,
                  clock,
                  ...(secretKey ? { secretKey } : {}),
                }),
              async raw() {
                const db = await connectPostgres(database.url, { max: 1 });
                return { db, close: () => db.destroy() };
              },
              close: () => database.drop(),
            };
          },
        },
      ]),
];

for (const site of SITES) {
  describe(`secrets at rest on ${site.name}: openStore`, () => {
    let dir: string;
    let s: StoreSite;
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), "vpbx-secrets-"));
      s = await site.make(dir);
    });
    afterEach(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("a wrong key stops the opening with the clear error; the right key opens", async () => {
      const key = randomBytes(32);
      const store = await s.open(key);
      await store.tenants.create({ name: "acme", domain: "acme.test" });
      await store.extensions.create({
        tenant: "acme",
        number: "101",
        displayName: "Alice",
        credentials: alice,
      });
      await store.close();

      await assert.rejects(s.open(randomBytes(32)), isWrongKey);
      const again = await s.open(key);
      try {
        assert.deepEqual((await again.extensions.get("acme", "101"))?.credentials, alice);
      } finally {
        await again.close();
      }
    });

    test("credentials in clear (an older vpbx's rows) are sealed at open", async () => {
      const key = randomBytes(32);
      await (await s.open(key)).close(); // the schema, and the key's check value
      const raw = await s.raw();
      try {
        await insertTenant(raw.db, "acme");
        await insertExtension(raw.db, "acme", "101");
        await raw.db
          .insertInto("trunks")
          .values({
            name: "carrier",
            host: "192.0.2.9",
            port: 5060,
            transport: "udp",
            username: "acme",
            password: TRUNK_PASSWORD,
            register: 1,
            number_format: "e164",
            inbound_addresses: "[]",
            is_default: 1,
            created_at: "2026-01-05T08:00:00.000Z",
          })
          .execute();
      } finally {
        await raw.close();
      }

      const store = await s.open(key);
      try {
        assert.deepEqual((await store.extensions.get("acme", "101"))?.credentials, alice);
        assert.equal((await store.trunks.get("carrier"))?.password, TRUNK_PASSWORD);
      } finally {
        await store.close();
      }
      const after = await s.raw();
      try {
        const ext = await rawExtension(after.db, "101");
        assert.ok(isSealed(ext.ha1_md5) && isSealed(ext.ha1_sha256));
        const trunk = await after.db.selectFrom("trunks").select("password").executeTakeFirstOrThrow();
        assert.ok(trunk.password !== null && isSealed(trunk.password));
      } finally {
        await after.close();
      }
    });
  });
}

describe("a copied SQLite database lets nobody in", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-copied-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("the file holds no HA1 nor trunk password; opened with another key, no credential opens", async () => {
    const key = randomBytes(32);
    const original = join(dir, "original");
    const store = await openStore({ dataDir: original, clock, secretKey: key });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.extensions.create({
      tenant: "acme",
      number: "101",
      displayName: "Alice",
      credentials: alice,
    });
    await store.trunks.create({
      name: "carrier",
      host: "sip.carrier.example",
      username: "acme",
      password: TRUNK_PASSWORD,
    });
    await store.close(); // the last connection checkpoints the WAL into the file

    const bytes = readFileSync(join(original, SQLITE_FILE)).toString("latin1");
    assert.ok(bytes.includes("Alice"), "the file is readable as it is: the test looks at the right bytes");
    for (const secret of [alice.ha1Md5, alice.ha1Sha256, TRUNK_PASSWORD]) {
      assert.ok(!bytes.includes(secret), `the file holds ${secret}`);
    }

    const copy = join(dir, "copy");
    mkdirSync(copy);
    copyFileSync(join(original, SQLITE_FILE), join(copy, SQLITE_FILE));
    await assert.rejects(openStore({ dataDir: copy, clock, secretKey: randomBytes(32) }), isWrongKey);
    // Without a key given, the copy's folder has no key file: a new key is made, and it opens nothing either.
    await assert.rejects(openStore({ dataDir: copy, clock }), isWrongKey);

    // Whoever holds the copy removes the key's check value: the store opens, the credentials do not.
    const file = new Database(join(copy, SQLITE_FILE));
    file.prepare("DELETE FROM secrets WHERE name = ?").run(KEY_CHECK_SECRET);
    file.close();
    const thief = await openStore({ dataDir: copy, clock, secretKey: randomBytes(32) });
    try {
      await assert.rejects(thief.extensions.get("acme", "101"), isWrongKey);
      await assert.rejects(thief.trunks.get("carrier"), isWrongKey);
    } finally {
      await thief.close();
    }

    // The key, kept apart, opens a copy (a restore from a backup).
    mkdirSync(join(dir, "restored"));
    copyFileSync(join(original, SQLITE_FILE), join(dir, "restored", SQLITE_FILE));
    const back = await openStore({ dataDir: join(dir, "restored"), clock, secretKey: key });
    try {
      assert.deepEqual((await back.extensions.get("acme", "101"))?.credentials, alice);
      assert.equal((await back.trunks.get("carrier"))?.password, TRUNK_PASSWORD);
    } finally {
      await back.close();
    }
  });
});
