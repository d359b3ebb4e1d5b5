import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { LiveFeed, type LiveNotice } from "./live-feed.ts";

function feed(clock = new FakeClock()) {
  return { clock, live: new LiveFeed({ clock, log: silentLogger() }) };
}

function heard(live: LiveFeed): LiveNotice[] {
  const out: LiveNotice[] = [];
  live.subscribe((n) => out.push(n));
  return out;
}

test("a notice goes out once its 250 ms window closes, not before", () => {
  const { clock, live } = feed();
  const got = heard(live);
  live.publish({ type: "registrations", tenant: "acme", extension: "101" });
  clock.tick(249);
  assert.deepEqual(got, []);
  clock.tick(1);
  assert.deepEqual(got, [{ type: "registrations", tenant: "acme", extension: "101" }]);
});

test("the same notice within 250 ms is sent once; another tenant, extension or type is not the same", () => {
  const { clock, live } = feed();
  const got = heard(live);
  for (let i = 0; i < 5; i++) {
    live.publish({ type: "voicemail", tenant: "acme", extension: "101" });
    clock.tick(40);
  }
  live.publish({ type: "voicemail", tenant: "acme", extension: "102" });
  live.publish({ type: "voicemail", tenant: "globex", extension: "101" });
  live.publish({ type: "forwarding", tenant: "acme", extension: "101" });
  clock.tick(250);
  assert.deepEqual(
    got.map((n) => `${n.type}:${n.tenant}:${n.extension}`),
    ["voicemail:acme:101", "voicemail:acme:102", "voicemail:globex:101", "forwarding:acme:101"],
  );
  // A later change opens a new window: it is not lost.
  live.publish({ type: "voicemail", tenant: "acme", extension: "101" });
  clock.tick(250);
  assert.equal(got.length, 5);
});

test("calls notices of one tenant merge the extensions they concern; one without extensions makes them unknown", () => {
  const { clock, live } = feed();
  const got = heard(live);
  live.publish({ type: "calls", tenant: "acme", extensions: ["101"] });
  live.publish({ type: "calls", tenant: "acme", extensions: ["101", "102"] });
  clock.tick(250);
  assert.deepEqual(got, [{ type: "calls", tenant: "acme", extensions: ["101", "102"] }]);
  live.publish({ type: "calls", tenant: "acme", extensions: ["103"] });
  live.publish({ type: "calls", tenant: "acme" });
  live.publish({ type: "calls", tenant: "acme", extensions: ["104"] });
  clock.tick(250);
  assert.deepEqual(got[1], { type: "calls", tenant: "acme" });
});

test("unsubscribe: no more notices, and nothing is kept (no timer) while nobody listens", () => {
  const { clock, live } = feed();
  const got: LiveNotice[] = [];
  const stop = live.subscribe((n) => got.push(n));
  live.publish({ type: "trunks" });
  stop();
  assert.equal(clock.timerCount, 0, "the pending window went with the last subscriber");
  live.publish({ type: "trunks" });
  clock.tick(1000);
  assert.deepEqual(got, []);
  assert.equal(live.subscriberCount, 0);
  stop();
});

test("one subscriber leaving does not silence the others; a listener that throws does not either", () => {
  const { clock, live } = feed();
  const a: LiveNotice[] = [];
  const stopA = live.subscribe((n) => a.push(n));
  live.subscribe(() => {
    throw new Error("broken listener");
  });
  const b = heard(live);
  stopA();
  live.publish({ type: "schedule", tenant: "acme" });
  clock.tick(250);
  assert.deepEqual(a, []);
  assert.deepEqual(b, [{ type: "schedule", tenant: "acme" }]);
});

test("each listener gets its own copy of a notice", () => {
  const { clock, live } = feed();
  const first: LiveNotice[] = [];
  live.subscribe((n) => {
    n.extensions?.push("999");
    first.push(n);
  });
  const second = heard(live);
  live.publish({ type: "calls", tenant: "acme", extensions: ["101"] });
  clock.tick(250);
  assert.deepEqual(second[0]!.extensions, ["101"]);
});

test("close: pending notices dropped, subscribers told once, later subscribers told at once, publish ignored", () => {
  const { clock, live } = feed();
  let closedA = 0;
  const got: LiveNotice[] = [];
  live.subscribe(
    (n) => got.push(n),
    () => closedA++,
  );
  live.publish({ type: "trunks" });
  live.close();
  live.close();
  clock.tick(1000);
  assert.deepEqual(got, []);
  assert.equal(closedA, 1);
  assert.equal(clock.timerCount, 0);
  let closedB = 0;
  live.subscribe(
    () => assert.fail("nothing after close"),
    () => closedB++,
  );
  assert.equal(closedB, 1);
  live.publish({ type: "trunks" });
  assert.equal(clock.timerCount, 0);
});

test("the window is the injected clock's: a custom one is honoured", () => {
  const clock = new FakeClock();
  const live = new LiveFeed({ clock, log: silentLogger(), coalesceMs: 1000 });
  const got = heard(live);
  live.publish({ type: "trunks" });
  clock.tick(999);
  live.publish({ type: "trunks" });
  assert.equal(got.length, 0);
  clock.tick(1);
  assert.deepEqual(got, [{ type: "trunks" }]);
});
