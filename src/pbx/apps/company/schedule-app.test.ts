import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { DateTime } from "luxon";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type CompanyFixture, capturingLogger, companyFixture } from "../testing/company-fixture.ts";
import type { FakeScheduleTimeline } from "../testing/fake-company.ts";
import { companyApps } from "./index.ts";

const zurich = (iso: string) => DateTime.fromISO(iso, { zone: "Europe/Zurich" }).toMillis();

/**
 * The users' page shop, the week of Monday 2 March 2026: open 08:00-12:00
 * and 13:30-18:00, lunch in between, closed at night and at the weekend.
 */
function shop(): FakeScheduleTimeline {
  const changes: FakeScheduleTimeline["changes"] = [];
  for (const day of ["02", "03", "04", "05", "06", "09", "10", "11", "12", "13"]) {
    changes.push(
      { at: zurich(`2026-03-${day}T08:00`), mode: "open" },
      { at: zurich(`2026-03-${day}T12:00`), mode: "lunch" },
      { at: zurich(`2026-03-${day}T13:30`), mode: "open" },
      { at: zurich(`2026-03-${day}T18:00`), mode: "closed" },
    );
  }
  return {
    modes: { open: {}, closed: {}, lunch: {}, inventory: { label: "Inventaire" } },
    initial: "closed",
    changes,
  };
}

let fx: CompanyFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function at(iso: string, schedule: FakeScheduleTimeline = shop()): Promise<CompanyFixture> {
  fx = await companyFixture({ schedule }, zurich(iso));
  return fx;
}

async function dial20(f: CompanyFixture, opts: Parameters<CompanyFixture["call"]>[1] = {}) {
  const call = f.call([], opts);
  await dispatchFeatureCode(call, "*20", companyApps);
  return call;
}

test("11:45 before lunch: the lunch mode now, until 13:30, said back, then goodbye", async () => {
  const f = await at("2026-03-02T11:45");
  const call = await dial20(f);
  assert.deepEqual(call.said, [
    "schedule.switched",
    "schedule.mode.lunch",
    "schedule.switched.until",
    { time: { hour: 13, minute: 30 } },
    "generic.goodbye",
  ]);
  assert.ok(call.hungUp);
  assert.deepEqual(
    call.events.map((e) => e.op),
    ["play", "hangup"],
  );
  assert.deepEqual(f.company.override("acme"), {
    tenant: "acme",
    mode: "lunch",
    since: zurich("2026-03-02T11:45"),
    until: zurich("2026-03-02T13:30"),
  });
  assert.deepEqual(f.company.changes[0].actor, { kind: "phone", id: "101", source: "udp:192.0.2.10:5062" });
});

test("*20 again while the mode is forced: the schedule rules again, and the mode now is said", async () => {
  const f = await at("2026-03-02T11:45");
  await dial20(f);
  f.clock.tick(5 * 60_000);
  const call = await dial20(f);
  assert.deepEqual(call.said, ["schedule.override-cancelled", "schedule.mode.open", "generic.goodbye"]);
  assert.equal(f.company.override("acme"), undefined);
  assert.deepEqual(
    f.company.lamps.map((l) => `${l.code}:${l.on}`),
    ["*20:true", "*20:false"],
  );
});

test("07:30 before the opening: open now, until the lunch break at 12:00", async () => {
  const call = await dial20(await at("2026-03-02T07:30"));
  assert.deepEqual(call.said.slice(1, 4), [
    "schedule.mode.open",
    "schedule.switched.until",
    { time: { hour: 12, minute: 0 } },
  ]);
});

test("17:30: closed now, until tomorrow at 08:00", async () => {
  const call = await dial20(await at("2026-03-02T17:30"));
  assert.deepEqual(call.said.slice(1, 4), [
    "schedule.mode.closed",
    "schedule.switched.until-tomorrow",
    { time: { hour: 8, minute: 0 } },
  ]);
});

