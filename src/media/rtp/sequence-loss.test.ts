import assert from "node:assert/strict";
import { test } from "node:test";
import { SequenceLoss } from "./sequence-loss.ts";

function feed(loss: SequenceLoss, ssrc: number, seqs: number[]): void {
  for (const s of seqs) loss.packet(ssrc, s);
}

test("nothing lost when every packet comes, in order", () => {
  const l = new SequenceLoss();
  feed(l, 1, [100, 101, 102, 103]);
  assert.equal(l.lost, 0);
});

test("a gap counts the missing packets; a late one that arrives after all takes one back", () => {
  const l = new SequenceLoss();
  feed(l, 1, [10, 11, 14, 15]);
  assert.equal(l.lost, 2);
  l.packet(1, 12);
  assert.equal(l.lost, 1);
});

test("the sequence number wraps past 65535 without a loss", () => {
  const l = new SequenceLoss();
  feed(l, 7, [65533, 65534, 65535, 0, 1, 3]);
  assert.equal(l.lost, 1);
});

test("a new SSRC starts a new count and keeps the old one's losses", () => {
  const l = new SequenceLoss();
  feed(l, 1, [1, 2, 5]);
  feed(l, 2, [40000, 40001, 40003]);
  assert.equal(l.lost, 3);
});

test("a jump beyond the dropout limit is a restarted sender, not thousands lost", () => {
  const l = new SequenceLoss();
  feed(l, 1, [100, 101, 20000, 20001]);
  assert.equal(l.lost, 0);
});

test("duplicates never make the count negative", () => {
  const l = new SequenceLoss();
  feed(l, 1, [5, 5, 5, 6]);
  assert.equal(l.lost, 0);
});
