import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "./lib/backoff.ts";
import { type EventSourceLike, LiveConnection, type LiveNotice, type LiveState } from "./live.ts";

class FakeSource implements EventSourceLike {
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  readonly listeners = new Map<string, (ev: MessageEvent) => void>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void {
    this.listeners.set(type, listener);
  }
  close(): void {
    this.closed = true;
  }
  emit(type: string, data: string): void {
    this.listeners.get(type)?.({ data } as MessageEvent);
  }
}

function harness() {
  const sources: FakeSource[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const notices: LiveNotice[] = [];
  const states: LiveState[] = [];
  const conn = new LiveConnection({
    url: "/api/v1/events?tenant=acme",
    open: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    onNotice: (n) => notices.push(n),
    onState: (s) => states.push(s),
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  });
  return { conn, sources, timers, notices, states };
}

test("notices are read from the stream: type, tenant, extension", () => {
  const h = harness();
  h.conn.start();
  const s = h.sources[0];
  assert.equal(s.url, "/api/v1/events?tenant=acme");
  s.onopen?.(new Event("open"));
  s.emit("forwarding", '{"tenant":"acme","extension":"101"}');
  s.emit("calls", '{"tenant":"acme"}');
  s.emit("schedule", "not json");
  assert.deepEqual(h.notices, [
    { type: "forwarding", tenant: "acme", extension: "101" },
    { type: "calls", tenant: "acme", extension: undefined },
    { type: "schedule", tenant: undefined, extension: undefined },
  ]);
  assert.deepEqual(h.states, ["connecting", "open"]);
});

test("a lost stream is opened again after a growing delay, then everything is refetched", () => {
  const h = harness();
  h.conn.start();
  h.sources[0].onopen?.(new Event("open"));
  h.sources[0].onerror?.(new Event("error"));
  assert.equal(h.sources[0].closed, true, "EventSource's own retry is stopped");
  h.sources[0].onerror?.(new Event("error"));
  assert.equal(h.timers.length, 1);
  h.timers[0].fn();
  h.sources[1].onerror?.(new Event("error"));
  h.timers[1].fn();
  assert.ok(h.timers[1].ms > h.timers[0].ms, `the delay grows: ${h.timers.map((t) => t.ms)}`);
  h.sources[2].onopen?.(new Event("open"));
  assert.deepEqual(h.notices, [{ type: "reconnected" }]);
  assert.deepEqual(h.states, [
    "connecting",
    "open",
    "waiting",
    "connecting",
    "waiting",
    "connecting",
    "open",
  ]);
  // After a good open the delay starts small again.
  h.sources[2].onerror?.(new Event("error"));
  assert.equal(h.timers[2].ms <= 1000, true);
});

test("a stopped connection stays closed, and an old stream's events are ignored", () => {
  const h = harness();
  h.conn.start();
  const s = h.sources[0];
  h.conn.stop();
  assert.equal(s.closed, true);
  s.emit("calls", "{}");
  s.onerror?.(new Event("error"));
  assert.deepEqual(h.notices, []);
  assert.equal(h.timers.length, 0);
});

test("the backoff doubles from 1 s to 30 s, with up to a fifth less at random", () => {
  assert.equal(
    backoffDelay(0, 1000, 30_000, () => 0),
    1000,
  );
  assert.equal(
    backoffDelay(3, 1000, 30_000, () => 0),
    8000,
  );
  assert.equal(
    backoffDelay(10, 1000, 30_000, () => 0),
    30_000,
  );
  assert.equal(
    backoffDelay(10, 1000, 30_000, () => 1),
    24_000,
  );
});
