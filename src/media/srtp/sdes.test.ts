import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cryptoAttributesByMedia,
  formatCryptoAttribute,
  parseCryptoAttribute,
  type SdesCrypto,
} from "./sdes.ts";
import {
  acceptAnswerCrypto,
  answerCrypto,
  generateCrypto,
  offerCrypto,
  SDES_PREFERENCE,
} from "./sdes-negotiation.ts";
import { SrtpSession } from "./srtp-session.ts";
import { g711Packet } from "./testing.ts";

// The line of src/media/sdp/phone-sdp.fixtures.ts SRTP_ONLY (RFC 4568 §4's example key).
const EXAMPLE_KEY = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

function parsed(value: string): SdesCrypto {
  const r = parseCryptoAttribute(value);
  assert.ok(r.ok, r.ok ? "" : r.reason);
  return r.crypto;
}

function rejection(value: string): string {
  const r = parseCryptoAttribute(value);
  assert.ok(!r.ok, `accepted ${value}`);
  return r.code;
}

describe("parseCryptoAttribute", () => {
  it("reads tag, suite, key and salt", () => {
    const c = parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`);
    assert.equal(c.tag, 1);
    assert.equal(c.profile, "AES_CM_128_HMAC_SHA1_80");
    const raw = Buffer.from(EXAMPLE_KEY, "base64");
    assert.deepEqual(Buffer.from(c.masterKey), raw.subarray(0, 16));
    assert.deepEqual(Buffer.from(c.masterSalt), raw.subarray(16));
    assert.equal(c.lifetime, undefined);
    assert.deepEqual(c.sessionParams, []);
  });

  it("takes the a=crypto: or crypto: prefix, tabs, and a lifetime as a power of 2 or a number", () => {
    assert.equal(parsed(`a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${EXAMPLE_KEY}|2^20`).lifetime, 2 ** 20);
    assert.equal(
      parsed(`crypto:7\tAES_CM_128_HMAC_SHA1_32\tinline:${EXAMPLE_KEY}|1048576`).lifetime,
      1048576,
    );
    assert.equal(parsed(`7 AES_CM_128_HMAC_SHA1_32 inline:${EXAMPLE_KEY}|2^31  `).lifetime, 2 ** 31);
    // ABNF literals ignore case (RFC 5234 §2.3); we write the suite back in its usual form.
    const lower = parsed(`1 aes_cm_128_hmac_sha1_80 INLINE:${EXAMPLE_KEY} wsh=64`);
    assert.equal(lower.profile, "AES_CM_128_HMAC_SHA1_80");
    assert.deepEqual(lower.sessionParams, ["wsh=64"]);
  });

  it("reads an AEAD_AES_128_GCM key of 16 + 12 bytes (RFC 7714 §14.1), padded or not", () => {
    const key = Buffer.alloc(28, 7).toString("base64");
    assert.ok(key.endsWith("="));
    const c = parsed(`2 AEAD_AES_128_GCM inline:${key}`);
    assert.equal(c.masterKey.length, 16);
    assert.equal(c.masterSalt.length, 12);
    assert.equal(parsed(`2 AEAD_AES_128_GCM inline:${key.replace(/=+$/, "")}`).masterSalt.length, 12);
  });

  it("keeps the session parameters that only hint (WSH, FEC_ORDER)", () => {
    const c = parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} WSH=128 FEC_ORDER=SRTP_FEC`);
    assert.deepEqual(c.sessionParams, ["WSH=128", "FEC_ORDER=SRTP_FEC"]);
  });

  it("refuses what we do not support, saying why", () => {
    const gcmKey = Buffer.alloc(28, 7).toString("base64");
    const cases: [string, string][] = [
      [`1 AES_256_CM_HMAC_SHA1_80 inline:${Buffer.alloc(46).toString("base64")}`, "unknown-suite"],
      [`1 F8_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`, "unknown-suite"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|2^20|1:4`, "mki"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|1:32`, "mki"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|2^20|1:4;inline:${EXAMPLE_KEY}|2^20|2:4`, "mki"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY.slice(0, 36)}`, "key-length"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${gcmKey}`, "key-length"],
      [`1 AEAD_AES_128_GCM inline:${EXAMPLE_KEY}`, "key-length"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY.slice(0, 39)}!`, "key-length"],
      [`1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key`, "key-method"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|2^49`, "lifetime"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|0`, "lifetime"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|soon`, "lifetime"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|2^20|2^20|1:1`, "syntax"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} KDR=10`, "session-param"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} UNENCRYPTED_SRTP`, "session-param"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} WSH=64 UNENCRYPTED_SRTCP`, "session-param"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} UNAUTHENTICATED_SRTP`, "session-param"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} FEC_KEY=inline:${EXAMPLE_KEY}`, "session-param"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} X-SOMETHING`, "session-param"],
      [`x AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`, "syntax"],
      [`1234567890 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`, "syntax"],
      ["1 AES_CM_128_HMAC_SHA1_80", "syntax"],
      ["", "syntax"],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${"A".repeat(2000)}`, "syntax"],
    ];
    for (const [value, code] of cases) assert.equal(rejection(value), code, value);
    assert.equal(rejection(undefined as unknown as string), "syntax");
  });
});

describe("formatCryptoAttribute", () => {
  it("round-trips what it parses", () => {
    for (const value of [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`,
      `3 AES_CM_128_HMAC_SHA1_32 inline:${EXAMPLE_KEY}|2^20`,
      `12 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}|1000 WSH=64`,
      `2 AEAD_AES_128_GCM inline:${Buffer.alloc(28, 9).toString("base64")}`,
    ]) {
      assert.equal(formatCryptoAttribute(parsed(value)), value);
    }
    for (const profile of SDES_PREFERENCE) {
      const c = generateCrypto(5, profile);
      assert.deepEqual(parsed(formatCryptoAttribute(c)), c);
    }
  });
});

