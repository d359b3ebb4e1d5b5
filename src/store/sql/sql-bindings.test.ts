import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Binding, StoreConflict } from "../types.ts";
import { SqlBindings } from "./sql-bindings.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

function binding(over: Partial<Binding> = {}): Binding {
  return {
    tenant: "acme",
    extension: "101",
    contact: "sip:101@192.0.2.10:5060",
    callId: "abc@192.0.2.10",
    cseq: 1,
    expiresAt: clock.now() + 3600_000,
    source: { transport: "UDP", address: "192.0.2.10", port: 5060 },
    userAgent: "Yealink T46",
    ...over,
  };
}

for (const engine of TEST_ENGINES) {
  describe(`sql bindings on ${engine.name}`, () => {
    let t: TestContext;
    let bindings: SqlBindings;
    beforeEach(async () => {
      t = await engine.open(clock);
      bindings = new SqlBindings(t.ctx);
      await insertTenant(t.ctx.db, "acme");
      await insertExtension(t.ctx.db, "acme", "101");
      await insertExtension(t.ctx.db, "acme", "102");
    });
    afterEach(() => t.close());

    test("upsert replaces by contact, list, remove, removeAll, purge", async () => {
      await bindings.upsert(binding());
      await bindings.upsert(binding({ cseq: 2, expiresAt: clock.now() + 60_000, userAgent: undefined }));
      const one = await bindings.list("acme", "101");
      assert.equal(one.length, 1);
      assert.equal(one[0].cseq, 2);
      assert.equal(one[0].userAgent, undefined);
      assert.equal("userAgent" in one[0], false);
      assert.equal(one[0].expiresAt, clock.now() + 60_000);
      assert.deepEqual(one[0].source, { transport: "UDP", address: "192.0.2.10", port: 5060 });
      await bindings.upsert(binding({ contact: "sip:101@192.0.2.11", expiresAt: clock.now() + 10_000 }));
      await bindings.upsert(
        binding({
          extension: "102",
          contact: "sip:102@[2001:db8::1]:5070",
          source: { transport: "TCP", address: "2001:db8::1", port: 5070 },
        }),
      );
      assert.equal((await bindings.list("acme")).length, 3);
      assert.equal((await bindings.list("acme", "101")).length, 2);
      assert.equal((await bindings.listAll()).length, 3);

      // Expired ones stay listed until purged; purge takes expiresAt <= now.
      assert.equal(await bindings.purgeExpired(clock.now() + 10_000), 1);
      assert.deepEqual(
        (await bindings.list("acme", "101")).map((b) => b.contact),
        ["sip:101@192.0.2.10:5060"],
      );
      await bindings.remove("acme", "101", "sip:101@192.0.2.10:5060");
      assert.deepEqual(await bindings.list("acme", "101"), []);
      await bindings.upsert(binding());
      await bindings.removeAll("acme", "101");
      assert.deepEqual(
        (await bindings.listAll()).map((b) => b.extension),
        ["102"],
      );
      await assert.rejects(
        bindings.upsert(binding({ extension: "555" })),
        (e: Error) =>
          e instanceof StoreConflict && /extension 555 does not exist in tenant acme/.test(e.message),
      );
    });

    test("every field reads back as written; order by tenant, extension, contact", async () => {
      await insertTenant(t.ctx.db, "bistro");
      await insertExtension(t.ctx.db, "bistro", "101");
      const a = binding({ contact: "sip:101@192.0.2.20", expiresAt: clock.now() + 1234.7 });
      const b = binding({ contact: "sip:101@192.0.2.10" });
      const c = binding({ extension: "102", contact: "sip:102@192.0.2.12", cseq: 99 });
      const d = binding({
        tenant: "bistro",
        source: { transport: "TCP", address: "198.51.100.4", port: 40000 },
      });
      for (const x of [d, c, a, b]) await bindings.upsert(x);
      const aRead = { ...a, expiresAt: clock.now() + 1234 };
      assert.deepEqual(await bindings.list("acme", "101"), [b, aRead]);
      assert.deepEqual(await bindings.list("acme"), [b, aRead, c]);
      assert.deepEqual(await bindings.list("bistro"), [d]);
      assert.deepEqual(await bindings.listAll(), [b, aRead, c, d]);
      assert.deepEqual(await bindings.list("nobody"), []);
      assert.equal(await bindings.purgeExpired(clock.now()), 0);
    });

    test("the Path of a registration (RFC 3327) is kept in order, replaced and dropped with the binding's refresh", async () => {
      const path = ["<sip:192.0.2.1:5060;lr;received=sip:198.51.100.7:40000>", "<sip:edge.example;lr>"];
      await bindings.upsert(binding({ path }));
      const [read] = await bindings.list("acme", "101");
      assert.deepEqual(read.path, path);
      assert.deepEqual(await bindings.listAll(), [read]);
      // A refresh that came straight (no Path) takes it away; an empty list is no path.
      await bindings.upsert(binding({ cseq: 2 }));
      assert.equal("path" in (await bindings.list("acme", "101"))[0], false);
      await bindings.upsert(binding({ cseq: 3, path: [] }));
      assert.equal("path" in (await bindings.list("acme", "101"))[0], false);
      // A row that cannot be read as a list of strings: no path, the binding still works.
      for (const bad of ["not json", '{"a":1}', "[1,2]"]) {
        await t.ctx.db.updateTable("bindings").set({ path: bad }).execute();
        const [b] = await bindings.list("acme", "101");
        assert.equal(b.contact, "sip:101@192.0.2.10:5060");
        assert.equal("path" in b, false);
      }
    });

    test("deleting the extension or the tenant takes its bindings", async () => {
      await bindings.upsert(binding());
      await bindings.upsert(binding({ extension: "102" }));
      await t.ctx.db
        .deleteFrom("extensions")
        .where("tenant", "=", "acme")
        .where("number", "=", "101")
        .execute();
      assert.deepEqual(
        (await bindings.listAll()).map((b) => b.extension),
        ["102"],
      );
      await t.ctx.db.deleteFrom("tenants").where("name", "=", "acme").execute();
      assert.deepEqual(await bindings.listAll(), []);
    });
  });
}
