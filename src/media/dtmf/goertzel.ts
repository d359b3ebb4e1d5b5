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
   * sine 3.17 dB below the G.711 full scale (G.711 §6, Table 5 / digital milliwatt).
   */
  minLevelDbm0?: number;
  /** Low group louder than high group by at most this (normal twist, default 8 dB, Q.24). */
  normalTwistDb?: number;
  /** High group louder than low group by at most this (reverse twist, default 4 dB, Q.24). */
  reverseTwistDb?: number;
}

/** Window length (20 ms at 8 kHz) and hop (half a window): see push(). */
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
 * interdigit time, always produces). State is preallocated: push() does not allocate
 * unless it has a digit to return.
 */
export class InbandDtmfDetector {
  private readonly window: Float64Array;
  private readonly hop: number;
  private readonly coeffs = new Float64Array(16);
  private readonly power = new Float64Array(16);
  private fill = 0;
  private readonly minPower: number;
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
    const n = Math.round((sampleRate * WINDOW_MS) / 1000);
    this.window = new Float64Array(n);
    this.hop = n >> 1;
    const freqs = [...DTMF_ROWS, ...DTMF_COLUMNS];
    for (let i = 0; i < 8; i++) {
      this.coeffs[i] = 2 * Math.cos((2 * Math.PI * freqs[i]) / sampleRate);
      this.coeffs[8 + i] = 2 * Math.cos((2 * Math.PI * 2 * freqs[i]) / sampleRate);
    }
    // Full-scale sine (amplitude 32767) is +3.17 dBm0; a sine of amplitude A
    // gives a Goertzel power of (A·N/2)².
    const amplitude = 32767 * 10 ** (((options.minLevelDbm0 ?? -40) - 3.17) / 20);
    this.minPower = ((amplitude * n) / 2) ** 2;
    this.normalTwist = db((options.normalTwistDb ?? 8) + HIGH_SCALLOP_DB);
    this.reverseTwist = db((options.reverseTwistDb ?? 4) + LOW_SCALLOP_DB);
  }

  /** Feeds samples; returns the digits whose start was recognised in them (usually none). */
  push(samples: Int16Array, offset = 0, length = samples.length - offset): string[] {
    let found: string[] = NONE;
    const n = this.window.length;
    const end = Math.min(samples.length, offset + Math.max(0, length));
    for (let i = Math.max(0, offset); i < end; i++) {
      // The window is a sliding buffer: shift by a hop when full. Shifting
      // half a window every hop costs as much as the filters, and keeps the
      // analysis over samples in time order.
      if (this.fill === n) {
        this.window.copyWithin(0, this.hop, n);
        this.fill = n - this.hop;
      }
      this.window[this.fill++] = samples[i];
      if (this.fill === n) {
        const digit = this.step(this.analyse());
        if (digit !== null) {
          if (found === NONE) found = [];
          found.push(digit);
        }
      }
    }
    return found;
  }

  /** Forgets all state, e.g. after a media change. */
  reset(): void {
    this.fill = 0;
    this.candidate = -1;
    this.hits = 0;
    this.current = -1;
    this.misses = 0;
  }

  /** Runs the filters over the window; returns the keypad index 0–15 it hits, or -1. */
  private analyse(): number {
    const w = this.window;
    const n = w.length;
    let energy = 0;
    for (let i = 0; i < n; i++) energy += w[i] * w[i];
    for (let k = 0; k < 16; k++) {
      const c = this.coeffs[k];
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const s0 = w[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      this.power[k] = s1 * s1 + s2 * s2 - c * s1 * s2;
    }
    const p = this.power;
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
    if (p[8 + row] > pr * harmonic || p[8 + col] > pc * harmonic) return -1;
    return row * 4 + (col - 4);
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
