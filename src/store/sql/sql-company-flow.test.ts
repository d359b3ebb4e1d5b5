import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import {
  type Actor,
  type AnnouncementKind,
  type CallFlow,
  DEFAULT_CALL_FLOW,
  type DestinationSpec,
  type Schedule,
  type ScheduleOverride,
  StoreConflict,
} from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlCompanyFlow } from "./sql-company-flow.ts";
import type { SqlContext } from "./sql-context.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertTenant } from "./testing-rows.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };
const HOUR = 3600_000;

function announce(announcement: AnnouncementKind, next: DestinationSpec): DestinationSpec {
  return { type: "announcement", announcement, then: next };
}

/** The users' page: open 08:00-12:00 and 13:30-18:00 on weekdays, a lunch mode, Christmas closed. */
const shopSchedule: Schedule = {
  modes: {
    open: { destination: { type: "ring-group", name: "shop" } },
    closed: { label: "fermé", destination: announce("closed", { type: "voicemail", number: "101" }) },
    lunch: { destination: announce("closed", { type: "hangup" }) },
  },
  default: "closed",
  weekly: [
    { days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "12:00", mode: "open" },
    { days: ["mon", "tue", "wed", "thu", "fri"], from: "12:00", to: "13:30", mode: "lunch" },
    { days: ["mon", "tue", "wed", "thu", "fri"], from: "13:30", to: "18:00", mode: "open" },
  ],
  exceptions: [
    { date: "2026-12-25", mode: "closed" },
    { date: "2026-12-24", mode: "closed", from: "12:00", to: "24:00" },
  ],
};

const dayNight: CallFlow = {
  state: "day",
  states: {
    day: { label: "jour" },
    night: { label: "nuit", destination: announce("vacation", { type: "voicemail", number: "101" }) },
  },
};

const lunchOverride = (over: Partial<ScheduleOverride> = {}): ScheduleOverride => ({
  tenant: "acme",
  mode: "lunch",
  since: T0,
  until: T0 + 2 * HOUR,
  ...over,
});

