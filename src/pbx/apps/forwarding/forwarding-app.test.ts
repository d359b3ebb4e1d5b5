import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type AppFixture, appFixture } from "../testing/app-fixture.ts";
import { forwardingApps } from "./forwarding-app.ts";

let fx: AppFixture;
beforeEach(async () => {
  fx = await appFixture();
});
afterEach(async () => {
  await fx.close();
});

const dial = async (dialled: string) => {
  const call = fx.call();
  await dispatchFeatureCode(call, dialled, forwardingApps);
  return call;
};
const rules = async () =>
  (await fx.store.forwarding.list("acme", "101")).map((f) => `${f.kind}:${f.target}`).sort();

test("*72 + a Swiss mobile forwards everything there and reads the number back", async () => {
  const call = await dial("*720791231212");
  assert.deepEqual(call.said, ["forwarding.unconditional.enabled", { digits: "0791231212" }]);
  assert.ok(call.hungUp);
  assert.deepEqual(await rules(), ["unconditional:+41791231212"]);
});

test("*90 and *52 set the busy and unreachable forwardings, *91 and *53 clear them one by one", async () => {
  await dial("*90102");
  await dial("*520223334455");
  assert.deepEqual(await rules(), ["busy:102", "unreachable:+41223334455"]);
  assert.deepEqual((await dial("*91")).said, ["forwarding.busy.disabled"]);
  assert.deepEqual(await rules(), ["unreachable:+41223334455"]);
  assert.deepEqual((await dial("*53")).said, ["forwarding.unreachable.disabled"]);
  assert.deepEqual(await rules(), []);
});

test("*73 clears every forwarding", async () => {
  await dial("*720791231212");
  await dial("*90102");
  assert.deepEqual((await dial("*73")).said, ["forwarding.all.disabled"]);
  assert.deepEqual(await rules(), []);
});

test("an invalid or costly number is refused, and the forwarding stays as it was", async () => {
  await dial("*72102");
  assert.deepEqual((await dial("*7212")).said, ["error.number-invalid"]);
  assert.deepEqual((await dial("*720900123456")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*720033612345678")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*72101")).said, ["error.number-invalid"]);
  assert.deepEqual(await rules(), ["unconditional:102"]);
});

test("a forwarding confirmed to the user survives a restart of the store", async () => {
  await dial("*720791231212");
  await fx.reopen();
  const again = await fx.store.forwarding.list("acme", "101");
  assert.equal(again[0]?.target, "+41791231212");
});
