// How much of a recording is sound rather than line noise: a message of
// less than a second of sound is a hang-up after the beep, not a message.
// Judged like the recorder judges silence (media/endpoint/recorder.ts):
// energy per 20 ms frame against the same threshold.
import { SILENCE_RMS } from "../../media/endpoint/recorder.ts";

/** Frames are 20 ms long. */
const FRAME_MS = 20;

/** Milliseconds of `samples` (mono, at `sampleRate`) in 20 ms frames whose RMS reaches `threshold`. */
export function soundMs(samples: Int16Array, sampleRate: number, threshold = SILENCE_RMS): number {
  const frame = Math.max(1, Math.round((sampleRate * FRAME_MS) / 1000));
  const floor = threshold * threshold * frame;
  let loud = 0;
  for (let start = 0; start + frame <= samples.length; start += frame) {
    let energy = 0;
    for (let i = start; i < start + frame; i++) energy += samples[i] * samples[i];
    if (energy >= floor) loud++;
  }
  return loud * FRAME_MS;
}
