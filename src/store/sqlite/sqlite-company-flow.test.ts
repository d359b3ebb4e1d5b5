import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import {
  type Actor,
  type AnnouncementKind,
  type CallFlow,
  DEFAULT_CALL_FLOW,
  type DestinationSpec,
  type Schedule,
  type ScheduleOverride,
  type Store,
  StoreConflict,
} from "../types.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-flow-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
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
  since: clock.now(),
  until: clock.now() + 2 * HOUR,
  ...over,
});

describe("sqlite company flow", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = join(root, `d${n++}`);
    store = openSqliteStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
  });
  afterEach(async () => {
    await store.close();
  });

  test("schedule: none until set; set, read back, replaced; the same again writes nothing", async () => {
    assert.equal(await store.companyFlow.schedule("acme"), undefined);
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    assert.deepEqual(await store.companyFlow.schedule("acme"), shopSchedule);
    assert.equal(await store.companyFlow.schedule("bistro"), undefined, "per tenant");
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    const summer = { ...shopSchedule, exceptions: [] };
    await store.companyFlow.setSchedule("acme", summer, phone);
    assert.deepEqual(await store.companyFlow.schedule("acme"), summer);
    const events = (await store.audit.list("acme")).reverse();
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
      store.companyFlow.setSchedule("nobody", shopSchedule, api),
      (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
    );
    await assert.rejects(
      store.companyFlow.setSchedule("acme", { ...shopSchedule, default: "shut" }, api),
      RangeError,
    );
    await assert.rejects(
      store.companyFlow.setSchedule(
        "acme",
        { ...shopSchedule, weekly: [{ days: ["sat"], from: "09:00", to: "12:00", mode: "weekend" }] },
        api,
      ),
      /names unknown mode weekend/,
    );
    await assert.rejects(
      store.companyFlow.setSchedule(
        "acme",
        { ...shopSchedule, exceptions: [{ date: "2026-08-01", mode: "holiday" }] },
        api,
      ),
      RangeError,
    );
    assert.equal(await store.companyFlow.schedule("acme"), undefined);
    assert.deepEqual(await store.audit.list("acme"), []);
  });

  test("override: set, read, listed for start-up, replaced, removed; each audited old → new", async () => {
    assert.equal(await store.companyFlow.override("acme"), undefined);
    assert.deepEqual(await store.companyFlow.overrides(), []);
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    const first = lunchOverride();
    await store.companyFlow.setOverride("acme", first, phone);
    assert.deepEqual(await store.companyFlow.override("acme"), first);
    const second = lunchOverride({ mode: "open", until: first.until + HOUR });
    await store.companyFlow.setOverride("acme", second, phone);
    const bistro: ScheduleOverride = { tenant: "bistro", mode: "closed", since: 1, until: clock.now() };
    await store.companyFlow.setOverride("bistro", bistro, api); // the default schedule has "closed"
    assert.deepEqual(await store.companyFlow.overrides(), [second, bistro]);
    await store.companyFlow.setOverride("acme", null, phone);
    await store.companyFlow.setOverride("acme", null, phone); // nothing to remove: nothing written
    assert.equal(await store.companyFlow.override("acme"), undefined);
    const events = (await store.audit.list("acme")).reverse().slice(1);
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
      [
        ["schedule.override", "schedule", phone, null, first],
        ["schedule.override", "schedule", phone, first, second],
        ["schedule.override", "schedule", phone, second, null],
      ],
    );
  });

  test("override: refused for an unknown mode, another tenant, an end before the start, an unknown tenant", async () => {
    await assert.rejects(
      store.companyFlow.setOverride("acme", lunchOverride(), api),
      /mode lunch is not a mode of the schedule of tenant acme/,
      "no schedule set: the default schedule has open and closed only",
    );
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    await assert.rejects(
      store.companyFlow.setOverride("acme", lunchOverride({ tenant: "bistro" }), api),
      RangeError,
    );
    await assert.rejects(
      store.companyFlow.setOverride("acme", lunchOverride({ until: clock.now() }), api),
      /ends .* before it starts/,
    );
    await assert.rejects(
      store.companyFlow.setOverride("acme", lunchOverride({ since: Number.NaN }), api),
      RangeError,
    );
    await assert.rejects(
      store.companyFlow.setOverride("nobody", lunchOverride({ tenant: "nobody", mode: "closed" }), api),
      StoreConflict,
    );
    assert.deepEqual(await store.companyFlow.overrides(), []);
    assert.equal((await store.audit.list("acme")).length, 1, "only the schedule");
  });

  test("a new schedule without the override's mode removes the override with it, audited", async () => {
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    await store.companyFlow.setOverride("acme", lunchOverride(), phone);
    // Still has lunch: the override stays.
    await store.companyFlow.setSchedule("acme", { ...shopSchedule, exceptions: [] }, api);
    assert.deepEqual(await store.companyFlow.override("acme"), lunchOverride());
    const { lunch: _, ...modes } = shopSchedule.modes;
    const noLunch: Schedule = { ...shopSchedule, modes, weekly: [shopSchedule.weekly[0]], exceptions: [] };
    await store.companyFlow.setSchedule("acme", noLunch, api);
    assert.equal(await store.companyFlow.override("acme"), undefined);
    const [removed, update] = await store.audit.list("acme", { limit: 2 });
    assert.deepEqual(
      [update.action, removed.action, removed.actor, removed.old, removed.new],
      ["schedule.update", "schedule.override", api, lunchOverride(), null],
    );
  });

  test("call flow: none until set; set, toggled, read back; audited; same again writes nothing", async () => {
    assert.equal(await store.companyFlow.callFlow("acme"), undefined);
    await store.companyFlow.setCallFlow("acme", dayNight, api);
    assert.deepEqual(await store.companyFlow.callFlow("acme"), dayNight);
    const night = { ...dayNight, state: "night" };
    await store.companyFlow.setCallFlow("acme", night, phone);
    await store.companyFlow.setCallFlow("acme", night, phone);
    assert.deepEqual(await store.companyFlow.callFlow("acme"), night);
    // The schedule and the call flow share a row: each keeps the other.
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    assert.deepEqual(await store.companyFlow.callFlow("acme"), night);
    await store.companyFlow.setCallFlow("acme", DEFAULT_CALL_FLOW, api);
    assert.deepEqual(await store.companyFlow.schedule("acme"), shopSchedule);
    const events = (await store.audit.list("acme")).reverse();
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
    await assert.rejects(store.companyFlow.setCallFlow("acme", three, api), /exactly two states, not 3/);
    await assert.rejects(
      store.companyFlow.setCallFlow("acme", { state: "a", states: { a: {} } }, api),
      RangeError,
    );
    await assert.rejects(
      store.companyFlow.setCallFlow("acme", { ...dayNight, state: "dusk" }, api),
      RangeError,
    );
    await assert.rejects(store.companyFlow.setCallFlow("nobody", dayNight, api), StoreConflict);
    assert.equal(await store.companyFlow.callFlow("acme"), undefined);
  });

  test("everything survives close and re-open; a tenant's deletion takes it all", async () => {
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    await store.companyFlow.setOverride("acme", lunchOverride(), phone);
    await store.companyFlow.setCallFlow("acme", dayNight, phone);
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.companyFlow.schedule("acme"), shopSchedule);
    assert.deepEqual(await store.companyFlow.override("acme"), lunchOverride());
    assert.deepEqual(await store.companyFlow.overrides(), [lunchOverride()]);
    assert.deepEqual(await store.companyFlow.callFlow("acme"), dayNight);
    assert.equal((await store.audit.list("acme")).length, 3);
    await store.tenants.delete("acme");
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    assert.equal(await store.companyFlow.schedule("acme"), undefined);
    assert.equal(await store.companyFlow.callFlow("acme"), undefined);
    assert.deepEqual(await store.companyFlow.overrides(), []);
  });

  test("damaged columns read safely: the default, dropped entries, destinations that hang up", async () => {
    await store.companyFlow.setSchedule("acme", shopSchedule, api);
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
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
    try {
      db.prepare("UPDATE company_flow SET schedule = ?, call_flow = ? WHERE tenant = 'acme'").run(
        JSON.stringify(damaged),
        "not json",
      );
      db.prepare("INSERT INTO company_flow (tenant, schedule, call_flow) VALUES ('bistro', ?, ?)").run(
        JSON.stringify({ ...damaged, default: "gone" }),
        JSON.stringify({ state: "a", states: { a: {} } }),
      );
    } finally {
      db.close();
    }
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.companyFlow.schedule("acme"), {
      modes: {
        open: { destination: { type: "hangup" } },
        closed: { destination: announce("closed", { type: "hangup" }) },
      },
      default: "closed",
      weekly: [{ days: ["mon"], from: "08:00", to: "12:00", mode: "open" }],
      exceptions: [],
    });
    assert.equal(await store.companyFlow.callFlow("acme"), undefined);
    assert.equal(await store.companyFlow.schedule("bistro"), undefined);
    assert.equal(await store.companyFlow.callFlow("bistro"), undefined);
  });
});
