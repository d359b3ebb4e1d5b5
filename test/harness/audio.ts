// Audio checks for tests: is there speech in what a phone received, does it
// match the prompt we expected, which DTMF tones were in it. All at 8 kHz
// 16-bit mono, the rate of G.711 (RFC 3551 §4.5.14).

export const RATE = 8000;

/** RMS energy of each `frameMs` frame (the last partial frame is dropped). */
export function frameEnergies(pcm: Int16Array, frameMs = 20, rate = RATE): number[] {
  const n = Math.max(1, Math.round((rate * frameMs) / 1000));
  const out: number[] = [];
  for (let start = 0; start + n <= pcm.length; start += n) {
    let sum = 0;
    for (let i = start; i < start + n; i++) sum += pcm[i] * pcm[i];
    out.push(Math.sqrt(sum / n));
  }
  return out;
}

/**
 * Number of 20 ms frames louder than `thresholdRms` (default 300, about
 * -40 dBFS: well above G.711 idle noise, well below any spoken syllable).
 */
export function speechFrames(pcm: Int16Array, thresholdRms = 300): number {
  return frameEnergies(pcm).filter((e) => e > thresholdRms).length;
}

/** A sine tone, `amplitude` in 16-bit units. */
export function sine(freq: number, ms: number, amplitude = 8000, rate = RATE): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** Silence of `ms` milliseconds. */
export function silence(ms: number, rate = RATE): Int16Array {
  return new Int16Array(Math.round((rate * ms) / 1000));
}

/** Concatenates sample arrays. */
export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A speech-like test signal: a 440 Hz carrier with harmonics, amplitude
 * modulated at a syllable rate (~4 Hz) with pauses, so that energy-based
 * speech detection and correlation have structure to lock onto.
 */
export function speechLike(ms: number, rate = RATE): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const syllable =
      Math.max(0, Math.sin(2 * Math.PI * 3.7 * t)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.9 * t));
    const f0 = 180 + 40 * Math.sin(2 * Math.PI * 1.3 * t);
    const phase = 2 * Math.PI * f0 * t;
    const voice = Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase + 0.5);
    out[i] = Math.round(6000 * syllable * voice);
  }
  return out;
}

// DTMF frequencies (ITU-T Q.23): rows are the low group, columns the high group.
const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYS = ["123A", "456B", "789C", "*0#D"];

/** A DTMF tone pair for one digit (0-9 * # A-D), each tone at `amplitude`. */
export function dtmfTone(digit: string, ms: number, amplitude = 6000, rate = RATE): Int16Array {
  const d = digit.toUpperCase();
  const row = KEYS.findIndex((k) => k.includes(d));
  if (row < 0 || d.length !== 1) throw new Error(`not a DTMF digit: ${JSON.stringify(digit)}`);
  const col = KEYS[row].indexOf(d);
  const lo = sine(ROWS[row], ms, amplitude, rate);
  const hi = sine(COLS[col], ms, amplitude, rate);
  for (let i = 0; i < lo.length; i++) lo[i] = lo[i] + hi[i];
  return lo;
}

function goertzel(pcm: Int16Array, start: number, n: number, freq: number, rate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + n; i++) {
    const s0 = pcm[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * In-band DTMF digits found in `pcm` (Goertzel over 20 ms blocks). A digit
 * counts when it holds for two blocks in a row (40 ms, the Q.24 minimum);
 * it must drop out before the same digit counts again.
 */
export function detectDtmf(pcm: Int16Array, rate = RATE): string {
  const n = Math.round(rate * 0.02);
  let out = "";
  let current = "";
  let candidate = "";
  let run = 0;
  for (let start = 0; start + n <= pcm.length; start += n) {
    let energy = 0;
    for (let i = start; i < start + n; i++) energy += pcm[i] * pcm[i];
    let digit = "";
    if (energy / n > 200 * 200) {
      const rp = ROWS.map((f) => goertzel(pcm, start, n, f, rate));
      const cp = COLS.map((f) => goertzel(pcm, start, n, f, rate));
      const r = rp.indexOf(Math.max(...rp));
      const c = cp.indexOf(Math.max(...cp));
      // Goertzel power of a pure tone of amplitude A over n samples is
      // about (A n / 2)^2; total energy is n A^2 / 2 per tone. Requiring the
      // two peaks to hold most of the energy rejects speech and noise.
      const tonal = (2 * (rp[r] + cp[c])) / n;
      const secondRow = Math.max(...rp.filter((_, i) => i !== r));
      const secondCol = Math.max(...cp.filter((_, i) => i !== c));
      if (tonal > 0.6 * energy && rp[r] > 8 * secondRow && cp[c] > 8 * secondCol) digit = KEYS[r][c];
    }
    if (digit === candidate) run++;
    else {
      candidate = digit;
      run = 1;
    }
    if (run === 2 && candidate !== current) {
      current = candidate;
      if (candidate) out += candidate;
    }
    if (run >= 2 && candidate === "") current = "";
  }
  return out;
}

export interface Correlation {
  /** Normalised cross-correlation at the best lag, -1..1 (1 = identical up to gain). */
  score: number;
  /** Where `reference` starts inside `received`, in samples (negative: received starts late). */
  lag: number;
}

/**
 * Finds `reference` inside `received` (for example a prompt in the decoded
 * RTP of a call): coarse search on 20 ms energy envelopes over every lag,
 * then a sample-accurate search around the best envelope lag. Cheap enough
 * for minutes of audio, where a plain sample-level search would not be.
 */
export function correlate(received: Int16Array, reference: Int16Array, rate = RATE): Correlation {
  const frame = Math.round(rate * 0.02);
  const ea = frameEnergies(received, 20, rate);
  const eb = frameEnergies(reference, 20, rate);
  if (ea.length === 0 || eb.length === 0) return { score: 0, lag: 0 };
  const ma = ea.reduce((s, x) => s + x, 0) / ea.length;
  const mb = eb.reduce((s, x) => s + x, 0) / eb.length;
  const za = ea.map((x) => x - ma);
  const zb = eb.map((x) => x - mb);
  let bestFrameLag = 0;
  let bestEnv = Number.NEGATIVE_INFINITY;
  for (let lag = -(zb.length - 1); lag < za.length; lag++) {
    let num = 0;
    let na = 0;
    let nb = 0;
    for (let j = Math.max(0, -lag); j < zb.length && j + lag < za.length; j++) {
      const x = za[j + lag];
      const y = zb[j];
      num += x * y;
      na += x * x;
      nb += y * y;
    }
    // Require a reasonable overlap so that two frames lining up by chance don't win.
    const overlap = Math.min(zb.length, za.length - lag, zb.length + lag);
    if (overlap < Math.min(zb.length, za.length) / 2 || na === 0 || nb === 0) continue;
    const c = num / Math.sqrt(na * nb);
    if (c > bestEnv) {
      bestEnv = c;
      bestFrameLag = lag;
    }
  }
  let best: Correlation = { score: 0, lag: bestFrameLag * frame };
  for (let lag = bestFrameLag * frame - frame; lag <= bestFrameLag * frame + frame; lag++) {
    const score = sampleCorrelation(received, reference, lag);
    if (score > best.score) best = { score, lag };
  }
  return best;
}

function sampleCorrelation(a: Int16Array, b: Int16Array, lag: number): number {
  let num = 0;
  let na = 0;
  let nb = 0;
  for (let j = Math.max(0, -lag); j < b.length && j + lag < a.length; j++) {
    const x = a[j + lag];
    const y = b[j];
    num += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : num / Math.sqrt(na * nb);
}
