import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { type Actor, StoreConflict } from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlExtensions } from "./sql-extensions.ts";
import { SqlForwarding } from "./sql-forwarding.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { allowAudit, refuseAudit } from "./testing-audit.ts";

const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

for (const engine of TEST_ENGINES) {
  describe(`sql forwarding on ${engine.name}`, () => {
    let t: TestContext;
    let clock: FakeClock;
    let forwarding: SqlForwarding;
    let audit: SqlAudit;
    beforeEach(async () => {
      clock = new FakeClock(Date.UTC(2026, 5, 1, 12, 0, 0));
      t = await engine.open(clock);
      forwarding = new SqlForwarding(t.ctx);
      audit = new SqlAudit(t.ctx);
      await new SqlTenants(t.ctx).create({ name: "acme", domain: "acme.test" });
      await new SqlExtensions(t.ctx).create({
        tenant: "acme",
        number: "101",
        displayName: "Alice",
        credentials: makeCredentials("101", "acme.test", "pw-101-secret"),
      });
    });
    afterEach(() => t.close());

    test("set replaces per kind, list by kind, clear one or all", async () => {
      const rule = { tenant: "acme", extension: "101" };
      await forwarding.set({ ...rule, kind: "unconditional", target: "+41791231212" }, api);
      await forwarding.set({ ...rule, kind: "unconditional", target: "102" }, api);
      await forwarding.set({ ...rule, kind: "busy", target: "+41220000000" }, api);
      await forwarding.set({ ...rule, kind: "noAnswer", target: "103" }, api);
      assert.deepEqual(await forwarding.list("acme", "101"), [
        { tenant: "acme", extension: "101", kind: "busy", target: "+41220000000" },
        { tenant: "acme", extension: "101", kind: "noAnswer", target: "103" },
        { tenant: "acme", extension: "101", kind: "unconditional", target: "102" },
      ]);
      await forwarding.clear("acme", "101", "busy", api);
      assert.deepEqual(
        (await forwarding.list("acme", "101")).map((f) => f.kind),
        ["noAnswer", "unconditional"],
      );
      await forwarding.clear("acme", "101", undefined, api);
      assert.deepEqual(await forwarding.list("acme", "101"), []);
      await assert.rejects(
        forwarding.set({ tenant: "acme", extension: "999", kind: "busy", target: "101" }, api),
        (e: Error) =>
          e instanceof StoreConflict && /extension 999 does not exist in tenant acme/.test(e.message),
      );
      await assert.rejects(
        forwarding.set({ tenant: "ghost", extension: "101", kind: "busy", target: "101" }, api),
        StoreConflict,
      );
    });

    test("every change is audited old → new with its actor; no change, no event", async () => {
      const rule = { tenant: "acme", extension: "101", kind: "unconditional" as const };
      await forwarding.set({ ...rule, target: "+41791231212" }, phone);
      clock.tick(1000);
      await forwarding.set({ ...rule, target: "102" }, api);
      await forwarding.set({ ...rule, target: "102" }, api); // the same: nothing
      await forwarding.set({ ...rule, kind: "noAnswer", target: "+41220000000" }, api);
      await forwarding.clear("acme", "101", "busy", api); // nothing set: nothing written
      await forwarding.clear("acme", "101", undefined, phone);
      await forwarding.clear("acme", "101", undefined, phone); // again: nothing
      const events = await audit.list("acme");
      assert.deepEqual(
        events.map((e) => [e.action, e.subject, e.old, e.new, e.actor.kind]),
        [
          ["forwarding.clear", "101/unconditional", "102", null, "phone"],
          ["forwarding.clear", "101/noAnswer", "+41220000000", null, "phone"],
          ["forwarding.set", "101/noAnswer", null, "+41220000000", "api"],
          ["forwarding.set", "101/unconditional", "+41791231212", "102", "api"],
          ["forwarding.set", "101/unconditional", null, "+41791231212", "phone"],
        ],
        "newest first",
      );
      const first = events[events.length - 1];
      assert.deepEqual(first.actor, phone, "the phone's source address is kept");
      assert.equal(first.tenant, "acme");
      assert.equal(first.at, "2026-06-01T12:00:00.000Z");
      assert.equal(events[0].at, "2026-06-01T12:00:01.000Z");
      assert.ok(events[0].id > events[1].id);
      // A refused write (unknown extension) leaves no event either.
      await assert.rejects(
        forwarding.set({ tenant: "acme", extension: "999", kind: "busy", target: "101" }, api),
        StoreConflict,
      );
      assert.equal((await audit.list("acme")).length, events.length);
    });

    test("the write and its audit row commit together or not at all", async () => {
      const rule = { tenant: "acme", extension: "101", kind: "busy" as const };
      await forwarding.set({ ...rule, target: "+41791231212" }, api);
      await refuseAudit(t);
      try {
        await assert.rejects(forwarding.set({ ...rule, target: "102" }, api), /audit refused/);
        await assert.rejects(forwarding.clear("acme", "101", undefined, api), /audit refused/);
        assert.deepEqual(
          (await forwarding.list("acme", "101")).map((f) => f.target),
          ["+41791231212"],
          "neither the change nor the clear happened without its record",
        );
      } finally {
        await allowAudit(t);
      }
      await forwarding.set({ ...rule, target: "102" }, api);
      assert.deepEqual(
        (await forwarding.list("acme", "101")).map((f) => f.target),
        ["102"],
      );
      assert.deepEqual(
        (await audit.list("acme")).map((e) => [e.action, e.old, e.new]),
        [
          ["forwarding.set", "+41791231212", "102"],
          ["forwarding.set", null, "+41791231212"],
        ],
      );
    });

    test("rules go with their extension", async () => {
      await forwarding.set({ tenant: "acme", extension: "101", kind: "busy", target: "102" }, api);
      assert.equal(await new SqlExtensions(t.ctx).delete("acme", "101"), true);
      assert.deepEqual(await forwarding.list("acme", "101"), []);
    });
  });
}
