import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { CallFlow } from "../../../store/types.ts";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type CompanyFixture, companyFixture } from "../testing/company-fixture.ts";
import { companyApps } from "./index.ts";

let fx: CompanyFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function fixture(opts?: Parameters<typeof companyFixture>[0]): Promise<CompanyFixture> {
  fx = await companyFixture(opts);
  return fx;
}

async function dial11(f: CompanyFixture, from = f.alice) {
  const call = f.call([], { from });
  await dispatchFeatureCode(call, "*11", companyApps);
  return call;
}

test("*11 switches to vacation and back to normal, says the new state, then goodbye", async () => {
  const f = await fixture();
  const first = await dial11(f);
  assert.deepEqual(first.said, ["callflow.switched", "callflow.mode.vacation", "generic.goodbye"]);
  assert.ok(first.hungUp);
  const second = await dial11(f, f.bob);
  assert.deepEqual(second.said, ["callflow.switched", "callflow.mode.normal", "generic.goodbye"]);
  assert.deepEqual(
    f.company.changes.map((c) => [c.op, c.actor.id]),
    [
      ["callflow.toggle", "101"],
      ["callflow.toggle", "102"],
    ],
  );
  assert.deepEqual(
    f.company.lamps.map((l) => `${l.code}:${l.on}`),
    ["*11:true", "*11:false"],
  );
});

test("renamed states: the catalogue's word when it has one, else the company's label", async () => {
  const callFlow: CallFlow = {
    state: "day",
    states: { day: {}, "shop-closed": { label: "Magasin fermé", destination: { type: "hangup" } } },
  };
  const f = await fixture({ callFlow });
  assert.deepEqual((await dial11(f)).said, [
    "callflow.switched",
    { text: "Magasin fermé" },
    "generic.goodbye",
  ]);
  assert.deepEqual((await dial11(f)).said, ["callflow.switched", "callflow.mode.day", "generic.goodbye"]);
});

test("a state without a label is said by its name", async () => {
  const callFlow: CallFlow = { state: "normal", states: { normal: {}, inventaire: {} } };
  const f = await fixture({ callFlow });
  assert.deepEqual((await dial11(f)).said[1], { text: "inventaire" });
});

test("*11 is refused until the provider switches call flow control on", async () => {
  const f = await fixture();
  await f.app.enable({ callFlowControl: false });
  assert.deepEqual((await dial11(f)).said, ["feature.not-enabled", "generic.goodbye"]);
  assert.deepEqual(f.company.changes, []);
});
