// STUN encoding, MESSAGE-INTEGRITY and FINGERPRINT against the test vectors
// of RFC 5769 §2.1–2.3 (short-term credentials, the ones ICE uses).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeStun,
  encodeStun,
  findAttribute,
  readXorAddress,
  STUN_BINDING,
  StunAttr,
  StunClass,
  verifyFingerprint,
  verifyIntegrity,
  xorAddress,
} from "./stun-message.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** RFC 5769 §2.1: Binding request, USERNAME "evtj:h6vY", password below. */
const REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

/** RFC 5769 §2.2: success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
const RESPONSE_V4 = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

/** RFC 5769 §2.3: success response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
const RESPONSE_V6 = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

const PASSWORD = Buffer.from("VOkJxbRl1RmTxUk/WvJxBt");
const TID = hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae");

test("RFC 5769 §2.1: the sample request decodes, its integrity and fingerprint verify", () => {
  const msg = decodeStun(REQUEST);
  assert.ok(msg);
  assert.equal(msg.method, STUN_BINDING);
  assert.equal(msg.cls, StunClass.request);
  assert.deepEqual(msg.transactionId, TID);
  assert.equal(findAttribute(msg, StunAttr.USERNAME)?.value.toString(), "evtj:h6vY");
  assert.equal(findAttribute(msg, StunAttr.PRIORITY)?.value.readUInt32BE(0), 0x6e0001ff);
  assert.ok(findAttribute(msg, StunAttr.ICE_CONTROLLED));
  assert.ok(verifyIntegrity(msg, PASSWORD));
  assert.ok(verifyFingerprint(msg));
  assert.equal(verifyIntegrity(msg, Buffer.from("wrong password")), false);
});

test("RFC 5769 §2.2 and §2.3: the sample responses verify and carry the mapped address", () => {
  for (const [raw, address] of [
    [RESPONSE_V4, "192.0.2.1"],
    [RESPONSE_V6, "2001:db8:1234:5678:11:2233:4455:6677"],
  ] as const) {
    const msg = decodeStun(raw);
    assert.ok(msg);
    assert.equal(msg.cls, StunClass.success);
    assert.ok(verifyIntegrity(msg, PASSWORD));
    assert.ok(verifyFingerprint(msg));
    const mapped = readXorAddress(findAttribute(msg, StunAttr.XOR_MAPPED_ADDRESS)!.value, msg.transactionId);
    assert.deepEqual(mapped, { address, port: 32853 });
  }
});

test("encoding reproduces the RFC 5769 vectors byte for byte", () => {
  // The vectors pad with spaces (RFC 5769 §2: padding may be any value).
  const opts = { integrityKey: PASSWORD, fingerprint: true, padding: 0x20 };
  const request = encodeStun(
    {
      method: STUN_BINDING,
      cls: StunClass.request,
      transactionId: TID,
      attributes: [
        { type: StunAttr.SOFTWARE, value: Buffer.from("STUN test client") },
        { type: StunAttr.PRIORITY, value: hex("6e 00 01 ff") },
        { type: StunAttr.ICE_CONTROLLED, value: hex("93 2f f9 b1 51 26 3b 36") },
        { type: StunAttr.USERNAME, value: Buffer.from("evtj:h6vY") },
      ],
    },
    opts,
  );
  assert.deepEqual(request, REQUEST);
  for (const [raw, address] of [
    [RESPONSE_V4, "192.0.2.1"],
    [RESPONSE_V6, "2001:db8:1234:5678:11:2233:4455:6677"],
  ] as const) {
    const response = encodeStun(
      {
        method: STUN_BINDING,
        cls: StunClass.success,
        transactionId: TID,
        attributes: [
          { type: StunAttr.SOFTWARE, value: Buffer.from("test vector") },
          { type: StunAttr.XOR_MAPPED_ADDRESS, value: xorAddress(address, 32853, TID) },
        ],
      },
      opts,
    );
    assert.deepEqual(response, raw);
  }
});

test("a tampered byte breaks integrity and fingerprint; truncated or odd messages do not decode", () => {
  const bad = Buffer.from(REQUEST);
  bad[30] ^= 1;
  const msg = decodeStun(bad);
  assert.ok(msg);
  assert.equal(verifyIntegrity(msg, PASSWORD), false);
  assert.equal(verifyFingerprint(msg), false);
  assert.equal(decodeStun(REQUEST.subarray(0, REQUEST.length - 4)), undefined, "length field disagrees");
  assert.equal(decodeStun(Buffer.alloc(10)), undefined);
  const badCookie = Buffer.from(REQUEST);
  badCookie[4] = 0;
  assert.equal(decodeStun(badCookie), undefined);
  // An attribute whose length runs past the message.
  const overrun = Buffer.from(REQUEST);
  overrun.writeUInt16BE(0x00ff, 22);
  assert.equal(decodeStun(overrun), undefined);
});

test("an attribute after MESSAGE-INTEGRITY other than FINGERPRINT makes the integrity fail (RFC 5389 §15.4)", () => {
  const msg = encodeStun(
    { method: STUN_BINDING, cls: StunClass.request, transactionId: TID, attributes: [] },
    { integrityKey: PASSWORD },
  );
  // Append a SOFTWARE attribute after MESSAGE-INTEGRITY by hand.
  const extra = Buffer.concat([msg, hex("80 22 00 04 61 62 63 64")]);
  extra.writeUInt16BE(extra.length - 20, 2);
  const decoded = decodeStun(extra);
  assert.ok(decoded);
  assert.equal(verifyIntegrity(decoded, PASSWORD), false);
});

test("XOR-MAPPED-ADDRESS round-trips IPv4, IPv6 and a zoned link-local source", () => {
  for (const [address, expected] of [
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
  ]) {
    const v = xorAddress(address, 50000, TID);
    assert.deepEqual(readXorAddress(v, TID), { address: expected, port: 50000 });
  }
  assert.throws(() => xorAddress("not-an-address", 1, TID), RangeError);
  assert.equal(readXorAddress(Buffer.alloc(3), TID), undefined);
});
