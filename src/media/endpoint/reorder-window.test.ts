import assert from "node:assert/strict";
import { test } from "node:test";
import { ReorderWindow } from "./reorder-window.ts";

function collect(w: ReorderWindow): string[] {
  const out: string[] = [];
  w.onFrame = (bytes, offset, length, ts) => out.push(`${bytes[offset]}@${ts}/${length}`);
  w.onLoss = (n) => out.push(`lost/${n}`);
  return out;
}

function payload(seq: number, len = 3): Buffer {
  return Buffer.alloc(len, seq & 0xff);
}

test("in-order packets pass at once; reordered ones are put back; duplicates and late ones dropped", () => {
  const w = new ReorderWindow(4);
  const out = collect(w);
  const push = (seq: number) => w.push(seq, seq * 10, 7, payload(seq), 0, 3);
  push(1);
  assert.deepEqual(out, ["1@10/3"]);
  push(3);
  push(2);
  push(2);
  push(1);
  assert.deepEqual(out, ["1@10/3", "2@20/3", "3@30/3"]);
  assert.equal(w.duplicates, 0);
  assert.equal(w.late, 2);
  push(5);
  push(5);
  assert.equal(w.duplicates, 1);
  assert.equal(out.length, 3);
  // 4 never comes: when 8 arrives the window (4..7) is full, 4 is declared lost.
  push(6);
  push(7);
  push(8);
  assert.deepEqual(out.slice(3), ["lost/3", "5@50/3", "6@60/3", "7@70/3", "8@80/3"]);
  assert.equal(w.lost, 1);
});

test("wraps at 2^16, resyncs on a jump or a new SSRC, flush delivers what is held", () => {
  const w = new ReorderWindow(4);
  const out = collect(w);
  w.push(65534, 1, 1, payload(1), 0, 3);
  w.push(0, 3, 1, payload(3), 0, 3);
  w.push(65535, 2, 1, payload(2), 0, 3);
  assert.deepEqual(out, ["1@1/3", "2@2/3", "3@3/3"]);
  // A jump of thousands is a restarted stream, not 5000 lost packets.
  w.push(5000, 9, 1, payload(9), 0, 3);
  assert.deepEqual(out.at(-1), "9@9/3");
  assert.equal(w.lost, 0);
  w.push(5002, 11, 1, payload(11), 0, 3);
  w.flush();
  assert.deepEqual(out.slice(-2), ["lost/3", "11@11/3"]);
  // A new SSRC starts its own sequence space.
  w.push(17, 100, 2, payload(100), 0, 3);
  assert.equal(out.at(-1), "100@100/3");
  w.push(16, 99, 2, payload(99), 0, 3);
  assert.equal(w.late, 1);
});

test("payloads are copied (the socket may reuse its buffer) and clipped to the slot", () => {
  const w = new ReorderWindow(2, 8);
  const got: number[][] = [];
  w.onFrame = (bytes, offset, length) => got.push([...bytes.subarray(offset, offset + length)]);
  const buf = Buffer.from([9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  w.push(2, 0, 5, buf, 2, 10);
  w.push(1, 0, 5, buf, 0, 1); // late: dropped
  w.push(4, 0, 5, buf, 2, 2);
  buf.fill(0);
  w.push(3, 0, 5, Buffer.from([42]), 0, 1);
  assert.deepEqual(got, [[1, 2, 3, 4, 5, 6, 7, 8], [42], [1, 2]]);
});
