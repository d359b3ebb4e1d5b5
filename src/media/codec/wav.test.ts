import assert from "node:assert/strict";
import { test } from "node:test";
import { readWav, writeWav } from "./wav.ts";

/** Builds a WAV file by hand, so the reader is checked against the layout, not against writeWav. */
function wav(opts: {
  format: number;
  channels: number;
  rate: number;
  bits: number;
  data: Buffer;
  extensible?: boolean;
  extraChunks?: Buffer[];
}): Buffer {
  const blockAlign = (opts.channels * opts.bits) / 8;
  let fmt: Buffer;
  if (opts.extensible) {
    fmt = Buffer.alloc(40);
    fmt.writeUInt16LE(0xfffe, 0);
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(opts.bits, 18);
    fmt.writeUInt32LE(3, 20);
    fmt.writeUInt16LE(opts.format, 24);
    Buffer.from("000000001000800000aa00389b71", "hex").copy(fmt, 26);
  } else {
    fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(opts.format, 0);
  }
  fmt.writeUInt16LE(opts.channels, 2);
  fmt.writeUInt32LE(opts.rate, 4);
  fmt.writeUInt32LE(opts.rate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(opts.bits, 14);
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, "latin1");
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const body = Buffer.concat([
    Buffer.from("WAVE"),
    ...(opts.extraChunks ?? []),
    chunk("fmt ", fmt),
    chunk("data", opts.data),
  ]);
  const head = Buffer.alloc(8);
  head.write("RIFF", 0, "latin1");
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

test("writeWav then readWav round-trips 16-bit mono", () => {
  const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
  const file = writeWav(samples, 8000);
  assert.equal(file.length, 44 + 12);
  const back = readWav(file);
  assert.equal(back.sampleRate, 8000);
  assert.deepEqual(back.samples, samples);
});

test("16-bit stereo is mixed down, odd LIST chunk skipped", () => {
  const data = Buffer.alloc(8);
  data.writeInt16LE(1000, 0);
  data.writeInt16LE(3000, 2);
  data.writeInt16LE(-200, 4);
  data.writeInt16LE(-400, 6);
  const list = Buffer.concat([
    Buffer.from("LIST"),
    Buffer.from([3, 0, 0, 0]),
    Buffer.from("abc"),
    Buffer.alloc(1),
  ]);
  const decoded = readWav(wav({ format: 1, channels: 2, rate: 44100, bits: 16, data, extraChunks: [list] }));
  assert.equal(decoded.sampleRate, 44100);
  assert.deepEqual(Array.from(decoded.samples), [2000, -300]);
});

test("8-bit unsigned, 24-bit and 32-bit PCM", () => {
  assert.deepEqual(
    Array.from(
      readWav(wav({ format: 1, channels: 1, rate: 8000, bits: 8, data: Buffer.from([128, 255, 0]) })).samples,
    ),
    [0, 127 * 256, -32768],
  );
  const d24 = Buffer.alloc(6);
  d24.writeIntLE(0x123400, 0, 3);
  d24.writeIntLE(-0x800000, 3, 3);
  assert.deepEqual(
    Array.from(readWav(wav({ format: 1, channels: 1, rate: 48000, bits: 24, data: d24 })).samples),
    [0x1234, -32768],
  );
  const d32 = Buffer.alloc(4);
  d32.writeInt32LE(0x40000000, 0);
  assert.deepEqual(
    Array.from(readWav(wav({ format: 1, channels: 1, rate: 48000, bits: 32, data: d32 })).samples),
    [16384],
  );
});

test("IEEE float 32 and 64, clipped to 16 bits", () => {
  const f32 = Buffer.alloc(12);
  f32.writeFloatLE(0.5, 0);
  f32.writeFloatLE(-1, 4);
  f32.writeFloatLE(1.5, 8);
  assert.deepEqual(
    Array.from(readWav(wav({ format: 3, channels: 1, rate: 16000, bits: 32, data: f32 })).samples),
    [16384, -32768, 32767],
  );
  const f64 = Buffer.alloc(16);
  f64.writeDoubleLE(0.25, 0);
  f64.writeDoubleLE(-0.25, 8);
  // Stereo float 64 in a WAVE_FORMAT_EXTENSIBLE container, with a fact chunk in front.
  const fact = Buffer.concat([Buffer.from("fact"), Buffer.from([4, 0, 0, 0]), Buffer.alloc(4)]);
  const decoded = readWav(
    wav({ format: 3, channels: 2, rate: 48000, bits: 64, data: f64, extensible: true, extraChunks: [fact] }),
  );
  assert.deepEqual(Array.from(decoded.samples), [0]);
});

test("G.711 µ-law and A-law", () => {
  // µ-law 0xFF and A-law 0xD5 are the zero codes; 0x80 / 0xAA the loudest positive ones.
  const ulaw = readWav(
    wav({ format: 7, channels: 1, rate: 8000, bits: 8, data: Buffer.from([0xff, 0x80, 0x00]) }),
  );
  assert.deepEqual(Array.from(ulaw.samples), [0, 32124, -32124]);
  const alaw = readWav(
    wav({ format: 6, channels: 1, rate: 8000, bits: 8, data: Buffer.from([0xd5, 0xaa, 0x2a]) }),
  );
  assert.deepEqual(Array.from(alaw.samples), [8, 32256, -32256]);
});

test("a data chunk whose size runs past the end is read up to the end", () => {
  const file = writeWav(Int16Array.from([5, 6, 7]), 8000);
  file.writeUInt32LE(0xffffffff, 40);
  assert.deepEqual(Array.from(readWav(file).samples), [5, 6, 7]);
});

test("unsupported or broken files throw clear errors", () => {
  assert.throws(() => readWav(Buffer.from("hello world, not a wav")), /not a RIFF WAVE/);
  assert.throws(
    () => readWav(wav({ format: 2, channels: 1, rate: 8000, bits: 4, data: Buffer.alloc(4) })),
    /unsupported WAV encoding/,
  );
  assert.throws(
    () => readWav(wav({ format: 1, channels: 1, rate: 8000, bits: 12, data: Buffer.alloc(4) })),
    /block alignment|unsupported/,
  );
  const noData = writeWav(Int16Array.from([1]), 8000).subarray(0, 36);
  assert.throws(() => readWav(noData), /no data chunk/);
  assert.throws(() => readWav(Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE")])), /no fmt chunk/);
});
