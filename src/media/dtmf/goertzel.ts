// In-band DTMF detection, for phones and carriers that send digits as tones
// in the audio instead of RFC 4733 events. Goertzel filters at the eight
// ITU-T Q.23 frequencies with the acceptance checks of ITU-T Q.24: enough
// energy, limited twist, each tone clearly the strongest of its group, most
// of the signal's energy in the two tones and little at their second
// harmonics (what tells a key tone from a sung or spoken vowel), and a
// minimum duration.
import { DTMF_COLUMNS, DTMF_ROWS } from "./tone.ts";

const KEYPAD = ["123A", "456B", "789C", "*0#D"];

export interface InbandDtmfOptions {
  /**
   * Weakest tone accepted, in dBm0 per frequency (default -40). 0 dBm0 is a
   * sine 3.17 dB below full scale (G.711 maximum load capacity: +3.17 dBm0
   * for µ-law, +3.14 dBm0 for A-law; the µ-law figure is used for both).
   */
  minLevelDbm0?: number;
  /** Low group louder than high group by at most this (normal twist, default 8 dB, Q.24). */
  normalTwistDb?: number;
  /** High group louder than low group by at most this (reverse twist, default 4 dB, Q.24). */
  reverseTwistDb?: number;
}

/** Analysis window (160 samples at 8 kHz); windows advance by half of it. */
const WINDOW_MS = 20;
/** Each detected tone must beat the other tones of its group by this much. */
const DOMINANCE_DB = 8;
/**
 * The two tones must hold at least this share of the window's energy. A
 * clean key tone holds ~0.97 (0.5 in the worst case of 1.5% off frequency
 * with 4 dB reverse twist); vowels of espeak-ng speech peak at 0.41 and,
 * among those that pass the dominance check, at 0.26.
 */
const MIN_TONE_SHARE = 0.45;
/**
 * A tone's second harmonic must stay this far below the tone. Not stricter:
 * the 2nd harmonics of the low group lie 58–71 Hz from a high-group tone,
 * whose leakage into them reaches -6 dB in the worst accepted case.
 */
const MAX_HARMONIC_DB = -4;
/**
 * Scalloping: a tone 1.5% off its nominal frequency (Q.24 tolerance) is
 * measured up to 3.9 dB low in the high group and 1.1 dB in the low group by
 * a 20 ms window, so the twist limits are widened by that much.
 */
const HIGH_SCALLOP_DB = 3.9;
const LOW_SCALLOP_DB = 1.1;
/** Consecutive windows with the same digit before it is accepted: three windows span 40 ms. */
const HITS_TO_ACCEPT = 3;
/**
 * Consecutive windows without it before the same digit may be reported
 * again: a 40 ms pause always yields three, a 10 ms dropout none or one.
 */
const MISSES_TO_RELEASE = 3;

function db(x: number): number {
  return 10 ** (x / 10);
}

/**
 * Detects DTMF digits in linear audio. The signal is cut into 20 ms windows
 * advancing by 10 ms; a window "hits" a digit when all the checks pass, a
 * digit is reported after three consecutive hits (windows spanning 40 ms,
 * Q.24's minimum tone duration), and the same digit can be reported again
 * only after three windows without it (what a 40 ms pause, Q.24's minimum
 * interdigit time, always produces).
 *
 * Cost: each 10 ms half-window goes once through the eight Goertzel filters,
 * which yield its complex DFT values; a window's value is the previous
 * half's plus the current half's turned by the phase of its delay, so the
 * overlap costs nothing. The second-harmonic filters run only on windows
 * that passed every other check. Near-silent halves skip the filters. State
 * is preallocated: push() does not allocate unless it returns a digit.
 */
