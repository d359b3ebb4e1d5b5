// Tone synthesis: DTMF digits (ITU-T Q.23 frequency pairs) and plain beeps.
import { DTMF_EVENTS } from "./rfc4733.ts";

/** Q.23 low group (rows) and high group (columns), in Hz. */
export const DTMF_ROWS = [697, 770, 852, 941] as const;
export const DTMF_COLUMNS = [1209, 1336, 1477, 1633] as const;

/** Keypad layout: digit → [row, column] indices. */
const KEYPAD = ["123A", "456B", "789C", "*0#D"];

export function dtmfFrequencies(digit: string): [number, number] | undefined {
  const d = digit.toUpperCase();
  if (d.length !== 1 || !DTMF_EVENTS.includes(d)) return undefined;
  for (let r = 0; r < 4; r++) {
    const c = KEYPAD[r].indexOf(d);
    if (c >= 0) return [DTMF_ROWS[r], DTMF_COLUMNS[c]];
  }
  return undefined;
}

/**
 * The sum of sines at `freqs`, each at `amplitude` of full scale (so two
 * tones at 0.3 peak at 0.6 and never clip).
 */
export function toneSamples(
  freqs: number[],
  durationMs: number,
  sampleRate = 8000,
  amplitude = 0.3,
): Int16Array {
  const n = Math.max(0, Math.round((durationMs * sampleRate) / 1000));
  const out = new Int16Array(n);
  const peak = amplitude * 32767;
  const steps = freqs.map((f) => (2 * Math.PI * f) / sampleRate);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const w of steps) s += Math.sin(w * i);
    out[i] = Math.max(-32768, Math.min(32767, Math.round(s * peak)));
  }
  return out;
}

/** The Q.23 tone pair of `digit`; throws RangeError for anything but 0–9, *, #, A–D. */
export function dtmfTone(digit: string, durationMs: number, sampleRate = 8000, amplitude = 0.3): Int16Array {
  const f = dtmfFrequencies(digit);
  if (!f) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return toneSamples(f, durationMs, sampleRate, amplitude);
}