describe("cryptoAttributesByMedia", () => {
  it("collects the a=crypto values of each m= section, every session parameter kept", () => {
    const sdp = [
      "v=0",
      "o=- 1 1 IN IP4 10.0.0.72",
      "s=-",
      "c=IN IP4 10.0.0.72",
      "t=0 0",
      "m=video 5004 RTP/SAVP 96",
      "a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:" + EXAMPLE_KEY,
      "m=audio 5002 RTP/SAVP 0",
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + EXAMPLE_KEY + " WSH=64 KDR=1",
      "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + EXAMPLE_KEY,
      "",
    ].join("\r\n");
    assert.deepEqual(cryptoAttributesByMedia(sdp), [
      [`9 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY}`],
      [
        `1 AES_CM_128_HMAC_SHA1_80 inline:${EXAMPLE_KEY} WSH=64 KDR=1`,
        `2 AES_CM_128_HMAC_SHA1_32 inline:${EXAMPLE_KEY}`,
      ],
    ]);
    assert.deepEqual(cryptoAttributesByMedia(""), []);
  });
});

describe("answerCrypto", () => {
  const key = (n: number) => Buffer.alloc(30, n).toString("base64");
  const gcm = Buffer.alloc(28, 3).toString("base64");

  it("prefers _80, then _32, then GCM, whatever the offer's order, and answers with the same tag and a new key", () => {
    const offer = [
      `1 AEAD_AES_128_GCM inline:${gcm}`,
      `2 AES_CM_128_HMAC_SHA1_32 inline:${key(2)}`,
      `3 AES_CM_128_HMAC_SHA1_80 inline:${key(3)}`,
      `4 AES_CM_128_HMAC_SHA1_80 inline:${key(4)}`,
    ];
    const a = answerCrypto(offer);
    assert.ok(a.ok);
    assert.equal(a.remote.tag, 3, "the first _80 line of the offer");
    assert.deepEqual(Buffer.from(a.remote.masterKey), Buffer.alloc(16, 3));
    assert.equal(a.local.tag, 3);
    assert.equal(a.local.profile, "AES_CM_128_HMAC_SHA1_80");
    assert.notDeepEqual(Buffer.from(a.local.masterKey), Buffer.alloc(16, 3));
    assert.equal(a.attribute, formatCryptoAttribute(a.local));
    assert.deepEqual(a.rejected, []);

    const b = answerCrypto(offer.slice(0, 2));
    assert.ok(b.ok);
    assert.equal(b.remote.profile, "AES_CM_128_HMAC_SHA1_32");
    const c = answerCrypto(offer.slice(0, 1));
    assert.ok(c.ok);
    assert.equal(c.local.profile, "AEAD_AES_128_GCM");
    assert.equal(c.local.masterSalt.length, 12);
    // A narrower preference of ours.
    const d = answerCrypto(offer, ["AEAD_AES_128_GCM"]);
    assert.ok(d.ok);
    assert.equal(d.remote.tag, 1);
  });

  it("skips the lines it cannot take, listing why, and fails when none is left", () => {
    const a = answerCrypto([
      `1 AES_256_CM_HMAC_SHA1_80 inline:${Buffer.alloc(46).toString("base64")}`,
      `2 AES_CM_128_HMAC_SHA1_80 inline:${key(1)}|2^20|1:4`,
      `3 AES_CM_128_HMAC_SHA1_32 inline:${key(3)}`,
    ]);
    assert.ok(a.ok);
    assert.equal(a.remote.tag, 3);
    assert.deepEqual(
      a.rejected.map((r) => r.code),
      ["unknown-suite", "mki"],
    );
    const none = answerCrypto([`1 AES_CM_128_HMAC_SHA1_80 inline:${key(1)}|1:4`]);
    assert.ok(!none.ok);
    assert.match(none.reason, /MKI/);
    assert.equal(none.rejected.length, 1);
    assert.ok(!answerCrypto([]).ok);
    const notOurs = answerCrypto([`1 AES_CM_128_HMAC_SHA1_80 inline:${key(1)}`], ["AEAD_AES_128_GCM"]);
    assert.ok(!notOurs.ok);
  });

  it("gives keys with which the two ends talk: each protects under its own line", () => {
    const offered = offerCrypto();
    assert.deepEqual(
      offered.map((c) => [c.tag, c.profile]),
      [
        [1, "AES_CM_128_HMAC_SHA1_80"],
        [2, "AES_CM_128_HMAC_SHA1_32"],
        [3, "AEAD_AES_128_GCM"],
      ],
    );
    const answer = answerCrypto(offered.map(formatCryptoAttribute));
    assert.ok(answer.ok);
    const back = acceptAnswerCrypto(offered, [answer.attribute]);
    assert.ok(back.ok);
    assert.equal(back.local.tag, 1);
    // Offerer sends under its own key; answerer receives under the offer line's key.
    const offererSend = new SrtpSession(back.local);
    const answererReceive = new SrtpSession(answer.remote);
    const buf = g711Packet(77, 1);
    const n = offererSend.protectRtp(buf, 172);
    assert.equal(typeof n, "number");
    assert.equal(answererReceive.unprotectRtp(buf, n as number), 172);
    // And the other way round.
    const answererSend = new SrtpSession(answer.local);
    const offererReceive = new SrtpSession(back.remote);
    const buf2 = g711Packet(78, 1);
    const m = answererSend.protectRtp(buf2, 172);
    assert.equal(offererReceive.unprotectRtp(buf2, m as number), 172);
  });
});

