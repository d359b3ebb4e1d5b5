// The provider's own audit log (provider_audit): trunks, companies created
// and deleted, provider users. Each event is written in the transaction of
// its change: a refused change leaves no event, and a refused event leaves
// no change. Never a password or a hash in it.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { sql } from "kysely";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, type ProviderAuditEvent, StoreConflict } from "../types.ts";
import { appendProviderAudit, SqlAudit } from "./sql-audit.ts";
import { UNNAMED_ACTOR } from "./sql-context.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { SqlTrunks } from "./sql-trunks.ts";
import { SqlUsers } from "./sql-users.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

const root: Actor = { kind: "user", id: "root" };
const ops: Actor = { kind: "cli", id: "ops" };
const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const OTHER_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0b3RoZXI$b3RoZXJoYXNob3RoZXJoYXNob3RoZXJoYXNoMTIz";
const PASSWORD = "carrier-secret-8841";

/** Makes every insert into provider_audit fail, as a full disk would. */
async function refuseProviderAudit(t: TestContext): Promise<void> {
  if (t.ctx.engine === "sqlite") {
    await sql`CREATE TRIGGER provider_audit_refuses BEFORE INSERT ON provider_audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END`.execute(
      t.ctx.db,
    );
  } else {
    await sql`CREATE FUNCTION provider_audit_refuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$`.execute(
      t.ctx.db,
    );
    await sql`CREATE TRIGGER provider_audit_refuses BEFORE INSERT ON provider_audit FOR EACH ROW EXECUTE FUNCTION provider_audit_refuses()`.execute(
      t.ctx.db,
    );
  }
}

const line = (e: ProviderAuditEvent) => `${e.action} ${e.subject} ${e.actor.kind}:${e.actor.id}`;

