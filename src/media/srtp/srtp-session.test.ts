import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { deriveSessionKeys } from "./key-derivation.ts";
import type { SrtpProfile } from "./profiles.ts";
import { type SrtpMasterKey, SrtpSession } from "./srtp-session.ts";
import { g711Packet, hex, receiverReport } from "./testing.ts";

/** The master key and salt of libsrtp's srtp_validate() (those of RFC 3711 B.3). */
const LIBSRTP_CM: SrtpMasterKey = {
  profile: "AES_CM_128_HMAC_SHA1_80",
  masterKey: hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
  masterSalt: hex("0EC675AD498AFEEBB6960B3AABE6"),
};
/** libsrtp's srtp_validate_gcm() key: 16-byte key, 12-byte salt. */
const LIBSRTP_GCM: SrtpMasterKey = {
  profile: "AEAD_AES_128_GCM",
  masterKey: hex("000102030405060708090a0b0c0d0e0f"),
  masterSalt: hex("a0a1a2a3a4a5a6a7a8a9aaab"),
};
/** libsrtp's test RTP packet: PT 15, seq 0x1234, SSRC 0xcafebabe, 16 bytes of 0xab. */
const LIBSRTP_RTP = hex("800f1234decafbadcafebabe abababababababababababababababab");
/** libsrtp's test RTCP packet: a sender report header of SSRC 0xcafebabe and 16 bytes of 0xab. */
const LIBSRTP_RTCP = hex("81c8000bcafebabe abababababababababababababababab");

const PROFILE_NAMES: SrtpProfile[] = [
  "AES_CM_128_HMAC_SHA1_80",
  "AES_CM_128_HMAC_SHA1_32",
  "AEAD_AES_128_GCM",
];

function masterFor(profile: SrtpProfile, seed = 1): SrtpMasterKey {
  const saltLength = profile === "AEAD_AES_128_GCM" ? 12 : 14;
  return {
    profile,
    masterKey: Buffer.alloc(16, seed),
    masterSalt: Buffer.alloc(saltLength, seed + 0x40),
  };
}

/** Protects a copy of `packet[0, length)` and returns exactly the SRTP bytes. */
function protect(s: SrtpSession, packet: Buffer, length = packet.length): Buffer {
  const buf = Buffer.alloc(length + 32);
  packet.copy(buf, 0, 0, length);
  const n = s.protectRtp(buf, length);
  assert.equal(typeof n, "number", `protect failed: ${String(n)}`);
  return buf.subarray(0, n as number);
}

function protectRtcp(s: SrtpSession, packet: Buffer, length = packet.length): Buffer {
  const buf = Buffer.alloc(length + 32);
  packet.copy(buf, 0, 0, length);
  const n = s.protectRtcp(buf, length);
  assert.equal(typeof n, "number", `protect failed: ${String(n)}`);
  return buf.subarray(0, n as number);
}

/** Unprotects a copy; returns the plaintext or the failure. */
function unprotect(s: SrtpSession, srtp: Buffer): Buffer | string {
  const buf = Buffer.from(srtp);
  const r = s.unprotectRtp(buf, buf.length);
  return typeof r === "string" ? r : buf.subarray(0, r);
}

function unprotectRtcp(s: SrtpSession, srtcp: Buffer): Buffer | string {
  const buf = Buffer.from(srtcp);
  const r = s.unprotectRtcp(buf, buf.length);
  return typeof r === "string" ? r : buf.subarray(0, r);
}

