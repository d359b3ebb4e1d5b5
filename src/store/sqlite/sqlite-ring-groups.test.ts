import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import {
  type Actor,
  type AnnouncementKind,
  DEFAULT_SCHEDULE,
  type DestinationSpec,
  StoreConflict,
} from "../types.ts";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-rg-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const api: Actor = { kind: "api", id: "admin" };
const system: Actor = { kind: "system", id: "store" };

function announce(announcement: AnnouncementKind, next: DestinationSpec): DestinationSpec {
  return { type: "announcement", announcement, then: next };
}
const group = (name: string): DestinationSpec => ({ type: "ring-group", name });

describe("sqlite ring groups", () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = join(root, `d${n++}`);
    store = openSqliteStore({ dataDir: dir, clock });
    for (const name of ["acme", "bistro"]) {
      await store.tenants.create({ name, domain: `${name}.test` });
    }
    for (const number of ["101", "102", "103"]) {
      await store.extensions.create({
        tenant: "acme",
        number,
        displayName: number,
        credentials: makeCredentials(number, "acme.test", `pw-${number}-secret`),
      });
    }
    await store.extensions.create({
      tenant: "bistro",
      number: "201",
      displayName: "201",
      credentials: makeCredentials("201", "bistro.test", "pw-201-secret"),
    });
  });
  afterEach(async () => {
    await store.close();
  });

  test("create with defaults; get, list by name; unknown is undefined", async () => {
    const shop = await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["102", "101"] });
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
    const desk = await store.ringGroups.create({
      tenant: "acme",
      name: "desk",
      members: ["103"],
      strategy: "sequential",
      timeout: 45,
      memberTimeout: 15,
      fallback: announce("closed", { type: "voicemail", number: "101" }),
    });
    assert.deepEqual(await store.ringGroups.get("acme", "shop"), shop);
    assert.deepEqual(await store.ringGroups.get("acme", "desk"), desk);
    assert.deepEqual(
      (await store.ringGroups.list("acme")).map((g) => g.name),
      ["desk", "shop"],
    );
    assert.deepEqual(await store.ringGroups.list("bistro"), []);
    assert.equal(await store.ringGroups.get("acme", "none"), undefined);
    assert.equal(await store.ringGroups.get("bistro", "shop"), undefined, "per tenant");
  });

  test("create conflicts: name taken, unknown tenant, members that are not extensions of the tenant", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] });
    await assert.rejects(
      store.ringGroups.create({ tenant: "acme", name: "shop", members: ["102"] }),
      (e: Error) =>
        e instanceof StoreConflict && /ring group shop already exists in tenant acme/.test(e.message),
    );
    await assert.rejects(
      store.ringGroups.create({ tenant: "nobody", name: "shop", members: [] }),
      (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
    );
    await assert.rejects(
      store.ringGroups.create({ tenant: "acme", name: "mixed", members: ["101", "201", "999"] }),
      (e: Error) =>
        e instanceof StoreConflict && /members 201, 999 are not extensions of tenant acme/.test(e.message),
    );
    // The same name in another tenant is another group.
    await store.ringGroups.create({ tenant: "bistro", name: "shop", members: ["201"] });
    assert.deepEqual(
      (await store.ringGroups.list("acme")).map((g) => g.name),
      ["shop"],
    );
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
        store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"], ...over }),
        RangeError,
        JSON.stringify(over),
      );
    }
    assert.deepEqual(await store.ringGroups.list("acme"), []);
    assert.deepEqual(await store.audit.list("acme"), []);
  });

  test("update patches fields, checks members, returns undefined for an unknown group", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] });
    const updated = await store.ringGroups.update("acme", "shop", {
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
    assert.deepEqual(await store.ringGroups.get("acme", "shop"), updated);
    await assert.rejects(store.ringGroups.update("acme", "shop", { members: ["201"] }), StoreConflict);
    await assert.rejects(store.ringGroups.update("acme", "shop", { timeout: 0 }), RangeError);
    assert.deepEqual(await store.ringGroups.get("acme", "shop"), updated, "a refused patch changes nothing");
    assert.equal(await store.ringGroups.update("acme", "none", { timeout: 5 }), undefined);
  });

  test("every write is audited with its actor (a system actor when none); no change, no event", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] }, api);
    await store.ringGroups.update("acme", "shop", { timeout: 30 }, api);
    await store.ringGroups.update("acme", "shop", { timeout: 30 }, api); // no change
    await store.ringGroups.update("acme", "shop", { members: ["101", "102"] });
    await store.ringGroups.delete("acme", "shop", api);
    const events = (await store.audit.list("acme")).reverse();
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
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] });
    assert.equal(await store.ringGroups.delete("acme", "shop"), true);
    assert.equal(await store.ringGroups.get("acme", "shop"), undefined);
    assert.equal(await store.ringGroups.delete("acme", "shop"), false);
  });

  test("a group that a number, the schedule, the call flow or another group names cannot go; the conflict names them all", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101", "102"] });
    // Falling back to itself does not keep a group alive.
    await store.ringGroups.update("acme", "shop", { fallback: group("shop") });
    await store.ringGroups.create({
      tenant: "acme",
      name: "desk",
      members: ["103"],
      fallback: announce("closed", announce("waiting", group("shop"))),
    });
    await store.numbers.add({ tenant: "acme", number: "+41215550100", destination: group("shop") });
    await store.numbers.add({
      tenant: "acme",
      number: "+41215550101",
      destination: announce("welcome", group("shop")),
    });
    await store.numbers.add({ tenant: "acme", number: "+41215550102", destination: group("desk") });
    await store.companyFlow.setSchedule(
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
    await store.companyFlow.setCallFlow(
      "acme",
      {
        state: "normal",
        states: { normal: {}, night: { destination: announce("vacation", group("shop")) } },
      },
      api,
    );
    const audited = (await store.audit.list("acme")).length;
    await assert.rejects(store.ringGroups.delete("acme", "shop"), (e: Error) => {
      assert.ok(e instanceof StoreConflict);
      assert.equal(
        e.message,
        "ring group shop is used by number +41215550100, number +41215550101, schedule mode open, " +
          "schedule mode lunch, call flow state night, ring group desk (fallback): send them elsewhere first",
      );
      return true;
    });
    assert.ok(await store.ringGroups.get("acme", "shop"), "still there");
    assert.equal((await store.audit.list("acme")).length, audited, "nothing audited");

    // Send every user elsewhere: then it goes.
    await store.numbers.delete("acme", "+41215550100");
    await store.numbers.delete("acme", "+41215550101");
    await store.companyFlow.setSchedule("acme", DEFAULT_SCHEDULE, api);
    await store.companyFlow.setCallFlow("acme", { state: "normal", states: { normal: {}, night: {} } }, api);
    await assert.rejects(
      store.ringGroups.delete("acme", "shop"),
      /used by ring group desk \(fallback\): send it/,
    );
    await store.ringGroups.update("acme", "desk", { fallback: { type: "hangup" } });
    assert.equal(await store.ringGroups.delete("acme", "shop"), true);
    await assert.rejects(store.ringGroups.delete("acme", "desk"), /used by number \+41215550102/);
  });

  test("a deleted extension leaves every group in the same transaction, audited with a system actor", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101", "102", "103"] }, api);
    await store.ringGroups.create({ tenant: "acme", name: "desk", members: ["102"] }, api);
    await store.ringGroups.create({ tenant: "acme", name: "back", members: ["103"] }, api);
    assert.equal(await store.extensions.delete("acme", "102"), true);
    assert.deepEqual((await store.ringGroups.get("acme", "shop"))?.members, ["101", "103"]);
    assert.deepEqual((await store.ringGroups.get("acme", "desk"))?.members, []);
    assert.deepEqual((await store.ringGroups.get("acme", "back"))?.members, ["103"]);
    const events = await store.audit.list("acme", { limit: 2 });
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.actor, (e.new as { members: string[] }).members]),
      [
        ["ringgroup.update", "shop", system, ["101", "103"]],
        ["ringgroup.update", "desk", system, []],
      ],
    );
    assert.equal(await store.extensions.delete("acme", "102"), false, "already gone");
    assert.equal((await store.audit.list("acme")).length, 5, "a second delete writes nothing");
  });

  test("damaged columns: members read as none, a fallback as hangup; deleting an extension still works", async () => {
    await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["101"] });
    await store.close();
    const db = new Database(join(dir, "vpbx.sqlite"));
    try {
      db.prepare("UPDATE ring_groups SET members = 'not json', fallback = '{\"type\":1}'").run();
    } finally {
      db.close();
    }
    store = openSqliteStore({ dataDir: dir, clock });
    const shop = await store.ringGroups.get("acme", "shop");
    assert.deepEqual([shop?.members, shop?.fallback], [[], { type: "hangup" }]);
    assert.equal(await store.extensions.delete("acme", "101"), true);
  });

  test("a tenant's deletion takes its groups; groups survive close and re-open", async () => {
    await store.ringGroups.create({
      tenant: "acme",
      name: "shop",
      members: ["101", "102"],
      strategy: "sequential",
      fallback: announce("closed", { type: "voicemail", number: "101" }),
    });
    await store.ringGroups.create({ tenant: "bistro", name: "kitchen", members: ["201"] });
    const before = await store.ringGroups.list("acme");
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.ringGroups.list("acme"), before);
    await store.tenants.delete("bistro");
    assert.deepEqual(await store.ringGroups.list("bistro"), []);
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    assert.equal(await store.ringGroups.get("bistro", "kitchen"), undefined);
  });
});