for (const engine of TEST_ENGINES) {
  describe(`the provider's audit log on ${engine.name}`, () => {
    let t: TestContext;
    let clock: FakeClock;
    let audit: SqlAudit;
    let trunks: SqlTrunks;
    let tenants: SqlTenants;
    let users: SqlUsers;
    beforeEach(async () => {
      clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
      t = await engine.open(clock);
      audit = new SqlAudit(t.ctx);
      trunks = new SqlTrunks(t.ctx);
      tenants = new SqlTenants(t.ctx);
      users = new SqlUsers(t.ctx);
    });
    afterEach(() => t.close());

    /** Every stored row of both logs as text: what a copy of the database would show. */
    const everyRow = async () =>
      JSON.stringify([
        await t.ctx.db.selectFrom("provider_audit").selectAll().execute(),
        await t.ctx.db.selectFrom("audit").selectAll().execute(),
      ]);

    test("appended and listed newest first, with its limit; the actor keeps its source", async () => {
      assert.deepEqual(await audit.listProvider(), []);
      for (let i = 1; i <= 3; i++) {
        await appendProviderAudit(t.ctx.db, t.ctx.iso(), {
          actor: { kind: "phone", id: "101", source: "udp:192.0.2.10:5062" },
          action: "test.step",
          subject: `s${i}`,
          old: i === 1 ? null : { n: i - 1 },
          new: { n: i },
        });
        await clock.advance(1000);
      }
      const all = await audit.listProvider();
      assert.deepEqual(
        all.map((e) => e.subject),
        ["s3", "s2", "s1"],
      );
      assert.deepEqual(all[2], {
        id: all[2].id,
        at: "2026-01-05T08:00:00.000Z",
        actor: { kind: "phone", id: "101", source: "udp:192.0.2.10:5062" },
        action: "test.step",
        subject: "s1",
        old: null,
        new: { n: 1 },
      });
      assert.ok(all[0].id > all[1].id && all[1].id > all[2].id, "ids in the order of writing");
      assert.deepEqual(
        (await audit.listProvider({ limit: 2 })).map((e) => e.subject),
        ["s3", "s2"],
      );
    });

    test("trunks: create, update, delete with the actor; never the password", async () => {
      await trunks.create(
        { name: "carrier", host: "sip.carrier.example", username: "acct", password: PASSWORD },
        root,
      );
      await clock.advance(60_000);
      await trunks.update("carrier", { port: 5080, password: "another-secret-5531" }, root);
      await clock.advance(60_000);
      await trunks.update("carrier", { register: true }, ops);
      // A patch that changes nothing is no change.
      await trunks.update("carrier", { port: 5080 }, ops);
      await clock.advance(60_000);
      assert.equal(await trunks.delete("carrier", root), true);
      const events = await audit.listProvider();
      assert.deepEqual(events.map(line), [
        "trunk.delete carrier user:root",
        "trunk.update carrier cli:ops",
        "trunk.update carrier user:root",
        "trunk.create carrier user:root",
      ]);
      const [deleted, registered, changed, created] = events;
      assert.equal(created.at, "2026-01-05T08:00:00.000Z");
      assert.equal(created.old, null);
      assert.deepEqual(created.new, {
        host: "sip.carrier.example",
        port: 5060,
        transport: "udp",
        username: "acct",
        hasPassword: true,
        register: false,
        numberFormat: "e164",
        inboundAddresses: [],
        isDefault: true,
      });
      assert.equal(changed.at, "2026-01-05T08:01:00.000Z");
      assert.equal((changed.old as { port: number }).port, 5060);
      assert.deepEqual(
        {
          port: (changed.new as { port: number }).port,
          passwordChanged: (changed.new as { passwordChanged?: boolean }).passwordChanged,
        },
        { port: 5080, passwordChanged: true },
      );
      assert.equal((registered.new as { passwordChanged?: boolean }).passwordChanged, undefined);
      assert.deepEqual(
        [
          (registered.old as { register: boolean }).register,
          (registered.new as { register: boolean }).register,
        ],
        [false, true],
      );
      assert.equal(deleted.new, null);
      assert.equal((deleted.old as { hasPassword: boolean }).hasPassword, true);
      assert.equal((deleted.old as { port: number }).port, 5080);
      const stored = await everyRow();
      assert.ok(!stored.includes(PASSWORD) && !stored.includes("another-secret"), "never a password");
    });

    test("trunks: a password removed shows as hasPassword false; no actor is the store's", async () => {
      await trunks.create({ name: "carrier", host: "sip.carrier.example", password: PASSWORD });
      await trunks.update("carrier", { password: null });
      const [removed, created] = await audit.listProvider();
      assert.deepEqual(removed.actor, UNNAMED_ACTOR);
      assert.deepEqual(created.actor, UNNAMED_ACTOR);
      assert.equal((removed.old as { hasPassword: boolean }).hasPassword, true);
      assert.equal((removed.new as { hasPassword: boolean }).hasPassword, false);
    });

    test("a refused trunk change leaves no event", async () => {
      await trunks.create({ name: "carrier", host: "sip.carrier.example" }, root);
      await assert.rejects(trunks.create({ name: "carrier", host: "other.example" }, root), StoreConflict);
      await tenants.create({ name: "acme", domain: "acme.test", trunk: "carrier" }, root);
      await assert.rejects(trunks.delete("carrier", root), StoreConflict);
      await assert.rejects(trunks.update("carrier", { isDefault: false }, root), StoreConflict);
      assert.equal(await trunks.delete("ghost", root), false);
      assert.equal(await trunks.update("ghost", { port: 5070 }, root), undefined);
      assert.deepEqual((await audit.listProvider()).map(line), [
        "tenant.create acme user:root",
        "trunk.create carrier user:root",
      ]);
    });

    test("an event that cannot be written takes its change back", async () => {
      await trunks.create({ name: "carrier", host: "sip.carrier.example" }, root);
      await tenants.create({ name: "acme", domain: "acme.test" }, root);
      await users.create({ username: "root", passwordHash: HASH, role: "provider" }, root);
      await refuseProviderAudit(t);
      await assert.rejects(trunks.create({ name: "backup", host: "192.0.2.50" }, root), /audit refused/);
      await assert.rejects(trunks.update("carrier", { port: 5080 }, root), /audit refused/);
      await assert.rejects(trunks.delete("carrier", root), /audit refused/);
      await assert.rejects(tenants.create({ name: "bistro", domain: "bistro.test" }, root), /audit refused/);
      await assert.rejects(tenants.delete("acme", root), /audit refused/);
      await assert.rejects(
        users.create({ username: "ops", passwordHash: HASH, role: "provider" }),
        /audit refused/,
      );
      await assert.rejects(users.update("root", { passwordHash: OTHER_HASH }), /audit refused/);
      await assert.rejects(users.delete("root"), /audit refused/);
      assert.deepEqual(
        (await trunks.list()).map((x) => `${x.name}:${x.port}`),
        ["carrier:5060"],
      );
      assert.deepEqual(
        (await tenants.list()).map((x) => x.name),
        ["acme"],
      );
      assert.deepEqual(
        (await users.list()).map((u) => u.username),
        ["root"],
      );
      assert.equal((await users.get("root"))?.passwordHash, HASH);
    });

    test("companies: created and deleted, with their main settings; the deletion outlives the company's own log", async () => {
      await tenants.create({ name: "acme", domain: "acme.test", language: "de" }, root);
      await tenants.update("acme", { features: { voicemail: true } }, root);
      assert.equal((await audit.list("acme")).length, 1, "the company's own log");
      await assert.rejects(tenants.create({ name: "other", domain: "ACME.test" }, root), StoreConflict);
      await clock.advance(60_000);
      assert.equal(await tenants.delete("acme", ops), true);
      assert.equal(await tenants.delete("acme", ops), false);
      assert.deepEqual(await audit.list("acme"), [], "the company's log went with it");
      const [deleted, created] = await audit.listProvider();
      assert.deepEqual(
        [line(deleted), line(created)],
        ["tenant.delete acme cli:ops", "tenant.create acme user:root"],
      );
      const settings = {
        domain: "acme.test",
        language: "de",
        timezone: "Europe/Zurich",
        country: "CH",
        trunk: null,
        maxCalls: 20,
        requireEncryption: false,
      };
      assert.deepEqual([created.old, created.new], [null, settings]);
      assert.deepEqual([deleted.old, deleted.new], [settings, null]);
      assert.equal(deleted.at, "2026-01-05T08:01:00.000Z");
      // The name is free again, and its new creation is one more event.
      await tenants.create({ name: "acme", domain: "acme.test" });
      assert.equal((await audit.listProvider()).length, 3);
    });

    test("provider users in the provider's log (never the hash); a company's users in the company's", async () => {
      await users.create({ username: "Root", passwordHash: HASH, role: "provider" }, ops);
      await users.update("root", { passwordHash: OTHER_HASH }, root);
      await users.update("root", { language: "it" }, root);
      await users.delete("root", ops);
      await tenants.create({ name: "acme", domain: "acme.test" });
      await users.create({ username: "boss", passwordHash: HASH, role: "admin", tenant: "acme" }, root);
      const events = await audit.listProvider();
      assert.deepEqual(events.map(line), [
        "tenant.create acme system:store",
        "user.delete root cli:ops",
        "user.update root user:root",
        "user.update root user:root",
        "user.create root cli:ops",
      ]);
      const byAction = events.slice(1).reverse();
      assert.deepEqual(byAction[0].new, { role: "provider", extension: null, language: null });
      assert.deepEqual(
        [byAction[1].old, byAction[1].new],
        [{ password: "(set)" }, { password: "(changed)" }],
      );
      assert.deepEqual([byAction[2].old, byAction[2].new], [{ language: null }, { language: "it" }]);
      assert.deepEqual(byAction[3].old, { role: "provider", extension: null, language: "it" });
      assert.deepEqual(
        (await audit.list("acme")).map((e) => `${e.action} ${e.subject}`),
        ["user.create boss"],
      );
      assert.ok(!(await everyRow()).includes("argon2"), "never a hash in either log");
    });
  });
}
