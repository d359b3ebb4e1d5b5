import assert from "node:assert/strict";
import { afterEach, before, beforeEach, test } from "node:test";
import type { CompanyCodeAccess } from "../../../store/types.ts";
import { hashPin } from "../../voicemail/pin.ts";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type CompanyFixture, capturingLogger, companyFixture } from "../testing/company-fixture.ts";
import type { CallerStep } from "../testing/scripted-call.ts";
import { companyApps } from "./index.ts";

let fx: CompanyFixture;
let pinHash: string;
before(async () => {
  pinHash = await hashPin("4711");
});
beforeEach(async () => {
  fx = await companyFixture();
});
afterEach(async () => {
  await fx.close();
});

/** `*11` (the shortest company code to run) from `from`, with the company's access rule. */
async function toggle(script: CallerStep[], access: CompanyCodeAccess, from = fx.alice) {
  const { log, lines } = capturingLogger();
  const call = fx.call(script, { access, from, log });
  await dispatchFeatureCode(call, "*11", companyApps);
  return { call, lines };
}

const toggled = ["callflow.switched", "callflow.mode.vacation", "generic.goodbye"];
const refused = ["company.codes.not-allowed", "generic.goodbye"];

test("by default every extension of the company may use the company-wide codes, without a PIN", async () => {
  const { call } = await toggle([], {}, fx.bob);
  assert.deepEqual(call.said, toggled);
  assert.deepEqual(
    fx.company.changes.map((c) => [c.op, c.actor.id]),
    [["callflow.toggle", "102"]],
  );
});

test("a list of extensions keeps the codes to the phones it names", async () => {
  const access = { extensions: ["101"] };
  const bob = await toggle([], access, fx.bob);
  assert.deepEqual(bob.call.said, refused);
  assert.ok(bob.call.hungUp);
  assert.deepEqual(fx.company.changes, [], "a refused phone changes nothing");
  assert.ok(
    bob.lines.some((l) => l.msg === "company code refused: phone not allowed" && l.extension === "102"),
  );
  const alice = await toggle([], access);
  assert.deepEqual(alice.call.said, toggled);
  // An empty list: nobody may.
  assert.deepEqual((await toggle([], { extensions: [] })).call.said, refused);
});

test("a call that is not from one of the company's phones is refused", async () => {
  const call = fx.call([], { from: null });
  await dispatchFeatureCode(call, "*20", companyApps);
  assert.deepEqual(call.said, refused);
  assert.deepEqual(fx.company.changes, []);
});

test("with a PIN set, the right PIN (ended by #) lets the phone in", async () => {
  const { call } = await toggle([{ type: "4711#" }], { pinHash });
  assert.deepEqual(call.said, ["company.pin.enter", ...toggled]);
  const collect = call.events.find((e) => e.op === "collect");
  assert.equal(collect?.op === "collect" && collect.opts.terminators, "#");
});

test("a wrong PIN is said to be wrong and asked again; the digits are never logged", async () => {
  const { call, lines } = await toggle([{ type: "1234#" }, { type: "4711#" }], { pinHash });
  assert.deepEqual(call.said, ["company.pin.enter", "company.pin.wrong", "company.pin.enter", ...toggled]);
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(
    warnings.map((l) => [l.msg, l.extension, l.attempt]),
    [["company code PIN wrong", "101", 1]],
  );
  const logged = JSON.stringify(lines);
  assert.ok(!logged.includes("1234") && !logged.includes("4711"), "a PIN was logged");
});

test("the third wrong PIN (a silence counts as one) ends the call and changes nothing", async () => {
  const { call, lines } = await toggle([{ type: "1111#" }, { type: "" }, { type: "9999#" }], { pinHash });
  assert.deepEqual(call.said, [
    "company.pin.enter",
    "company.pin.wrong",
    "company.pin.enter",
    "company.pin.wrong",
    "company.pin.enter",
    "company.pin.too-many-attempts",
  ]);
  assert.ok(call.hungUp);
  assert.deepEqual(call.unusedSteps, []);
  assert.deepEqual(fx.company.changes, []);
  assert.equal(lines.filter((l) => l.msg === "company code PIN wrong").length, 3);
});

test("a phone not on the list is refused before any PIN is asked", async () => {
  const access = { extensions: ["101"], pinHash };
  const bob = await toggle([{ type: "4711#" }], access, fx.bob);
  assert.deepEqual(bob.call.said, refused);
  const alice = await toggle([{ type: "4711#" }], access);
  assert.deepEqual(alice.call.said, ["company.pin.enter", ...toggled]);
});

test("every company-wide code asks the same: *20 and *30-*33 are refused to a phone not listed", async () => {
  for (const code of ["*20", "*30", "*31", "*32", "*33"]) {
    const call = fx.call([], { access: { extensions: ["101"] }, from: fx.bob });
    await dispatchFeatureCode(call, code, companyApps);
    assert.deepEqual(call.said, refused, code);
  }
  assert.deepEqual(fx.company.changes, []);
});
