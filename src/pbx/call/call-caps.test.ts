import assert from "node:assert/strict";
import { test } from "node:test";
import { callCapRefusal } from "./call-caps.ts";
import { type ActiveCall, CallRegistry } from "./call-registry.ts";

/** A call of `tenant` that keeps `busy` extensions busy. */
function call(id: string, tenant: string, busy: string[] = []): ActiveCall {
  return {
    id,
    tenant: { name: tenant },
    view: () => ({ id, tenant, from: "", to: "", state: "answered", startedAt: "", callIds: [] }),
    terminate: async () => {},
    busyExtensions: () => busy,
    usesTrunk: () => false,
  };
}

const acme = { name: "acme", country: "CH", maxCalls: 2 };
const globex = { name: "globex", country: "CH", maxCalls: 2 };

test("a company at its cap: refused; another company is not concerned", () => {
  const calls = new CallRegistry();
  assert.equal(callCapRefusal(calls, acme), undefined);
  calls.add(call("1", "acme", ["101"]));
  assert.equal(callCapRefusal(calls, acme), undefined, "one call of two");
  calls.add(call("2", "acme", ["103"]));
  assert.deepEqual(callCapRefusal(calls, acme), { scope: "company", cap: 2, calls: 2 });
  assert.deepEqual(
    callCapRefusal(calls, acme, { extension: { number: "105", maxCalls: 2 }, dialled: "106" }),
    {
      scope: "company",
      cap: 2,
      calls: 2,
    },
  );
  assert.equal(callCapRefusal(calls, globex), undefined);
  calls.remove("1");
  assert.equal(callCapRefusal(calls, acme), undefined, "room again when a call ends");
});

test("a phone at its own cap: refused when it calls out", () => {
  const calls = new CallRegistry();
  calls.add(call("1", "acme", ["101", "102"]));
  const tenant = { ...acme, maxCalls: 20 };
  assert.deepEqual(
    callCapRefusal(calls, tenant, { extension: { number: "101", maxCalls: 1 }, dialled: "103" }),
    {
      scope: "extension",
      cap: 1,
      calls: 1,
    },
  );
  assert.equal(
    callCapRefusal(calls, tenant, { extension: { number: "101", maxCalls: 2 }, dialled: "103" }),
    undefined,
  );
  assert.equal(
    callCapRefusal(calls, tenant, { extension: { number: "103", maxCalls: 1 }, dialled: "101" }),
    undefined,
  );
  assert.equal(
    callCapRefusal(calls, { ...tenant, name: "globex" }, { extension: { number: "101", maxCalls: 1 } }),
    undefined,
    "101 of another company is another phone",
  );
});

test("emergency numbers of the company's country are never refused by a cap", () => {
  const calls = new CallRegistry();
  calls.add(call("1", "acme", ["101"]));
  calls.add(call("2", "acme", ["101"]));
  const caller = (dialled: string) => ({ extension: { number: "101", maxCalls: 1 }, dialled });
  for (const dialled of ["112", "144", "117", "1 4 4"])
    assert.equal(callCapRefusal(calls, acme, caller(dialled)), undefined, dialled);
  assert.ok(callCapRefusal(calls, acme, caller("911")), "911 is no emergency number in CH");
  assert.equal(callCapRefusal(calls, { ...acme, country: "US" }, caller("911")), undefined);
  assert.ok(callCapRefusal(calls, acme, caller("0791231212")));
});
