import assert from "node:assert/strict";
import { test } from "node:test";
import { activeRms, normalise, trimSilence } from "./levels.ts";

const dbfs = (rms: number) => 20 * Math.log10(rms / 32768);

function burst(amplitude: number, freq: number, samples: number, rate = 8000): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++)
    out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

test("normalise brings quiet and loud speech to the same level", () => {
  for (const amplitude of [300, 3000, 30000]) {
    // Speech with pauses: the pauses must not pull the measured level down.
    const signal = new Int16Array(8000);
    signal.set(burst(amplitude, 440, 2000), 1000);
    signal.set(burst(amplitude, 700, 2000), 5000);
    const out = normalise(signal);
    assert.ok(Math.abs(dbfs(activeRms(out)) - -16) < 0.5, `level ${dbfs(activeRms(out)).toFixed(2)} dBFS`);
    assert.equal(out[500], 0);
  }
});

test("normalise keeps peaks under the limit with a soft knee", () => {
  // A loud spike on quiet speech: raising the speech would clip the spike.
  const signal = burst(1000, 300, 16000);
  signal[8000] = 30000;
  const out = normalise(signal, -16, -1);
  const limit = 32768 * 10 ** (-1 / 20);
  assert.ok(Math.max(...out.map(Math.abs)) <= limit, "peak over the limit");
  assert.ok(dbfs(activeRms(out)) > -17, "level dropped because of one peak");
});

test("normalise leaves silence silent", () => {
  const quiet = new Int16Array(800);
  quiet[3] = 1;
  assert.deepEqual(normalise(quiet), quiet);
  assert.equal(normalise(new Int16Array(0)).length, 0);
});

test("trimSilence cuts the edges and keeps a margin", () => {
  const signal = new Int16Array(8000);
  signal.set(burst(5000, 440, 1600), 3200);
  const trimmed = trimSilence(signal, 8000, 40);
  assert.ok(Math.abs(trimmed.length - (1600 + 2 * 320)) <= 160, `length ${trimmed.length}`);
  assert.equal(trimSilence(new Int16Array(1000), 8000).length, 0);
});
