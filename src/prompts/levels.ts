// Level and edge handling so that every prompt, synthesised or uploaded,
// plays at the same loudness and can be concatenated without long gaps.
// Levels are in dBFS (0 dBFS = the RMS of a full-scale 16-bit square wave),
// measured over 160-sample frames (20 ms at the telephone's 8 kHz).

const FRAME = 160;
const FULL_SCALE = 32768;

function dbToLinear(db: number): number {
  return FULL_SCALE * 10 ** (db / 20);
}

function frameRms(samples: Int16Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i] * samples[i];
  return end > start ? Math.sqrt(sum / (end - start)) : 0;
}

/** RMS of the frames that carry speech: louder than -60 dBFS and within 40 dB of the loudest frame. */
export function activeRms(samples: Int16Array): number {
  const levels: number[] = [];
  for (let start = 0; start < samples.length; start += FRAME) {
    levels.push(frameRms(samples, start, Math.min(samples.length, start + FRAME)));
  }
  const loudest = Math.max(0, ...levels);
  const floor = Math.max(dbToLinear(-60), loudest / 100);
  let sum = 0;
  let count = 0;
  for (let f = 0; f < levels.length; f++) {
    if (levels[f] < floor) continue;
    const start = f * FRAME;
    const end = Math.min(samples.length, start + FRAME);
    for (let i = start; i < end; i++) sum += samples[i] * samples[i];
    count += end - start;
  }
  return count > 0 ? Math.sqrt(sum / count) : 0;
}

/**
 * Scales speech so its active RMS is `targetDbfs` (about -16 dBFS, where
 * speech sits well above G.711's quantisation noise yet leaves headroom),
 * then bends the rare peaks above `peakLimitDbfs - 6` under a tanh knee so
 * nothing exceeds `peakLimitDbfs`: a soft limiter rather than a lower gain,
 * so that a peaky voice is not played quieter than the others. Silence stays
 * silence (no gain is applied to a signal with no active frames).
 */
export function normalise(samples: Int16Array, targetDbfs = -16, peakLimitDbfs = -1): Int16Array {
  const out = new Int16Array(samples.length);
  const rms = activeRms(samples);
  if (rms < 1) {
    out.set(samples);
    return out;
  }
  const gain = dbToLinear(targetDbfs) / rms;
  const limit = Math.floor(Math.min(32767, dbToLinear(peakLimitDbfs)));
  const knee = dbToLinear(peakLimitDbfs - 6);
  const span = limit - knee;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i] * gain;
    const a = Math.abs(x);
    const y = a <= knee ? a : knee + span * Math.tanh((a - knee) / span);
    const r = Math.min(limit, Math.round(y));
    out[i] = x < 0 ? -r : r;
  }
  return out;
}

/**
 * Cuts leading and trailing silence (frames more than 40 dB under the
 * loudest one, or under -60 dBFS), keeping `marginMs` on each side so that
 * fragments joined one after the other sound like one sentence with natural
 * breaths, not a stutter and not a gap.
 */
export function trimSilence(samples: Int16Array, sampleRate = 8000, marginMs = 40): Int16Array {
  const frame = Math.max(1, Math.round(sampleRate / 100));
  const frames = Math.ceil(samples.length / frame);
  let loudest = 0;
  const levels = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    levels[f] = frameRms(samples, f * frame, Math.min(samples.length, (f + 1) * frame));
    if (levels[f] > loudest) loudest = levels[f];
  }
  const floor = Math.max(dbToLinear(-60), loudest / 100);
  let first = 0;
  while (first < frames && levels[first] < floor) first++;
  if (first === frames) return new Int16Array(0);
  let last = frames - 1;
  while (last > first && levels[last] < floor) last--;
  const margin = Math.round((sampleRate * marginMs) / 1000);
  const start = Math.max(0, first * frame - margin);
  const end = Math.min(samples.length, (last + 1) * frame + margin);
  return samples.slice(start, end);
}
