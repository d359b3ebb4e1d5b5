// ITU-T G.711 pulse code modulation: µ-law (PCMU, RTP payload type 0) and
// A-law (PCMA, payload type 8), the two codecs every SIP phone speaks
// (RFC 3551 §4.5.14). Conversions go through lookup tables built once at
// load time so the RTP paths do one array read per sample and never
// allocate.

export type G711Codec = "PCMU" | "PCMA";

/** µ-law bias (0x84 = 132 in 16-bit units, 33 in the 14-bit units of G.711 Table 2a). */
const ULAW_BIAS = 0x84;
/** Largest 14-bit magnitude µ-law can represent (G.711 Table 2a, decision value 8159). */
const ULAW_CLIP = 8159;

function ulawDecode(byte: number): number {
  // G.711 §3.2: code words are transmitted with all bits inverted.
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const t = ((mantissa << 3) + ULAW_BIAS) << exponent;
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

function ulawEncode(sample: number): number {
  // Work on the 14-bit magnitude that G.711 Table 2a is defined on; taking
  // the magnitude before the shift keeps positive and negative symmetric.
  let mask: number;
  let mag: number;
  if (sample < 0) {
    mask = 0x7f;
    mag = -sample >> 2;
  } else {
    mask = 0xff;
    mag = sample >> 2;
  }
  if (mag > ULAW_CLIP) mag = ULAW_CLIP;
  mag += ULAW_BIAS >> 2;
  // Segment = position of the highest set bit above bit 5 (segment ends 0x3F, 0x7F, … 0x1FFF).
  let seg = 0;
  for (let v = mag >> 6; v > 0; v >>= 1) seg++;
  // Magnitudes past the last segment end (0x1FFF) saturate at the loudest code word.
  const code = seg > 7 ? 0x7f : (seg << 4) | ((mag >> (seg + 1)) & 0x0f);
  return code ^ mask;
}

function alawDecode(byte: number): number {
  // G.711 §3.2 (A-law): even bits are inverted on the line (XOR 0x55).
  const a = (byte ^ 0x55) & 0xff;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (seg === 0) t += 8;
  else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

function alawEncode(sample: number): number {
  // A-law is defined on 13-bit values (G.711 Table 1a).
  let v = sample >> 3;
  let mask: number;
  if (v >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    v = -v - 1;
  }
  if (v > 0xfff) v = 0xfff;
  let seg = 0;
  for (let x = v >> 5; x > 0; x >>= 1) seg++;
  const code = (seg << 4) | ((seg < 2 ? v >> 1 : v >> seg) & 0x0f);
  return code ^ mask;
}

const ULAW_TO_LINEAR = new Int16Array(256);
const ALAW_TO_LINEAR = new Int16Array(256);
// Indexed by the 16-bit two's complement pattern of the sample (sample & 0xFFFF).
const LINEAR_TO_ULAW = new Uint8Array(65536);
const LINEAR_TO_ALAW = new Uint8Array(65536);

for (let i = 0; i < 256; i++) {
  ULAW_TO_LINEAR[i] = ulawDecode(i);
  ALAW_TO_LINEAR[i] = alawDecode(i);
}
for (let i = 0; i < 65536; i++) {
  const s = i >= 32768 ? i - 65536 : i;
  LINEAR_TO_ULAW[i] = ulawEncode(s);
  LINEAR_TO_ALAW[i] = alawEncode(s);
}

/** Clamps any number to a 16-bit sample; NaN becomes 0. */
function toInt16(sample: number): number {
  if (!(sample > -32768)) return sample <= -32768 ? -32768 : 0;
  if (sample >= 32767) return 32767;
  return Math.round(sample);
}

export function ulawToLinear(byte: number): number {
  return ULAW_TO_LINEAR[byte & 0xff];
}

export function linearToUlaw(sample: number): number {
  return LINEAR_TO_ULAW[toInt16(sample) & 0xffff];
}

export function alawToLinear(byte: number): number {
  return ALAW_TO_LINEAR[byte & 0xff];
}

export function linearToAlaw(sample: number): number {
  return LINEAR_TO_ALAW[toInt16(sample) & 0xffff];
}

/** Encodes all of `pcm` into `out` starting at `outOffset`. */
export function encodeUlaw(pcm: Int16Array, out: Uint8Array, outOffset = 0): void {
  encodeWith(LINEAR_TO_ULAW, pcm, out, outOffset);
}

/** Decodes `length` bytes of `bytes` from `inOffset` into `out[0..length)`. */
export function decodeUlaw(
  bytes: Uint8Array,
  out: Int16Array,
  inOffset = 0,
  length = bytes.length - inOffset,
): void {
  decodeWith(ULAW_TO_LINEAR, bytes, out, inOffset, length);
}

export function encodeAlaw(pcm: Int16Array, out: Uint8Array, outOffset = 0): void {
  encodeWith(LINEAR_TO_ALAW, pcm, out, outOffset);
}

export function decodeAlaw(
  bytes: Uint8Array,
  out: Int16Array,
  inOffset = 0,
  length = bytes.length - inOffset,
): void {
  decodeWith(ALAW_TO_LINEAR, bytes, out, inOffset, length);
}

export function encodeG711(codec: G711Codec, pcm: Int16Array, out: Uint8Array, outOffset = 0): void {
  encodeWith(codec === "PCMU" ? LINEAR_TO_ULAW : LINEAR_TO_ALAW, pcm, out, outOffset);
}

export function decodeG711(
  codec: G711Codec,
  bytes: Uint8Array,
  out: Int16Array,
  inOffset = 0,
  length = bytes.length - inOffset,
): void {
  decodeWith(codec === "PCMU" ? ULAW_TO_LINEAR : ALAW_TO_LINEAR, bytes, out, inOffset, length);
}

/** The code word for a zero sample: what a muted or comfort-silence frame is filled with. */
export function silenceByte(codec: G711Codec): number {
  return codec === "PCMU" ? 0xff : 0xd5;
}

function encodeWith(table: Uint8Array, pcm: Int16Array, out: Uint8Array, outOffset: number): void {
  if (outOffset < 0 || outOffset + pcm.length > out.length) {
    throw new RangeError(`G.711 encode: ${pcm.length} samples do not fit at offset ${outOffset}`);
  }
  for (let i = 0, n = pcm.length; i < n; i++) out[outOffset + i] = table[pcm[i] & 0xffff];
}

function decodeWith(
  table: Int16Array,
  bytes: Uint8Array,
  out: Int16Array,
  inOffset: number,
  length: number,
): void {
  if (inOffset < 0 || length < 0 || inOffset + length > bytes.length || length > out.length) {
    throw new RangeError(`G.711 decode: ${length} bytes at offset ${inOffset} out of range`);
  }
  for (let i = 0; i < length; i++) out[i] = table[bytes[inOffset + i]];
}
