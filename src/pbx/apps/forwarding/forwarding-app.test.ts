import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { DEFAULT_DIALLING_POLICY, type DiallingPolicy } from "../../../store/types.ts";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type AppFixture, appFixture } from "../testing/app-fixture.ts";
import { ScriptedCall } from "../testing/scripted-call.ts";
import { forwardingApps } from "./forwarding-app.ts";

let fx: AppFixture;
beforeEach(async () => {
  fx = await appFixture();
});
afterEach(async () => {
  await fx.close();
});

/** Alice (101) dials; the tenant's dialling policy is the default unless a test opens some of it. */
const dial = async (dialled: string, policy: Partial<DiallingPolicy> = {}) => {
  const tenant = { ...fx.tenant, policy: { ...DEFAULT_DIALLING_POLICY, ...policy } };
  const call = new ScriptedCall(tenant, fx.alice, fx.store);
  await dispatchFeatureCode(call, dialled, forwardingApps);
  return call;
};
const rules = async (extension = "101") =>
  (await fx.store.forwarding.list("acme", extension)).map((f) => `${f.kind}:${f.target}`).sort();

test("*72 + a Swiss mobile forwards everything there and reads the number back", async () => {
  const call = await dial("*720791231212");
  assert.deepEqual(call.said, ["forwarding.unconditional.enabled", { digits: "0791231212" }]);
  assert.ok(call.hungUp);
  assert.deepEqual(await rules(), ["unconditional:+41791231212"]);
});

test("the app never answers: the call session did, so the first thing the caller hears is the outcome", async () => {
  const call = await dial("*72102");
  assert.deepEqual(
    call.events.map((e) => e.op),
    ["play", "hangup"],
  );
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

test("*73 clears every forwarding, no answer included", async () => {
  await dial("*720791231212");
  await dial("*90102");
  await dial("*520223334455");
  await fx.store.forwarding.set(
    { tenant: "acme", extension: "101", kind: "noAnswer", target: "102" },
    { kind: "api", id: "admin" },
  );
  assert.deepEqual((await dial("*73")).said, ["forwarding.all.disabled"]);
  assert.deepEqual(await rules(), []);
});

test("an invalid, costly or emergency number, or the phone itself, is refused and the forwarding stays", async () => {
  await dial("*72102");
  assert.deepEqual((await dial("*7212")).said, ["error.number-invalid"]);
  assert.deepEqual((await dial("*720868123456")).said, ["error.number-invalid"]);
  assert.deepEqual((await dial("*720900123456")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*720848123456")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*720878123456")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*720033612345678")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*72144")).said, ["error.destination-not-allowed"]);
  assert.deepEqual((await dial("*72101")).said, ["error.number-invalid"]);
  assert.deepEqual(await rules(), ["unconditional:102"]);
});

test("the tenant's policy opens what it allows", async () => {
  const call = await dial("*720033612345678", { international: true });
  assert.deepEqual(call.said, ["forwarding.unconditional.enabled", { digits: "0033612345678" }]);
  assert.deepEqual((await dial("*900900123456", { premiumRate: true })).said, [
    "forwarding.busy.enabled",
    { digits: "0900123456" },
  ]);
  assert.deepEqual(await rules(), ["busy:+41900123456", "unconditional:+33612345678"]);
});

test("a forwarding that would lead back to the phone is refused as a loop", async () => {
  await fx.store.forwarding.set(
    { tenant: "acme", extension: "102", kind: "unconditional", target: "101" },
    { kind: "api", id: "admin" },
  );
  assert.deepEqual((await dial("*72102")).said, ["error.forwarding-loop"]);
  assert.deepEqual((await dial("*90102")).said, ["error.forwarding-loop"]);
  assert.deepEqual(await rules(), []);
});

test("a forwarding confirmed to the user survives a restart of the store", async () => {
  await dial("*720791231212");
  await fx.reopen();
  const again = await fx.store.forwarding.list("acme", "101");
  assert.equal(again[0]?.target, "+41791231212");
});