test("Friday 18:30: open now, until Monday 12:00, said with the weekday", async () => {
  const call = await dial20(await at("2026-03-06T18:30"));
  assert.deepEqual(call.said, [
    "schedule.switched",
    "schedule.mode.open",
    "schedule.switched.until-day",
    "weekday.1",
    "schedule.switched.at",
    { time: { hour: 12, minute: 0 } },
    "generic.goodbye",
  ]);
});

test("an end two weeks ahead is said with its date", async () => {
  const schedule: FakeScheduleTimeline = {
    modes: { open: {}, vacation: {} },
    initial: "open",
    changes: [
      { at: zurich("2026-03-02T12:00"), mode: "vacation" },
      { at: zurich("2026-03-16T08:00"), mode: "open" },
    ],
  };
  const call = await dial20(await at("2026-03-02T11:45", schedule));
  assert.deepEqual(call.said, [
    "schedule.switched",
    "schedule.mode.vacation",
    "schedule.switched.until-day",
    "weekday.1",
    { silence: 150 },
    "date.day.16",
    "month.3",
    "schedule.switched.at",
    { time: { hour: 8, minute: 0 } },
    "generic.goodbye",
  ]);
});

test("a mode of the company's own is said by its label; the catalogue's names come first", async () => {
  const schedule = shop();
  schedule.changes.unshift({ at: zurich("2026-03-02T07:00"), mode: "inventory" });
  const f = await at("2026-03-02T06:30", schedule);
  assert.deepEqual((await dial20(f)).said.slice(0, 3), [
    "schedule.switched",
    { text: "Inventaire" },
    "schedule.switched.until",
  ]);
  // Cancelled while in the company's own mode (the override ends at 08:00).
  f.clock.tick(40 * 60_000);
  assert.deepEqual((await dial20(f)).said, [
    "schedule.override-cancelled",
    { text: "Inventaire" },
    "generic.goodbye",
  ]);
});

test("the time is said in the company's zone; an unknown zone is said in UTC, with a warning", async () => {
  const f = await at("2026-03-02T11:45");
  const london = await dial20(f, { tenant: { timezone: "Europe/London" } });
  assert.deepEqual(london.said[3], { time: { hour: 12, minute: 30 } });
  await dial20(f); // cancels
  const { log, lines } = capturingLogger();
  const broken = await dial20(f, { tenant: { timezone: "Mars/Olympus" }, log });
  assert.deepEqual(broken.said[3], { time: { hour: 12, minute: 30 } });
  assert.ok(lines.some((l) => l.level === 40 && l.timezone === "Mars/Olympus"));
});

test("no transition ahead: nothing is forced, and the caller hears that no schedule is set up", async () => {
  const f = await at("2026-03-02T11:45", { modes: { open: {}, closed: {} }, initial: "open", changes: [] });
  const call = await dial20(f);
  assert.deepEqual(call.said, ["schedule.not-configured", "generic.goodbye"]);
  assert.equal(f.company.override("acme"), undefined);
  assert.deepEqual(f.company.changes, []);
});

test("an override whose end has passed is over: *20 forces the next mode instead of cancelling", async () => {
  const f = await at("2026-03-02T11:45");
  f.company.setOverride({
    tenant: "acme",
    mode: "closed",
    since: zurich("2026-03-02T07:00"),
    until: zurich("2026-03-02T08:00"),
  });
  const call = await dial20(f);
  assert.equal(call.said[0], "schedule.switched");
  assert.equal(f.company.override("acme")?.mode, "lunch");
});

test("*20 is refused until the provider switches schedules on", async () => {
  const f = await at("2026-03-02T11:45");
  await f.app.enable({ schedules: false });
  const call = await dial20(f);
  assert.deepEqual(call.said, ["feature.not-enabled", "generic.goodbye"]);
  assert.deepEqual(f.company.changes, []);
});
