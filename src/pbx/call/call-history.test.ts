import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import type { Binding, CallRecord, Trunk } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { CallHistoryRecorder, type CallStart, HISTORY_BATCH } from "./call-history.ts";
import type { ObservedCall } from "./call-observer.ts";
import type { Diversion, Party, RingStep, Step, Target } from "./steps.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A recorder whose store keeps what it is given (or fails, or never answers), and the batches it was given. */
function setup(
  opts: {
    keep?: boolean;
    maxQueue?: number;
    add?: (r: CallRecord) => Promise<void>;
    addMany?: (rs: readonly CallRecord[]) => Promise<void>;
  } = {},
) {
  const clock = new FakeClock(T0);
  const { log, lines } = capture();
  const written: CallRecord[] = [];
  const batches: string[][] = [];
  const told: CallRecord[] = [];
  const recorder = new CallHistoryRecorder({
    store: {
      callHistory: {
        add:
          opts.add ??
          (async (r) => {
            written.push(r);
          }),
        addMany: async (rs) => {
          batches.push(rs.map((r) => r.callId));
          if (opts.addMany) return opts.addMany(rs);
          written.push(...rs);
        },
        list: async () => [],
        purge: async () => 0,
      },
    },
    clock,
    log,
    keep: opts.keep ?? true,
    maxQueue: opts.maxQueue,
    onRecord: (r) => told.push(r),
  });
  return { clock, recorder, written, batches, told, lines };
}

/** One turn of the event loop: the writer has taken what was queued. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The part of a session the observer reads. */
class FakeCall implements ObservedCall {
  readonly id = "session-1";
  callee: { extension?: string; party: Party } | undefined;
  constructor(readonly startedAt: number) {}
  calleeNow() {
    return this.callee;
  }
}

const device = (extension: string): Target => ({
  kind: "device",
  extension,
  binding: { extension } as unknown as Binding,
});
const trunkTarget = (number: string): Target => ({
  kind: "trunk",
  trunk: { name: "carrier" } as Trunk,
  number,
});
function ring(callee: string, targets: Target[], diversions: Diversion[] = []): RingStep {
  return {
    kind: "ring",
    callee: { number: callee },
    targets,
    timeoutMs: 20_000,
    from: { number: "101" },
    diversions,
  };
}
const hangup = (status: number, reason?: string): Step => ({ kind: "hangup", status, reason });

const phoneCall: CallStart = {
  tenant: "acme",
  callId: "abc@phone",
  caller: { number: "101", displayName: "Alice" },
  dialled: "102",
  callerExtension: "101",
};

/** Runs a call through an observer as a session would, the clock moving 1 s per step. */
async function runCall(
  t: ReturnType<typeof setup>,
  start: CallStart,
  script: (o: ReturnType<CallHistoryRecorder["observe"]>, call: FakeCall) => void,
): Promise<CallRecord> {
  const call = new FakeCall(t.clock.now());
  const observer = t.recorder.observe(start);
  script(observer, call);
  t.clock.tick(1000);
  observer.ended(call);
  await t.recorder.flush();
  return t.written[t.written.length - 1]!;
}

