import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { Hangup } from "./call-control.ts";
import { type AppRegistry, dispatchFeatureCode } from "./dispatcher.ts";
import { matchFeatureCode } from "./feature-codes.ts";
import { forwardingApps } from "./forwarding/forwarding-app.ts";
import { type AppFixture, appFixture } from "./testing/app-fixture.ts";

let fx: AppFixture;
beforeEach(async () => {
  fx = await appFixture();
});
afterEach(async () => {
  await fx.close();
});

const ran: string[] = [];
const apps: AppRegistry = {
  ...forwardingApps,
  "schedule.next": async (call) => {
    ran.push("schedule.next");
    await call.play(["schedule.switched"]);
    await call.hangup();
  },
};

test("the longest code wins and the rest is the argument", async () => {
  const table = await fx.store.featureCodes.list("acme");
  assert.deepEqual(matchFeatureCode("*720791231212", table), {
    code: "*72",
    action: "forwarding.unconditional.enable",
    argument: "0791231212",
  });
  assert.equal(matchFeatureCode("*99", table), undefined);
  assert.equal(matchFeatureCode("101", table), undefined);
});

test("an unknown code is answered, said to be invalid, and hung up", async () => {
  const call = fx.call();
  await dispatchFeatureCode(call, "*99", apps);
  assert.deepEqual(call.said, ["error.code-invalid", "generic.goodbye"]);
  assert.ok(call.hungUp);
});

test("a feature enabled on request is refused until the provider switches it on", async () => {
  const before = fx.call();
  await dispatchFeatureCode(before, "*20", apps);
  assert.deepEqual(before.said, ["feature.not-enabled", "generic.goodbye"]);
  assert.deepEqual(ran, []);
  await fx.enable({ schedules: true });
  const after = fx.call();
  await dispatchFeatureCode(after, "*20", apps);
  assert.deepEqual(ran, ["schedule.next"]);
  assert.deepEqual(after.said, ["schedule.switched"]);
});

test("a code that needs a number and has none changes nothing", async () => {
  const call = fx.call();
  await dispatchFeatureCode(call, "*72", apps);
  assert.deepEqual(call.said, ["error.number-missing", "generic.goodbye"]);
  assert.deepEqual(await fx.store.forwarding.list("acme", "101"), []);
});

test("a code that takes no number refuses one", async () => {
  const call = fx.call();
  await dispatchFeatureCode(call, "*73123", apps);
  assert.deepEqual(call.said, ["error.code-invalid", "generic.goodbye"]);
});

test("codes changed for a tenant are the ones that work", async () => {
  await fx.store.featureCodes.set("acme", "forwarding.all.disable", "*74");
  const old = fx.call();
  await dispatchFeatureCode(old, "*73", apps);
  assert.deepEqual(old.said, ["error.code-invalid", "generic.goodbye"]);
  const renamed = fx.call();
  await dispatchFeatureCode(renamed, "*74", apps);
  assert.deepEqual(renamed.said, ["forwarding.all.disabled"]);
});

test("an enabled feature whose app is not installed is said to be not enabled", async () => {
  await fx.enable({ callFlowControl: true });
  const call = fx.call();
  await dispatchFeatureCode(call, "*11", apps);
  assert.deepEqual(call.said, ["feature.not-enabled", "generic.goodbye"]);
});

test("a caller hanging up ends the app quietly", async () => {
  const call = fx.call([{ hangup: true }]);
  await dispatchFeatureCode(call, "*97", {
    "voicemail.access": async (c) => {
      await c.collect({ max: 4 });
      assert.fail("collect should have thrown Hangup");
    },
  });
  await fx.enable({ voicemail: true });
  const enabled = fx.call([{ hangup: true }]);
  let threw: unknown;
  await dispatchFeatureCode(enabled, "*97", {
    "voicemail.access": async (c) => {
      try {
        await c.collect({ max: 4 });
      } catch (err) {
        threw = err;
        throw err;
      }
    },
  });
  assert.ok(threw instanceof Hangup);
  assert.ok(enabled.hungUp);
});
