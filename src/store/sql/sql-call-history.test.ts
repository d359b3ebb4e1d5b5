import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import type { CallRecord } from "../types.ts";
import { removeCallHistory, SqlCallHistory } from "./sql-call-history.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const clock = new FakeClock(T0);

let n = 0;
function call(over: Partial<CallRecord> = {}): CallRecord {
  n++;
  return {
    id: `call-${String(n).padStart(4, "0")}`,
    tenant: "acme",
    callId: `cid-${n}@phone`,
    direction: "internal",
    startedAt: T0 + n * 1000,
    endedAt: T0 + n * 1000 + 500,
    caller: "101",
    dialled: "102",
    outcome: "answered",
    extensions: ["101", "102"],
    ...over,
  };
}

for (const engine of TEST_ENGINES) {
  describe(`sql call history on ${engine.name}`, () => {
    let t: TestContext;
    let history: SqlCallHistory;
    beforeEach(async () => {
      t = await engine.open(clock);
      history = new SqlCallHistory(t.ctx);
    });
    afterEach(() => t.close());

    test("add and read back every field; optional ones absent when not set", async () => {
      const full = call({
        direction: "inbound",
        answeredAt: T0 + 5_000,
        callerName: 'Zoë O\'Brien, "the client"',
        caller: "+41791234567",
        dialled: "+41215550100",
        destination: "102",
        outcome: "forwarded",
        forwardedTo: "+41797654321",
        trunk: "carrier",
        extensions: ["102"],
      });
      const bare = call({ outcome: "cancelled", extensions: [] });
      await history.add(full);
      await history.add(bare);
      const listed = await history.list("acme");
      assert.deepEqual(listed, [bare, full], "newest first");
      assert.equal("destination" in listed[0]!, false);
      assert.equal("trunk" in listed[0]!, false);
      assert.deepEqual(await history.list("bistro"), [], "another tenant sees nothing");
    });

    test("addMany writes a batch, every field as add does; none at all when one row is refused", async () => {
      const batch = [
        call({ answeredAt: T0 + 1, callerName: "Zoë", destination: "102", trunk: "carrier" }),
        call({ outcome: "busy", extensions: [] }),
        call({ tenant: "bistro" }),
      ];
      await history.addMany([]);
      await history.addMany(batch);
      assert.deepEqual(await history.list("acme"), [batch[1], batch[0]]);
      assert.deepEqual(await history.list("bistro"), [batch[2]]);
      // A batch with an id already stored: the whole statement is refused.
      const fresh = call();
      await assert.rejects(history.addMany([fresh, { ...batch[0]!, callId: "again" }]));
      assert.equal((await history.list("acme")).length, 2, "nothing of the refused batch");
      await history.add(fresh);
      assert.equal((await history.list("acme")).length, 3);
    });

    test("addMany of more rows than one INSERT takes: all of them, in one transaction", async () => {
      const many = Array.from({ length: 1203 }, () => call({ tenant: "big" }));
      await history.addMany(many);
      let count = 0;
      let before: CallRecord | undefined;
      for (;;) {
        const page = await history.list("big", { limit: 500, ...(before ? { before } : {}) });
        count += page.length;
        if (page.length < 500) break;
        before = page[page.length - 1];
      }
      assert.equal(count, 1203);
      const clash = [...Array.from({ length: 700 }, () => call({ tenant: "clash" })), many[0]!];
      await assert.rejects(history.addMany(clash));
      assert.deepEqual(await history.list("clash"), [], "the first 500 rolled back with the rest");
    });

    test("filters: time range, outcome, direction, extension (list, caller, dialled, destination)", async () => {
      const a = call({ caller: "101", dialled: "102", extensions: ["101", "102"] });
      const b = call({
        caller: "+41791234567",
        dialled: "+41215550100",
        destination: "1010",
        direction: "inbound",
        outcome: "no-answer",
        extensions: ["1010"],
      });
      const c = call({
        caller: "103",
        dialled: "*72",
        destination: "app:*72",
        outcome: "app",
        extensions: [],
      });
      const d = call({ caller: "104", dialled: "101", outcome: "busy", extensions: ["104"] });
      const e = call({ caller: "105", dialled: "105%", outcome: "failed", extensions: ['10"5'] });
      for (const r of [a, b, c, d, e]) await history.add(r);
      const ids = async (f: Parameters<SqlCallHistory["list"]>[1]) =>
        (await history.list("acme", f)).map((r) => r.id);
      assert.deepEqual(await ids({ from: b.startedAt, to: d.startedAt }), [c.id, b.id], "from ≤ t < to");
      assert.deepEqual(await ids({ outcome: "no-answer" }), [b.id]);
      assert.deepEqual(await ids({ direction: "inbound" }), [b.id]);
      assert.deepEqual(await ids({ direction: "internal", outcome: "busy" }), [d.id]);
      assert.deepEqual(await ids({ extension: "101" }), [d.id, a.id], "in the list, or dialled");
      assert.deepEqual(await ids({ extension: "1010" }), [b.id], "101 does not match 1010, nor the reverse");
      assert.deepEqual(await ids({ extension: "103" }), [c.id], "as the caller");
      assert.deepEqual(await ids({ extension: "10" }), [], "no prefix match");
      assert.deepEqual(await ids({ extension: "10%" }), [], "LIKE wildcards are literal");
      assert.deepEqual(await ids({ extension: "10_5" }), []);
      assert.deepEqual(await ids({ extension: '10"5' }), [e.id], "a quote in the list is matched exactly");
    });

    test("limit and the cursor walk the whole list once, ties broken by id", async () => {
      const same = T0 + 100_000;
      const all: CallRecord[] = [];
      for (let i = 0; i < 7; i++) all.push(call({ startedAt: i < 4 ? same : same - i }));
      for (const r of all.toReversed()) await history.add(r);
      const expected = [...all]
        .sort((x, y) => y.startedAt - x.startedAt || (x.id < y.id ? 1 : -1))
        .map((r) => r.id);
      const seen: string[] = [];
      let before: { startedAt: number; id: string } | undefined;
      for (;;) {
        const page = await history.list("acme", { limit: 3, before });
        if (page.length === 0) break;
        assert.ok(page.length <= 3);
        seen.push(...page.map((r) => r.id));
        const last = page[page.length - 1]!;
        before = { startedAt: last.startedAt, id: last.id };
      }
      assert.deepEqual(seen, expected);
      assert.equal((await history.list("acme", { limit: 5000 })).length, 7, "limit capped, not refused");
      assert.equal((await history.list("acme", { limit: 0 })).length, 1, "at least one");
    });

    test("the default limit is 100 and the cap 1000", async () => {
      for (let i = 0; i < 105; i++) await history.add(call());
      assert.equal((await history.list("acme")).length, 100);
      assert.equal((await history.list("acme", { limit: 1000 })).length, 105);
    });

    test("purge deletes calls that started before the cut, of every tenant, and counts them", async () => {
      const old = call({ startedAt: T0 - 400 * 86_400_000 });
      const oldOther = call({ tenant: "bistro", startedAt: T0 - 366 * 86_400_000 });
      const kept = call({ startedAt: T0 - 10 * 86_400_000 });
      for (const r of [old, oldOther, kept]) await history.add(r);
      assert.equal(await history.purge(T0 - 365 * 86_400_000), 2);
      assert.deepEqual(
        (await history.list("acme")).map((r) => r.id),
        [kept.id],
      );
      assert.deepEqual(await history.list("bistro"), []);
      assert.equal(await history.purge(T0 - 365 * 86_400_000), 0);
    });

    test("removeCallHistory deletes one tenant's calls, in the caller's transaction", async () => {
      await history.add(call());
      await history.add(call());
      await history.add(call({ tenant: "bistro" }));
      const removed = await t.ctx.db.transaction().execute((trx) => removeCallHistory(trx, "acme"));
      assert.equal(removed, 2);
      assert.deepEqual(await history.list("acme"), []);
      assert.equal((await history.list("bistro")).length, 1);
    });

    test("a damaged extensions column reads as an empty list", async () => {
      const r = call();
      await history.add(r);
      await t.ctx.db.updateTable("call_history").set({ extensions: "not json" }).execute();
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        assert.deepEqual((await history.list("acme"))[0]!.extensions, []);
      } finally {
        await new Promise((resolve) => setImmediate(resolve));
        process.off("warning", onWarning);
      }
      assert.ok(
        warnings.some((w) => w.includes("call_history.extensions")),
        "and says so",
      );
    });
  });
}
