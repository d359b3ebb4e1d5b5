// SDES on the SDP of each leg (RFC 4568): an encrypted leg answers and offers
// RTP/SAVP with its own keys, a plain leg refuses keys, and the two legs of
// a B2BUA call never share keys or protocol.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { offerCrypto, parseCryptoAttribute } from "../srtp/index.ts";
import { parseAnswer } from "./offer.ts";
import { parseSdp } from "./parse.ts";
import { SIPP, SRTP_ONLY } from "./phone-sdp.fixtures.ts";
import { SdpSession } from "./session.ts";
import { SdpError } from "./types.ts";

const cryptoOf = (sdp: string) => parseSdp(sdp).streams[0].crypto;
const protocolOf = (sdp: string) => parseSdp(sdp).streams[0].protocol;

/** What a phone answers to an offer carrying `crypto` lines: the first one, with its own key. */
function phoneAnswer(offer: string, port = 7000): string {
  const line = cryptoOf(offer)[0];
  const tag = line.split(" ")[0];
  const [own] = offerCrypto(["AES_CM_128_HMAC_SHA1_80"]);
  const key = Buffer.concat([own.masterKey, own.masterSalt]).toString("base64");
  return [
    "v=0",
    "o=phone 1 1 IN IP4 10.0.0.9",
    "s=-",
    "c=IN IP4 10.0.0.9",
    "t=0 0",
    `m=audio ${port} RTP/SAVP 0`,
    "a=rtpmap:0 PCMU/8000",
    `a=crypto:${tag} AES_CM_128_HMAC_SHA1_80 inline:${key}`,
    "",
  ].join("\r\n");
}

describe("a leg whose signalling is encrypted", () => {
  it("answers an RTP/SAVP offer with its own key under the offered tag", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const { answer, media } = s.answer(SRTP_ONLY);
    assert.equal(protocolOf(answer), "RTP/SAVP");
    const [line] = cryptoOf(answer);
    const ours = parseCryptoAttribute(line);
    assert.ok(ours.ok);
    assert.equal(ours.crypto.tag, 1);
    assert.ok(media.srtp, "keys agreed");
    assert.deepEqual(Buffer.from(media.srtp.local.masterKey), Buffer.from(ours.crypto.masterKey));
    assert.equal(Buffer.from(media.srtp.remote.masterKey).toString("base64").slice(0, 8), "PS1uQCVe");
    assert.equal(s.srtp, media.srtp);
  });

  it("keeps its key when the phone re-offers (no re-key, the phone's context stays valid)", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const first = s.answer(SRTP_ONLY);
    const again = s.answer(SRTP_ONLY.replace("a=crypto:1", "a=crypto:4"));
    assert.deepEqual(
      Buffer.from(again.media.srtp!.local.masterKey),
      Buffer.from(first.media.srtp!.local.masterKey),
    );
    assert.equal(again.media.srtp!.local.tag, 4);
  });

  it("answers a plain offer with plain RTP, and then has no keys", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const { answer, media } = s.answer(SIPP);
    assert.equal(protocolOf(answer), "RTP/AVP");
    assert.deepEqual(cryptoOf(answer), []);
    assert.equal(media.srtp, undefined);
  });

  it('"offer" offers RTP/SAVP with a line per suite, and reads the keys from the answer', () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "offer" });
    const offer = s.offer();
    assert.equal(protocolOf(offer), "RTP/SAVP");
    assert.equal(cryptoOf(offer).length, 3);
    const media = s.readAnswer(phoneAnswer(offer));
    assert.ok(media.srtp);
    assert.equal(media.srtp.local.tag, 1);
    // The re-offer carries the agreed key only, unchanged.
    const reoffer = s.offer({ direction: "sendonly" });
    assert.equal(cryptoOf(reoffer).length, 1);
    const again = parseCryptoAttribute(cryptoOf(reoffer)[0]);
    assert.ok(again.ok);
    assert.deepEqual(Buffer.from(again.crypto.masterKey), Buffer.from(media.srtp.local.masterKey));
  });

  it("refuses an answer that drops to plain RTP or picks a tag never offered", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "offer" });
    s.offer();
    assert.throws(() => s.readAnswer(SIPP), SdpError);
    assert.throws(() => s.readAnswer(phoneAnswer(s.offer()).replace("a=crypto:1", "a=crypto:9")), SdpError);
  });

  it("refuses an offer whose only key it cannot use (488)", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const mki = SRTP_ONLY.replace(/(inline:\S+)/, "$1|1:4");
    assert.throws(
      () => s.answer(mki),
      (err: unknown) => err instanceof SdpError && /SRTP refused/.test(err.message),
    );
  });
});

