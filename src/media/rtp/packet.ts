// RTP fixed header (RFC 3550 §5.1) read in place and written into a
// preallocated buffer. The media paths handle 50 packets per second per leg,
// so reading fills a caller-owned RtpHeader instead of allocating one, and
// nothing here copies payload bytes.

export const RTP_VERSION = 2;
export const RTP_HEADER_SIZE = 12;

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Profile-defined 16 bits of the header extension (RFC 3550 §5.3.1), -1 without extension. */
  extensionProfile: number;
  /** Offset of the payload inside the buffer (after CSRCs and the extension). */
  payloadOffset: number;
  /** Payload bytes, padding excluded (RFC 3550 §5.1 P bit). */
  payloadLength: number;
}

export function createRtpHeader(): RtpHeader {
  return {
    version: 0,
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    extensionProfile: -1,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Reads the RTP header of `buf[0, length)` into `out`. Returns false (and
 * leaves `out` in an unspecified state) when the bytes are not a valid RTP
 * packet: wrong version, CSRC list, extension or padding running past the
 * end (RFC 3550 §A.1 validity checks). Never throws.
 */
export function readRtpHeader(buf: Uint8Array, length: number, out: RtpHeader): boolean {
  if (length > buf.length) length = buf.length;
  if (length < RTP_HEADER_SIZE) return false;
  const b0 = buf[0];
  if (b0 >> 6 !== RTP_VERSION) return false;
  const b1 = buf[1];
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_SIZE + cc * 4;
  if (offset > length) return false;
  const extension = (b0 & 0x10) !== 0;
  let extensionProfile = -1;
  if (extension) {
    // §5.3.1: 16-bit profile, 16-bit length in 32-bit words, excluding this word.
    if (offset + 4 > length) return false;
    extensionProfile = (buf[offset] << 8) | buf[offset + 1];
    const words = (buf[offset + 2] << 8) | buf[offset + 3];
    offset += 4 + words * 4;
    if (offset > length) return false;
  }
  let end = length;
  const padding = (b0 & 0x20) !== 0;
  if (padding) {
    // §5.1: the last octet counts the padding octets, itself included.
    const pad = buf[length - 1];
    if (pad === 0 || offset + pad > length) return false;
    end -= pad;
  }
  out.version = RTP_VERSION;
  out.padding = padding;
  out.extension = extension;
  out.csrcCount = cc;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequence = (buf[2] << 8) | buf[3];
  out.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  out.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  out.extensionProfile = extensionProfile;
  out.payloadOffset = offset;
  out.payloadLength = end - offset;
  return true;
}

/** Allocating convenience around readRtpHeader, for tests and cold paths. */
export function parseRtp(buf: Uint8Array, length = buf.length): RtpHeader | undefined {
  const h = createRtpHeader();
  return readRtpHeader(buf, length, h) ? h : undefined;
}

/**
 * A cheap first look used by sockets before latching onto a source: version
 * 2, at least a fixed header, and not an RTCP packet type (RFC 5761 §4: RTCP
 * packet types 192–223 land on payload types 64–95 with the marker set).
 */
export function looksLikeRtp(buf: Uint8Array, length: number): boolean {
  if (length < RTP_HEADER_SIZE || buf[0] >> 6 !== RTP_VERSION) return false;
  const pt = buf[1];
  return pt < 192 || pt > 223;
}

/** RTCP common header check (RFC 3550 §6.4.1): version 2, packet type 192–223 (RFC 5761 §4). */
export function looksLikeRtcp(buf: Uint8Array, length: number): boolean {
  if (length < 8 || buf[0] >> 6 !== RTP_VERSION) return false;
  const pt = buf[1];
  return pt >= 192 && pt <= 223;
}

/**
 * Writes a 12-byte header without CSRCs, extension or padding at `offset`
 * and returns its size, so the payload goes at `offset + RTP_HEADER_SIZE`.
 */
export function writeRtpHeader(
  buf: Uint8Array,
  marker: boolean,
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
  offset = 0,
): number {
  buf[offset] = RTP_VERSION << 6;
  buf[offset + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  buf[offset + 2] = (sequence >> 8) & 0xff;
  buf[offset + 3] = sequence & 0xff;
  buf[offset + 4] = (timestamp >>> 24) & 0xff;
  buf[offset + 5] = (timestamp >>> 16) & 0xff;
  buf[offset + 6] = (timestamp >>> 8) & 0xff;
  buf[offset + 7] = timestamp & 0xff;
  buf[offset + 8] = (ssrc >>> 24) & 0xff;
  buf[offset + 9] = (ssrc >>> 16) & 0xff;
  buf[offset + 10] = (ssrc >>> 8) & 0xff;
  buf[offset + 11] = ssrc & 0xff;
  return RTP_HEADER_SIZE;
}

/** Signed distance b − a between two 16-bit sequence numbers (RFC 3550 §A.1 wrap-around). */
export function seqDelta(a: number, b: number): number {
  return (((b - a) & 0xffff) << 16) >> 16;
}
