// STUN messages (RFC 5389), as much of them as an ICE-lite agent needs:
// reading a Binding request, checking its MESSAGE-INTEGRITY (short-term
// credentials, §10.1) and FINGERPRINT (§15.5), and writing the success or
// error response. Nothing here throws on a received packet: a malformed
// message decodes to undefined and the caller drops it (§7.3: "silently
// discarded").
import { createHmac, timingSafeEqual } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { crc32 } from "node:zlib";

/** §6: the fixed value of bytes 4–7 of every RFC 5389 message. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_SIZE = 20;
/** §18.1: the only method we answer. */
export const STUN_BINDING = 0x001;

/** §6: the class bits of a message type. */
export const StunClass = { request: 0, indication: 1, success: 2, error: 3 } as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

/** Attribute types of RFC 5389 §18.2 and the ICE ones of RFC 8445 §16.1. */
export const StunAttr = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

/** §15.5: the CRC-32 is XOR'ed with this, so that a STUN packet's CRC never looks like another protocol's. */
const FINGERPRINT_XOR = 0x5354554e;
const INTEGRITY_SIZE = 20;

export interface StunAttribute {
  type: number;
  /** The value, without padding (a view into the message). */
  value: Buffer;
  /** Offset of the attribute's header in the message. */
  offset: number;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  /** The 96-bit transaction ID (a view into the message). */
  transactionId: Buffer;
  attributes: StunAttribute[];
  /** The whole message, header included. */
  raw: Buffer;
}

/** RFC 7983 §7 and RFC 5389 §6: the cheap test that tells a STUN packet from DTLS or RTP sharing the port. */
export function looksLikeStun(buf: Uint8Array, len = buf.length): boolean {
  return (
    len >= STUN_HEADER_SIZE &&
    (buf[0] & 0xc0) === 0 &&
    buf[4] === 0x21 &&
    buf[5] === 0x12 &&
    buf[6] === 0xa4 &&
    buf[7] === 0x42
  );
}

/**
 * Reads a STUN message: header checks (§6: top bits zero, magic cookie, a
 * length that is a multiple of 4 and matches the datagram) and the
 * attribute list (§15: type, length, value padded to 4 bytes). Undefined
 * when anything is off.
 */
export function decodeStun(buf: Buffer, len = buf.length): StunMessage | undefined {
  if (!looksLikeStun(buf, len)) return undefined;
  const bodyLength = buf.readUInt16BE(2);
  if (bodyLength % 4 !== 0 || STUN_HEADER_SIZE + bodyLength !== len) return undefined;
  const type = buf.readUInt16BE(0);
  // §6: M11..M0 interleaved with C1 (bit 8) and C0 (bit 4).
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
  const attributes: StunAttribute[] = [];
  let at = STUN_HEADER_SIZE;
  while (at < len) {
    if (at + 4 > len) return undefined;
    const attrType = buf.readUInt16BE(at);
    const attrLength = buf.readUInt16BE(at + 2);
    const end = at + 4 + attrLength;
    if (end > len) return undefined;
    attributes.push({ type: attrType, value: buf.subarray(at + 4, end), offset: at });
    at = end + ((4 - (attrLength % 4)) % 4);
  }
  if (at !== len) return undefined;
  return {
    method,
    cls,
    transactionId: buf.subarray(8, STUN_HEADER_SIZE),
    attributes,
    raw: buf.subarray(0, len),
  };
}

export function findAttribute(msg: StunMessage, type: number): StunAttribute | undefined {
  return msg.attributes.find((a) => a.type === type);
}

/**
 * §15.4: the HMAC-SHA1 of the message up to the MESSAGE-INTEGRITY attribute,
 * with the header's length covering the message up to the end of that
 * attribute (anything after it but FINGERPRINT is ignored). Short-term
 * credentials (§15.4): the key is the password itself (ICE passwords are
 * ASCII ice-chars, unchanged by SASLprep).
 */
export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const mi = findAttribute(msg, StunAttr.MESSAGE_INTEGRITY);
  if (!mi || mi.value.length !== INTEGRITY_SIZE) return false;
  // §15.4: only FINGERPRINT may follow MESSAGE-INTEGRITY.
  const index = msg.attributes.indexOf(mi);
  for (const later of msg.attributes.slice(index + 1)) {
    if (later.type !== StunAttr.FINGERPRINT) return false;
  }
  const expected = integrityOf(msg.raw, mi.offset, key);
  return timingSafeEqual(expected, mi.value);
}

/** §15.5: FINGERPRINT is last, and is the CRC-32 of everything before it XOR 0x5354554e. */
export function verifyFingerprint(msg: StunMessage): boolean {
  const fp = msg.attributes[msg.attributes.length - 1];
  if (!fp || fp.type !== StunAttr.FINGERPRINT || fp.value.length !== 4) return false;
  return fingerprintOf(msg.raw, fp.offset) === fp.value.readUInt32BE(0);
}

function integrityOf(raw: Buffer, miOffset: number, key: Buffer): Buffer {
  const header = Buffer.from(raw.subarray(0, STUN_HEADER_SIZE));
  header.writeUInt16BE(miOffset + 4 + INTEGRITY_SIZE - STUN_HEADER_SIZE, 2);
  return createHmac("sha1", key).update(header).update(raw.subarray(STUN_HEADER_SIZE, miOffset)).digest();
}

