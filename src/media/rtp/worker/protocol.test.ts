// The Outbox: what one step of a thread's work says leaves as one message, in
// order, before the next I/O or timer callback.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { type Batch, eachMessage, Outbox } from "./protocol.ts";

type Msg = { t: "a"; n: number } | { t: "b"; buf: ArrayBuffer };

function recorder() {
  const posted: Array<{ msg: Msg | Batch<Msg>; transfer: ArrayBuffer[] }> = [];
  const outbox = new Outbox<Msg>((msg, transfer) => posted.push({ msg, transfer }));
  return { posted, outbox };
}

test("what one step says leaves as one batch, in order, once the step's microtasks are done", async () => {
  const { posted, outbox } = recorder();
  const buf = new ArrayBuffer(8);
  outbox.push({ t: "a", n: 1 });
  outbox.push({ t: "b", buf }, [buf]);
  outbox.push({ t: "a", n: 2 }, []);
  assert.equal(posted.length, 0, "nothing is posted during the step");
  // Before any callback of the event loop: what follows sees the messages in force.
  const atNextCallback = await new Promise<number>((resolve) => setImmediate(() => resolve(posted.length)));
  assert.equal(atNextCallback, 1);
  assert.deepEqual(posted[0].msg, {
    t: "batch",
    msgs: [
      { t: "a", n: 1 },
      { t: "b", buf },
      { t: "a", n: 2 },
    ],
  });
  assert.deepEqual(posted[0].transfer, [buf], "the buffers handed over travel with the batch");
  const seen: number[] = [];
  eachMessage<Msg>(posted[0].msg, (m) => seen.push(m.t === "a" ? m.n : 0));
  assert.deepEqual(seen, [1, 0, 2]);
});

test("a single message is posted as itself, and each step posts once", async () => {
  const { posted, outbox } = recorder();
  outbox.push({ t: "a", n: 1 });
  await nextTurn();
  outbox.push({ t: "a", n: 2 });
  await nextTurn();
  assert.deepEqual(
    posted.map((p) => p.msg),
    [
      { t: "a", n: 1 },
      { t: "a", n: 2 },
    ],
  );
  const seen: number[] = [];
  eachMessage<Msg>(posted[1].msg, (m) => seen.push(m.t === "a" ? m.n : 0));
  assert.deepEqual(seen, [2]);
});

test("flush() posts what is queued at once, and the step's end then posts nothing more", async () => {
  const { posted, outbox } = recorder();
  outbox.push({ t: "a", n: 1 });
  outbox.push({ t: "a", n: 2 });
  outbox.flush();
  assert.equal(posted.length, 1);
  outbox.push({ t: "a", n: 3 });
  await nextTurn();
  assert.deepEqual(
    posted.map((p) => p.msg),
    [
      {
        t: "batch",
        msgs: [
          { t: "a", n: 1 },
          { t: "a", n: 2 },
        ],
      },
      { t: "a", n: 3 },
    ],
  );
  await nextTurn();
  assert.equal(posted.length, 2);
});
