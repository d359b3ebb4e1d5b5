import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import ESpeakNg from "espeak-ng";
import { decodeG711, encodeG711, type G711Codec } from "../codec/g711.ts";
import { InbandDtmfDetector } from "./goertzel.ts";
import { dtmfFrequencies, toneSamples } from "./tone.ts";

const ALL = "0123456789*#ABCD";

/** Deterministic noise so a failure can be replayed. */
function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Amplitude of a sine at `dbm0` (full scale is +3.17 dBm0 in G.711). */
function amplitude(dbm0: number): number {
  return 32767 * 10 ** ((dbm0 - 3.17) / 20);
}

interface KeyOptions {
  dbm0?: number;
  toneMs?: number;
  gapMs?: number;
  deviation?: number;
  /** High group minus low group, dB (negative: normal twist). */
  twistDb?: number;
}

function keys(digits: string, o: KeyOptions = {}): Float64Array {
  const a = amplitude(o.dbm0 ?? -25);
  const dev = 1 + (o.deviation ?? 0);
  const high = a * 10 ** ((o.twistDb ?? 0) / 20);
  const toneN = ((o.toneMs ?? 60) * 8000) / 1000;
  const gapN = ((o.gapMs ?? 60) * 8000) / 1000;
  const out = new Float64Array(digits.length * (toneN + gapN) + gapN);
  let at = gapN;
  for (const d of digits) {
    const [r, c] = dtmfFrequencies(d)!;
    for (let i = 0; i < toneN; i++) {
      const t = i / 8000;
      out[at + i] =
        a * Math.sin(2 * Math.PI * r * dev * t + d.charCodeAt(0)) +
        high * Math.sin(2 * Math.PI * c * dev * t);
    }
    at += toneN + gapN;
  }
  return out;
}

/** Adds white noise `snrDb` below the level of one tone at `dbm0`. */
function addNoise(x: Float64Array, dbm0: number, snrDb: number, seed = 7): Float64Array {
  const g = gaussian(seed);
  const rms = (amplitude(dbm0) / Math.SQRT2) * 10 ** (-snrDb / 20);
  return x.map((v) => v + rms * g());
}

/** Through a G.711 channel: clip to 16 bits, encode, decode. */
function g711(x: Float64Array, codec: G711Codec): Int16Array {
  const pcm = Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  const bytes = new Uint8Array(pcm.length);
  encodeG711(codec, pcm, bytes);
  const out = new Int16Array(pcm.length);
  decodeG711(codec, bytes, out);
  return out;
}

/** Feeds `x` in 20 ms RTP-sized chunks. */
function detect(x: Int16Array, chunk = 160): string {
  const det = new InbandDtmfDetector();
  let got = "";
  for (let i = 0; i < x.length; i += chunk) got += det.push(x, i, Math.min(chunk, x.length - i)).join("");
  return got;
}

/** espeak-ng WAV (22050 Hz mono 16-bit) → crude 8 kHz samples (nearest neighbour). */
async function speech(voice: string, text: string): Promise<Float64Array> {
  const es = await ESpeakNg({ arguments: ["-v", voice, "-w", "/out.wav", text] });
  const wav: Uint8Array = es.FS.readFile("/out.wav");
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const rate = view.getUint32(24, true);
  let off = 12;
  while (off + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(off, off + 4));
    const size = view.getUint32(off + 4, true);
    if (id === "data") {
      const n = Math.min(size, wav.length - off - 8) >> 1;
      const out = new Float64Array(Math.floor((n * 8000) / rate));
      for (let i = 0; i < out.length; i++)
        out[i] = view.getInt16(off + 8 + 2 * Math.floor((i * rate) / 8000), true);
      return out;
    }
    off += 8 + size + (size & 1);
  }
  throw new Error("no data chunk in espeak output");
}

