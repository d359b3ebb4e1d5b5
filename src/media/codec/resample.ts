// Sample-rate conversion for prompts and uploaded audio (espeak-ng speaks at
// 22 050 Hz, editors save 44.1/48 kHz, the telephone wants 8 kHz).
//
// Band-limited interpolation with a Kaiser-windowed sinc (J. O. Smith,
// "Digital Audio Resampling", CCRMA; Kaiser's design formulas as in
// Oppenheim & Schafer §7.5.3): the low-pass cut-off sits below the lower of
// the two Nyquist frequencies, so a 5 kHz component of a 22 050 Hz file is
// removed instead of folding back to 3 kHz in the 8 kHz result. For a
// rational ratio L/M the fractional positions repeat every L outputs, so the
// filter is precomputed once per phase (polyphase) and each output sample is
// a single dot product.

/** Stop-band attenuation aimed at, in dB (well under G.711's own noise floor). */
const STOPBAND_DB = 80;
/** -6 dB point of the low-pass, as a fraction of the lower sample rate. */
const CUTOFF = 0.475;
/** Width of the transition band, as a fraction of the lower sample rate. */
const TRANSITION = 0.1;
/** Above this many phases the table would cost more than computing taps on the fly. */
const MAX_PHASES = 4096;

interface Filter {
  /** Interpolation factor L and decimation factor M of the reduced ratio. */
  up: number;
  down: number;
  /** Taps per phase, centred: input offsets -half+1 .. half. */
  half: number;
  taps: number;
  /** Per-phase coefficients (L x taps), or undefined when computed on the fly. */
  table: Float64Array | undefined;
  cutoff: number;
  beta: number;
}

const filters = new Map<string, Filter>();

/** Converts mono 16-bit PCM from one sample rate to another with anti-aliasing. */
export function resample(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new Error(`invalid resampling rates ${fromRate} -> ${toRate}`);
  }
  if (fromRate === toRate) return samples.slice();
  const filter = filterFor(fromRate, toRate);
  const { up, down, half, taps, table } = filter;
  const length = Math.ceil((samples.length * up) / down);
  const out = new Int16Array(length);
  const scratch = table ? undefined : new Float64Array(taps);
  const last = samples.length - 1;
  for (let n = 0; n < length; n++) {
    // Output n sits at input position n*M/L = k0 + phase/L.
    const pos = n * down;
    const k0 = Math.floor(pos / up);
    const phase = pos - k0 * up;
    let coeffs: Float64Array;
    let base = 0;
    if (table) {
      coeffs = table;
      base = phase * taps;
    } else {
      coeffs = scratch!;
      fillPhase(coeffs, 0, phase / up, filter);
    }
    let acc = 0;
    const first = k0 - half + 1;
    if (first >= 0 && first + taps - 1 <= last) {
      for (let j = 0; j < taps; j++) acc += samples[first + j] * coeffs[base + j];
    } else {
      // Near the ends the signal is taken as silence beyond the edges.
      for (let j = 0; j < taps; j++) {
        const k = first + j;
        if (k >= 0 && k <= last) acc += samples[k] * coeffs[base + j];
      }
    }
    const v = Math.round(acc);
    out[n] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function filterFor(fromRate: number, toRate: number): Filter {
  const key = `${fromRate}:${toRate}`;
  const cached = filters.get(key);
  if (cached) return cached;
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const lower = Math.min(fromRate, toRate);
  // Frequencies in cycles per input sample.
  const cutoff = (CUTOFF * lower) / fromRate;
  const transition = (TRANSITION * lower) / fromRate;
  // Kaiser: length and shape for the wanted attenuation and transition width.
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const length = Math.ceil((STOPBAND_DB - 7.95) / (14.36 * transition)) + 1;
  const half = Math.ceil(length / 2);
  const taps = 2 * half;
  const filter: Filter = { up, down, half, taps, table: undefined, cutoff, beta };
  if (up <= MAX_PHASES) {
    const table = new Float64Array(up * taps);
    for (let p = 0; p < up; p++) fillPhase(table, p * taps, p / up, filter);
    filter.table = table;
  }
  filters.set(key, filter);
  return filter;
}

/**
 * Coefficients for an output that lies `frac` input samples after input
 * k0, applied to inputs k0-half+1 .. k0+half. Each phase is scaled to unity
 * DC gain so that slow signals pass without a ripple that repeats every L
 * outputs.
 */
function fillPhase(into: Float64Array, at: number, frac: number, f: Filter): void {
  const { half, taps, cutoff, beta } = f;
  const i0beta = besselI0(beta);
  let sum = 0;
  for (let j = 0; j < taps; j++) {
    const t = frac - (j - half + 1); // distance from output to this input, in input samples
    const x = t / half;
    const window = Math.abs(x) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - x * x)) / i0beta;
    const arg = 2 * cutoff * t;
    const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    const h = 2 * cutoff * sinc * window;
    into[at + j] = h;
    sum += h;
  }
  if (sum !== 0) for (let j = 0; j < taps; j++) into[at + j] /= sum;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}