describe("known answers", () => {
  it("AES_CM_128_HMAC_SHA1_80 SRTP packet of libsrtp's srtp_validate()", () => {
    const expected = hex(`800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb`);
    assert.deepEqual(protect(new SrtpSession(LIBSRTP_CM), LIBSRTP_RTP), expected);
    assert.deepEqual(unprotect(new SrtpSession(LIBSRTP_CM), expected), LIBSRTP_RTP);
  });

  it("AES_CM_128_HMAC_SHA1_80 SRTCP packet of libsrtp (SRTCP index 1, E flag set)", () => {
    const expected = hex(`81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798`);
    const sender = new SrtpSession(LIBSRTP_CM);
    // libsrtp counts SRTCP packets from 1; we start at 0 as RFC 3711 §3.4 says.
    assert.equal(sender.nextSrtcpIndex(0xcafebabe), 0);
    protectRtcp(sender, LIBSRTP_RTCP);
    assert.deepEqual(protectRtcp(sender, LIBSRTP_RTCP), expected);
    assert.deepEqual(unprotectRtcp(new SrtpSession(LIBSRTP_CM), expected), LIBSRTP_RTCP);
  });

  it("AEAD_AES_128_GCM SRTP and SRTCP packets of libsrtp's srtp_validate_gcm() (keys derived from a 96-bit salt)", () => {
    const rtp = hex(
      `800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392`,
    );
    const rtcp = hex(
      `81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025 c52c6fbea2b3b446ea31123ba88ce61e 80000001`,
    );
    const sender = new SrtpSession(LIBSRTP_GCM);
    assert.deepEqual(protect(sender, LIBSRTP_RTP), rtp);
    protectRtcp(sender, LIBSRTP_RTCP);
    assert.deepEqual(protectRtcp(sender, LIBSRTP_RTCP), rtcp);
    const receiver = new SrtpSession(LIBSRTP_GCM);
    assert.deepEqual(unprotect(receiver, rtp), LIBSRTP_RTP);
    assert.deepEqual(unprotectRtcp(receiver, rtcp), LIBSRTP_RTCP);
  });

  // RFC 7714 §16 and §17 start from the session key and salt ("Quid pro quo").
  const rfc7714Keys = {
    cipherKey: hex("000102030405060708090a0b0c0d0e0f"),
    salt: hex("517569642070726f2071756f"),
    authKey: new Uint8Array(0),
  };
  const rfc7714 = () => new SrtpSession("AEAD_AES_128_GCM", { rtp: rfc7714Keys, rtcp: rfc7714Keys });

  it("RFC 7714 §16.1: AEAD_AES_128_GCM SRTP, SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b", () => {
    const plain = hex(
      `8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573`,
    );
    const expected = hex(`8040f17b8041f8d35501a0b2
      f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833
      899d7f27beb16a9152cf765ee4390cce`);
    assert.deepEqual(protect(rfc7714(), plain), expected);
    assert.deepEqual(unprotect(rfc7714(), expected), plain);
    const forged = Buffer.from(expected);
    forged[20] ^= 1;
    assert.equal(unprotect(rfc7714(), forged), "auth");
  });

  const RFC7714_RTCP = hex(`81c8000d4d617273 4e5450314e545032525450200000042a0000e9304c756e61
    deadbeefdeadbeefdeadbeefdeadbeefdeadbeef`);

  it("RFC 7714 §17.1: AEAD_AES_128_GCM SRTCP, SSRC 'Mars', index 0x5d4, encrypted", () => {
    const expected = hex(`81c8000d4d617273
      63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275b
      c84aa45896cf4d2fc5abf87245d9eade 800005d4`);
    const sender = rfc7714();
    for (let i = 0; i < 0x5d4; i++) protectRtcp(sender, RFC7714_RTCP);
    assert.equal(sender.nextSrtcpIndex(0x4d617273), 0x5d4);
    assert.deepEqual(protectRtcp(sender, RFC7714_RTCP), expected);
    assert.deepEqual(unprotectRtcp(rfc7714(), expected), RFC7714_RTCP);
  });

  it("RFC 7714 §17.3: AEAD_AES_128_GCM SRTCP authenticated only (E flag clear)", () => {
    const received = Buffer.concat([RFC7714_RTCP, hex("841dd9683dd78ec92ae58790125f62b3 000005d4")]);
    assert.deepEqual(unprotectRtcp(rfc7714(), received), RFC7714_RTCP);
    const forged = Buffer.from(received);
    forged[12] ^= 0x80;
    assert.equal(unprotectRtcp(rfc7714(), forged), "auth");
    // Setting the E flag on it changes the associated data: no longer authentic.
    const flagged = Buffer.from(received);
    flagged[flagged.length - 4] |= 0x80;
    assert.equal(unprotectRtcp(rfc7714(), flagged), "auth");
  });
});

