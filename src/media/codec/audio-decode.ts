// Uploaded audio (announcements, music) to telephone audio: WAV or MP3 in,
// 8 kHz mono 16-bit PCM out. The bytes decide the format when they can
// (a RIFF/WAVE header, an ID3 tag or an MPEG frame header cannot be
// mistaken), since browsers and scripts label files loosely; the declared
// Content-Type only decides for bytes that carry no signature.
import { decodeMp3, looksLikeMp3 } from "./mp3.ts";
import { resample } from "./resample.ts";
import { AudioTooLong, UnsupportedAudio } from "./unsupported-audio.ts";
import { readWav } from "./wav.ts";

export { AudioTooLong, UnsupportedAudio } from "./unsupported-audio.ts";

/** The rate decodeAudio delivers: G.711's (ITU-T G.711 §1). */
export const TELEPHONE_SAMPLE_RATE = 8000;

/**
 * Without a caller's limit, decoding stops after this long: it bounds the
 * memory a small, heavily compressed file can claim (20 minutes at 48 kHz
 * is 115 MB of 16-bit PCM before resampling).
 */
export const DEFAULT_MAX_SECONDS = 20 * 60;

export type AudioFormat = "wav" | "mp3";

export interface DecodedAudio {
  /** Mono (channels averaged), 16-bit PCM. */
  samples: Int16Array;
  /** Always TELEPHONE_SAMPLE_RATE. */
  sampleRate: number;
}

export interface DecodeOptions {
  /** Longer audio throws AudioTooLong (checked before resampling). Default DEFAULT_MAX_SECONDS. */
  maxSeconds?: number;
}

const WAV_TYPES = new Set(["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/x-pn-wav"]);
const MP3_TYPES = new Set([
  "audio/mpeg",
  "audio/mp3",
  "audio/mpeg3",
  "audio/x-mpeg",
  "audio/x-mpeg-3",
  "audio/x-mp3",
  "audio/mpa",
]);
/** Types that say nothing about the content (RFC 2046 §4.5.1: "arbitrary binary data"). */
const GENERIC_TYPES = new Set(["", "application/octet-stream", "binary/octet-stream"]);

/** The media type without parameters, lower-cased (RFC 9110 §8.3.1: type and subtype are case-insensitive). */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

function isRiffWave(bytes: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  return bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE";
}

/**
 * Which decoder the bytes need: their signature first, else the declared
 * type; undefined when neither names WAV or MP3.
 */
export function detectAudioFormat(bytes: Uint8Array, contentType?: string): AudioFormat | undefined {
  if (isRiffWave(bytes)) return "wav";
  if (looksLikeMp3(bytes)) return "mp3";
  const type = mediaType(contentType);
  if (WAV_TYPES.has(type)) return "wav";
  // An MP3 may start with junk (a broken tag, a stray byte): mpg123 resyncs.
  if (MP3_TYPES.has(type)) return "mp3";
  return undefined;
}

/**
 * Decodes a WAV (PCM 8/16/24/32-bit, float, G.711 µ-law/A-law; any rate and
 * channel count) or MP3 file into 8 kHz mono 16-bit PCM. Throws
 * UnsupportedAudio (message for the person who sent the file) on empty,
 * unknown or undecodable input, AudioTooLong past `maxSeconds`.
 */
export async function decodeAudio(
  bytes: Buffer,
  contentType?: string,
  options: DecodeOptions = {},
): Promise<DecodedAudio> {
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  if (bytes.length === 0) throw new UnsupportedAudio("the file is empty");
  const format = detectAudioFormat(bytes, contentType);
  if (!format) {
    const type = mediaType(contentType);
    throw new UnsupportedAudio(
      GENERIC_TYPES.has(type)
        ? "the file is neither WAV nor MP3: send a WAV or MP3 file"
        : `"${type}" is not a supported audio type: send a WAV or MP3 file`,
    );
  }
  let decoded: { samples: Int16Array; sampleRate: number };
  if (format === "wav") {
    try {
      decoded = readWav(bytes);
    } catch (err) {
      // readWav's messages say what is wrong ("unsupported WAV encoding: format 0x55, 0 bits").
      throw new UnsupportedAudio(
        `the WAV file cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  } else {
    decoded = await decodeMp3(bytes, maxSeconds);
  }
  if (decoded.samples.length === 0)
    throw new UnsupportedAudio(`the ${format.toUpperCase()} file holds no audio`);
  const seconds = decoded.samples.length / decoded.sampleRate;
  if (seconds > maxSeconds) throw new AudioTooLong(seconds, maxSeconds);
  return {
    samples: resample(decoded.samples, decoded.sampleRate, TELEPHONE_SAMPLE_RATE),
    sampleRate: TELEPHONE_SAMPLE_RATE,
  };
}
