import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  AudioTooLong,
  DEFAULT_MAX_SECONDS,
  decodeAudio,
  detectAudioFormat,
  TELEPHONE_SAMPLE_RATE,
  UnsupportedAudio,
} from "./audio-decode.ts";
import { writeWav } from "./wav.ts";

const MP3 = readFileSync(new URL("./fixtures/tone-1khz.mp3", import.meta.url));

/** A WAV file built by hand from interleaved frames, so every encoding the decoder takes can be made. */
function wavFile(format: number, channels: number, rate: number, bits: number, data: Buffer): Buffer {
  const blockAlign = (channels * bits) / 8;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8, "latin1");
  header.write("fmt ", 12, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bits, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** `seconds` of a sine at `freq` and `amplitude` (of full scale), per channel a function of the sample index. */
function sine(rate: number, seconds: number, freq: number, amplitude = 0.5): Float64Array {
  const out = new Float64Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** The dominant frequency by zero crossings over the middle of the signal (the edges ramp). */
function frequency(samples: Int16Array, rate: number): number {
  const from = Math.floor(samples.length * 0.1);
  const to = Math.floor(samples.length * 0.9);
  let crossings = 0;
  for (let i = from + 1; i < to; i++) {
    if (samples[i - 1] < 0 !== samples[i] < 0) crossings++;
  }
  return (crossings / 2) * (rate / (to - from));
}

function peak(samples: Int16Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}

// ITU-T G.711 compression of a 16-bit sample (the inverse of the reader's expansion).
function ulaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(32635, Math.abs(sample)) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  magnitude = sign | (exponent << 4) | mantissa;
  return ~magnitude & 0xff;
}

function alaw(sample: number): number {
  const sign = sample >= 0 ? 0x80 : 0;
  const magnitude = Math.min(32767, Math.abs(sample)) >> 3;
  let byte: number;
  if (magnitude < 32) byte = magnitude >> 1;
  else {
    let exponent = 1;
    while (magnitude >> (exponent + 5) > 0 && exponent < 7) exponent++;
    byte = (exponent << 4) | ((magnitude >> exponent) & 0x0f);
  }
  return (byte | sign) ^ 0x55;
}

test("a 44.1 kHz stereo WAV becomes 8 kHz mono, its tone kept", async () => {
  const left = sine(44100, 1, 1000);
  const data = Buffer.alloc(left.length * 4);
  for (let i = 0; i < left.length; i++) {
    data.writeInt16LE(Math.round(left[i] * 32767), i * 4);
    data.writeInt16LE(Math.round(left[i] * 32767), i * 4 + 2);
  }
  const out = await decodeAudio(wavFile(1, 2, 44100, 16, data), "audio/wav");
  assert.equal(out.sampleRate, TELEPHONE_SAMPLE_RATE);
  assert.ok(Math.abs(out.samples.length - 8000) <= 1, `${out.samples.length} samples`);
  assert.ok(Math.abs(frequency(out.samples, 8000) - 1000) < 10);
  assert.ok(Math.abs(peak(out.samples) - 16384) < 400, `peak ${peak(out.samples)}`);
});

test("stereo is mixed down by averaging the channels", async () => {
  const tone = sine(8000, 0.5, 500);
  const data = Buffer.alloc(tone.length * 4);
  for (let i = 0; i < tone.length; i++) {
    // Opposite phases cancel; a mixdown that kept one channel would not.
    data.writeInt16LE(Math.round(tone[i] * 32767), i * 4);
    data.writeInt16LE(-Math.round(tone[i] * 32767), i * 4 + 2);
  }
  const out = await decodeAudio(wavFile(1, 2, 8000, 16, data));
  assert.ok(peak(out.samples) <= 1);
});

test("8-bit unsigned, 24-bit and 32-bit float WAVs decode to the same tone", async () => {
  const tone = sine(16000, 0.5, 1000);
  const u8 = Buffer.alloc(tone.length);
  const s24 = Buffer.alloc(tone.length * 3);
  const f32 = Buffer.alloc(tone.length * 4);
  for (let i = 0; i < tone.length; i++) {
    u8[i] = Math.round(tone[i] * 127) + 128;
    s24.writeIntLE(Math.round(tone[i] * 8388607), i * 3, 3);
    f32.writeFloatLE(tone[i], i * 4);
  }
  for (const [name, file] of [
    ["8-bit", wavFile(1, 1, 16000, 8, u8)],
    ["24-bit", wavFile(1, 1, 16000, 24, s24)],
    ["float", wavFile(3, 1, 16000, 32, f32)],
  ] as const) {
    const out = await decodeAudio(file, "application/octet-stream");
    assert.equal(out.samples.length, 4000, name);
    assert.ok(Math.abs(frequency(out.samples, 8000) - 1000) < 10, name);
    assert.ok(Math.abs(peak(out.samples) - 16384) < 600, `${name}: peak ${peak(out.samples)}`);
  }
});

test("G.711 µ-law and A-law WAVs (format codes 7 and 6) decode", async () => {
  const tone = sine(8000, 0.5, 1000);
  const mu = Buffer.alloc(tone.length);
  const a = Buffer.alloc(tone.length);
  for (let i = 0; i < tone.length; i++) {
    mu[i] = ulaw(Math.round(tone[i] * 32767));
    a[i] = alaw(Math.round(tone[i] * 32767));
  }
  for (const [name, file] of [
    ["µ-law", wavFile(7, 1, 8000, 8, mu)],
    ["A-law", wavFile(6, 1, 8000, 8, a)],
  ] as const) {
    const out = await decodeAudio(file);
    assert.equal(out.samples.length, 4000, name);
    assert.ok(Math.abs(frequency(out.samples, 8000) - 1000) < 10, name);
    assert.ok(Math.abs(peak(out.samples) - 16384) < 1200, `${name}: peak ${peak(out.samples)}`);
  }
});

test("an MP3 with an ID3 tag decodes to its 1 kHz tone at 8 kHz, labelled or not", async () => {
  for (const type of [undefined, "application/octet-stream", "audio/mpeg", "audio/wav"]) {
    const out = await decodeAudio(MP3, type);
    assert.equal(out.sampleRate, 8000);
    // lame's encoder delay and padding lengthen the 1 s tone a little.
    assert.ok(out.samples.length >= 8000 && out.samples.length < 9000, `${type}: ${out.samples.length}`);
    assert.ok(
      Math.abs(frequency(out.samples, 8000) - 1000) < 10,
      `${type}: ${frequency(out.samples, 8000)} Hz`,
    );
    assert.ok(peak(out.samples) > 10000);
  }
});

test("an MP3 without a tag is recognised by its frame header", async () => {
  // ID3v2 size: four 7-bit bytes after the 6-byte header, plus the 10-byte header itself.
  const tagSize = ((MP3[6] << 21) | (MP3[7] << 14) | (MP3[8] << 7) | MP3[9]) + 10;
  const bare = MP3.subarray(tagSize);
  assert.equal(bare[0], 0xff);
  assert.equal(detectAudioFormat(bare), "mp3");
  const out = await decodeAudio(Buffer.from(bare));
  assert.ok(Math.abs(frequency(out.samples, 8000) - 1000) < 10);
});

test("the bytes' signature wins over a wrong label; the label decides for unsigned bytes", () => {
  const wav = writeWav(new Int16Array(100), 8000);
  assert.equal(detectAudioFormat(wav, "audio/mpeg"), "wav");
  assert.equal(detectAudioFormat(MP3, "audio/x-wav"), "mp3");
  const junk = Buffer.from("just some text, not audio at all");
  assert.equal(detectAudioFormat(junk), undefined);
  assert.equal(detectAudioFormat(junk, "Audio/MPEG; charset=binary"), "mp3");
  assert.equal(detectAudioFormat(junk, "audio/wav"), "wav");
  assert.equal(detectAudioFormat(junk, "audio/ogg"), undefined);
});

test("empty, unknown and undecodable input is UnsupportedAudio with a message for a person", async () => {
  const junk = Buffer.from("just some text, not audio at all ".repeat(40));
  const cases: Array<[Buffer, string | undefined, RegExp]> = [
    [Buffer.alloc(0), "audio/wav", /empty/],
    [junk, undefined, /neither WAV nor MP3/],
    [junk, "application/octet-stream", /neither WAV nor MP3/],
    [junk, "audio/ogg", /"audio\/ogg" is not a supported audio type/],
    [junk, "audio/wav", /WAV file cannot be read: not a RIFF WAVE file/],
    [junk, "audio/mpeg", /MP3 file holds no audio/],
    [Buffer.from("RIFF\0\0\0\0WAVE"), undefined, /no fmt chunk/],
    [wavFile(0x55, 1, 8000, 16, Buffer.alloc(100)), undefined, /unsupported WAV encoding/],
    [wavFile(1, 1, 8000, 16, Buffer.alloc(0)), undefined, /WAV file holds no audio/],
  ];
  for (const [bytes, type, message] of cases) {
    await assert.rejects(decodeAudio(bytes, type), (err: unknown) => {
      assert.ok(err instanceof UnsupportedAudio, String(err));
      assert.match(err.message, message);
      return true;
    });
  }
});

test("audio longer than maxSeconds is AudioTooLong, WAV and MP3 alike", async () => {
  const wav = writeWav(new Int16Array(8000 * 3), 8000);
  await assert.rejects(decodeAudio(wav, undefined, { maxSeconds: 2 }), (err: unknown) => {
    assert.ok(err instanceof AudioTooLong);
    assert.ok(err instanceof UnsupportedAudio);
    assert.equal(err.maxSeconds, 2);
    assert.equal(Math.round(err.seconds), 3);
    return true;
  });
  await assert.rejects(decodeAudio(MP3, "audio/mpeg", { maxSeconds: 0.5 }), AudioTooLong);
  assert.equal((await decodeAudio(wav, undefined, { maxSeconds: 3 })).samples.length, 8000 * 3);
  assert.equal(DEFAULT_MAX_SECONDS, 1200);
});
