// WAV files for the external clients (baresip's aufile source, sox): the
// canonical 44-byte RIFF/WAVE header with one PCM "fmt " chunk and one
// "data" chunk, little-endian, as every reader accepts.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speechLike } from "./audio.ts";

/** Encodes 16-bit mono samples as a WAV file. */
export function encodeWav(samples: Int16Array, rate = 8000): Buffer {
  const data = samples.length * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + data, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i], 44 + i * 2);
  return buf;
}

/**
 * Decodes a 16-bit PCM WAV (mono, or the first channel of several) by
 * walking the chunks, so files with LIST or fact chunks (sox, baresip) read too.
 */
export function decodeWav(buf: Buffer): { rate: number; channels: number; samples: Int16Array } {
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error("not a RIFF/WAVE file");
  }
  let rate = 0;
  let channels = 0;
  let bits = 0;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString("ascii", at, at + 4);
    let size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === "fmt ") {
      channels = buf.readUInt16LE(body + 2);
      rate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === "data") {
      if (bits !== 16) throw new Error(`WAV with ${bits}-bit samples, expected 16`);
      // A writer killed mid-call leaves size 0 or too big: take what is there.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const n = Math.floor(size / 2 / channels);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + i * 2 * channels);
      return { rate, channels, samples };
    }
    at = body + size + (size & 1);
  }
  throw new Error("WAV without data chunk");
}

export function readWav(path: string): { rate: number; channels: number; samples: Int16Array } {
  return decodeWav(readFileSync(path));
}

/**
 * Writes a speech-like 8 kHz 16-bit mono WAV of `ms` milliseconds (or the
 * given samples) into a fresh temporary directory and returns its path.
 */
export function writeTempWav(samples: Int16Array = speechLike(4000), rate = 8000): string {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-wav-"));
  const path = join(dir, "source.wav");
  writeFileSync(path, encodeWav(samples, rate));
  return path;
}