describe("acceptAnswerCrypto", () => {
  it("wants exactly one line, with a tag we offered under the same suite", () => {
    const offered = offerCrypto(["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]);
    const k = Buffer.alloc(30, 1).toString("base64");
    assert.ok(!acceptAnswerCrypto(offered, []).ok);
    assert.ok(
      !acceptAnswerCrypto(offered, [
        `1 AES_CM_128_HMAC_SHA1_80 inline:${k}`,
        `2 AES_CM_128_HMAC_SHA1_32 inline:${k}`,
      ]).ok,
    );
    assert.ok(!acceptAnswerCrypto(offered, [`3 AES_CM_128_HMAC_SHA1_80 inline:${k}`]).ok);
    assert.ok(!acceptAnswerCrypto(offered, [`1 AES_CM_128_HMAC_SHA1_32 inline:${k}`]).ok);
    assert.ok(!acceptAnswerCrypto(offered, [`1 AES_CM_128_HMAC_SHA1_80 inline:${k}|1:1`]).ok);
    const ok = acceptAnswerCrypto(offered, [`2 AES_CM_128_HMAC_SHA1_32 inline:${k}`]);
    assert.ok(ok.ok);
    assert.equal(ok.local, offered[1]);
  });
});

describe("generateCrypto", () => {
  it("draws a fresh key each time, of the suite's lengths", () => {
    const a = generateCrypto(1, "AES_CM_128_HMAC_SHA1_80");
    const b = generateCrypto(1, "AES_CM_128_HMAC_SHA1_80");
    assert.notDeepEqual(a.masterKey, b.masterKey);
    assert.equal(a.masterKey.length, 16);
    assert.equal(a.masterSalt.length, 14);
    assert.throws(() => generateCrypto(-1, "AES_CM_128_HMAC_SHA1_80"), RangeError);
    assert.throws(() => generateCrypto(1, "NULL_HMAC_SHA1_80" as never), RangeError);
  });
});