function fingerprintOf(raw: Buffer, fpOffset: number): number {
  const header = Buffer.from(raw.subarray(0, STUN_HEADER_SIZE));
  header.writeUInt16BE(fpOffset + 8 - STUN_HEADER_SIZE, 2);
  const crc = crc32(raw.subarray(STUN_HEADER_SIZE, fpOffset), crc32(header));
  return (crc ^ FINGERPRINT_XOR) >>> 0;
}

export interface StunMessageSpec {
  method: number;
  cls: StunClass;
  transactionId: Uint8Array;
  attributes: { type: number; value: Uint8Array }[];
}

export interface StunEncodeOptions {
  /** Appends MESSAGE-INTEGRITY keyed with this (§15.4). */
  integrityKey?: Buffer;
  /** Appends FINGERPRINT (§15.5). */
  fingerprint?: boolean;
  /**
   * The byte that pads attribute values to 4 bytes. Zero (the default);
   * receivers ignore it (§15). RFC 5769's vectors pad with spaces.
   */
  padding?: number;
}

/** Writes a STUN message (§6, §15), MESSAGE-INTEGRITY and FINGERPRINT last as §15.4–15.5 require. */
export function encodeStun(spec: StunMessageSpec, opts: StunEncodeOptions = {}): Buffer {
  if (spec.transactionId.length !== 12) throw new RangeError("a STUN transaction ID is 96 bits");
  const parts: Buffer[] = [];
  let size = STUN_HEADER_SIZE;
  for (const a of spec.attributes) {
    if (a.value.length > 0xffff) throw new RangeError("STUN attribute too long");
    const pad = (4 - (a.value.length % 4)) % 4;
    const part = Buffer.alloc(4 + a.value.length + pad, opts.padding ?? 0);
    part.writeUInt16BE(a.type, 0);
    part.writeUInt16BE(a.value.length, 2);
    part.set(a.value, 4);
    parts.push(part);
    size += part.length;
  }
  const integrityAt = size;
  if (opts.integrityKey) size += 4 + INTEGRITY_SIZE;
  const fingerprintAt = size;
  if (opts.fingerprint) size += 8;
  const out = Buffer.alloc(size);
  const m = spec.method;
  const c = spec.cls;
  const type = (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(size - STUN_HEADER_SIZE, 2);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  out.set(spec.transactionId, 8);
  let at = STUN_HEADER_SIZE;
  for (const part of parts) {
    part.copy(out, at);
    at += part.length;
  }
  if (opts.integrityKey) {
    out.writeUInt16BE(StunAttr.MESSAGE_INTEGRITY, integrityAt);
    out.writeUInt16BE(INTEGRITY_SIZE, integrityAt + 2);
    integrityOf(out, integrityAt, opts.integrityKey).copy(out, integrityAt + 4);
  }
  if (opts.fingerprint) {
    out.writeUInt16BE(StunAttr.FINGERPRINT, fingerprintAt);
    out.writeUInt16BE(4, fingerprintAt + 2);
    out.writeUInt32BE(fingerprintOf(out, fingerprintAt), fingerprintAt + 4);
  }
  return out;
}

/**
 * §15.2 XOR-MAPPED-ADDRESS: the port XOR'ed with the cookie's top 16 bits,
 * an IPv4 address with the cookie, an IPv6 one with cookie + transaction ID.
 */
export function xorAddress(host: string, port: number, transactionId: Uint8Array): Buffer {
  // A link-local source carries its zone ("fe80::1%eth0"): the zone is not part of the address.
  const address = host.replace(/%.*$/, "");
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) throw new RangeError(`not an IP address: ${address}`);
  const ip = v4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const out = Buffer.alloc(4 + ip.length);
  out[1] = v4 ? 0x01 : 0x02;
  out.writeUInt16BE((port ^ (STUN_MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(STUN_MAGIC_COOKIE, 0);
  mask.set(transactionId, 4);
  for (let i = 0; i < ip.length; i++) out[4 + i] = ip[i] ^ mask[i];
  return out;
}

/** Reads an XOR-MAPPED-ADDRESS value; undefined when malformed. */
export function readXorAddress(
  value: Buffer,
  transactionId: Uint8Array,
): { address: string; port: number } | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const size = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(STUN_MAGIC_COOKIE, 0);
  mask.set(transactionId, 4);
  const ip = Buffer.alloc(size);
  for (let i = 0; i < size; i++) ip[i] = value[4 + i] ^ mask[i];
  const port = (value.readUInt16BE(2) ^ (STUN_MAGIC_COOKIE >>> 16)) & 0xffff;
  if (size === 4) return { address: Array.from(ip).join("."), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
  // The WHATWG URL parser writes IPv6 in its canonical short form (RFC 5952).
  return { address: new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1), port };
}

/** §15.6 ERROR-CODE: class (hundreds) and number, then the UTF-8 reason phrase. */
export function errorCodeValue(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8");
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

/** §15.9 UNKNOWN-ATTRIBUTES: the 16-bit types a 420 response names. */
export function unknownAttributesValue(types: number[]): Buffer {
  const out = Buffer.alloc(types.length * 2);
  for (let i = 0; i < types.length; i++) out.writeUInt16BE(types[i], i * 2);
  return out;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split(".").map(Number));
}

function ipv6Bytes(address: string): Buffer {
  // An IPv4-mapped tail (::ffff:1.2.3.4) becomes two hex groups first.
  let text = address;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const b = ipv4Bytes(tail[1]);
    text = text.slice(0, tail.index) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const zeros = rest === undefined ? [] : new Array(8 - left.length - right.length).fill("0");
  const groups = [...left, ...zeros, ...right];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(groups[i], 16), i * 2);
  return out;
}
