import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dtmfFrequencies, dtmfTone, toneSamples } from "./tone.ts";

/** Amplitude of the component at `freq` (single-bin DFT). */
function amplitudeAt(x: Int16Array, freq: number, rate = 8000): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im -= x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

describe("tones", () => {
  it("maps digits to the Q.23 pairs", () => {
    assert.deepEqual(dtmfFrequencies("1"), [697, 1209]);
    assert.deepEqual(dtmfFrequencies("5"), [770, 1336]);
    assert.deepEqual(dtmfFrequencies("9"), [852, 1477]);
    assert.deepEqual(dtmfFrequencies("0"), [941, 1336]);
    assert.deepEqual(dtmfFrequencies("*"), [941, 1209]);
    assert.deepEqual(dtmfFrequencies("#"), [941, 1477]);
    assert.deepEqual(dtmfFrequencies("d"), [941, 1633]);
    assert.equal(dtmfFrequencies("E"), undefined);
  });

  it("makes a digit as the sum of its two sines at the asked amplitude", () => {
    const x = dtmfTone("6", 1000);
    assert.equal(x.length, 8000);
    assert.ok(Math.abs(amplitudeAt(x, 770) - 0.3 * 32767) < 100);
    assert.ok(Math.abs(amplitudeAt(x, 1477) - 0.3 * 32767) < 100);
    assert.ok(amplitudeAt(x, 697) < 300);
    assert.ok(amplitudeAt(x, 1336) < 300);
    assert.throws(() => dtmfTone("x", 100), RangeError);
  });

  it("makes a 250 ms record beep at 1000 Hz at other rates", () => {
    const beep = toneSamples([1000], 250, 16000, 0.5);
    assert.equal(beep.length, 4000);
    assert.ok(Math.abs(amplitudeAt(beep, 1000, 16000) - 0.5 * 32767) < 50);
    assert.ok(Math.max(...beep) <= 32767 && Math.min(...beep) >= -32768);
  });
});
