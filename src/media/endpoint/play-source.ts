// Turns a list of PlayItems into 20 ms G.711 frames, one per pacer tick.
// Recorded audio is encoded once when the play starts (a copy per tick is
// then all that remains); silence and tones are produced frame by frame, so
// a 30-second tone costs no memory. Each item starts on a frame boundary: a
// prompt whose length is not a multiple of 20 ms ends with up to 19 ms of
// silence, which is inaudible between words.
import { encodeG711, type G711Codec, silenceByte } from "../codec/g711.ts";

export type PlayItem =
  | { kind: "pcm"; samples: Int16Array /* 8 kHz mono */ }
  | { kind: "silence"; ms: number }
  | { kind: "tone"; freqs: number[]; ms: number };

export const FRAME_SAMPLES = 160;
const SAMPLE_RATE = 8000;
/** Per-frequency amplitude of tones, as in dtmf/tone.ts (two tones peak at 0.6 of full scale). */
const TONE_AMPLITUDE = 0.3;

type Prepared =
  | { kind: "bytes"; bytes: Buffer }
  | { kind: "silence"; samples: number }
  | { kind: "tone"; steps: number[]; samples: number };

/** Validates and prepares items; throws TypeError/RangeError on malformed ones. */
export function prepareItems(items: readonly PlayItem[], codec: G711Codec): Prepared[] {
  if (!Array.isArray(items)) throw new TypeError("play: items must be an array");
  return items.map((item, i): Prepared => {
    if (typeof item !== "object" || item === null) throw new TypeError(`play item ${i}: not an object`);
    switch (item.kind) {
      case "pcm": {
        if (!(item.samples instanceof Int16Array))
          throw new TypeError(`play item ${i}: samples must be an Int16Array`);
        return { kind: "bytes", bytes: encoded(item.samples, codec) };
      }
      case "silence":
        return { kind: "silence", samples: msToSamples(item.ms, i) };
      case "tone": {
        if (
          !Array.isArray(item.freqs) ||
          !item.freqs.every((f: number) => Number.isFinite(f) && f > 0 && f < SAMPLE_RATE / 2)
        ) {
          throw new RangeError(`play item ${i}: tone frequencies must be in (0, 4000) Hz`);
        }
        const steps = item.freqs.map((f: number) => (2 * Math.PI * f) / SAMPLE_RATE);
        return { kind: "tone", steps, samples: msToSamples(item.ms, i) };
      }
      default:
        throw new TypeError(
          `play item ${i}: unknown kind ${JSON.stringify((item as { kind?: unknown }).kind)}`,
        );
    }
  });
}

/**
 * Encoded prompts, per PCM array and codec: a prompt played to a thousand
 * callers at once (the catalogue hands out the same Int16Array) is encoded
 * once. Weakly held: forgotten with the PCM. Callers must not modify a PCM
 * array after playing it.
 */
const encodedCache = new WeakMap<Int16Array, { PCMU?: Buffer; PCMA?: Buffer }>();

function encoded(samples: Int16Array, codec: G711Codec): Buffer {
  let entry = encodedCache.get(samples);
  if (!entry) {
    entry = {};
    encodedCache.set(samples, entry);
  }
  let bytes = entry[codec];
  if (!bytes) {
    bytes = Buffer.allocUnsafe(samples.length);
    encodeG711(codec, samples, bytes, 0);
    entry[codec] = bytes;
  }
  return bytes;
}

function msToSamples(ms: number, i: number): number {
  if (!Number.isFinite(ms) || ms < 0)
    throw new RangeError(`play item ${i}: ms must be a non-negative number`);
  return Math.round((ms * SAMPLE_RATE) / 1000);
}

/** Walks prepared items frame by frame. */
export class PlaySource {
  private index = 0;
  /** Sample position inside the current item. */
  private pos = 0;
  private readonly silence: number;
  private readonly pcm = new Int16Array(FRAME_SAMPLES);

  constructor(
    private readonly items: Prepared[],
    private readonly codec: G711Codec,
  ) {
    this.silence = silenceByte(codec);
  }

  /**
   * Writes the next 160-byte frame at `out[offset]`; returns false when
   * every item has been played (nothing written).
   */
  next(out: Buffer, offset: number): boolean {
    for (;;) {
      const item = this.items[this.index];
      if (!item) return false;
      const total = item.kind === "bytes" ? item.bytes.length : item.samples;
      if (this.pos >= total) {
        this.index++;
        this.pos = 0;
        continue;
      }
      const n = Math.min(FRAME_SAMPLES, total - this.pos);
      if (item.kind === "bytes") {
        item.bytes.copy(out, offset, this.pos, this.pos + n);
        if (n < FRAME_SAMPLES) out.fill(this.silence, offset + n, offset + FRAME_SAMPLES);
      } else if (item.kind === "silence") {
        out.fill(this.silence, offset, offset + FRAME_SAMPLES);
      } else {
        const pcm = this.pcm;
        const peak = TONE_AMPLITUDE * 32767;
        const steps = item.steps;
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          if (i >= n) {
            pcm[i] = 0;
            continue;
          }
          const t = this.pos + i;
          let s = 0;
          for (let k = 0; k < steps.length; k++) s += Math.sin(steps[k] * t);
          const v = Math.round(s * peak);
          pcm[i] = Math.max(-32768, Math.min(32767, v));
        }
        encodeG711(this.codec, pcm, out, offset);
      }
      this.pos += n;
      return true;
    }
  }
}
