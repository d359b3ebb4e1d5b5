// A recording of the browser (MediaRecorder: WebM/Opus or Ogg, 48 kHz,
// often stereo) made into what the API takes for a greeting or an
// announcement: a WAV file (RIFF, PCM 16-bit, mono) at 8 or 16 kHz. The
// browser decodes (decodeAudioData); the mix down, the resampling and the
// RIFF writing are here, in plain TypeScript that the unit tests run.

/** The rates the API keeps audio at (8 kHz for the phone network; 16 kHz keeps more for later). */
export type TargetRate = 8000 | 16000;

/** The channels averaged into one. */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i] += (ch[i] ?? 0) / channels.length;
  return out;
}

const TAPS = 16;

/**
 * Band-limited resampling (a Hann-windowed sinc, cut off below the lower
 * Nyquist frequency): downsampling without aliasing, so that 48 kHz speech
 * at 8 kHz sounds like the telephone and not like a broken one.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new RangeError("sample rates must be positive");
  if (fromRate === toRate) return input.slice();
  const length = Math.round((input.length * toRate) / fromRate);
  const out = new Float32Array(length);
  const step = fromRate / toRate;
  // Below 1 when downsampling: the filter's cut-off, as a fraction of the input's Nyquist.
  const cutoff = Math.min(1, toRate / fromRate);
  const half = Math.ceil(TAPS / cutoff);
  for (let i = 0; i < length; i++) {
    const centre = i * step;
    const first = Math.max(0, Math.ceil(centre - half));
    const last = Math.min(input.length - 1, Math.floor(centre + half));
    let sum = 0;
    let weights = 0;
    for (let j = first; j <= last; j++) {
      const x = j - centre;
      const s = x === 0 ? 1 : Math.sin(Math.PI * x * cutoff) / (Math.PI * x * cutoff);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * x) / (half + 1));
      const k = s * w;
      sum += input[j] * k;
      weights += k;
    }
    // Normalised by the weights: a constant stays that constant, also at the edges.
    out[i] = weights === 0 ? 0 : sum / weights;
  }
  return out;
}

/** Samples from -1..1 to 16-bit, clipped (a recording that peaks above 0 dBFS does not wrap round). */
export function floatToInt16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const v = Math.max(-1, Math.min(1, input[i]));
    out[i] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
  }
  return out;
}

/** A RIFF/WAVE file: one "fmt " chunk (PCM, mono, 16-bit) and one "data" chunk. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const buf = new ArrayBuffer(44 + dataBytes);
  const v = new DataView(buf);
  const text = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  text(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVE");
  text(12, "fmt ");
  v.setUint32(16, 16, true); // the fmt chunk's size for PCM
  v.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  v.setUint16(22, 1, true); // channels
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // bytes per second
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, samples[i], true);
  return new Uint8Array(buf);
}

/** Decoded channels at `rate` → a mono 16-bit WAV at `target`. */
export function pcmToWav(
  channels: readonly Float32Array[],
  rate: number,
  target: TargetRate = 16000,
): Uint8Array {
  return encodeWav(floatToInt16(resample(mixToMono(channels), rate, target)), target);
}

/** A recording (or any audio file the browser reads) → WAV, mono 16-bit at `target`. */
export async function recordingToWav(recording: Blob, target: TargetRate = 16000): Promise<Blob> {
  const bytes = await recording.arrayBuffer();
  const ctx = new AudioContext();
  try {
    const audio = await ctx.decodeAudioData(bytes);
    const channels: Float32Array[] = [];
    for (let c = 0; c < audio.numberOfChannels; c++) channels.push(audio.getChannelData(c));
    const wav = pcmToWav(channels, audio.sampleRate, target);
    return new Blob([wav.buffer as ArrayBuffer], { type: "audio/wav" });
  } finally {
    await ctx.close();
  }
}
