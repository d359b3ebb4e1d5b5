// Helpers shared by the SRTP tests.

/** Bytes from hex, ignoring white space. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

/** A 172-byte G.711 packet (12-byte header, 160 bytes of payload): PT 0, SSRC, seq, timestamp seq·160. */
export function g711Packet(ssrc: number, seq: number, fill = 0xd5, spare = 32): Buffer {
  const buf = Buffer.alloc(172 + spare);
  buf[0] = 0x80;
  buf[1] = 0;
  buf.writeUInt16BE(seq & 0xffff, 2);
  buf.writeUInt32BE((seq * 160) >>> 0, 4);
  buf.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 12; i < 172; i++) buf[i] = (fill + i) & 0xff;
  return buf;
}

/** A receiver report of `ssrc` with one report block (32 bytes), in a buffer with `spare` bytes after it. */
export function receiverReport(ssrc: number, spare = 32): Buffer {
  const buf = Buffer.alloc(32 + spare);
  buf[0] = 0x81;
  buf[1] = 201;
  buf.writeUInt16BE(7, 2);
  buf.writeUInt32BE(ssrc >>> 0, 4);
  for (let i = 8; i < 32; i++) buf[i] = i;
  return buf;
}