describe("round trips", () => {
  for (const profile of PROFILE_NAMES) {
    it(`${profile}: RTP and RTCP, sender and receiver with the same master key`, () => {
      const sender = new SrtpSession(masterFor(profile));
      const receiver = new SrtpSession(masterFor(profile));
      const tag = profile === "AES_CM_128_HMAC_SHA1_32" ? 4 : profile === "AEAD_AES_128_GCM" ? 16 : 10;
      assert.equal(sender.rtpOverhead, tag);
      assert.equal(sender.rtcpOverhead, profile === "AEAD_AES_128_GCM" ? 20 : 14);
      for (let seq = 1000; seq < 1100; seq++) {
        const plain = g711Packet(0x11223344, seq);
        const srtp = protect(sender, plain, 172);
        assert.equal(srtp.length, 172 + tag);
        assert.deepEqual(srtp.subarray(0, 12), plain.subarray(0, 12), "the header stays in the clear");
        assert.notDeepEqual(srtp.subarray(12, 172), plain.subarray(12, 172), "the payload is encrypted");
        assert.deepEqual(unprotect(receiver, srtp), plain.subarray(0, 172));
      }
      for (let i = 0; i < 5; i++) {
        const rr = receiverReport(0x55667788);
        const srtcp = protectRtcp(sender, rr, 32);
        assert.equal(srtcp.length, 32 + sender.rtcpOverhead);
        assert.deepEqual(srtcp.subarray(0, 8), rr.subarray(0, 8));
        assert.deepEqual(unprotectRtcp(receiver, srtcp), rr.subarray(0, 32));
      }
    });

    it(`${profile}: a different key does not authenticate`, () => {
      const srtp = protect(new SrtpSession(masterFor(profile, 1)), g711Packet(7, 1), 172);
      assert.equal(unprotect(new SrtpSession(masterFor(profile, 2)), srtp), "auth");
      const srtcp = protectRtcp(new SrtpSession(masterFor(profile, 1)), receiverReport(7), 32);
      assert.equal(unprotectRtcp(new SrtpSession(masterFor(profile, 2)), srtcp), "auth");
    });

    it(`${profile}: any flipped bit, in header, payload or tag, is refused as auth and changes nothing`, () => {
      const sender = new SrtpSession(masterFor(profile));
      const receiver = new SrtpSession(masterFor(profile));
      const srtp = protect(sender, g711Packet(9, 500), 172);
      for (const at of [1, 4, 11, 12, 100, 171, srtp.length - 1]) {
        const forged = Buffer.from(srtp);
        forged[at] ^= 0x04;
        const copy = Buffer.from(forged);
        assert.equal(receiver.unprotectRtp(forged, forged.length), "auth", `byte ${at}`);
        assert.deepEqual(forged, copy, "a refused packet is left as it came");
      }
      // A truncated tag is a forgery too.
      assert.equal(unprotect(receiver, srtp.subarray(0, srtp.length - 1)), "auth");
      // The genuine packet still passes: the forgeries did not move the window.
      assert.deepEqual(unprotect(receiver, srtp), g711Packet(9, 500).subarray(0, 172));

      const srtcp = protectRtcp(sender, receiverReport(9), 32);
      for (const at of [2, 7, 8, 31, 32, srtcp.length - 1]) {
        const forged = Buffer.from(srtcp);
        forged[at] ^= 0x10;
        assert.equal(unprotectRtcp(receiver, forged), "auth", `byte ${at}`);
      }
      assert.deepEqual(unprotectRtcp(receiver, srtcp), receiverReport(9).subarray(0, 32));
    });

    it(`${profile}: replays are refused, reordered packets within the window are not`, () => {
      const sender = new SrtpSession(masterFor(profile));
      const receiver = new SrtpSession(masterFor(profile));
      const packets = Array.from({ length: 100 }, (_, i) => protect(sender, g711Packet(1, 200 + i), 172));
      assert.notEqual(typeof unprotect(receiver, packets[10]), "string");
      assert.equal(unprotect(receiver, packets[10]), "replay");
      assert.notEqual(typeof unprotect(receiver, packets[99]), "string");
      // 89 behind the highest: out of the 64-packet window.
      assert.equal(unprotect(receiver, packets[10]), "replay");
      assert.equal(unprotect(receiver, packets[20]), "replay");
      // 63 behind: still inside, and not seen.
      assert.notEqual(typeof unprotect(receiver, packets[36]), "string");
      assert.equal(unprotect(receiver, packets[36]), "replay");
      assert.notEqual(typeof unprotect(receiver, packets[98]), "string");
      assert.equal(unprotect(receiver, packets[99]), "replay");

      const reports = Array.from({ length: 70 }, () => protectRtcp(sender, receiverReport(1), 32));
      assert.notEqual(typeof unprotectRtcp(receiver, reports[69]), "string");
      assert.equal(unprotectRtcp(receiver, reports[69]), "replay");
      assert.notEqual(typeof unprotectRtcp(receiver, reports[6]), "string");
      assert.equal(unprotectRtcp(receiver, reports[5]), "replay");
      assert.equal(unprotectRtcp(receiver, reports[6]), "replay");
    });
  }
});

