import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  alawToLinear,
  decodeAlaw,
  decodeG711,
  decodeUlaw,
  encodeAlaw,
  encodeG711,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  silenceByte,
  ulawToLinear,
} from "./g711.ts";

describe("G.711 µ-law", () => {
  it("decodes the segment ends of G.711 Table 2a", () => {
    assert.equal(ulawToLinear(0x00), -32124);
    assert.equal(ulawToLinear(0x80), 32124);
    assert.equal(ulawToLinear(0xff), 0);
    assert.equal(ulawToLinear(0x7f), 0);
    // Segment boundaries of the positive half (code 0x8F…0xF0 in transmitted form).
    assert.equal(ulawToLinear(0xf0), 120);
    assert.equal(ulawToLinear(0xef), 132);
    assert.equal(ulawToLinear(0xe0), 372);
    assert.equal(ulawToLinear(0x8f), 16764);
    assert.equal(ulawToLinear(0x70), -120);
  });

  it("round-trips every code word except negative zero", () => {
    for (let b = 0; b < 256; b++) {
      const back = linearToUlaw(ulawToLinear(b));
      assert.equal(back, b === 0x7f ? 0xff : b, `code 0x${b.toString(16)}`);
    }
  });

  it("is odd-symmetric: -x encodes to the code of x with the sign bit flipped", () => {
    for (let x = 1; x < 32768; x += 7) assert.equal(linearToUlaw(-x) ^ 0x80, linearToUlaw(x), `x=${x}`);
  });

  it("saturates and clamps out-of-range input", () => {
    assert.equal(linearToUlaw(32767), 0x80);
    assert.equal(linearToUlaw(-32768), 0x00);
    assert.equal(linearToUlaw(1e9), 0x80);
    assert.equal(linearToUlaw(-1e9), 0x00);
    assert.equal(linearToUlaw(Number.NaN), 0xff);
    assert.equal(ulawToLinear(0x1ff), ulawToLinear(0xff));
  });
});

describe("G.711 A-law", () => {
  it("decodes the reference values of G.711 Table 1a", () => {
    assert.equal(alawToLinear(0xd5), 8);
    assert.equal(alawToLinear(0x55), -8);
    assert.equal(alawToLinear(0x2a), -32256);
    assert.equal(alawToLinear(0xaa), 32256);
    // First codes of segments 1 and 2 (positive half).
    assert.equal(alawToLinear(0x10 ^ 0xd5), 264);
    assert.equal(alawToLinear(0x20 ^ 0xd5), 528);
  });

  it("round-trips every code word", () => {
    for (let b = 0; b < 256; b++) assert.equal(linearToAlaw(alawToLinear(b)), b, `code 0x${b.toString(16)}`);
  });

  it("saturates at the loudest code words", () => {
    assert.equal(linearToAlaw(32767), 0xaa);
    assert.equal(linearToAlaw(-32768), 0x2a);
    assert.equal(linearToAlaw(0), 0xd5);
  });
});

for (const [name, enc, dec] of [
  ["µ-law", linearToUlaw, ulawToLinear],
  ["A-law", linearToAlaw, alawToLinear],
] as const) {
  describe(`G.711 ${name} quantisation`, () => {
    it("is monotonic: a louder sample never decodes quieter", () => {
      let prev = Number.NEGATIVE_INFINITY;
      for (let x = -32768; x <= 32767; x++) {
        const y = dec(enc(x));
        assert.ok(y >= prev, `x=${x}: ${y} < ${prev}`);
        prev = y;
      }
    });

    it("stays within half a step of the segment plus the input truncation", () => {
      for (let x = -32000; x <= 32000; x++) {
        const y = dec(enc(x));
        // Step of the segment x falls in: 16-bit steps 8, 16, 32 … 1024 (µ-law) / 16 … 1024 (A-law).
        const mag = Math.abs(x);
        const step = Math.max(name === "µ-law" ? 8 : 16, 2 ** Math.floor(Math.log2(Math.max(1, mag))) / 16);
        assert.ok(Math.abs(y - x) <= step, `x=${x} y=${y} step=${step}`);
      }
    });

    it("keeps a sine above 35 dB signal-to-quantisation-noise", () => {
      let sig = 0;
      let noise = 0;
      for (let i = 0; i < 8000; i++) {
        const x = Math.round(10000 * Math.sin((2 * Math.PI * 1004 * i) / 8000));
        const e = dec(enc(x)) - x;
        sig += x * x;
        noise += e * e;
      }
      assert.ok(10 * Math.log10(sig / noise) > 35, `SNR ${10 * Math.log10(sig / noise)}`);
    });
  });
}

describe("G.711 bulk conversion", () => {
  const pcm = Int16Array.from({ length: 320 }, (_, i) => Math.round(20000 * Math.sin(i / 5)));

  it("encodes and decodes like the scalar functions, at an offset", () => {
    const u = new Uint8Array(330);
    encodeUlaw(pcm, u, 10);
    const a = new Uint8Array(320);
    encodeAlaw(pcm, a);
    for (let i = 0; i < pcm.length; i++) {
      assert.equal(u[10 + i], linearToUlaw(pcm[i]));
      assert.equal(a[i], linearToAlaw(pcm[i]));
    }
    const out = new Int16Array(160);
    decodeUlaw(u, out, 10 + 160, 160);
    for (let i = 0; i < 160; i++) assert.equal(out[i], ulawToLinear(u[170 + i]));
    decodeAlaw(a, out, 0, 160);
    for (let i = 0; i < 160; i++) assert.equal(out[i], alawToLinear(a[i]));
  });

  it("dispatches on the codec name", () => {
    for (const codec of ["PCMU", "PCMA"] as const) {
      const bytes = new Uint8Array(320);
      encodeG711(codec, pcm, bytes);
      const back = new Int16Array(320);
      decodeG711(codec, bytes, back);
      const scalarDec = codec === "PCMU" ? ulawToLinear : alawToLinear;
      for (let i = 0; i < 320; i++) assert.equal(back[i], scalarDec(bytes[i]));
    }
  });

  it("has the silence code word of each law", () => {
    assert.equal(silenceByte("PCMU"), 0xff);
    assert.equal(silenceByte("PCMA"), 0xd5);
    assert.equal(ulawToLinear(silenceByte("PCMU")), 0);
    assert.equal(Math.abs(alawToLinear(silenceByte("PCMA"))), 8);
  });

  it("refuses ranges that do not fit instead of writing past the end", () => {
    assert.throws(() => encodeUlaw(pcm, new Uint8Array(100)), RangeError);
    assert.throws(() => decodeUlaw(new Uint8Array(10), new Int16Array(10), 5, 10), RangeError);
    assert.throws(() => decodeAlaw(new Uint8Array(200), new Int16Array(100)), RangeError);
  });
});
