// Accumulates received audio for record(): 8 kHz 16-bit mono, bounded by
// the maximum length, with energy-based silence detection, and writes the
// result atomically (temporary name, then rename: a reader never sees a
// half-written message under the final name).
import { rename, unlink, writeFile } from "node:fs/promises";
import { writeWav } from "../codec/wav.ts";

export const RECORD_RATE = 8000;
/** Energy is judged on 20 ms blocks. */
const BLOCK = 160;
/**
 * RMS below this is silence: about −40 dBFS, above the line noise of a
 * quiet handset and well below speech (typically −30 to −15 dBFS).
 */
export const SILENCE_RMS = 330;

export type RecordStop = "max" | "silence";

export class Recording {
  private readonly buf: Int16Array;
  private count = 0;
  /** Start (sample index) of the current run of silent blocks. */
  private silentFrom = 0;
  private blockStart = 0;
  private blockEnergy = 0;
  private readonly silenceSamples: number;

  constructor(
    maxMs: number,
    silenceMs: number | undefined,
    private readonly threshold = SILENCE_RMS,
  ) {
    this.buf = new Int16Array(Math.max(0, Math.ceil((maxMs * RECORD_RATE) / 1000)));
    this.silenceSamples = silenceMs && silenceMs > 0 ? Math.ceil((silenceMs * RECORD_RATE) / 1000) : 0;
  }

  get length(): number {
    return this.count;
  }

  /** Appends samples; returns why recording must stop now, or null. */
  push(samples: Int16Array, offset: number, length: number): RecordStop | null {
    const buf = this.buf;
    for (let i = 0; i < length; i++) {
      if (this.count >= buf.length) return "max";
      const s = samples[offset + i];
      buf[this.count++] = s;
      this.blockEnergy += s * s;
      if (this.count - this.blockStart === BLOCK && this.endBlock()) return "silence";
    }
    return this.count >= buf.length ? "max" : null;
  }

  /** A lost packet: silence in its place keeps the timing of the message. */
  pushGap(length: number): RecordStop | null {
    const buf = this.buf;
    for (let i = 0; i < length; i++) {
      if (this.count >= buf.length) return "max";
      buf[this.count++] = 0;
      if (this.count - this.blockStart === BLOCK && this.endBlock()) return "silence";
    }
    return this.count >= buf.length ? "max" : null;
  }

  /** Closes a 20 ms block; true when the silent run has become long enough to stop. */
  private endBlock(): boolean {
    if (this.blockEnergy / BLOCK >= this.threshold * this.threshold) this.silentFrom = this.count;
    this.blockStart = this.count;
    this.blockEnergy = 0;
    return this.silenceSamples > 0 && this.count - this.silentFrom >= this.silenceSamples;
  }

  /**
   * The recorded audio: with `stoppedBySilence` the trailing silent run is
   * cut; `trimSamples` more are taken off the end (the key press of a
   * terminator digit).
   */
  samples(stoppedBySilence: boolean, trimSamples = 0): Int16Array {
    let end = stoppedBySilence ? this.silentFrom : this.count;
    end = Math.max(0, end - trimSamples);
    return this.buf.subarray(0, end);
  }
}

/** Writes `samples` as a WAV file at `path`, through `path + ".tmp"` and a rename. */
export async function writeRecording(path: string, samples: Int16Array): Promise<void> {
  const tmp = path + ".tmp";
  try {
    await writeFile(tmp, writeWav(samples, RECORD_RATE));
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
