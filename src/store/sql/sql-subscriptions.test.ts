import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { StoreConflict, type StoredSubscription } from "../types.ts";
import { SqlSubscriptions } from "./sql-subscriptions.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

function subscription(over: Partial<StoredSubscription> = {}): StoredSubscription {
  return {
    id: "s1",
    tenant: "acme",
    extension: "101",
    package: "dialog",
    resource: "102",
    callId: "blf-1@192.0.2.10",
    localTag: "ours1",
    remoteTag: "theirs1",
    localUri: "<sip:102@acme.test>",
    remoteUri: '"Alice" <sip:101@acme.test>',
    remoteTarget: "sip:101@192.0.2.10:5062",
    routeSet: [],
    localContact: "<sip:192.0.2.1:5060>",
    localSeq: 17,
    remoteSeq: 1,
    version: 0,
    source: { transport: "UDP", address: "192.0.2.10", port: 5062 },
    expiresAt: clock.now() + 3600_000,
    ...over,
  };
}

for (const engine of TEST_ENGINES) {
  describe(`sql subscriptions on ${engine.name}`, () => {
    let t: TestContext;
    let subs: SqlSubscriptions;
    beforeEach(async () => {
      t = await engine.open(clock);
      subs = new SqlSubscriptions(t.ctx);
      await insertTenant(t.ctx.db, "acme");
      await insertTenant(t.ctx.db, "bistro");
      for (const [tenant, number] of [
        ["acme", "101"],
        ["acme", "102"],
        ["bistro", "101"],
      ]) {
        await insertExtension(t.ctx.db, tenant, number);
      }
    });
    afterEach(() => t.close());

    test("save, list per tenant and all (every field, the event id and route set)", async () => {
      const a = subscription({
        eventId: "blf-7",
        routeSet: ["<sip:proxy.acme.test;lr>", "<sip:192.0.2.99;lr>"],
      });
      const b = subscription({ id: "s2", package: "message-summary", resource: "101", callId: "mwi-1" });
      const c = subscription({
        id: "s3",
        tenant: "bistro",
        source: { transport: "TCP", address: "198.51.100.4", port: 40000 },
      });
      await subs.save(a);
      await subs.save(b);
      await subs.save(c);
      assert.deepEqual(await subs.list("acme"), [a, b]);
      assert.deepEqual(await subs.list("bistro"), [c]);
      assert.deepEqual(await subs.list(), [a, b, c]);
      assert.equal("eventId" in (await subs.list("acme"))[1], false);
    });

    test("order: tenant, extension, expiry, id", async () => {
      await subs.save(subscription({ id: "z", extension: "102", expiresAt: clock.now() + 1 }));
      await subs.save(subscription({ id: "y", expiresAt: clock.now() + 2 }));
      await subs.save(subscription({ id: "x", expiresAt: clock.now() + 2 }));
      await subs.save(subscription({ id: "w", expiresAt: clock.now() + 3 }));
      await subs.save(subscription({ id: "a", tenant: "bistro", expiresAt: clock.now() }));
      assert.deepEqual(
        (await subs.list("acme")).map((s) => s.id),
        ["x", "y", "w", "z"],
      );
      assert.deepEqual(
        (await subs.list()).map((s) => s.id),
        ["x", "y", "w", "z", "a"],
      );
    });

    test("a refresh replaces the row; noteSent keeps our CSeq and the version; remove", async () => {
      await subs.save(subscription({ eventId: "old" }));
      const refreshed = subscription({
        expiresAt: clock.now() + 7200_000,
        remoteSeq: 2,
        remoteTarget: "sip:101@192.0.2.10:5070",
        routeSet: ["<sip:proxy.acme.test;lr>"],
      });
      await subs.save(refreshed);
      await subs.noteSent("s1", 19, 3);
      assert.deepEqual(await subs.list("acme"), [{ ...refreshed, localSeq: 19, version: 3 }]);
      await subs.noteSent("gone", 1, 1);
      await subs.remove("s1");
      await subs.remove("s1");
      assert.deepEqual(await subs.list(), []);
    });

    test("purgeExpired drops what ran out, keeps the rest", async () => {
      await subs.save(subscription({ id: "old", expiresAt: clock.now() - 1 }));
      await subs.save(subscription({ id: "now", expiresAt: clock.now() }));
      await subs.save(subscription({ id: "live", expiresAt: clock.now() + 1 }));
      assert.equal(await subs.purgeExpired(clock.now()), 2);
      assert.deepEqual(
        (await subs.list()).map((s) => s.id),
        ["live"],
      );
      assert.equal(await subs.purgeExpired(clock.now()), 0);
    });

    test("a subscription of an unknown extension is a StoreConflict; deleting the extension or tenant takes its subscriptions", async () => {
      await assert.rejects(
        subs.save(subscription({ extension: "999" })),
        (e: Error) =>
          e instanceof StoreConflict && /extension 999 does not exist in tenant acme/.test(e.message),
      );
      assert.deepEqual(await subs.list(), [], "nothing written");
      await subs.save(subscription());
      await subs.save(subscription({ id: "s2", extension: "102" }));
      await subs.save(subscription({ id: "s3", tenant: "bistro" }));
      // A refresh that moves the row to an unknown extension changes nothing either.
      await assert.rejects(subs.save(subscription({ id: "s2", extension: "999" })), StoreConflict);
      assert.equal((await subs.list("acme")).find((s) => s.id === "s2")?.extension, "102");
      await t.ctx.db
        .deleteFrom("extensions")
        .where("tenant", "=", "acme")
        .where("number", "=", "101")
        .execute();
      assert.deepEqual(
        (await subs.list()).map((s) => s.id),
        ["s2", "s3"],
      );
      await t.ctx.db.deleteFrom("tenants").where("name", "=", "bistro").execute();
      assert.deepEqual(
        (await subs.list()).map((s) => s.id),
        ["s2"],
      );
    });

    test("an unreadable route set reads as empty, with a warning", async () => {
      await subs.save(subscription());
      await t.ctx.soft
        .updateTable("subscriptions")
        .set({ route_set: "not json" })
        .where("id", "=", "s1")
        .execute();
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        assert.deepEqual((await subs.list())[0].routeSet, []);
        await new Promise((resolve) => setImmediate(resolve));
        assert.ok(
          warnings.some((w) => w.includes("route set")),
          warnings.join("; "),
        );
      } finally {
        process.off("warning", onWarning);
      }
    });
  });
}
