import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import {
  type Actor,
  type AnnouncementKind,
  DEFAULT_SCHEDULE,
  type DestinationSpec,
  StoreConflict,
} from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlCompanyFlow } from "./sql-company-flow.ts";
import type { SqlContext } from "./sql-context.ts";
import { SqlRingGroups } from "./sql-ring-groups.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertExtension, insertTenant } from "./testing-rows.ts";

const api: Actor = { kind: "api", id: "admin" };
const system: Actor = { kind: "system", id: "store" };

function announce(announcement: AnnouncementKind, next: DestinationSpec): DestinationSpec {
  return { type: "announcement", announcement, then: next };
}
const group = (name: string): DestinationSpec => ({ type: "ring-group", name });

async function addNumber(ctx: SqlContext, tenant: string, number: string, d: DestinationSpec): Promise<void> {
  await ctx.db
    .insertInto("numbers")
    .values({ tenant, number, destination: JSON.stringify(d), created_at: ctx.iso() })
    .execute();
}

for (const engine of TEST_ENGINES) {
  describe(`sql ring groups on ${engine.name}`, () => {
    let t: TestContext;
    let ctx: SqlContext;
    let groups: SqlRingGroups;
    let audit: SqlAudit;
    beforeEach(async () => {
      t = await engine.open(new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0)));
      ctx = t.ctx;
      groups = new SqlRingGroups(ctx);
      audit = new SqlAudit(ctx);
      for (const name of ["acme", "bistro"]) await insertTenant(ctx.db, name);
      for (const number of ["101", "102", "103"]) await insertExtension(ctx.db, "acme", number);
      await insertExtension(ctx.db, "bistro", "201");
    });
    afterEach(async () => {
      await t.close();
    });

    test("create with defaults; get, list by name; unknown is undefined", async () => {
      const shop = await groups.create({ tenant: "acme", name: "shop", members: ["102", "101"] });
      assert.deepEqual(shop, {
        tenant: "acme",
        name: "shop",
        members: ["102", "101"],
        strategy: "simultaneous",
        timeout: 60,
        memberTimeout: 20,
        fallback: { type: "hangup" },
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      const desk = await groups.create({
        tenant: "acme",
        name: "desk",
        members: ["103"],
        strategy: "sequential",
        timeout: 45,
        memberTimeout: 15,
        fallback: announce("closed", { type: "voicemail", number: "101" }),
      });
      assert.deepEqual(await groups.get("acme", "shop"), shop);
      assert.deepEqual(await groups.get("acme", "desk"), desk);
      assert.deepEqual(
        (await groups.list("acme")).map((g) => g.name),
        ["desk", "shop"],
      );
      assert.deepEqual(await groups.list("bistro"), []);
      assert.equal(await groups.get("acme", "none"), undefined);
      assert.equal(await groups.get("bistro", "shop"), undefined, "per tenant");
    });

    test("create conflicts: name taken, unknown tenant, members that are not extensions of the tenant", async () => {
      await groups.create({ tenant: "acme", name: "shop", members: ["101"] });
      await assert.rejects(
        groups.create({ tenant: "acme", name: "shop", members: ["102"] }),
        (e: Error) =>
          e instanceof StoreConflict && /ring group shop already exists in tenant acme/.test(e.message),
      );
      await assert.rejects(
        groups.create({ tenant: "nobody", name: "shop", members: [] }),
        (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
      );
      await assert.rejects(
        groups.create({ tenant: "acme", name: "mixed", members: ["101", "201", "999"] }),
        (e: Error) =>
          e instanceof StoreConflict && /members 201, 999 are not extensions of tenant acme/.test(e.message),
      );
      await assert.rejects(
        groups.create({ tenant: "acme", name: "one", members: ["999"] }),
        (e: Error) =>
          e instanceof StoreConflict && /member 999 is not an extension of tenant acme/.test(e.message),
      );
      // The same name in another tenant is another group.
      await groups.create({ tenant: "bistro", name: "shop", members: ["201"] });
      assert.deepEqual(
        (await groups.list("acme")).map((g) => g.name),
        ["shop"],
      );
      assert.equal((await audit.list("acme")).length, 1, "refused creations are not audited");
    });

    test("malformed groups are refused (RangeError) and nothing is written", async () => {
      const bad = [
        { strategy: "random" as "sequential" },
        { timeout: 0 },
        { timeout: 2.5 },
        { memberTimeout: -1 },
        { members: ["101", "101"] },
        { name: "" },
      ];
      for (const over of bad) {
        await assert.rejects(
          groups.create({ tenant: "acme", name: "shop", members: ["101"], ...over }),
          RangeError,
          JSON.stringify(over),
        );
      }
      assert.deepEqual(await groups.list("acme"), []);
      assert.deepEqual(await audit.list("acme"), []);
    });

    test("update patches fields, checks members, returns undefined for an unknown group", async () => {
      await groups.create({ tenant: "acme", name: "shop", members: ["101"] });
      const updated = await groups.update("acme", "shop", {
        members: ["103", "102"],
        strategy: "sequential",
        memberTimeout: 10,
        fallback: { type: "voicemail", number: "101" },
      });
      assert.deepEqual(updated, {
        tenant: "acme",
        name: "shop",
        members: ["103", "102"],
        strategy: "sequential",
        timeout: 60,
        memberTimeout: 10,
        fallback: { type: "voicemail", number: "101" },
        createdAt: "2026-01-05T08:00:00.000Z",
      });
      assert.deepEqual(await groups.get("acme", "shop"), updated);
      await assert.rejects(groups.update("acme", "shop", { members: ["201"] }), StoreConflict);
      await assert.rejects(groups.update("acme", "shop", { timeout: 0 }), RangeError);
      assert.deepEqual(await groups.get("acme", "shop"), updated, "a refused patch changes nothing");
      assert.equal(await groups.update("acme", "none", { timeout: 5 }), undefined);
    });

    test("every write is audited with its actor (a system actor when none); no change, no event", async () => {
      await groups.create({ tenant: "acme", name: "shop", members: ["101"] }, api);
      await groups.update("acme", "shop", { timeout: 30 }, api);
      await groups.update("acme", "shop", { timeout: 30 }, api); // no change
      await groups.update("acme", "shop", { members: ["101", "102"] });
      await groups.delete("acme", "shop", api);
      const events = (await audit.list("acme")).reverse();
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor]),
        [
          ["ringgroup.create", "shop", api],
          ["ringgroup.update", "shop", api],
          ["ringgroup.update", "shop", system],
          ["ringgroup.delete", "shop", api],
        ],
      );
      const base = { strategy: "simultaneous", memberTimeout: 20, fallback: { type: "hangup" } };
      assert.equal(events[0].old, null);
      assert.deepEqual(events[0].new, { ...base, members: ["101"], timeout: 60 });
      assert.deepEqual(
        [events[1].old, events[1].new],
        [
          { ...base, members: ["101"], timeout: 60 },
          { ...base, members: ["101"], timeout: 30 },
        ],
      );
      assert.deepEqual(events[3].old, { ...base, members: ["101", "102"], timeout: 30 });
      assert.equal(events[3].new, null);
    });

    test("delete; false when there is none", async () => {
      await groups.create({ tenant: "acme", name: "shop", members: ["101"] });
      assert.equal(await groups.delete("acme", "shop"), true);
      assert.equal(await groups.get("acme", "shop"), undefined);
      assert.equal(await groups.delete("acme", "shop"), false);
    });

    test("a group that a number, the schedule, the call flow or another group names cannot go; the conflict names them all", async () => {
      const flow = new SqlCompanyFlow(ctx);
      await groups.create({ tenant: "acme", name: "shop", members: ["101", "102"] });
      // Falling back to itself does not keep a group alive.
      await groups.update("acme", "shop", { fallback: group("shop") });
      await groups.create({
        tenant: "acme",
        name: "desk",
        members: ["103"],
        fallback: announce("closed", announce("waiting", group("shop"))),
      });
      await addNumber(ctx, "acme", "+41215550100", group("shop"));
      await addNumber(ctx, "acme", "+41215550101", announce("welcome", group("shop")));
      await addNumber(ctx, "acme", "+41215550102", group("desk"));
      // Another tenant's users of a group of the same name do not count.
      await addNumber(ctx, "bistro", "+41215550200", group("shop"));
      await flow.setSchedule(
        "acme",
        {
          ...DEFAULT_SCHEDULE,
          modes: {
            open: { destination: group("shop") },
            closed: { destination: announce("closed", { type: "voicemail", number: "101" }) },
            lunch: { destination: announce("closed", group("shop")) },
          },
        },
        api,
      );
      await flow.setCallFlow(
        "acme",
        {
          state: "normal",
          states: { normal: {}, night: { destination: announce("vacation", group("shop")) } },
        },
        api,
      );
      const audited = (await audit.list("acme")).length;
      await assert.rejects(groups.delete("acme", "shop"), (e: Error) => {
        assert.ok(e instanceof StoreConflict);
        assert.equal(
          e.message,
          "ring group shop is used by number +41215550100, number +41215550101, schedule mode open, " +
            "schedule mode lunch, call flow state night, ring group desk (fallback): send them elsewhere first",
        );
        return true;
      });
      assert.ok(await groups.get("acme", "shop"), "still there");
      assert.equal((await audit.list("acme")).length, audited, "nothing audited");

      // Send every user elsewhere: then it goes.
      await ctx.db.deleteFrom("numbers").where("number", "in", ["+41215550100", "+41215550101"]).execute();
      await flow.setSchedule("acme", DEFAULT_SCHEDULE, api);
      await flow.setCallFlow("acme", { state: "normal", states: { normal: {}, night: {} } }, api);
      await assert.rejects(groups.delete("acme", "shop"), /used by ring group desk \(fallback\): send it/);
      await groups.update("acme", "desk", { fallback: { type: "hangup" } });
      assert.equal(await groups.delete("acme", "shop"), true);
      await assert.rejects(groups.delete("acme", "desk"), /used by number \+41215550102/);
    });

    test("damaged columns: members read as none, a fallback as hangup", async () => {
      await groups.create({ tenant: "acme", name: "shop", members: ["101"] });
      await ctx.db.updateTable("ring_groups").set({ members: "not json", fallback: '{"type":1}' }).execute();
      const shop = await groups.get("acme", "shop");
      assert.deepEqual([shop?.members, shop?.fallback], [[], { type: "hangup" }]);
      // A damaged group neither hides nor blocks the others' checks.
      await addNumber(ctx, "acme", "+41215550100", group("desk"));
      assert.equal(await groups.delete("acme", "shop"), true);
    });

    test("a tenant's deletion takes its groups; a new repository reads what an old one wrote", async () => {
      await groups.create({
        tenant: "acme",
        name: "shop",
        members: ["101", "102"],
        strategy: "sequential",
        fallback: announce("closed", { type: "voicemail", number: "101" }),
      });
      await groups.create({ tenant: "bistro", name: "kitchen", members: ["201"] });
      const before = await groups.list("acme");
      assert.deepEqual(await new SqlRingGroups(ctx).list("acme"), before);
      await ctx.db.deleteFrom("tenants").where("name", "=", "bistro").execute();
      assert.deepEqual(await groups.list("bistro"), []);
      await insertTenant(ctx.db, "bistro");
      assert.equal(await groups.get("bistro", "kitchen"), undefined);
    });
  });
}