describe("InbandDtmfDetector", () => {
  for (const codec of ["PCMU", "PCMA"] as const) {
    it(`detects all 16 digits at -25 dBm0 through ${codec} with noise at 20 dB SNR`, () => {
      assert.equal(detect(g711(addNoise(keys(ALL), -25, 20), codec)), ALL);
    });
  }

  it("detects loud and quiet keys, off frequency by 1.5% with twist (Q.24 limits)", () => {
    const cases: KeyOptions[] = [
      { dbm0: -3, deviation: 0.015, twistDb: 0 },
      { dbm0: -10, deviation: 0.015, twistDb: -7 },
      { dbm0: -10, deviation: -0.015, twistDb: -7 },
      { dbm0: -30, deviation: -0.015, twistDb: 3.5 },
      { dbm0: -30, deviation: 0.015, twistDb: 3.5 },
    ];
    for (const c of cases) {
      assert.equal(detect(g711(addNoise(keys(ALL, c), c.dbm0!, 20), "PCMA")), ALL, JSON.stringify(c));
    }
  });

  it("accepts 45 ms tones and pauses but not 15 ms tones", () => {
    assert.equal(detect(g711(keys(ALL, { toneMs: 45, gapMs: 45 }), "PCMU")), ALL);
    assert.equal(detect(g711(keys(ALL, { toneMs: 15, gapMs: 60 }), "PCMU")), "");
  });

  it("reports a held key once and the same key again after a pause", () => {
    assert.equal(detect(g711(keys("5", { toneMs: 2000 }), "PCMU")), "5");
    assert.equal(detect(g711(keys("555", { toneMs: 80, gapMs: 50 }), "PCMU")), "555");
    // A 5 ms dropout inside a key press is not a pause.
    const x = keys("7", { toneMs: 300 });
    x.fill(0, 480 + 1200, 480 + 1240);
    assert.equal(detect(g711(x, "PCMU")), "7");
  });

  it("gives the same digits whatever the chunk size", () => {
    const x = g711(addNoise(keys("1397#", { toneMs: 70, gapMs: 50 }), -20, 25), "PCMA");
    for (const chunk of [1, 37, 80, 160, 240, 4096])
      assert.equal(detect(x, chunk), "1397#", `chunk ${chunk}`);
  });

  it("rejects tones too weak or too twisted", () => {
    assert.equal(detect(g711(keys(ALL, { dbm0: -50 }), "PCMU")), "");
    assert.equal(detect(g711(keys(ALL, { twistDb: -16 }), "PCMU")), "");
    assert.equal(detect(g711(keys(ALL, { twistDb: 9 }), "PCMU")), "");
  });

  it("rejects a single tone of the pair", () => {
    const x = toneSamples([770], 500);
    assert.equal(detect(x), "");
  });

  describe("talk-off", () => {
    let voices: Float64Array[] = [];
    before(async () => {
      voices = [
        await speech(
          "fr",
          "Bonjour, vous êtes bien chez Acme, veuillez patienter. Un, deux, trois, quatre, cinq.",
        ),
        await speech(
          "de",
          "Grüezi mitenand, Sie sind mit der Firma Acme verbunden. Bitte warten Sie einen Moment.",
        ),
      ];
    });

    it("reports nothing on speech at several levels", () => {
      assert.ok(voices.every((v) => v.length > 8000));
      for (const v of voices) {
        for (const gain of [0.25, 1, 1.6]) {
          assert.equal(
            detect(
              g711(
                addNoise(
                  v.map((s) => s * gain),
                  -40,
                  0,
                ),
                "PCMU",
              ),
            ),
            "",
            `gain ${gain}`,
          );
        }
      }
    });

    it("reports nothing on white noise", () => {
      for (const dbm0 of [-40, -20, -5]) {
        assert.equal(
          detect(g711(addNoise(new Float64Array(16000), dbm0, 0, dbm0 + 100), "PCMA")),
          "",
          `${dbm0}`,
        );
      }
    });

    it("reports nothing on chords of musical notes with harmonics", () => {
      // Notes (Hz) of triads and tetrads, each with 2nd and 3rd harmonics
      // like an instrument; some harmonics fall near DTMF frequencies
      // (F4 → 698 Hz) without a matching partner tone.
      const chords = [
        [261.63, 329.63, 392.0],
        [349.23, 440.0, 523.25],
        [440.0, 554.37, 659.25, 880.0],
        [293.66, 369.99, 440.0, 587.33],
        [196.0, 246.94, 293.66, 392.0],
      ];
      const parts: Int16Array[] = [];
      for (const chord of chords) {
        const freqs: number[] = [];
        for (const f of chord) freqs.push(f, 2 * f, 3 * f);
        parts.push(toneSamples(freqs, 400, 8000, 0.06));
      }
      const music = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        music.set(p, at);
        at += p.length;
      }
      assert.equal(detect(g711(music, "PCMU")), "");
    });
  });
});
