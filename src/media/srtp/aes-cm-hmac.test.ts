import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { AesCmHmac } from "./aes-cm-hmac.ts";
import { hex } from "./testing.ts";

describe("AES-CM keystream (RFC 3711 Appendix B.2)", () => {
  const cm = new AesCmHmac({
    cipherKey: hex("2B7E151628AED2A6ABF7158809CF4F3C"),
    salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
    authKey: new Uint8Array(20),
  });

  it("gives the keystream of the whole 65282-block segment (SSRC 0, ROC 0, SEQ 0)", () => {
    const segment = Buffer.alloc(1044512);
    cm.xorKeystream(segment, 0, segment.length, 0, 0, 0);
    const block = (n: number) => segment.subarray(n * 16, n * 16 + 16);
    assert.deepEqual(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert.deepEqual(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert.deepEqual(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert.deepEqual(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert.deepEqual(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert.deepEqual(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
  });

  it("XORs only the range asked, ending mid-block, and is its own inverse", () => {
    const buf = Buffer.alloc(40, 0x11);
    cm.xorKeystream(buf, 3, 23, 0, 0, 0);
    assert.deepEqual(buf.subarray(0, 3), Buffer.alloc(3, 0x11));
    assert.deepEqual(buf.subarray(23), Buffer.alloc(17, 0x11));
    const expected = Buffer.alloc(20, 0x11);
    const ks = hex("E03EAD0935C95E80E166B16DD92B4EB4D2351316");
    for (let i = 0; i < 20; i++) expected[i] ^= ks[i];
    assert.deepEqual(buf.subarray(3, 23), expected);
    cm.xorKeystream(buf, 3, 23, 0, 0, 0);
    assert.deepEqual(buf, Buffer.alloc(40, 0x11));
  });

  it("mixes SSRC and index into the IV (§4.1.1)", () => {
    const a = Buffer.alloc(16);
    const b = Buffer.alloc(16);
    const c = Buffer.alloc(16);
    cm.xorKeystream(a, 0, 16, 1, 0, 0);
    cm.xorKeystream(b, 0, 16, 0, 1, 0);
    cm.xorKeystream(c, 0, 16, 0, 0, 1);
    assert.notDeepEqual(a, hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert.notDeepEqual(a, b);
    // Index 1 at the low end is counter block 1 of index 0 shifted by 2^16: a different block.
    assert.notDeepEqual(c, hex("D23513162B02D0F72A43A2FE4A5F97AB"));
  });
});

describe("HMAC-SHA1 with a precomputed key", () => {
  it("equals node's HMAC over the packet and the ROC (RFC 3711 §4.2)", () => {
    const authKey = hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
    const cm = new AesCmHmac({ cipherKey: new Uint8Array(16), salt: new Uint8Array(14), authKey });
    const packet = Buffer.from(
      "a packet of some length, more than one SHA-1 block long........................",
    );
    const roc = Buffer.from([0, 0, 0x12, 0x34]);
    const want = createHmac("sha1", authKey).update(packet).update(roc).digest();
    assert.deepEqual(cm.mac(packet, packet.length), createHmac("sha1", authKey).update(packet).digest());
    const signed = Buffer.concat([packet, Buffer.alloc(10)]);
    cm.sign(signed, packet.length, 0x1234, 10);
    assert.deepEqual(signed.subarray(packet.length), want.subarray(0, 10));
    const copy = Buffer.from(signed);
    assert.equal(cm.verify(signed, packet.length, 0x1234, 10), true);
    assert.deepEqual(signed, copy, "verify puts the tag back");
    assert.equal(cm.verify(signed, packet.length, 0x1235, 10), false);
    assert.deepEqual(signed, copy);
    signed[3] ^= 1;
    assert.equal(cm.verify(signed, packet.length, 0x1234, 10), false);
    // Without a ROC (SRTCP), over the bytes as they are; a 4-byte tag (the _32 suite) holds the ROC exactly.
    const rtcp = Buffer.concat([packet, Buffer.alloc(10)]);
    cm.sign(rtcp, packet.length, -1, 10);
    assert.deepEqual(
      rtcp.subarray(packet.length),
      createHmac("sha1", authKey).update(packet).digest().subarray(0, 10),
    );
    const short = Buffer.concat([packet, Buffer.alloc(4)]);
    cm.sign(short, packet.length, 7, 4);
    assert.deepEqual(
      short.subarray(packet.length),
      createHmac("sha1", authKey)
        .update(packet)
        .update(Buffer.from([0, 0, 0, 7]))
        .digest()
        .subarray(0, 4),
    );
    assert.equal(cm.verify(short, packet.length, 7, 4), true);
  });
});
