import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { decodeMp3, looksLikeMp3 } from "./mp3.ts";
import { AudioTooLong, UnsupportedAudio } from "./unsupported-audio.ts";

// A 1 s 1 kHz tone, 2 channels, encoded by lame 3.100 at 32 kbit/s (which
// picked 16 kHz, MPEG-2 Layer III), with an ID3v2.3 tag in front.
const MP3 = readFileSync(new URL("./fixtures/tone-1khz.mp3", import.meta.url));

function tagLength(bytes: Uint8Array): number {
  return ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]) + 10;
}

test("the fixture decodes at its own rate, to a 1 kHz tone", async () => {
  const out = await decodeMp3(MP3);
  assert.equal(out.sampleRate, 16000);
  assert.equal(out.decodeErrors, 0);
  assert.ok(out.samples.length >= 16000 && out.samples.length < 18000, `${out.samples.length} samples`);
  // Count the zero crossings over the middle of the tone.
  let crossings = 0;
  for (let i = 4001; i < 12000; i++) if (out.samples[i - 1] < 0 !== out.samples[i] < 0) crossings++;
  const hz = (crossings / 2) * (16000 / 7999);
  assert.ok(Math.abs(hz - 1000) < 10, `${hz} Hz`);
});

test("looksLikeMp3: an ID3 tag, or two frame headers one frame apart", () => {
  assert.ok(looksLikeMp3(MP3));
  const bare = MP3.subarray(tagLength(MP3));
  assert.ok(looksLikeMp3(bare));
  // MPEG-2 Layer III, 32 kbit/s, 16 kHz, no padding: 72 * 32000 / 16000 = 144 bytes.
  assert.deepEqual([...bare.subarray(0, 2)], [0xff, 0xf3]);
  assert.deepEqual([...bare.subarray(144, 146)], [0xff, 0xf3]);
  // A lone sync word followed by something other than a second frame is chance.
  const chance = Buffer.concat([bare.subarray(0, 4), Buffer.alloc(400, 0x41)]);
  assert.equal(looksLikeMp3(chance), false);
  assert.equal(looksLikeMp3(Buffer.from([0xff, 0xfe, 0x00, 0x00])), false, "reserved layer");
  assert.equal(looksLikeMp3(Buffer.from("RIFF....WAVEfmt ")), false);
  assert.equal(looksLikeMp3(Buffer.from("ID3\x09\0\0\0\0\0\0")), false, "no such ID3 version");
  assert.equal(looksLikeMp3(Buffer.alloc(0)), false);
});

test("junk gives UnsupportedAudio, and mpg123's complaints stay off the console", async () => {
  const original = console.error;
  const printed: unknown[] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    await assert.rejects(decodeMp3(Buffer.from("no frames here ".repeat(500))), UnsupportedAudio);
  } finally {
    console.error = original;
  }
  assert.deepEqual(printed, []);
  assert.equal(console.error, original);
});

test("decoding stops past maxSeconds", async () => {
  await assert.rejects(decodeMp3(MP3, 0.25), (err: unknown) => {
    assert.ok(err instanceof AudioTooLong);
    assert.ok(err.seconds > 0.25);
    return true;
  });
});
