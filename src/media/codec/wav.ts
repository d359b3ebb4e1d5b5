// RIFF WAVE reading and writing. Prompts and announcements arrive as
// whatever a customer's audio editor produced (44.1 kHz stereo float, 8 kHz
// µ-law from another PBX...), so the reader takes every common encoding and
// hands back one shape: mono 16-bit PCM at the file's own rate.
//
// Format: Microsoft "Multimedia Programming Interface and Data
// Specifications 1.0" (RIFF, `fmt `, `data`), extended by
// WAVE_FORMAT_EXTENSIBLE (the sub-format GUID's first two bytes carry the
// classic format code).

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface DecodedWav {
  sampleRate: number;
  /** Mono; multi-channel files are mixed down by averaging the channels. */
  samples: Int16Array;
}

interface Format {
  code: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

/** Decodes a WAV file; throws an Error that says what is wrong on anything it cannot read. */
export function readWav(buf: Buffer): DecodedWav {
  if (
    buf.length < 12 ||
    buf.toString("latin1", 0, 4) !== "RIFF" ||
    buf.toString("latin1", 8, 12) !== "WAVE"
  ) {
    throw new Error("not a RIFF WAVE file");
  }
  let format: Format | undefined;
  let data: Buffer | undefined;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString("latin1", offset, offset + 4);
    const declared = buf.readUInt32LE(offset + 4);
    const start = offset + 8;
    // Streaming writers leave the size at 0xFFFFFFFF; a truncated file
    // still holds useful audio up to its end.
    const end = declared === 0xffffffff || start + declared > buf.length ? buf.length : start + declared;
    if (id === "fmt ") format = parseFormat(buf.subarray(start, end));
    else if (id === "data" && !data) data = buf.subarray(start, end);
    // Chunks are word-aligned: an odd size is followed by one pad byte.
    offset = end + (declared & 1);
  }
  if (!format) throw new Error("WAV file has no fmt chunk");
  if (!data) throw new Error("WAV file has no data chunk");
  return { sampleRate: format.sampleRate, samples: decode(format, data) };
}

function parseFormat(chunk: Buffer): Format {
  if (chunk.length < 16) throw new Error("WAV fmt chunk is too short");
  let code = chunk.readUInt16LE(0);
  const channels = chunk.readUInt16LE(2);
  const sampleRate = chunk.readUInt32LE(4);
  const blockAlign = chunk.readUInt16LE(12);
  let bits = chunk.readUInt16LE(14);
  if (code === WAVE_FORMAT_EXTENSIBLE) {
    if (chunk.length < 40) throw new Error("WAVE_FORMAT_EXTENSIBLE fmt chunk is too short");
    code = chunk.readUInt16LE(24);
    // wValidBitsPerSample may be smaller (20 bits in 24-bit containers); the
    // container size is what the data layout follows.
    bits = blockAlign > 0 && channels > 0 ? (blockAlign / channels) * 8 : bits;
  }
  if (channels < 1) throw new Error("WAV file declares no channels");
  if (sampleRate < 1000 || sampleRate > 768000) throw new Error(`unsupported WAV sample rate ${sampleRate}`);
  const supported =
    (code === WAVE_FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32)) ||
    (code === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64)) ||
    ((code === WAVE_FORMAT_ALAW || code === WAVE_FORMAT_MULAW) && bits === 8);
  if (!supported) throw new Error(`unsupported WAV encoding: format 0x${code.toString(16)}, ${bits} bits`);
  const bytes = bits / 8;
  if (!Number.isInteger(bytes) || blockAlign !== bytes * channels) {
    throw new Error(`inconsistent WAV block alignment (${blockAlign} for ${channels} x ${bits} bits)`);
  }
  return { code, channels, sampleRate, blockAlign, bits };
}

function decode(format: Format, data: Buffer): Int16Array {
  const { channels, blockAlign } = format;
  const frames = Math.floor(data.length / blockAlign);
  const out = new Int16Array(frames);
  const read = sampleReader(format, data);
  const bytes = blockAlign / channels;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const base = f * blockAlign;
    for (let c = 0; c < channels; c++) sum += read(base + c * bytes);
    const v = Math.round(sum / channels);
    out[f] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}

/** Returns a function reading one sample at a byte offset, scaled to the 16-bit range. */
function sampleReader(format: Format, data: Buffer): (at: number) => number {
  switch (format.code) {
    case WAVE_FORMAT_PCM:
      switch (format.bits) {
        case 8:
          // 8-bit PCM is the one unsigned width (offset binary around 128).
          return (at) => (data[at] - 128) << 8;
        case 16:
          return (at) => data.readInt16LE(at);
        case 24:
          return (at) => data.readIntLE(at, 3) / 256;
        default:
          return (at) => data.readInt32LE(at) / 65536;
      }
    case WAVE_FORMAT_IEEE_FLOAT:
      return format.bits === 32
        ? (at) => data.readFloatLE(at) * 32768
        : (at) => data.readDoubleLE(at) * 32768;
    case WAVE_FORMAT_ALAW:
      return (at) => alawDecode(data[at]);
    default:
      return (at) => ulawDecode(data[at]);
  }
}

// ITU-T G.711 §A (µ-law) and §B (A-law) expansion, kept local so the WAV
// reader stands on its own; the RTP path uses the table-driven codec.
function ulawDecode(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

function alawDecode(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** Encodes 16-bit PCM mono as a canonical 44-byte-header WAV file. */
export function writeWav(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write("RIFF", 0, "latin1");
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8, "latin1");
  buf.write("fmt ", 12, "latin1");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "latin1");
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i], 44 + i * 2);
  return buf;
}
