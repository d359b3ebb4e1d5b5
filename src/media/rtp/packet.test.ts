import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createRtpHeader,
  looksLikeRtcp,
  looksLikeRtp,
  parseRtp,
  RTP_HEADER_SIZE,
  readRtpHeader,
  seqDelta,
  writeRtpHeader,
} from "./packet.ts";

test("writes and reads back a fixed header", () => {
  const buf = Buffer.alloc(RTP_HEADER_SIZE + 160);
  const n = writeRtpHeader(buf, true, 8, 0xfffe, 0xdeadbeef, 0x80000001);
  assert.equal(n, 12);
  const h = parseRtp(buf);
  assert.ok(h);
  assert.equal(h.version, 2);
  assert.equal(h.marker, true);
  assert.equal(h.payloadType, 8);
  assert.equal(h.sequence, 0xfffe);
  assert.equal(h.timestamp, 0xdeadbeef);
  assert.equal(h.ssrc, 0x80000001);
  assert.equal(h.payloadOffset, 12);
  assert.equal(h.payloadLength, 160);
  assert.equal(h.extension, false);
  assert.equal(h.padding, false);
});

test("reads the header in place into a reused object, honouring the length argument", () => {
  const buf = Buffer.alloc(1500);
  writeRtpHeader(buf, false, 0, 1, 2, 3);
  const h = createRtpHeader();
  assert.equal(readRtpHeader(buf, 172, h), true);
  assert.equal(h.payloadLength, 160);
  assert.equal(h.marker, false);
  writeRtpHeader(buf, false, 101, 7, 8, 9, 0);
  assert.equal(readRtpHeader(buf, 16, h), true);
  assert.equal(h.payloadType, 101);
  assert.equal(h.payloadLength, 4);
});

test("skips CSRCs and the header extension, strips padding", () => {
  // V=2 P=1 X=1 CC=2
  const payload = [0xaa, 0xbb, 0xcc];
  const bytes = [
    0b1011_0010,
    0x00,
    0x00,
    0x05,
    0,
    0,
    0,
    160,
    1,
    2,
    3,
    4,
    // two CSRCs
    ...[9, 9, 9, 9, 8, 8, 8, 8],
    // extension: profile 0xbede, 1 word
    0xbe,
    0xde,
    0x00,
    0x01,
    0x10,
    0x20,
    0x30,
    0x40,
    ...payload,
    // 3 bytes of padding, last one is the count
    0,
    0,
    3,
  ];
  const h = parseRtp(Buffer.from(bytes));
  assert.ok(h);
  assert.equal(h.csrcCount, 2);
  assert.equal(h.extension, true);
  assert.equal(h.extensionProfile, 0xbede);
  assert.equal(h.padding, true);
  assert.equal(h.sequence, 5);
  assert.equal(h.timestamp, 160);
  assert.equal(h.payloadOffset, 12 + 8 + 8);
  assert.equal(h.payloadLength, 3);
  assert.deepEqual(
    [...Buffer.from(bytes).subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)],
    payload,
  );
});

test("rejects invalid packets without throwing", () => {
  const ok = Buffer.alloc(20);
  writeRtpHeader(ok, false, 0, 1, 1, 1);
  const cases: Array<[string, Buffer, number?]> = [
    ["empty", Buffer.alloc(0)],
    ["short", ok.subarray(0, 11)],
    ["version 1", Buffer.from([0x40, ...ok.subarray(1)])],
    ["version 0 (STUN)", Buffer.from([0x00, 0x01, ...ok.subarray(2)])],
    ["CSRC past end", Buffer.from([0x8f, ...ok.subarray(1, 20)])],
    ["extension header past end", Buffer.from([0x90, ...ok.subarray(1, 14)])],
    [
      "extension words past end",
      Buffer.from([0x90, ...ok.subarray(1, 12), 0xbe, 0xde, 0x00, 0x09, 1, 2, 3, 4]),
    ],
    ["padding count zero", Buffer.from([0xa0, ...ok.subarray(1, 19), 0])],
    ["padding larger than packet", Buffer.from([0xa0, ...ok.subarray(1, 19), 50])],
    ["length larger than buffer is clamped, still short", ok.subarray(0, 8), 100],
  ];
  const h = createRtpHeader();
  for (const [name, buf, len] of cases) {
    assert.equal(readRtpHeader(buf, len ?? buf.length, h), false, name);
    assert.equal(parseRtp(buf, len ?? buf.length), undefined, name);
  }
  // Padding that eats the whole payload is valid: an empty payload.
  const padOnly = Buffer.from([0xa0, ...ok.subarray(1, 12), 0, 0, 0, 4]);
  assert.equal(parseRtp(padOnly)?.payloadLength, 0);
});

test("survives random bytes", () => {
  const h = createRtpHeader();
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(Math.floor(Math.random() * 40));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(Math.random() * 256);
    if (readRtpHeader(buf, buf.length, h)) {
      assert.ok(h.payloadOffset + h.payloadLength <= buf.length);
      assert.ok(h.payloadLength >= 0);
    }
  }
});

test("RTP and RTCP are told apart (RFC 5761 §4)", () => {
  const rtp = Buffer.alloc(172);
  writeRtpHeader(rtp, true, 0, 1, 1, 1);
  assert.equal(looksLikeRtp(rtp, rtp.length), true);
  assert.equal(looksLikeRtcp(rtp, rtp.length), false);
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
  assert.equal(looksLikeRtp(rr, rr.length), false);
  assert.equal(looksLikeRtcp(rr, rr.length), true);
});

test("sequence distance wraps at 2^16", () => {
  assert.equal(seqDelta(65535, 0), 1);
  assert.equal(seqDelta(0, 65535), -1);
  assert.equal(seqDelta(100, 90), -10);
  assert.equal(seqDelta(65530, 4), 10);
});
