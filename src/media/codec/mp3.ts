// MP3 (MPEG-1/2/2.5 Layer III, and Layers I/II) decoding for uploaded
// announcements and music, through mpg123 compiled to WebAssembly
// (mpg123-decoder): a perceptual decoder is not ours to write, and mpg123
// resynchronises over damaged frames the way players do.
//
// Sniffing follows ISO/IEC 11172-3 §2.4.1.3 (the frame header: 11-bit sync,
// version, layer, bitrate and sampling-frequency indexes) and the ID3v2.3
// tag header ("ID3", version, flags, a 28-bit syncsafe size), which editors
// put in front of the first frame.
import { MPEGDecoder } from "mpg123-decoder";
import { AudioTooLong, UnsupportedAudio } from "./unsupported-audio.ts";

export interface DecodedMp3 {
  /** Mono 16-bit PCM at the file's own rate. */
  samples: Int16Array;
  sampleRate: number;
  /** Damaged stretches mpg123 skipped (a gap each); 0 for a sound file. */
  decodeErrors: number;
}

/** True when the bytes start with an ID3v2 tag or an MPEG audio frame header (followed by a second one when it fits). */
export function looksLikeMp3(bytes: Uint8Array): boolean {
  if (bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    // "ID3", major version 2..4, then the size in four 7-bit bytes.
    return bytes[3] >= 2 && bytes[3] <= 4 && (bytes[6] | bytes[7] | bytes[8] | bytes[9]) < 0x80;
  }
  const first = frameLength(bytes, 0);
  if (first === undefined) return false;
  // One header can be chance (any 0xFFEx..0xFFFx pair); a second one exactly
  // where the first frame ends cannot, unless the file is only one frame.
  if (first + 4 > bytes.length) return true;
  return frameLength(bytes, first) !== undefined;
}

// Bitrates in kbit/s by [version is MPEG-1][layer 1..3][index]; index 0 is
// "free format" and 15 is forbidden (§2.4.2.3).
const BITRATES: Record<"v1" | "v2", number[][]> = {
  v1: [
    [],
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  v2: [
    [],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
};
const SAMPLE_RATES = [44100, 48000, 32000];

/** The length in bytes of the frame whose header starts at `at`, or undefined when there is none there. */
function frameLength(bytes: Uint8Array, at: number): number | undefined {
  if (at + 4 > bytes.length) return undefined;
  const b1 = bytes[at + 1];
  const b2 = bytes[at + 2];
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 0x03; // 00 MPEG-2.5, 01 reserved, 10 MPEG-2, 11 MPEG-1
  const layerBits = (b1 >> 1) & 0x03; // 01 Layer III, 10 Layer II, 11 Layer I, 00 reserved
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0x03;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) {
    return undefined;
  }
  const layer = 4 - layerBits;
  const mpeg1 = versionBits === 3;
  const sampleRate = SAMPLE_RATES[rateIndex] / (versionBits === 3 ? 1 : versionBits === 2 ? 2 : 4);
  const bitrate = BITRATES[mpeg1 ? "v1" : "v2"][layer][bitrateIndex] * 1000;
  const padding = (b2 >> 1) & 0x01;
  if (layer === 1) return (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
  // Layer III of MPEG-2/2.5 has 576 samples per frame instead of 1152.
  const perFrame = layer === 3 && !mpeg1 ? 72 : 144;
  return Math.floor((perFrame * bitrate) / sampleRate) + padding;
}

/** Input fed to mpg123 per call: its own input buffer's size. */
const CHUNK_BYTES = 1 << 16;

/**
 * Decodes an MP3 file, a chunk at a time so that memory follows the audio
 * kept, not the audio the file could hold (20 MB at 8 kbit/s would be
 * hours): past `maxSeconds` it stops and throws AudioTooLong. Throws
 * UnsupportedAudio when mpg123 finds no audio. The work is synchronous
 * WebAssembly between the awaits.
 */
export async function decodeMp3(
  bytes: Uint8Array,
  maxSeconds = Number.POSITIVE_INFINITY,
): Promise<DecodedMp3> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const parts: Int16Array[] = [];
    let decodeErrors = 0;
    let firstError: string | undefined;
    let total = 0;
    let sampleRate = 0;
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      const decoded = quietly(() => decoder.decode(bytes.subarray(at, at + CHUNK_BYTES)));
      decodeErrors += decoded.errors.length;
      firstError ??= decoded.errors[0]?.message;
      if (decoded.samplesDecoded === 0) continue;
      if (sampleRate === 0) sampleRate = decoded.sampleRate;
      else if (decoded.sampleRate !== sampleRate) {
        throw new UnsupportedAudio(
          `the MP3 file changes its sample rate (${sampleRate} Hz, then ${decoded.sampleRate} Hz): export it again as one stream`,
        );
      }
      parts.push(mixDown(decoded.channelData, decoded.samplesDecoded));
      total += decoded.samplesDecoded;
      if (total > maxSeconds * sampleRate) throw new AudioTooLong(total / sampleRate, maxSeconds);
    }
    if (total === 0 || sampleRate === 0) {
      const why = firstError ? ` (mpg123: ${firstError})` : "";
      throw new UnsupportedAudio(`the MP3 file holds no audio that can be decoded${why}`);
    }
    const samples = new Int16Array(total);
    let offset = 0;
    for (const part of parts) {
      samples.set(part, offset);
      offset += part.length;
    }
    return { samples, sampleRate, decodeErrors };
  } finally {
    decoder.free();
  }
}

/** mpg123 always returns two channels (a mono file has them equal): their average, as 16-bit PCM. */
function mixDown(channels: Float32Array[], length: number): Int16Array {
  const [left, right = left] = channels;
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const v = Math.round(((left[i] + right[i]) / 2) * 32768);
    out[i] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}

/**
 * mpg123-decoder writes every frame error to console.error as well as
 * returning it; decodeMp3 counts them and names the first in its error.
 * decode() is synchronous, so nothing else runs on this thread while the
 * console is muted.
 */
function quietly<T>(run: () => T): T {
  const original = console.error;
  console.error = () => {};
  try {
    return run();
  } finally {
    console.error = original;
  }
}
