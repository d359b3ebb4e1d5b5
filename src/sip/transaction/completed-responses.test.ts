import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { CompletedResponses } from "./completed-responses.ts";

/** A peer that is only an address value: nothing is bound or sent to. */
const PEER: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5062 };

function kept(limits = { maxCount: 3, maxBytes: 1_000_000 }) {
  const clock = new FakeClock();
  const resent: string[] = [];
  const c = new CompletedResponses(clock, limits, (data) => resent.push(data.toString("latin1")));
  return { clock, c, resent };
}

test("beyond the count the oldest are forgotten first; a key added again counts from its new time", () => {
  const { c, resent } = kept();
  c.add("a", Buffer.from("A"), PEER, 32_000);
  c.add("b", Buffer.from("B"), PEER, 32_000);
  c.add("a", Buffer.from("A2"), PEER, 32_000);
  c.add("c", Buffer.from("C"), PEER, 32_000);
  c.add("d", Buffer.from("D"), PEER, 32_000);
  assert.equal(c.size, 3);
  assert.equal(c.evicted, 1);
  assert.equal(c.has("b"), false, "b was the oldest: a was added again after it");
  assert.ok(c.retransmit("a"));
  assert.deepEqual(resent, ["A2"]);
});

test("Timer J: entries expire in order, each after its own lifetime", () => {
  const { clock, c } = kept({ maxCount: 100, maxBytes: 1_000_000 });
  c.add("a", Buffer.from("A"), PEER, 1000);
  clock.tick(400);
  c.add("b", Buffer.from("B"), PEER, 1000);
  c.add("a", Buffer.from("A"), PEER, 1000); // a retransmission's response kept again: from now
  clock.tick(700);
  assert.equal(c.has("a"), true, "a was renewed at 400");
  clock.tick(400);
  assert.equal(c.size, 0);
  assert.equal(clock.timerCount, 0, "no timer left once empty");
});

test("a flood past the bound keeps it, whatever the number of evictions", () => {
  const { clock, c } = kept({ maxCount: 1000, maxBytes: 1_000_000 });
  for (let i = 0; i < 50_000; i++) c.add(`k${i}`, Buffer.from("SIP/2.0 200 OK"), PEER, 32_000);
  assert.equal(c.size, 1000);
  assert.equal(c.evicted, 49_000);
  assert.ok(c.has("k49999") && !c.has("k48999"));
  clock.tick(32_000);
  assert.equal(c.size, 0);
});
