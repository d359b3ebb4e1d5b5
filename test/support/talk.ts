// Two parties of a call hear each other: each plays a tone of its own, and
// each must receive the other's (correlated after the PBX's relay, and its
// decryption where a leg is encrypted).
import assert from "node:assert/strict";
import { correlate, sine } from "../harness/audio.ts";

export interface Talker {
  playAudio(pcm: Int16Array): Promise<void>;
  receivedPcm(): Int16Array;
}

export async function audioBothWays(a: Talker, b: Talker): Promise<void> {
  const toneA = sine(440, 600);
  const toneB = sine(1200, 600);
  await Promise.all([a.playAudio(toneA), b.playAudio(toneB)]);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(correlate(b.receivedPcm(), toneA).score > 0.9, "b hears a");
  assert.ok(correlate(a.receivedPcm(), toneB).score > 0.9, "a hears b");
}
