import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { DEFAULT_FEATURE_CODES, type FeatureAction, StoreConflict } from "../types.ts";
import { SqlFeatureCodes } from "./sql-feature-codes.ts";
import { SqlTenants } from "./sql-tenants.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

for (const engine of TEST_ENGINES) {
  describe(`sql feature codes on ${engine.name}`, () => {
    let t: TestContext;
    let tenants: SqlTenants;
    let featureCodes: SqlFeatureCodes;
    beforeEach(async () => {
      t = await engine.open(new FakeClock());
      tenants = new SqlTenants(t.ctx);
      featureCodes = new SqlFeatureCodes(t.ctx);
      await tenants.create({ name: "acme", domain: "acme.test" });
    });
    afterEach(() => t.close());

    const overrides = () =>
      t.ctx.db.selectFrom("feature_codes").select(["tenant", "action", "code"]).execute();

    test("defaults, override, clashes, reset", async () => {
      assert.deepEqual(await featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
      await featureCodes.set("acme", "voicemail.access", "*98");
      const table = await featureCodes.list("acme");
      assert.equal(table.find((c) => c.action === "voicemail.access")?.code, "*98");
      assert.equal(table.length, DEFAULT_FEATURE_CODES.length);
      // Same code as another action.
      await assert.rejects(
        featureCodes.set("acme", "schedule.next", "*72"),
        (e: Error) => e instanceof StoreConflict && /already used by forwarding/.test(e.message),
      );
      // Prefix clashes both ways.
      await assert.rejects(featureCodes.set("acme", "schedule.next", "*7"), /prefix/);
      await assert.rejects(featureCodes.set("acme", "schedule.next", "*9812"), /prefix/);
      // Re-setting an action's own code, or a code freed by an override, is fine.
      await featureCodes.set("acme", "voicemail.access", "*98");
      await featureCodes.set("acme", "schedule.next", "*97");
      await featureCodes.set("acme", "callflow.toggle", "*1234");
      await assert.rejects(featureCodes.set("acme", "schedule.next", "*12345"), RangeError);
      await assert.rejects(featureCodes.set("acme", "schedule.next", "97"), RangeError);
      await assert.rejects(featureCodes.set("acme", "no.such" as FeatureAction, "*55"), RangeError);
      await assert.rejects(
        featureCodes.set("ghost", "schedule.next", "*55"),
        (e: Error) => e instanceof StoreConflict && /tenant ghost does not exist/.test(e.message),
      );
      // Other tenants keep the defaults.
      await tenants.create({ name: "bistro", domain: "bistro.test" });
      assert.deepEqual(await featureCodes.list("bistro"), DEFAULT_FEATURE_CODES);
      await featureCodes.reset("acme");
      assert.deepEqual(await featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
      assert.deepEqual(await overrides(), []);
    });

    test("only differences are stored: going back to the default removes the row", async () => {
      const access = DEFAULT_FEATURE_CODES.find((c) => c.action === "voicemail.access");
      assert.ok(access);
      await featureCodes.set("acme", "voicemail.access", "*98");
      await featureCodes.set("acme", "voicemail.access", "*95");
      assert.deepEqual(await overrides(), [{ tenant: "acme", action: "voicemail.access", code: "*95" }]);
      await featureCodes.set("acme", "voicemail.access", access.code);
      assert.deepEqual(await overrides(), []);
      assert.deepEqual(await featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
    });

    test("a stored row for an unknown action is ignored; a tenant's deletion takes its codes", async () => {
      await t.ctx.db
        .insertInto("feature_codes")
        .values({ tenant: "acme", action: "gone.action", code: "*55" })
        .execute();
      assert.deepEqual(await featureCodes.list("acme"), DEFAULT_FEATURE_CODES);
      await featureCodes.set("acme", "voicemail.access", "*98");
      assert.equal(await tenants.delete("acme"), true);
      assert.deepEqual(await overrides(), []);
    });
  });
}