export class InbandDtmfDetector {
  /** Samples per half-window (the hop). */
  private readonly half: number;
  private cur: Float64Array;
  private prev: Float64Array;
  private fill = 0;
  private havePrev = false;
  /** 2·cos ω of the eight tones, then of their second harmonics. */
  private readonly coeffs = new Float64Array(16);
  /** cos ω and sin ω of the eight tones. */
  private readonly cosW = new Float64Array(8);
  private readonly sinW = new Float64Array(8);
  /** cos and sin of ω·half: the phase by which the later half lags. */
  private readonly cosLag = new Float64Array(8);
  private readonly sinLag = new Float64Array(8);
  /**
   * Per half-window and tone, (s1 - cos ω·s2, sin ω·s2) from the Goertzel
   * states: the DFT value up to the phase factor e^{-jω(half-1)}.
   */
  private curRe = new Float64Array(8);
  private curIm = new Float64Array(8);
  private prevRe = new Float64Array(8);
  private prevIm = new Float64Array(8);
  private curEnergy = 0;
  private prevEnergy = 0;
  private readonly power = new Float64Array(8);
  private readonly minPower: number;
  /** A half-window with less energy than this cannot matter (Cauchy-Schwarz bound). */
  private readonly quietHalf: number;
  private readonly normalTwist: number;
  private readonly reverseTwist: number;

  private candidate = -1;
  private hits = 0;
  private current = -1;
  private misses = 0;

  constructor(
    readonly sampleRate = 8000,
    options: InbandDtmfOptions = {},
  ) {
    const n = 2 * Math.round((sampleRate * WINDOW_MS) / 2000);
    this.half = n / 2;
    this.cur = new Float64Array(this.half);
    this.prev = new Float64Array(this.half);
    const freqs = [...DTMF_ROWS, ...DTMF_COLUMNS];
    for (let i = 0; i < 8; i++) {
      const w = (2 * Math.PI * freqs[i]) / sampleRate;
      this.coeffs[i] = 2 * Math.cos(w);
      this.coeffs[8 + i] = 2 * Math.cos(2 * w);
      this.cosW[i] = Math.cos(w);
      this.sinW[i] = Math.sin(w);
      this.cosLag[i] = Math.cos(w * this.half);
      this.sinLag[i] = Math.sin(w * this.half);
    }
    // Full-scale sine (amplitude 32767) is +3.17 dBm0; a sine of amplitude A
    // gives a Goertzel power of (A·N/2)² over a window of N samples.
    const amplitude = 32767 * 10 ** (((options.minLevelDbm0 ?? -40) - 3.17) / 20);
    this.minPower = ((amplitude * n) / 2) ** 2;
    // |X|² ≤ N·Σx² for any signal: below minPower/N of energy in the whole
    // window no tone can reach minPower; a tenth of that per half is noise.
    this.quietHalf = this.minPower / n / 10;
    this.normalTwist = db((options.normalTwistDb ?? 8) + HIGH_SCALLOP_DB);
    this.reverseTwist = db((options.reverseTwistDb ?? 4) + LOW_SCALLOP_DB);
  }

  /** Feeds samples; returns the digits whose start was recognised in them (usually none). */
  push(samples: Int16Array, offset = 0, length = samples.length - offset): string[] {
    let found: string[] = NONE;
    const end = Math.min(samples.length, offset + Math.max(0, length));
    let i = Math.max(0, offset);
    while (i < end) {
      const take = Math.min(end - i, this.half - this.fill);
      const cur = this.cur;
      for (let k = 0; k < take; k++) cur[this.fill + k] = samples[i + k];
      this.fill += take;
      i += take;
      if (this.fill < this.half) break;
      this.fill = 0;
      this.filterHalf();
      if (this.havePrev) {
        const digit = this.step(this.analyse());
        if (digit !== null) {
          if (found === NONE) found = [];
          found.push(digit);
        }
      }
      this.rotate();
    }
    return found;
  }

  /** Forgets all state, e.g. after a media change. */
  reset(): void {
    this.fill = 0;
    this.havePrev = false;
    this.candidate = -1;
    this.hits = 0;
    this.current = -1;
    this.misses = 0;
  }

