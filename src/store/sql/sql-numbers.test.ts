import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type AnnouncementKind, type DestinationSpec, StoreConflict } from "../types.ts";
import { SqlNumbers } from "./sql-numbers.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertTenant } from "./testing-rows.ts";

const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));

function announce(announcement: AnnouncementKind, next: unknown): DestinationSpec {
  return { type: "announcement", announcement, then: next as DestinationSpec };
}

for (const engine of TEST_ENGINES) {
  describe(`sql numbers on ${engine.name}`, () => {
    let t: TestContext;
    let numbers: SqlNumbers;
    beforeEach(async () => {
      t = await engine.open(clock);
      numbers = new SqlNumbers(t.ctx);
      await insertTenant(t.ctx.db, "acme");
    });
    afterEach(() => t.close());

    test("add, list in order (main first), find, listAll, unique across tenants, delete", async () => {
      await insertTenant(t.ctx.db, "bistro");
      const main = await numbers.add({
        tenant: "acme",
        number: "+41215550100",
        destination: { type: "extension", number: "101" },
      });
      assert.deepEqual(main, {
        tenant: "acme",
        number: "+41215550100",
        destination: { type: "extension", number: "101" },
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      await numbers.add({ tenant: "bistro", number: "+41445550000", destination: { type: "hangup" } });
      await numbers.add({
        tenant: "acme",
        number: "+41215550000",
        destination: { type: "external", number: "+41791231212" },
      });
      assert.deepEqual(
        (await numbers.list("acme")).map((x) => x.number),
        ["+41215550100", "+41215550000"],
        "the order they were added, not sorted",
      );
      assert.deepEqual(await numbers.find("+41215550100"), main);
      assert.deepEqual((await numbers.find("+41215550000"))?.destination, {
        type: "external",
        number: "+41791231212",
      });
      assert.equal((await numbers.find("+41445550000"))?.tenant, "bistro");
      assert.equal(await numbers.find("+41000000000"), undefined);
      assert.deepEqual(
        (await numbers.listAll()).map((x) => `${x.tenant} ${x.number}`),
        ["acme +41215550100", "bistro +41445550000", "acme +41215550000"],
      );
      await assert.rejects(
        numbers.add({ tenant: "bistro", number: "+41215550100", destination: { type: "hangup" } }),
        (e: Error) =>
          e instanceof StoreConflict && /\+41215550100 already belongs to tenant acme/.test(e.message),
      );
      await assert.rejects(
        numbers.add({ tenant: "ghost", number: "+41215559999", destination: { type: "hangup" } }),
        (e: Error) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
      );
      assert.equal((await numbers.listAll()).length, 3, "refused additions change nothing");
      assert.equal(await numbers.delete("bistro", "+41215550100"), false, "not bistro's");
      assert.equal(await numbers.delete("acme", "+41215550100"), true);
      assert.equal(await numbers.delete("acme", "+41215550100"), false);
      assert.deepEqual(
        (await numbers.list("acme")).map((x) => x.number),
        ["+41215550000"],
        "the next one is now the main number",
      );
      // Added again later, it comes after: order of addition, not of the number.
      await numbers.add({ tenant: "acme", number: "+41215550100", destination: { type: "hangup" } });
      assert.deepEqual(
        (await numbers.list("acme")).map((x) => x.number),
        ["+41215550000", "+41215550100"],
      );
      await t.ctx.db.deleteFrom("tenants").where("name", "=", "bistro").execute();
      assert.deepEqual(
        (await numbers.listAll()).map((x) => x.tenant),
        ["acme", "acme"],
        "a deleted tenant takes its numbers",
      );
    });

    test("the destination given is copied, not kept", async () => {
      const destination: DestinationSpec = { type: "extension", number: "101" };
      const added = await numbers.add({ tenant: "acme", number: "+41215550100", destination });
      (destination as { number: string }).number = "999";
      assert.deepEqual(added.destination, { type: "extension", number: "101" });
      assert.deepEqual((await numbers.find("+41215550100"))?.destination, {
        type: "extension",
        number: "101",
      });
    });

    test("every destination type reads back, announcements nested", async () => {
      const destinations: DestinationSpec[] = [
        { type: "extension", number: "101" },
        { type: "external", number: "+41791231212" },
        { type: "voicemail", number: "101" },
        { type: "ring-group", name: "shop" },
        announce("welcome", { type: "inbound-flow" }),
        announce("closed", announce("vacation", { type: "voicemail", number: "101" })),
        { type: "inbound-flow" },
        { type: "hangup" },
      ];
      for (const [i, destination] of destinations.entries()) {
        await numbers.add({ tenant: "acme", number: `+4121555010${i}`, destination });
      }
      assert.deepEqual(
        (await numbers.list("acme")).map((x) => x.destination),
        destinations,
      );
    });

    test("a destination that cannot be read hangs up, deeper than the limit too", async () => {
      const stored = [
        { type: "teleport" },
        { type: "ring-group" },
        announce("jingle" as AnnouncementKind, { type: "hangup" }),
        // A lost `then` still says the announcement.
        { type: "announcement", announcement: "closed" },
        // Depth 4: the fourth level reads as hangup (MAX_DESTINATION_DEPTH = 3).
        announce("welcome", announce("waiting", announce("closed", { type: "extension", number: "101" }))),
      ];
      for (const [i, d] of stored.entries()) {
        await t.ctx.db
          .insertInto("numbers")
          .values({
            tenant: "acme",
            number: `+4121555020${i}`,
            destination: JSON.stringify(d),
            created_at: "2026-01-05",
          })
          .execute();
      }
      await t.ctx.db
        .insertInto("numbers")
        .values({ tenant: "acme", number: "+41215550299", destination: "not json", created_at: "2026-01-05" })
        .execute();
      assert.deepEqual(
        (await numbers.list("acme")).map((x) => x.destination),
        [
          { type: "hangup" },
          { type: "hangup" },
          { type: "hangup" },
          announce("closed", { type: "hangup" }),
          announce("welcome", announce("waiting", announce("closed", { type: "hangup" }))),
          { type: "hangup" },
        ],
      );
    });
  });
}
