import assert from "node:assert/strict";
import { test } from "node:test";
import { type ActiveCall, CallRegistry } from "./call-registry.ts";

/** A call whose busy extensions the test changes as the call goes on. */
function call(id: string, tenant: string, busy: string[]): ActiveCall & { busy: string[] } {
  const c = {
    id,
    tenant: { name: tenant },
    busy,
    view: () => ({ id, tenant, from: "", to: "", state: "answered" as const, startedAt: "", callIds: [] }),
    terminate: async () => {},
    busyExtensions: () => c.busy,
    usesTrunk: () => false,
  };
  return c;
}

test("an extension's calls are found by their lines, oldest first, and forgotten when they end", () => {
  const calls = new CallRegistry();
  const a = call("a", "acme", ["101"]);
  const b = call("b", "acme", ["102"]);
  calls.add(a);
  calls.add(b);
  assert.equal(calls.callsOf("acme", "101"), 1);
  assert.equal(calls.callsOf("acme", "103"), 0);
  // b rings 101: 101 is concerned (its lamp blinks) but not busy.
  assert.deepEqual(calls.involve("b", ["102", "101"]), ["102"]);
  assert.deepEqual(
    calls.involving("acme", "101").map((c) => c.id),
    ["a", "b"],
  );
  assert.equal(calls.callsOf("acme", "101"), 1, "ringing is not busy");
  // 101 answers b: busy on two calls.
  b.busy = ["102", "101"];
  calls.involve("b", ["102", "101"]);
  assert.equal(calls.callsOf("acme", "101"), 2);
  // The ringing stops on a: it no longer concerns 101 beyond what it keeps busy.
  assert.deepEqual(calls.involve("a", []), ["101"]);
  assert.deepEqual(
    calls.involving("acme", "101").map((c) => c.id),
    ["a", "b"],
    "a still keeps 101 busy",
  );
  calls.remove("a");
  assert.deepEqual(
    calls.involving("acme", "101").map((c) => c.id),
    ["b"],
  );
  assert.equal(calls.callsOfTenant("acme"), 1);
  calls.remove("b");
  assert.equal(calls.callsOf("acme", "101"), 0);
  assert.equal(calls.callsOfTenant("acme"), 0);
  assert.deepEqual(calls.involving("acme", "102"), []);
  assert.deepEqual(calls.involve("b", ["101"]), [], "a removed call is not indexed again");
});

test("companies are apart: the same extension number in two companies", () => {
  const calls = new CallRegistry();
  calls.add(call("a", "acme", ["101"]));
  calls.add(call("g", "globex", ["101"]));
  assert.equal(calls.callsOf("acme", "101"), 1);
  assert.equal(calls.callsOf("globex", "101"), 1);
  assert.deepEqual(
    calls.ofTenant("globex").map((c) => c.id),
    ["g"],
  );
});
