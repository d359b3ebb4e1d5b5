import assert from "node:assert/strict";
import { test } from "node:test";
import { generateCrypto, type SdesAgreement } from "../srtp/index.ts";
import { SrtpTransform } from "./srtp-transform.ts";

/** The two ends of one leg: the PBX's transform and the phone's, keys crossed. */
function pair(): { pbx: SrtpTransform; phone: SrtpTransform } {
  const ours = generateCrypto(1, "AES_CM_128_HMAC_SHA1_80");
  const theirs = generateCrypto(1, "AES_CM_128_HMAC_SHA1_80");
  const pbxKeys: SdesAgreement = { local: ours, remote: theirs };
  return { pbx: new SrtpTransform(pbxKeys), phone: new SrtpTransform({ local: theirs, remote: ours }) };
}

function rtp(seq: number, payload = 0x55): Buffer {
  const b = Buffer.alloc(12 + 160, payload);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234abcd, 8);
  return b;
}

test("what the PBX protects the phone unprotects, and the caller's buffer is left alone", () => {
  const { pbx, phone } = pair();
  const plain = rtp(1);
  const copy = Buffer.from(plain);
  const wire = pbx.protectRtp(plain, 0, plain.length);
  assert.ok(wire);
  assert.deepEqual(plain, copy, "a shared prompt frame must not be encrypted in place");
  assert.equal(wire.length, plain.length + 10);
  const n = phone.unprotectRtp(Buffer.from(wire), wire.length);
  assert.equal(n, plain.length);
});

test("a tampered packet is dropped and counted, never passed on", () => {
  const { pbx, phone } = pair();
  const wire = Buffer.from(phone.protectRtp(rtp(7), 0, 172)!);
  wire[40] ^= 1;
  assert.equal(pbx.unprotectRtp(wire, wire.length), undefined);
  assert.equal(pbx.counters.authFailed, 1);
});

test("a replayed packet is dropped and counted", () => {
  const { pbx, phone } = pair();
  const wire = phone.protectRtp(rtp(9), 0, 172)!;
  assert.equal(pbx.unprotectRtp(Buffer.from(wire), wire.length), 172);
  assert.equal(pbx.unprotectRtp(Buffer.from(wire), wire.length), undefined);
  assert.equal(pbx.counters.replayed, 1);
});

test("RTCP both ways", () => {
  const { pbx, phone } = pair();
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(0x1234abcd, 4);
  const wire = pbx.protectRtcp(sr, 0, sr.length)!;
  assert.equal(phone.unprotectRtcp(Buffer.from(wire), wire.length), sr.length);
});

test("uses: the same keys after a re-offer, not others", () => {
  const { pbx } = pair();
  assert.ok(pbx.uses({ ...pbx.keys }));
  assert.ok(!pbx.uses({ local: generateCrypto(1, "AES_CM_128_HMAC_SHA1_80"), remote: pbx.keys.remote }));
});