describe("a plain leg", () => {
  it("refuses SRTP keys that came over unencrypted signalling, saying what to use", () => {
    const s = new SdpSession("203.0.113.5", 30000);
    assert.throws(
      () => s.answer(SRTP_ONLY),
      (err: unknown) => err instanceof SdpError && err.status === 488 && /TLS/.test(err.message),
    );
    assert.throws(() => s.checkOffer(SRTP_ONLY), SdpError);
    s.checkOffer(SIPP);
  });

  it("offers plain RTP and refuses an RTP/SAVP answer to it", () => {
    const s = new SdpSession("203.0.113.5", 30000);
    const offer = s.offer();
    assert.equal(protocolOf(offer), "RTP/AVP");
    assert.throws(() => parseAnswer(phoneAnswer(SRTP_ONLY)), SdpError);
  });
});

describe("the two legs of a B2BUA call", () => {
  it("an encrypted caller's offer reaches a plain callee as plain RTP, and the answer goes back encrypted", () => {
    const caller = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const callee = new SdpSession("203.0.113.5", 30002);
    caller.checkOffer(SRTP_ONLY);
    const toCallee = callee.filterOffer(SRTP_ONLY);
    assert.equal(protocolOf(toCallee.sdp), "RTP/AVP");
    assert.deepEqual(cryptoOf(toCallee.sdp), [], "the caller's key never leaves its leg");
    assert.equal(toCallee.media.srtp, undefined);
    const calleeMedia = callee.readAnswer(SIPP);
    assert.equal(calleeMedia.srtp, undefined);
    const toCaller = caller.rewriteAnswer(SIPP, SRTP_ONLY);
    assert.equal(protocolOf(toCaller.sdp), "RTP/SAVP");
    assert.equal(cryptoOf(toCaller.sdp).length, 1);
    assert.ok(caller.srtp, "the caller's leg has keys");
  });

  it("a plain caller reaches an encrypted callee with keys of the callee's leg only", () => {
    const caller = new SdpSession("203.0.113.5", 30000);
    const callee = new SdpSession("203.0.113.5", 30002, { srtp: "offer" });
    const toCallee = callee.filterOffer(SIPP);
    assert.equal(protocolOf(toCallee.sdp), "RTP/SAVP");
    assert.equal(cryptoOf(toCallee.sdp).length, 3);
    const answer = phoneAnswer(toCallee.sdp);
    assert.ok(callee.readAnswer(answer).srtp);
    const toCaller = caller.rewriteAnswer(answer, SIPP);
    assert.equal(protocolOf(toCaller.sdp), "RTP/AVP");
    assert.deepEqual(cryptoOf(toCaller.sdp), []);
    assert.equal(caller.srtp, undefined);
  });
});

describe("best effort (keys in an RTP/AVP offer)", () => {
  it("a phone without SRTP answers plain: the leg stays plain", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "best-effort" });
    const offer = s.offer();
    assert.equal(protocolOf(offer), "RTP/AVP");
    assert.equal(cryptoOf(offer).length, 3, "the keys are there for a phone that can");
    assert.equal(s.readAnswer(SIPP).srtp, undefined);
    assert.equal(protocolOf(s.offer()), "RTP/AVP");
  });

  it("a phone with SRTP answers with a key: the leg is encrypted, and re-offers stay RTP/AVP with the agreed key", () => {
    const s = new SdpSession("203.0.113.5", 30000, { srtp: "best-effort" });
    const offer = s.offer();
    const answer = phoneAnswer(offer).replace("RTP/SAVP", "RTP/AVP");
    assert.ok(s.readAnswer(answer).srtp);
    const reoffer = s.offer({ direction: "sendonly" });
    assert.equal(protocolOf(reoffer), "RTP/AVP");
    assert.equal(cryptoOf(reoffer).length, 1);
  });

  it("an encrypted leg answers a best-effort offer with its key, plain protocol kept; a plain leg ignores the keys", () => {
    const bestEffortOffer = SRTP_ONLY.replace("RTP/SAVP", "RTP/AVP");
    const secure = new SdpSession("203.0.113.5", 30000, { srtp: "accept" });
    const a = secure.answer(bestEffortOffer);
    assert.equal(protocolOf(a.answer), "RTP/AVP");
    assert.equal(cryptoOf(a.answer).length, 1);
    assert.ok(a.media.srtp);
    const plain = new SdpSession("203.0.113.5", 30000);
    const b = plain.answer(bestEffortOffer);
    assert.deepEqual(cryptoOf(b.answer), [], "keys sent in clear are not used");
    assert.equal(b.media.srtp, undefined);
  });
});
