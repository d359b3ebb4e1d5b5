// Where the parts of an RTP or RTCP packet are, as far as SRTP needs to
// know: the clear header of an SRTP packet, and the clear first 8 bytes of
// an SRTCP packet. Read in place, never throwing.

export const RTP_FIXED_HEADER = 12;
/** SRTCP leaves the RTCP header and the sender's SSRC in the clear (RFC 3711 §3.4). */
export const RTCP_CLEAR_PREFIX = 8;

/**
 * Length of the RTP header of buf[0, length): fixed part, CSRC list and
 * header extension (RFC 3550 §5.1, §5.3.1), or −1 when it is not an RTP
 * version 2 header that fits. The padding is not looked at: SRTP encrypts
 * it with the payload (RFC 3711 §3.1), so it can only be checked once
 * decrypted.
 */
export function rtpHeaderLength(buf: Uint8Array, length: number): number {
  if (length < RTP_FIXED_HEADER || buf[0] >> 6 !== 2) return -1;
  let offset = RTP_FIXED_HEADER + (buf[0] & 0x0f) * 4;
  if ((buf[0] & 0x10) !== 0) {
    if (offset + 4 > length) return -1;
    offset += 4 + ((buf[offset + 2] << 8) | buf[offset + 3]) * 4;
  }
  return offset <= length ? offset : -1;
}

/** RTCP common header (RFC 3550 §6.4.1): version 2 and a packet type in 192–223 (RFC 5761 §4). */
export function isRtcpHeader(buf: Uint8Array, length: number): boolean {
  if (length < RTCP_CLEAR_PREFIX || buf[0] >> 6 !== 2) return false;
  return buf[1] >= 192 && buf[1] <= 223;
}

/** A length the caller may hand us: a whole number within the buffer. */
export function validLength(buf: Uint8Array, length: number): boolean {
  return Number.isInteger(length) && length >= 0 && length <= buf.length;
}

export function readUint32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}

export function writeUint32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}