describe("call history recorder", () => {
  test("an internal call answered: every field of its record", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring("102", [device("102"), device("102")]);
      o.step(call, step);
      t.clock.tick(4000);
      call.callee = { extension: "102", party: { number: "102", displayName: "Bob" } };
      o.outcome(call, step, { kind: "answered" });
    });
    assert.equal(typeof r.id, "string");
    assert.deepEqual(
      { ...r, id: "x" },
      {
        id: "x",
        tenant: "acme",
        callId: "abc@phone",
        direction: "internal",
        startedAt: T0,
        answeredAt: T0 + 4000,
        endedAt: T0 + 5000,
        caller: "101",
        callerName: "Alice",
        dialled: "102",
        destination: "102",
        outcome: "answered",
        extensions: ["101", "102"],
      },
    );
    assert.deepEqual(t.told, [r], "the metrics hear of it too");
  });

  test("busy, no answer, unavailable, failed: from the outcome and the refusal that follows", async () => {
    const cases: Array<[string, Step[], string]> = [
      ["busy", [hangup(486, undefined)], "busy"],
      ["declined", [hangup(603)], "busy"],
      ["no answer", [hangup(480, "No Answer")], "no-answer"],
      ["unreachable", [hangup(480)], "unavailable"],
      ["not allowed", [hangup(403, "Destination Not Allowed")], "failed"],
      ["no such number", [hangup(404)], "failed"],
    ];
    for (const [name, steps, expected] of cases) {
      const t = setup();
      const r = await runCall(t, phoneCall, (o, call) => {
        for (const s of steps) {
          o.step(call, s);
          o.outcome(call, s, { kind: "done" });
        }
      });
      assert.equal(r.outcome, expected, name);
      assert.equal(r.answeredAt, undefined, name);
      assert.equal(r.destination, undefined, name);
    }
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring("102", [device("102")]);
      o.step(call, step);
      o.outcome(call, step, { kind: "busy" });
    });
    assert.equal(r.outcome, "busy", "a busy phone, and nothing after it");
    assert.equal(r.destination, "102");
  });

  test("no answer, then voicemail: the mailbox is the destination, answered when it took the call", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring("102", [device("102")]);
      o.step(call, step);
      t.clock.tick(20_000);
      o.outcome(call, step, { kind: "no-answer" });
      const vm: Step = { kind: "app", name: "voicemail", args: "102", reason: "unavailable" };
      o.step(call, vm);
      t.clock.tick(30_000);
      o.outcome(call, vm, { kind: "caller-gone" });
    });
    assert.equal(r.outcome, "voicemail");
    assert.equal(r.destination, "voicemail:102");
    assert.equal(r.answeredAt, T0 + 20_000);
    assert.deepEqual(r.extensions, ["101", "102"]);
  });

  test("forwarded and answered: forwarded to the last target; the forwarding extension takes part", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring("103", [device("103")], [{ from: "102", reason: "unconditional" }]);
      o.step(call, step);
      call.callee = { extension: "103", party: { number: "103" } };
      o.outcome(call, step, { kind: "answered" });
    });
    assert.equal(r.outcome, "forwarded");
    assert.equal(r.forwardedTo, "103");
    assert.equal(r.destination, "103");
    assert.deepEqual(r.extensions, ["101", "102", "103"]);
  });

  test("forwarded, not answered: the failure is the outcome, the forwarding still said", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring(
        "+41791234567",
        [trunkTarget("+41791234567")],
        [{ from: "102", reason: "no-answer" }],
      );
      o.step(call, step);
      o.outcome(call, step, { kind: "rejected", status: 486 });
      o.step(call, hangup(486));
    });
    assert.equal(r.outcome, "busy");
    assert.equal(r.forwardedTo, "+41791234567");
    assert.equal(r.direction, "outbound", "it went out through the trunk");
    assert.equal(r.trunk, "carrier");
  });

  test("cancelled while ringing, and while waiting in the inbound flow", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const step = ring("102", [device("102")]);
      o.step(call, step);
      o.outcome(call, step, { kind: "caller-gone" });
    });
    assert.equal(r.outcome, "cancelled");
    assert.equal(r.answeredAt, undefined);
    const inbound: CallStart = {
      tenant: "acme",
      callId: "xyz@carrier",
      caller: { number: "+41791234567" },
      dialled: "+41215550100",
      trunk: "carrier",
    };
    const r2 = await runCall(t, inbound, (o, call) => {
      const play: Step = { kind: "play", items: ["announcement.default.welcome"] };
      o.step(call, play);
      o.outcome(call, play, { kind: "played" });
      const step = { ...ring("sales", [device("102"), device("103")]), waiting: { firstMs: 1, everyMs: 1 } };
      o.step(call, step);
      o.outcome(call, step, { kind: "caller-gone" });
    });
    assert.equal(r2.outcome, "cancelled", "the music does not make it answered");
    assert.equal(r2.answeredAt, undefined);
    assert.equal(r2.direction, "inbound");
    assert.equal(r2.trunk, "carrier");
    assert.equal(r2.destination, "sales");
    assert.deepEqual(r2.extensions, ["102", "103"]);
  });

  test("the session ends while a step still runs (a CANCEL): cancelled, before the step's outcome is told", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      o.step(call, ring("102", [device("102")]));
    });
    assert.equal(r.outcome, "cancelled");
    const r2 = await runCall(t, phoneCall, (o, call) => {
      o.step(call, hangup(486));
    });
    assert.equal(r2.outcome, "busy", "while the reason is said, the refusal stands");
  });

  test("outbound through the trunk, answered: the number is the destination", async () => {
    const t = setup();
    const r = await runCall(t, { ...phoneCall, dialled: "0791234567" }, (o, call) => {
      const step = ring("+41791234567", [trunkTarget("+41791234567")]);
      o.step(call, step);
      call.callee = { party: { number: "+41791234567" } };
      o.outcome(call, step, { kind: "answered" });
    });
    assert.equal(r.direction, "outbound");
    assert.equal(r.outcome, "answered");
    assert.equal(r.destination, "+41791234567");
    assert.equal(r.dialled, "0791234567");
    assert.deepEqual(r.extensions, ["101"]);
  });

  test("a feature code is an app; a pickup by another phone is answered by the picker", async () => {
    const t = setup();
    const r = await runCall(t, { ...phoneCall, dialled: "*72103" }, (o, call) => {
      const step: Step = { kind: "app", name: "feature-code", args: "*72103" };
      o.step(call, step);
      o.outcome(call, step, { kind: "done" });
    });
    assert.equal(r.outcome, "app");
    assert.equal(r.destination, "app:*72103");
    const r2 = await runCall(t, phoneCall, (o, call) => {
      const step = ring("102", [device("102")]);
      o.step(call, step);
      t.clock.tick(3000);
      o.pickedUp(call, { number: "104", displayName: "Dan" });
      o.outcome(call, step, { kind: "caller-gone" });
    });
    assert.equal(r2.outcome, "answered");
    assert.equal(r2.destination, "104");
    assert.equal(r2.answeredAt, r2.startedAt + 3000);
    assert.deepEqual(r2.extensions, ["101", "102", "104"]);
  });

  test("a blind transfer: transferred to the last party; undone, it is the first answer again", async () => {
    const t = setup();
    const r = await runCall(t, phoneCall, (o, call) => {
      const first = ring("102", [device("102")]);
      o.step(call, first);
      call.callee = { extension: "102", party: { number: "102" } };
      o.outcome(call, first, { kind: "answered" });
      call.callee = undefined;
      o.transferred(call);
      const second = ring("103", [device("103")]);
      o.step(call, second);
      call.callee = { extension: "103", party: { number: "103" } };
      o.outcome(call, second, { kind: "answered" });
    });
    assert.equal(r.outcome, "transferred");
    assert.equal(r.destination, "103");
    assert.deepEqual(r.extensions, ["101", "102", "103"]);
    const r2 = await runCall(t, phoneCall, (o, call) => {
      const first = ring("102", [device("102")]);
      o.step(call, first);
      call.callee = { extension: "102", party: { number: "102" } };
      o.outcome(call, first, { kind: "answered" });
      o.transferred(call);
      const second = ring("103", [device("103")]);
      o.step(call, second);
      o.outcome(call, second, { kind: "no-answer" });
      o.transferUndone(call);
    });
    assert.equal(r2.outcome, "answered");
    assert.equal(r2.destination, "102");
  });

  test("a call refused before its session (the company's cap) is recorded too", async () => {
    const t = setup();
    t.recorder.refused(phoneCall, 503);
    t.recorder.refused({ ...phoneCall, trunk: "carrier", callerExtension: undefined }, 486);
    await t.recorder.flush();
    assert.deepEqual(
      t.written.map((r) => [r.outcome, r.direction, r.startedAt === r.endedAt, r.extensions]),
      [
        ["failed", "internal", true, ["101"]],
        ["busy", "inbound", true, []],
      ],
    );
  });

  test("ended is told once; long texts from the network are clipped", async () => {
    const t = setup();
    const call = new FakeCall(T0);
    const o = t.recorder.observe({ ...phoneCall, dialled: "9".repeat(5000) });
    o.ended(call);
    o.ended(call);
    await t.recorder.flush();
    assert.equal(t.written.length, 1);
    assert.equal(t.written[0]!.dialled.length, 256);
    assert.equal(t.written[0]!.outcome, "failed", "no step at all: the call never got anywhere");
  });

  test("history off: records go to the metrics only", async () => {
    const t = setup({ keep: false });
    await runCall(t, phoneCall, () => {});
    assert.equal(t.written.length, 0);
    assert.equal(t.told.length, 1);
    assert.equal(t.recorder.pending, 0);
  });

  test("a store failure is logged with the Call-ID; the next record is written", async () => {
    let fail = true;
    const stored: CallRecord[] = [];
    const t = setup({
      addMany: async (rs) => {
        if (fail) {
          fail = false;
          throw new Error("disk full");
        }
        stored.push(...rs);
      },
    });
    const call = new FakeCall(T0);
    t.recorder.observe({ ...phoneCall, callId: "first@phone" }).ended(call);
    await nextTurn(); // the writer took it: the next call goes in another batch
    t.recorder.observe({ ...phoneCall, callId: "second@phone" }).ended(call);
    await t.recorder.flush();
    assert.deepEqual(
      stored.map((r) => r.callId),
      ["second@phone"],
    );
    const line = t.lines.find((l) => l.msg === "call history record could not be written");
    assert.equal(line?.callId, "first@phone");
  });

  test("a store that stops answering: the queue is bounded, beyond it records are dropped with one warning", async () => {
    const never = new Promise<void>(() => {});
    const t = setup({ maxQueue: 2, addMany: () => never });
    const call = new FakeCall(T0);
    t.recorder.observe({ ...phoneCall, callId: "c0" }).ended(call);
    await nextTurn();
    for (let i = 1; i < 6; i++) t.recorder.observe({ ...phoneCall, callId: `c${i}` }).ended(call);
    // One is being written, two wait, three are dropped.
    assert.equal(t.recorder.pending, 2);
    assert.equal(t.recorder.dropped, 3);
    const warnings = t.lines.filter(
      (l) => l.msg === "call history: the store does not keep up, records dropped",
    );
    assert.equal(warnings.length, 1, "not one line per record");
    assert.equal(warnings[0]!.callId, "c3");
    assert.equal(t.told.length, 6, "the metrics count every call");
    t.clock.tick(60_000);
    t.recorder.observe({ ...phoneCall, callId: "c6" }).ended(call);
    assert.equal(
      t.lines.filter((l) => l.msg === "call history: the store does not keep up, records dropped").length,
      2,
    );
  });

  test("calls that end at once go to the store in one batch, at most HISTORY_BATCH records each", async () => {
    const t = setup();
    const call = new FakeCall(T0);
    for (let i = 0; i < 5; i++) t.recorder.observe({ ...phoneCall, callId: `a${i}` }).ended(call);
    assert.equal(t.recorder.pending, 5, "nothing is written before the turn ends");
    await t.recorder.flush();
    assert.deepEqual(t.batches, [["a0", "a1", "a2", "a3", "a4"]]);

    const many = 2 * HISTORY_BATCH + 50;
    for (let i = 0; i < many; i++) t.recorder.observe({ ...phoneCall, callId: `b${i}` }).ended(call);
    await t.recorder.flush();
    assert.deepEqual(
      t.batches.slice(1).map((b) => b.length),
      [HISTORY_BATCH, HISTORY_BATCH, 50],
    );
    assert.deepEqual(
      t.written.map((r) => r.callId),
      [...["a0", "a1", "a2", "a3", "a4"], ...Array.from({ length: many }, (_, i) => `b${i}`)],
      "oldest first",
    );
    assert.equal(t.recorder.pending, 0);
  });

  test("a failing batch is logged with its Call-IDs and written one by one; the writer goes on", async () => {
    let failBatch = true;
    const t = setup({
      addMany: async (rs) => {
        if (failBatch) {
          failBatch = false;
          throw new Error("a text value contains a NUL character");
        }
        t.written.push(...rs);
      },
      add: async (r) => {
        if (r.callId === "bad@phone") throw new Error("a text value contains a NUL character");
        t.written.push(r);
      },
    });
    const call = new FakeCall(T0);
    for (const callId of ["a@phone", "bad@phone", "c@phone"]) {
      t.recorder.observe({ ...phoneCall, callId }).ended(call);
    }
    await t.recorder.flush();
    const batchLine = t.lines.find(
      (l) => l.msg === "call history batch could not be written: writing its records one by one",
    );
    assert.deepEqual(batchLine?.callIds, ["a@phone", "bad@phone", "c@phone"]);
    const recordLines = t.lines.filter((l) => l.msg === "call history record could not be written");
    assert.deepEqual(
      recordLines.map((l) => l.callId),
      ["bad@phone"],
    );
    assert.deepEqual(
      t.written.map((r) => r.callId),
      ["a@phone", "c@phone"],
      "the batch's other records are kept",
    );

    t.recorder.observe({ ...phoneCall, callId: "d@phone" }).ended(call);
    t.recorder.observe({ ...phoneCall, callId: "e@phone" }).ended(call);
    await t.recorder.flush();
    assert.deepEqual(t.batches.at(-1), ["d@phone", "e@phone"], "the next calls in one batch again");
    assert.deepEqual(
      t.written.map((r) => r.callId),
      ["a@phone", "c@phone", "d@phone", "e@phone"],
    );
  });

  test("a record queued as the writer finishes starts a new writer", async () => {
    const t = setup();
    const call = new FakeCall(T0);
    t.recorder.observe({ ...phoneCall, callId: "x1" }).ended(call);
    const first = t.recorder.flush();
    // Queued from a promise callback, in the same turn as the writer's end.
    void first.then(() => t.recorder.observe({ ...phoneCall, callId: "x2" }).ended(call));
    await first;
    await nextTurn();
    await t.recorder.flush();
    assert.deepEqual(
      t.written.map((r) => r.callId),
      ["x1", "x2"],
    );
  });

  test("a fault while observing is logged with the Call-ID, never thrown into the call", async () => {
    const t = setup();
    const call = new FakeCall(T0);
    call.calleeNow = () => {
      throw new Error("boom");
    };
    const o = t.recorder.observe(phoneCall);
    const step = ring("102", [device("102")]);
    assert.doesNotThrow(() => o.outcome(call, step, { kind: "answered" }));
    assert.doesNotThrow(() => o.ended(call));
    assert.ok(t.lines.some((l) => l.callId === "abc@phone" && l.what === "outcome"));
  });
});
