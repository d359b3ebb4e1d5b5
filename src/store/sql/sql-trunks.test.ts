import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { StoreConflict } from "../types.ts";
import { SqlTrunks } from "./sql-trunks.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertTenant } from "./testing-rows.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

for (const engine of TEST_ENGINES) {
  describe(`sql trunks on ${engine.name}`, () => {
    let t: TestContext;
    let trunks: SqlTrunks;
    beforeEach(async () => {
      t = await engine.open(clock);
      trunks = new SqlTrunks(t.ctx);
    });
    afterEach(() => t.close());

    const defaults = async () => (await trunks.list()).filter((x) => x.isDefault).map((x) => x.name);

    test("defaults, the first is the default, isDefault moves it, list in creation order", async () => {
      const first = await trunks.create({ name: "carrier", host: "sip.carrier.example" });
      assert.deepEqual(first, {
        name: "carrier",
        host: "sip.carrier.example",
        port: 5060,
        transport: "udp",
        register: false,
        numberFormat: "e164",
        inboundAddresses: [],
        isDefault: true,
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      assert.deepEqual(await trunks.get("carrier"), first);
      const second = await trunks.create({
        name: "backup",
        host: "192.0.2.50",
        port: 5080,
        transport: "tcp",
        username: "acme-trunk",
        password: "s3cret",
        register: true,
        numberFormat: "national",
        inboundAddresses: ["203.0.113.7", "203.0.113.8"],
        isDefault: false,
      });
      assert.equal(second.isDefault, false);
      assert.deepEqual(await trunks.get("backup"), second);
      await trunks.create({ name: "alpha", host: "alpha.example" });
      assert.deepEqual(
        (await trunks.list()).map((x) => [x.name, x.isDefault]),
        [
          ["carrier", true],
          ["backup", false],
          ["alpha", false],
        ],
        "creation order, not alphabetical",
      );
      // A new trunk that asks to be the default takes it over.
      await trunks.create({ name: "new-default", host: "nd.example", isDefault: true });
      assert.deepEqual(await defaults(), ["new-default"]);
      const moved = await trunks.update("backup", { isDefault: true });
      assert.equal(moved?.isDefault, true);
      assert.deepEqual(await defaults(), ["backup"]);
      await assert.rejects(
        trunks.update("backup", { isDefault: false }),
        (e: Error) => e instanceof StoreConflict && /trunk backup is the default/.test(e.message),
      );
      assert.deepEqual(await defaults(), ["backup"], "the refused change changed nothing");
      assert.equal((await trunks.update("alpha", { isDefault: false }))?.isDefault, false, "no-op");
      assert.equal(
        (await trunks.update("backup", { isDefault: true }))?.isDefault,
        true,
        "already the default",
      );
      assert.deepEqual(await defaults(), ["backup"]);
      await assert.rejects(
        trunks.create({ name: "carrier", host: "x.example" }),
        (e: Error) => e instanceof StoreConflict && /trunk carrier already exists/.test(e.message),
      );
      await assert.rejects(
        trunks.create({ name: "carrier", host: "x.example", isDefault: true }),
        (e: Error) => e instanceof StoreConflict && /trunk carrier already exists/.test(e.message),
      );
      assert.deepEqual(await defaults(), ["backup"], "a refused creation does not move the default");
      assert.equal((await trunks.get("carrier"))?.host, "sip.carrier.example");
      assert.equal(await trunks.get("nope"), undefined);
      assert.equal(await trunks.update("nope", { port: 5061 }), undefined);
    });

    test("update patches fields; null removes username and password", async () => {
      await trunks.create({ name: "carrier", host: "sip.carrier.example", username: "u", password: "p" });
      const u = await trunks.update("carrier", {
        host: "sip2.carrier.example",
        port: 5070,
        transport: "tcp",
        register: true,
        numberFormat: "national",
        inboundAddresses: ["198.51.100.1"],
      });
      assert.deepEqual(u, {
        name: "carrier",
        host: "sip2.carrier.example",
        port: 5070,
        transport: "tcp",
        username: "u",
        password: "p",
        register: true,
        numberFormat: "national",
        inboundAddresses: ["198.51.100.1"],
        isDefault: true,
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      assert.deepEqual(await trunks.get("carrier"), u);
      const noAuth = await trunks.update("carrier", { username: null, password: null });
      assert.equal(noAuth?.username, undefined);
      assert.equal(noAuth?.password, undefined);
      assert.deepEqual(await trunks.get("carrier"), noAuth);
      assert.equal((await trunks.update("carrier", { password: "new" }))?.password, "new");
      assert.equal((await trunks.get("carrier"))?.password, "new");
    });

    test("delete; a named trunk cannot go; the oldest remaining becomes the default", async () => {
      await trunks.create({ name: "one", host: "one.example" });
      await trunks.create({ name: "two", host: "two.example" });
      await trunks.create({ name: "three", host: "three.example" });
      await insertTenant(t.ctx.db, "acme", "two");
      await insertTenant(t.ctx.db, "bistro", "two");
      await insertTenant(t.ctx.db, "cafe", "three");
      await assert.rejects(
        trunks.delete("two"),
        (e: Error) =>
          e instanceof StoreConflict &&
          /trunk two is used by tenants acme, bistro: give them another trunk first/.test(e.message),
      );
      await assert.rejects(
        trunks.delete("three"),
        (e: Error) => e instanceof StoreConflict && /used by tenant cafe: give it another/.test(e.message),
      );
      assert.ok(await trunks.get("two"), "still there");
      await t.ctx.db.deleteFrom("tenants").where("name", "=", "cafe").execute();
      assert.equal(await trunks.delete("one"), true);
      assert.deepEqual(
        (await trunks.list()).map((x) => [x.name, x.isDefault]),
        [
          ["two", true],
          ["three", false],
        ],
      );
      assert.equal(await trunks.delete("three"), true, "not the default: the default stays");
      assert.equal((await trunks.get("two"))?.isDefault, true);
      assert.equal(await trunks.delete("one"), false);
      await t.ctx.db.updateTable("tenants").set({ trunk: null }).where("name", "=", "acme").execute();
      await t.ctx.db.deleteFrom("tenants").where("name", "=", "bistro").execute();
      assert.equal(await trunks.delete("two"), true, "free once no tenant names it");
      assert.deepEqual(await trunks.list(), []);
      const again = await trunks.create({ name: "fresh", host: "fresh.example", isDefault: false });
      assert.equal(again.isDefault, true, "the only trunk is the default");
      assert.deepEqual(await defaults(), ["fresh"]);
    });
  });
}