for (const engine of TEST_ENGINES) {
  describe(`sql company flow on ${engine.name}`, () => {
    let t: TestContext;
    let ctx: SqlContext;
    let flow: SqlCompanyFlow;
    let audit: SqlAudit;
    beforeEach(async () => {
      t = await engine.open(new FakeClock(T0));
      ctx = t.ctx;
      flow = new SqlCompanyFlow(ctx);
      audit = new SqlAudit(ctx);
      await insertTenant(ctx.db, "acme");
      await insertTenant(ctx.db, "bistro");
    });
    afterEach(async () => {
      await t.close();
    });

    test("schedule: none until set; set, read back, replaced; the same again writes nothing", async () => {
      assert.equal(await flow.schedule("acme"), undefined);
      await flow.setSchedule("acme", shopSchedule, api);
      assert.deepEqual(await flow.schedule("acme"), shopSchedule);
      assert.equal(await flow.schedule("bistro"), undefined, "per tenant");
      await flow.setSchedule("acme", shopSchedule, api);
      const summer = { ...shopSchedule, exceptions: [] };
      await flow.setSchedule("acme", summer, phone);
      assert.deepEqual(await flow.schedule("acme"), summer);
      const events = (await audit.list("acme")).reverse();
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor]),
        [
          ["schedule.update", "schedule", api],
          ["schedule.update", "schedule", phone],
        ],
      );
      assert.deepEqual([events[0].old, events[0].new], [null, shopSchedule]);
      assert.deepEqual([events[1].old, events[1].new], [shopSchedule, summer]);
    });

    test("schedule: unknown tenant is a conflict; a default or entry naming no mode is a RangeError", async () => {
      await assert.rejects(
        flow.setSchedule("nobody", shopSchedule, api),
        (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
      );
      await assert.rejects(flow.setSchedule("acme", { ...shopSchedule, default: "shut" }, api), RangeError);
      await assert.rejects(
        flow.setSchedule(
          "acme",
          { ...shopSchedule, weekly: [{ days: ["sat"], from: "09:00", to: "12:00", mode: "weekend" }] },
          api,
        ),
        /names unknown mode weekend/,
      );
      await assert.rejects(
        flow.setSchedule(
          "acme",
          { ...shopSchedule, exceptions: [{ date: "2026-08-01", mode: "holiday" }] },
          api,
        ),
        RangeError,
      );
      assert.equal(await flow.schedule("acme"), undefined);
      assert.deepEqual(await audit.list("acme"), []);
    });

    test("override: set, read, listed for start-up, replaced, removed; each audited old → new", async () => {
      assert.equal(await flow.override("acme"), undefined);
      assert.deepEqual(await flow.overrides(), []);
      await flow.setSchedule("acme", shopSchedule, api);
      const first = lunchOverride();
      await flow.setOverride("acme", first, phone);
      assert.deepEqual(await flow.override("acme"), first);
      const second = lunchOverride({ mode: "open", until: first.until + HOUR });
      await flow.setOverride("acme", second, phone);
      const bistro: ScheduleOverride = { tenant: "bistro", mode: "closed", since: 1, until: T0 };
      await flow.setOverride("bistro", bistro, api); // the default schedule has "closed"
      assert.deepEqual(await flow.overrides(), [second, bistro]);
      await flow.setOverride("acme", null, phone);
      await flow.setOverride("acme", null, phone); // nothing to remove: nothing written
      assert.equal(await flow.override("acme"), undefined);
      const events = (await audit.list("acme")).reverse().slice(1);
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
        [
          ["schedule.override", "schedule", phone, null, first],
          ["schedule.override", "schedule", phone, first, second],
          ["schedule.override", "schedule", phone, second, null],
        ],
      );
    });

    test("override: instants beyond 32 bits read back as numbers", async () => {
      // Milliseconds since the epoch need BIGINT: they must come back as numbers, not strings.
      const far = lunchOverride({ tenant: "bistro", mode: "open", since: 2 ** 40, until: 2 ** 40 + HOUR });
      await flow.setOverride("bistro", far, api);
      assert.deepEqual(await flow.override("bistro"), far);
      assert.deepEqual(await flow.overrides(), [far]);
    });

    test("override: refused for an unknown mode, another tenant, an end before the start, an unknown tenant", async () => {
      await assert.rejects(
        flow.setOverride("acme", lunchOverride(), api),
        /mode lunch is not a mode of the schedule of tenant acme/,
        "no schedule set: the default schedule has open and closed only",
      );
      await flow.setSchedule("acme", shopSchedule, api);
      await assert.rejects(flow.setOverride("acme", lunchOverride({ tenant: "bistro" }), api), RangeError);
      await assert.rejects(
        flow.setOverride("acme", lunchOverride({ until: T0 }), api),
        /ends .* before it starts/,
      );
      await assert.rejects(flow.setOverride("acme", lunchOverride({ since: Number.NaN }), api), RangeError);
      await assert.rejects(
        flow.setOverride("nobody", lunchOverride({ tenant: "nobody", mode: "closed" }), api),
        (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
      );
      assert.deepEqual(await flow.overrides(), []);
      assert.equal((await audit.list("acme")).length, 1, "only the schedule");
    });

    test("a new schedule without the override's mode removes the override with it, audited", async () => {
      await flow.setSchedule("acme", shopSchedule, api);
      await flow.setOverride("acme", lunchOverride(), phone);
      // Still has lunch: the override stays.
      await flow.setSchedule("acme", { ...shopSchedule, exceptions: [] }, api);
      assert.deepEqual(await flow.override("acme"), lunchOverride());
      const { lunch: _, ...modes } = shopSchedule.modes;
      const noLunch: Schedule = { ...shopSchedule, modes, weekly: [shopSchedule.weekly[0]], exceptions: [] };
      await flow.setSchedule("acme", noLunch, api);
      assert.equal(await flow.override("acme"), undefined);
      const [removed, update] = await audit.list("acme", { limit: 2 });
      assert.deepEqual(
        [update.action, removed.action, removed.actor, removed.old, removed.new],
        ["schedule.update", "schedule.override", api, lunchOverride(), null],
      );
    });

    test("call flow: none until set; set, toggled, read back; audited; same again writes nothing", async () => {
      assert.equal(await flow.callFlow("acme"), undefined);
      await flow.setCallFlow("acme", dayNight, api);
      assert.deepEqual(await flow.callFlow("acme"), dayNight);
      const night = { ...dayNight, state: "night" };
      await flow.setCallFlow("acme", night, phone);
      await flow.setCallFlow("acme", night, phone);
      assert.deepEqual(await flow.callFlow("acme"), night);
      // The schedule and the call flow share a row: each keeps the other.
      await flow.setSchedule("acme", shopSchedule, api);
      assert.deepEqual(await flow.callFlow("acme"), night);
      await flow.setCallFlow("acme", DEFAULT_CALL_FLOW, api);
      assert.deepEqual(await flow.schedule("acme"), shopSchedule);
      const events = (await audit.list("acme")).reverse();
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
        [
          ["callflow.update", "callflow", api, null, dayNight],
          ["callflow.update", "callflow", phone, dayNight, night],
          ["schedule.update", "schedule", api, null, shopSchedule],
          ["callflow.update", "callflow", api, night, DEFAULT_CALL_FLOW],
        ],
      );
    });

    test("call flow: exactly two states and a state among them (RangeError); unknown tenant a conflict", async () => {
      const three = { state: "a", states: { a: {}, b: {}, c: {} } };
      await assert.rejects(flow.setCallFlow("acme", three, api), /exactly two states, not 3/);
      await assert.rejects(flow.setCallFlow("acme", { state: "a", states: { a: {} } }, api), RangeError);
      await assert.rejects(flow.setCallFlow("acme", { ...dayNight, state: "dusk" }, api), RangeError);
      await assert.rejects(flow.setCallFlow("nobody", dayNight, api), StoreConflict);
      assert.equal(await flow.callFlow("acme"), undefined);
    });

    test("a new repository reads what an old one wrote; a tenant's deletion takes it all", async () => {
      await flow.setSchedule("acme", shopSchedule, api);
      await flow.setOverride("acme", lunchOverride(), phone);
      await flow.setCallFlow("acme", dayNight, phone);
      const again = new SqlCompanyFlow(ctx);
      assert.deepEqual(await again.schedule("acme"), shopSchedule);
      assert.deepEqual(await again.override("acme"), lunchOverride());
      assert.deepEqual(await again.overrides(), [lunchOverride()]);
      assert.deepEqual(await again.callFlow("acme"), dayNight);
      assert.equal((await audit.list("acme")).length, 3);
      await ctx.db.deleteFrom("tenants").where("name", "=", "acme").execute();
      await insertTenant(ctx.db, "acme");
      assert.equal(await again.schedule("acme"), undefined);
      assert.equal(await again.callFlow("acme"), undefined);
      assert.deepEqual(await again.overrides(), []);
    });

    test("damaged columns read safely: the default, dropped entries, destinations that hang up", async () => {
      await flow.setSchedule("acme", shopSchedule, api);
      const damaged = {
        modes: {
          open: { destination: { type: "ring-group" } },
          closed: { destination: announce("closed", { type: "teleport" } as unknown as DestinationSpec) },
        },
        default: "closed",
        weekly: [
          { days: ["mon"], from: "08:00", to: "12:00", mode: "open" },
          { days: ["mon"], from: "08:00", to: "12:00", mode: "lunch" },
          { days: ["someday"], from: "08:00", to: "12:00", mode: "open" },
        ],
        exceptions: "none",
      };
      await ctx.db
        .updateTable("company_flow")
        .set({ schedule: JSON.stringify(damaged), call_flow: "not json" })
        .where("tenant", "=", "acme")
        .execute();
      await ctx.db
        .insertInto("company_flow")
        .values({
          tenant: "bistro",
          schedule: JSON.stringify({ ...damaged, default: "gone" }),
          call_flow: JSON.stringify({ state: "a", states: { a: {} } }),
        })
        .execute();
      assert.deepEqual(await flow.schedule("acme"), {
        modes: {
          open: { destination: { type: "hangup" } },
          closed: { destination: announce("closed", { type: "hangup" }) },
        },
        default: "closed",
        weekly: [{ days: ["mon"], from: "08:00", to: "12:00", mode: "open" }],
        exceptions: [],
      });
      assert.equal(await flow.callFlow("acme"), undefined);
      assert.equal(await flow.schedule("bistro"), undefined);
      assert.equal(await flow.callFlow("bistro"), undefined);
      // A damaged stored document does not block writing a good one.
      await flow.setCallFlow("acme", dayNight, api);
      assert.deepEqual(await flow.callFlow("acme"), dayNight);
    });
  });
}
