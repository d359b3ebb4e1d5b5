import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readWav } from "../../../src/media/codec/wav.ts";
import { encodeWav, floatToInt16, mixToMono, pcmToWav, resample } from "./wav.ts";

const sine = (hz: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float32Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate),
  );

/** The power of `hz` in `x` (a single-bin DFT), relative to the signal's whole power. */
function share(x: Float32Array, hz: number, rate: number): number {
  let re = 0;
  let im = 0;
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos((2 * Math.PI * hz * i) / rate);
    im += x[i] * Math.sin((2 * Math.PI * hz * i) / rate);
    total += x[i] * x[i];
  }
  return total === 0 ? 0 : (2 * (re * re + im * im)) / x.length / total;
}

describe("the WAV the console uploads", () => {
  test("the RIFF header: PCM, mono, 16-bit, the rate and the sizes", () => {
    const wav = encodeWav(Int16Array.from([0, 1, -1, 32767, -32768]), 8000);
    const v = new DataView(wav.buffer);
    const text = (at: number) => String.fromCharCode(...wav.subarray(at, at + 4));
    assert.equal(wav.length, 44 + 10);
    assert.equal(text(0), "RIFF");
    assert.equal(v.getUint32(4, true), 36 + 10);
    assert.equal(text(8), "WAVE");
    assert.equal(text(12), "fmt ");
    assert.equal(v.getUint32(16, true), 16);
    assert.equal(v.getUint16(20, true), 1, "PCM");
    assert.equal(v.getUint16(22, true), 1, "mono");
    assert.equal(v.getUint32(24, true), 8000);
    assert.equal(v.getUint32(28, true), 16000, "bytes per second");
    assert.equal(v.getUint16(32, true), 2, "block align");
    assert.equal(v.getUint16(34, true), 16, "bits");
    assert.equal(text(36), "data");
    assert.equal(v.getUint32(40, true), 10);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => v.getInt16(44 + 2 * i, true)),
      [0, 1, -1, 32767, -32768],
    );
  });

  test("the server's own WAV reader reads it back", () => {
    const samples = floatToInt16(sine(440, 16000, 0.25));
    const read = readWav(Buffer.from(encodeWav(samples, 16000)));
    assert.equal(read.sampleRate, 16000);
    assert.deepEqual(Array.from(read.samples), Array.from(samples));
  });

  test("samples: -1..1 to 16-bit, clipped", () => {
    assert.deepEqual(
      Array.from(floatToInt16(Float32Array.from([0, 1, -1, 0.5, 2, -3]))),
      [0, 32767, -32768, 16384, 32767, -32768],
    );
  });

  test("channels are averaged into one", () => {
    const out = mixToMono([Float32Array.from([1, 0.5]), Float32Array.from([0, -0.5])]);
    assert.deepEqual(Array.from(out), [0.5, 0]);
    assert.equal(mixToMono([]).length, 0);
    const one = Float32Array.from([0.25]);
    assert.equal(mixToMono([one]), one);
  });

  test("resampling keeps the tone, the length and a constant level", () => {
    const tone = resample(sine(1000, 48000, 0.5), 48000, 8000);
    assert.equal(tone.length, 4000);
    assert.ok(share(tone, 1000, 8000) > 0.95, "1 kHz stays 1 kHz");
    const up = resample(sine(300, 8000, 0.2), 8000, 16000);
    assert.equal(up.length, 3200);
    assert.ok(share(up, 300, 16000) > 0.95);
    const dc = resample(new Float32Array(4800).fill(0.25), 48000, 16000);
    for (const v of dc) assert.ok(Math.abs(v - 0.25) < 1e-6);
    assert.throws(() => resample(new Float32Array(1), 0, 8000), RangeError);
  });

  test("downsampling does not fold high tones back into the band (anti-aliasing)", () => {
    // 7 kHz at 48 kHz, taken to 8 kHz, would alias to 1 kHz without a filter.
    const out = resample(sine(7000, 48000, 0.5), 48000, 8000);
    const energy = out.reduce((s, v) => s + v * v, 0) / out.length;
    assert.ok(energy < 0.001, `little is left of a tone above 4 kHz: ${energy}`);
  });

  test("a stereo 48 kHz recording becomes a mono 8 kHz WAV", () => {
    const left = sine(500, 48000, 0.3);
    const wav = pcmToWav([left, left], 48000, 8000);
    const read = readWav(Buffer.from(wav));
    assert.equal(read.sampleRate, 8000);
    assert.equal(read.samples.length, 2400);
    const peak = read.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    assert.ok(peak > 15000 && peak < 17500, `the level is kept: ${peak}`);
  });
});