  /** Goertzel recurrence over the half-window just completed, kept as a complex value. */
  private filterHalf(): void {
    const x = this.cur;
    const h = this.half;
    let energy = 0;
    for (let i = 0; i < h; i++) energy += x[i] * x[i];
    this.curEnergy = energy;
    if (energy < this.quietHalf) {
      this.curRe.fill(0);
      this.curIm.fill(0);
      return;
    }
    for (let k = 0; k < 8; k++) {
      const c = this.coeffs[k];
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < h; i++) {
        const s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      this.curRe[k] = s1 - this.cosW[k] * s2;
      this.curIm[k] = this.sinW[k] * s2;
    }
  }

  /** The completed half becomes the previous one. */
  private rotate(): void {
    const buf = this.prev;
    this.prev = this.cur;
    this.cur = buf;
    const re = this.prevRe;
    this.prevRe = this.curRe;
    this.curRe = re;
    const im = this.prevIm;
    this.prevIm = this.curIm;
    this.curIm = im;
    this.prevEnergy = this.curEnergy;
    this.havePrev = true;
  }

  /** Checks the window made of the previous and current halves; returns the keypad index 0–15, or -1. */
  private analyse(): number {
    const n = 2 * this.half;
    const energy = this.prevEnergy + this.curEnergy;
    if (energy * n < this.minPower) return -1;
    const p = this.power;
    for (let k = 0; k < 8; k++) {
      // X = P + e^{-jω·half}·C, both halves' values taken to the same phase origin.
      const cr = this.curRe[k];
      const ci = this.curIm[k];
      const re = this.prevRe[k] + cr * this.cosLag[k] + ci * this.sinLag[k];
      const im = this.prevIm[k] + ci * this.cosLag[k] - cr * this.sinLag[k];
      p[k] = re * re + im * im;
    }
    let row = 0;
    let col = 4;
    for (let k = 1; k < 4; k++) if (p[k] > p[row]) row = k;
    for (let k = 5; k < 8; k++) if (p[k] > p[col]) col = k;
    const pr = p[row];
    const pc = p[col];
    if (pr < this.minPower || pc < this.minPower) return -1;
    // Twist (Q.24): the high group may be weaker by up to 8 dB, stronger by up to 4 dB.
    if (pr > pc * this.normalTwist || pc > pr * this.reverseTwist) return -1;
    const dominance = db(DOMINANCE_DB);
    for (let k = 0; k < 4; k++) if (k !== row && p[k] * dominance > pr) return -1;
    for (let k = 4; k < 8; k++) if (k !== col && p[k] * dominance > pc) return -1;
    // A Goertzel power of (A·N/2)² is a sine holding A²N/2 of energy: 2P/N.
    if (((pr + pc) * 2) / n < MIN_TONE_SHARE * energy) return -1;
    const harmonic = db(MAX_HARMONIC_DB);
    if (this.windowPower(this.coeffs[8 + row]) > pr * harmonic) return -1;
    if (this.windowPower(this.coeffs[8 + col]) > pc * harmonic) return -1;
    return row * 4 + (col - 4);
  }

  /** Goertzel power over the whole window (previous then current half) for one coefficient. */
  private windowPower(c: number): number {
    let s1 = 0;
    let s2 = 0;
    const a = this.prev;
    for (let i = 0; i < a.length; i++) {
      const s0 = a[i] + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const b = this.cur;
    for (let i = 0; i < b.length; i++) {
      const s0 = b[i] + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
  }

  /** Debounces window hits into digits (see the class comment). */
  private step(hit: number): string | null {
    if (hit === this.current) {
      this.misses = 0;
      return null;
    }
    if (this.current >= 0 && ++this.misses >= MISSES_TO_RELEASE) this.current = -1;
    if (hit < 0) {
      this.candidate = -1;
      this.hits = 0;
      return null;
    }
    if (hit === this.candidate) this.hits++;
    else {
      this.candidate = hit;
      this.hits = 1;
    }
    if (this.hits >= HITS_TO_ACCEPT) {
      this.current = hit;
      this.misses = 0;
      this.candidate = -1;
      this.hits = 0;
      return KEYPAD[hit >> 2][hit & 3];
    }
    return null;
  }
}

const NONE: string[] = [];
Object.freeze(NONE);
