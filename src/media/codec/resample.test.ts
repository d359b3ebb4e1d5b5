import assert from "node:assert/strict";
import { test } from "node:test";
import { resample } from "./resample.ts";

function sine(freq: number, rate: number, seconds: number, amplitude = 10000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** RMS of the middle part, away from the edges where the filter sees silence. */
function rms(samples: Int16Array): number {
  const from = Math.floor(samples.length * 0.2);
  const to = Math.floor(samples.length * 0.8);
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / (to - from));
}

const db = (ratio: number) => 20 * Math.log10(ratio);

for (const from of [22050, 44100, 48000, 16000]) {
  test(`a 1 kHz tone keeps its level from ${from} Hz to 8 kHz`, () => {
    const input = sine(1000, from, 0.5);
    const out = resample(input, from, 8000);
    assert.ok(Math.abs(out.length - (input.length * 8000) / from) <= 1, `length ${out.length}`);
    const change = db(rms(out) / rms(input));
    assert.ok(Math.abs(change) < 1, `level changed by ${change.toFixed(2)} dB`);
  });
}

test("a 5 kHz tone at 22050 Hz is removed, not folded to 3 kHz", () => {
  const input = sine(5000, 22050, 0.5);
  const out = resample(input, 22050, 8000);
  const attenuation = db(rms(input) / Math.max(rms(out), 1e-9));
  assert.ok(attenuation >= 40, `only ${attenuation.toFixed(1)} dB`);
});

test("a 4.6 kHz tone at 48 kHz is removed too", () => {
  const input = sine(4600, 48000, 0.3);
  const out = resample(input, 48000, 8000);
  assert.ok(db(rms(input) / Math.max(rms(out), 1e-9)) >= 40);
});

test("upsampling 8 kHz to 16 kHz keeps a 1 kHz tone and doubles the length", () => {
  const input = sine(1000, 8000, 0.5);
  const out = resample(input, 8000, 16000);
  assert.equal(out.length, input.length * 2);
  assert.ok(Math.abs(db(rms(out) / rms(input))) < 1);
  // The interpolated signal is still a clean 1 kHz sine: compare with the ideal one.
  const ideal = sine(1000, 16000, 0.5);
  let err = 0;
  for (let i = 1000; i < 7000; i++) err += (out[i] - ideal[i]) ** 2;
  assert.ok(Math.sqrt(err / 6000) < 50);
});

test("same rate returns a copy, odd rates work, bad rates throw", () => {
  const input = sine(440, 8000, 0.1);
  const same = resample(input, 8000, 8000);
  assert.deepEqual(same, input);
  assert.notEqual(same, input);
  const odd = resample(sine(500, 11025, 0.2), 11025, 8000);
  assert.ok(Math.abs(odd.length - 0.2 * 8000) <= 1);
  assert.throws(() => resample(input, 0, 8000));
  assert.throws(() => resample(input, 8000, 8000.5));
  assert.equal(resample(new Int16Array(0), 22050, 8000).length, 0);
});