describe("rollover counter", () => {
  for (const profile of PROFILE_NAMES) {
    it(`${profile}: crosses 65535 → 0 with packets reordered around it`, () => {
      const sender = new SrtpSession(masterFor(profile));
      const receiver = new SrtpSession(masterFor(profile));
      const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5];
      const srtp = new Map(seqs.map((seq) => [seq, protect(sender, g711Packet(42, seq), 172)]));
      assert.equal(sender.rolloverCounter(42, true), 1);
      // Arrival order: 0 and 1 before 65534 and 65535, 2 late.
      const order = [65530, 65531, 65532, 65533, 0, 1, 65534, 3, 65535, 4, 2, 5];
      for (const seq of order) {
        assert.deepEqual(
          unprotect(receiver, srtp.get(seq)!),
          g711Packet(42, seq).subarray(0, 172),
          `seq ${seq}`,
        );
        assert.equal(receiver.rolloverCounter(42), seq < 100 || seq === 65534 || seq === 65535 ? 1 : 0);
      }
      // Late duplicates of either side of the wrap are replays.
      assert.equal(unprotect(receiver, srtp.get(65535)!), "replay");
      assert.equal(unprotect(receiver, srtp.get(0)!), "replay");
    });
  }

  it("keeps counting across several wraps, and refuses a packet under a wrong ROC", () => {
    const sender = new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80"));
    const receiver = new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80"));
    let last: Buffer | undefined;
    for (let n = 0; n <= 3 * 65536 + 1000; n += 1000) {
      last = protect(sender, g711Packet(3, n & 0xffff), 172);
      assert.notEqual(typeof unprotect(receiver, last), "string");
    }
    assert.equal(receiver.rolloverCounter(3), 3);
    // The same SEQ sent under ROC 0 by another sender: the receiver takes it for ROC 3.
    const stale = protect(new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80")), g711Packet(3, 1500), 172);
    assert.equal(unprotect(receiver, stale), "auth");
  });

  it("a receiver that joins with the sender already past a wrap needs the ROC: the packet fails authentication", () => {
    const sender = new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80"));
    for (const seq of [65000, 65535, 0]) protect(sender, g711Packet(5, seq), 172);
    const late = protect(sender, g711Packet(5, 10), 172);
    assert.equal(unprotect(new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80")), late), "auth");
  });

  it("the sender refuses to protect an index it already used (keystream reuse)", () => {
    const sender = new SrtpSession(masterFor("AEAD_AES_128_GCM"));
    const p = g711Packet(8, 100);
    assert.equal(typeof sender.protectRtp(Buffer.from(p), 172), "number");
    assert.equal(sender.protectRtp(Buffer.from(p), 172), "replay");
    assert.equal(typeof sender.protectRtp(g711Packet(8, 99), 172), "number", "a reordered new one is fine");
    assert.equal(sender.protectRtp(g711Packet(8, 20), 172), "replay", "older than the window");
  });
});

describe("SRTCP index and E flag", () => {
  for (const profile of PROFILE_NAMES) {
    it(`${profile}: the index counts per SSRC from 0, with the E flag set, at its place in the trailer`, () => {
      const sender = new SrtpSession(masterFor(profile));
      const tag = profile === "AEAD_AES_128_GCM" ? 16 : 10;
      // RFC 3711 §3.4: ... | E+index | tag; RFC 7714 §9.1: ... | tag | E+index.
      const wordAt = (n: number) => (profile === "AEAD_AES_128_GCM" ? n - 4 : n - 4 - tag);
      for (let i = 0; i < 3; i++) {
        const a = protectRtcp(sender, receiverReport(0xa), 32);
        assert.equal(a.readUInt32BE(wordAt(a.length)), (0x80000000 | i) >>> 0);
      }
      const b = protectRtcp(sender, receiverReport(0xb), 32);
      assert.equal(b.readUInt32BE(wordAt(b.length)), 0x80000000);
      assert.equal(sender.nextSrtcpIndex(0xa), 3);
      assert.equal(sender.nextSrtcpIndex(0xb), 1);
    });
  }

  it("AES-CM: accepts an authenticated SRTCP packet sent without encryption (E clear)", () => {
    // Built by hand: header and payload in the clear, index word with E = 0, HMAC over both.
    const master = masterFor("AES_CM_128_HMAC_SHA1_80");
    const keys = deriveSessionKeys(master.profile, master.masterKey, master.masterSalt);
    const rr = receiverReport(0xc, 0).subarray(0, 32);
    const body = Buffer.concat([rr, hex("00000007")]);
    const tag = createHmac("sha1", keys.rtcp.authKey).update(body).digest().subarray(0, 10);
    const receiver = new SrtpSession(master);
    assert.deepEqual(unprotectRtcp(receiver, Buffer.concat([body, tag])), rr);
    assert.equal(unprotectRtcp(receiver, Buffer.concat([body, tag])), "replay");
    // The same packet claiming encryption is refused: the E flag is authenticated.
    const flagged = Buffer.concat([rr, hex("80000008"), tag]);
    assert.equal(unprotectRtcp(receiver, flagged), "auth");
  });
});

describe("bad input", () => {
  for (const profile of PROFILE_NAMES) {
    it(`${profile}: malformed packets are refused without throwing`, () => {
      const s = new SrtpSession(masterFor(profile));
      const r = new SrtpSession(masterFor(profile));
      const cases: [string, Buffer, number][] = [
        ["empty", Buffer.alloc(0), 0],
        ["short", Buffer.alloc(11, 0x80), 11],
        ["version 1", Buffer.from(g711Packet(1, 1).fill(0x40, 0, 1)), 172],
        [
          "CSRCs past the end",
          Buffer.from([0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
          20,
        ],
        ["length past the buffer", g711Packet(1, 1, 0, 0), 173],
        ["negative length", g711Packet(1, 1), -1],
        ["fractional length", g711Packet(1, 1), 100.5],
      ];
      for (const [name, buf, len] of cases) {
        assert.equal(s.protectRtp(Buffer.from(buf), len), "malformed", `protect ${name}`);
        assert.equal(r.unprotectRtp(Buffer.from(buf), len), "malformed", `unprotect ${name}`);
      }
      // Extension header whose length runs past the packet.
      const ext = g711Packet(1, 1);
      ext[0] = 0x90;
      ext.writeUInt16BE(0xffff, 14);
      assert.equal(s.protectRtp(ext, 172), "malformed");
      // RTCP: too short, not RTCP, wrong version.
      assert.equal(s.protectRtcp(Buffer.alloc(7), 7), "malformed");
      assert.equal(s.protectRtcp(g711Packet(1, 1), 172), "malformed");
      assert.equal(r.unprotectRtcp(Buffer.alloc(21, 0x81), 21), "malformed");
      const v1 = receiverReport(1);
      v1[0] = 0x41;
      assert.equal(r.unprotectRtcp(v1, 60), "malformed");
      assert.equal(s.protectRtcp(v1, 32), "malformed");
      // Random bytes never throw.
      for (let i = 0; i < 500; i++) {
        const junk = Buffer.alloc(i % 90);
        for (let j = 0; j < junk.length; j++) junk[j] = (i * 31 + j * 17) & 0xff;
        if (junk.length > 0) junk[0] = 0x80 | (junk[0] & 0x3f);
        assert.notEqual(typeof r.unprotectRtp(junk, junk.length), "number");
        assert.notEqual(typeof r.unprotectRtcp(junk, junk.length), "number");
      }
    });
  }

  it("needs room for the tag, or writes into another buffer", () => {
    const s = new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80"));
    const r = new SrtpSession(masterFor("AES_CM_128_HMAC_SHA1_80"));
    const exact = g711Packet(1, 1, 0xd5, 0);
    assert.equal(s.protectRtp(exact, 172), "no-room");
    assert.equal(s.protectRtcp(receiverReport(1, 0), 32), "no-room");
    const out = Buffer.alloc(200);
    const n = s.protectRtp(exact, 172, out);
    assert.equal(n, 182);
    assert.deepEqual(exact, g711Packet(1, 1, 0xd5, 0), "the source is not touched");
    assert.deepEqual(unprotect(r, out.subarray(0, 182)), exact);
    const m = s.protectRtcp(receiverReport(1, 0), 32, out);
    assert.equal(m, 46);
    assert.deepEqual(unprotectRtcp(r, out.subarray(0, 46)), receiverReport(1, 0));
  });

  it("protects only the payload of a packet with CSRCs and a header extension, and its padding", () => {
    for (const profile of PROFILE_NAMES) {
      const s = new SrtpSession(masterFor(profile));
      const r = new SrtpSession(masterFor(profile));
      // V=2, P, X, CC=2; 2 CSRCs; extension of 1 word; 8 payload bytes with 4 of padding.
      const plain = hex(`b2000005 00000320 01020304 aaaaaaaa bbbbbbbb bede0001 11223344 5555555555000004`);
      const srtp = protect(s, plain);
      assert.deepEqual(srtp.subarray(0, 28), plain.subarray(0, 28), `${profile}: the header is clear`);
      assert.notDeepEqual(
        srtp.subarray(28, 36),
        plain.subarray(28, 36),
        `${profile}: payload and padding are not`,
      );
      assert.deepEqual(unprotect(r, srtp), plain);
    }
  });

  it("limits the SSRCs it accepts when asked, and forgets the least recently used beyond maxStreams", () => {
    const master = masterFor("AES_CM_128_HMAC_SHA1_80");
    const sender = new SrtpSession(master);
    const only = new SrtpSession(master, { ssrcs: [10] });
    assert.equal(unprotect(only, protect(sender, g711Packet(11, 1), 172)), "unknown-ssrc");
    assert.equal(unprotectRtcp(only, protectRtcp(sender, receiverReport(11), 32)), "unknown-ssrc");
    assert.notEqual(typeof unprotect(only, protect(sender, g711Packet(10, 1), 172)), "string");

    const small = new SrtpSession(master, { maxStreams: 2 });
    const a = protect(sender, g711Packet(1, 50), 172);
    const b = protect(sender, g711Packet(2, 50), 172);
    const c = protect(sender, g711Packet(3, 50), 172);
    for (const p of [a, b, c]) assert.notEqual(typeof unprotect(small, p), "string");
    // SSRC 1 was forgotten, so its replay is not recognised; 3 is still known.
    assert.equal(small.rolloverCounter(1), undefined);
    assert.equal(unprotect(small, c), "replay");
    assert.throws(() => new SrtpSession(master, { maxStreams: 0 }), RangeError);
  });
});
