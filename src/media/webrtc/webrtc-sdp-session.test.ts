// A browser leg's SDP in the B2BUA: answering Chrome's offer with what the
// other leg answered, offering to a browser what the other leg offered,
// re-offers that keep the DTLS association, and a phone's leg reading a
// browser's SDP for its codecs and direction only.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "sdp-transform";
import { SRTP_ONLY } from "../sdp/phone-sdp.fixtures.ts";
import { isHold } from "../sdp/rewrite.ts";
import { readOffer, SdpSession } from "../sdp/session.ts";
import { SdpError } from "../sdp/types.ts";
import { CHROME_AUDIO_OFFER, CHROME_AV_DATA_OFFER } from "./chrome-sdp.fixtures.ts";
import type { DtlsFingerprint } from "./dtls-certificate.ts";
import type { WebRtcRemoteParameters } from "./webrtc-sdp.ts";
import { type WebRtcLegTransport, WebRtcSdpSession } from "./webrtc-sdp-session.ts";

const FINGERPRINT: DtlsFingerprint = {
  algorithm: "sha-256",
  value: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
};

/** A transport that records what the session hands it, and refuses a change as WebRtcTransport does. */
function fakeTransport(): WebRtcLegTransport & { given: WebRtcRemoteParameters[] } {
  const given: WebRtcRemoteParameters[] = [];
  return {
    ice: { ufrag: "vpbxUfrg", pwd: "vpbxPasswordOf24Chars+/x" },
    fingerprint: FINGERPRINT,
    localPort: 40002,
    given,
    setRemoteParameters(remote) {
      const first = given[0];
      if (first && (first.ice.ufrag !== remote.ice.ufrag || first.ice.pwd !== remote.ice.pwd)) {
        throw new RangeError("ICE restart or new DTLS certificate on a WebRTC leg is not supported");
      }
      given.push(remote);
    },
  };
}

/** A SIP phone's plain offer: PCMA first, PCMU, telephone-event 101. */
const PHONE_OFFER = [
  "v=0",
  "o=phone 42 1 IN IP4 192.0.2.10",
  "s=-",
  "c=IN IP4 192.0.2.10",
  "t=0 0",
  "m=audio 6000 RTP/AVP 8 0 101",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=sendrecv",
  "",
].join("\r\n");

/** What a phone answers to our relayed offer (PCMU, the browser's event number 126). */
function phoneAnswer(direction = "sendrecv", codec = "0 126", map = "a=rtpmap:0 PCMU/8000"): string {
  return [
    "v=0",
    "o=phone 43 1 IN IP4 192.0.2.11",
    "s=-",
    "c=IN IP4 192.0.2.11",
    "t=0 0",
    `m=audio 7000 RTP/AVP ${codec}`,
    map,
    "a=rtpmap:126 telephone-event/8000",
    `a=${direction}`,
    "",
  ].join("\r\n");
}

/** A browser's answer to an offer of ours (setup active, its own ICE and fingerprint). */
function browserAnswer(offer: string, opts: { direction?: string; ufrag?: string } = {}): string {
  const m = parse(offer).media[0];
  const pt = m.rtp[0].payload;
  return [
    "v=0",
    "o=- 77 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${m.mid ?? "0"}`,
    `m=audio 9 UDP/TLS/RTP/SAVPF ${pt}${m.rtp.some((r) => r.codec === "telephone-event") ? " 101" : ""}`,
    "c=IN IP4 0.0.0.0",
    `a=ice-ufrag:${opts.ufrag ?? "brws"}`,
    "a=ice-pwd:browserPasswordOf24chars",
    "a=fingerprint:sha-256 22:C8:50:A8:B7:76:00:16:FB:09:DC:F1:0F:6A:5E:86:A1:55:01:FE:9B:85:41:24:DF:63:08:DC:80:94:7E:31",
    "a=setup:active",
    `a=mid:${m.mid ?? "0"}`,
    `a=${opts.direction ?? "sendrecv"}`,
    "a=rtcp-mux",
    `a=rtpmap:${pt} ${m.rtp[0].codec}/8000`,
    "",
  ].join("\r\n");
}

describe("WebRtcSdpSession: a browser calls", () => {
  test("Chrome's offer answered with the phone's codec; its transport goes to the leg", () => {
    const transport = fakeTransport();
    const session = new WebRtcSdpSession(transport, "203.0.113.5", { sessionId: "9" });
    // The phone got our relayed offer and took PCMU.
    const { sdp, media } = session.rewriteAnswer(phoneAnswer(), CHROME_AUDIO_OFFER);
    assert.equal(media.address, "192.0.2.11", "the answering phone's side");
    const a = parse(sdp);
    assert.equal(a.media.length, 1);
    const m = a.media[0];
    assert.equal(m.protocol, "UDP/TLS/RTP/SAVPF");
    assert.equal(m.port, 40002);
    assert.deepEqual(
      m.rtp.map((r) => `${r.payload} ${r.codec}`),
      ["0 PCMU", "126 telephone-event"],
    );
    assert.equal(m.setup, "passive");
    assert.equal(String(m.mid), "0");
    assert.equal(m.direction, "sendrecv");
    assert.equal(a.icelite, "ice-lite");
    assert.equal(m.iceUfrag, "vpbxUfrg");
    assert.equal(transport.given.length, 1);
    assert.equal(transport.given[0].ice.ufrag, "Fqvx");
    assert.equal(session.version, 1);
  });

  test("hold from the browser (sendonly): the phone's recvonly becomes our recvonly, same transport", () => {
    const transport = fakeTransport();
    const session = new WebRtcSdpSession(transport, "203.0.113.5");
    session.rewriteAnswer(phoneAnswer(), CHROME_AUDIO_OFFER);
    const hold = CHROME_AUDIO_OFFER.replace("a=sendrecv", "a=sendonly").replace(/^o=(\S+ \S+) 2/m, "o=$1 3");
    assert.ok(isHold(hold), "a browser's sendonly is hold");
    assert.ok(!isHold(CHROME_AUDIO_OFFER), "its c=0.0.0.0 is not");
    session.checkOffer(hold);
    const { sdp } = session.rewriteAnswer(phoneAnswer("recvonly"), hold);
    assert.equal(parse(sdp).media[0].direction, "recvonly");
    assert.equal(parse(sdp).media[0].setup, "passive");
    assert.equal(session.version, 2);
    assert.equal(transport.given.length, 2, "handed again, which the transport takes as no change");
  });

  test("an ICE restart or a new fingerprint in a re-offer: 488, nothing changes", () => {
    const session = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    session.answer(CHROME_AUDIO_OFFER);
    const restart = CHROME_AUDIO_OFFER.replace("a=ice-ufrag:Fqvx", "a=ice-ufrag:Zzzz");
    assert.throws(() => session.checkOffer(restart), SdpError);
    assert.throws(() => session.answer(restart), SdpError);
    const rekey = CHROME_AUDIO_OFFER.replace("22:C8:50", "33:C8:50");
    assert.throws(() => session.checkOffer(rekey), SdpError);
    assert.equal(session.version, 1);
  });

  test("an offer without G.711 is refused (488)", () => {
    const opusOnly = CHROME_AUDIO_OFFER.replace(
      /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF .*$/m,
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    );
    assert.throws(() => new WebRtcSdpSession(fakeTransport(), "203.0.113.5").answer(opusOnly), SdpError);
  });

  test("a re-offer of ours keeps the m= lines of the browser's offer, the others declined with their mids", () => {
    const session = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    const { answer } = session.answer(CHROME_AV_DATA_OFFER, { codecs: ["PCMA"] });
    assert.deepEqual(
      parse(answer).media.map((m) => `${m.type} ${m.port}`),
      ["audio 40002", "video 0", "application 0"],
    );
    const reoffer = parse(session.offer({ direction: "sendonly" }));
    assert.deepEqual(
      reoffer.media.map((m) => `${m.type} ${m.port} ${String(m.mid)}`),
      ["audio 40002 0", "video 0 1", "application 0 2"],
    );
    const audio = reoffer.media[0];
    assert.equal(audio.setup, "actpass");
    assert.equal(audio.direction, "sendonly");
    assert.deepEqual(
      audio.rtp.map((r) => `${r.payload} ${r.codec}`),
      ["8 PCMA", "0 PCMU", "126 telephone-event"],
      "the codec in use first; the event number is the agreed one",
    );
  });

  test("a re-offer keeps the codec in use when the browser still offers it", () => {
    const session = new WebRtcSdpSession(fakeTransport(), "203.0.113.5", { codecs: ["PCMA", "PCMU"] });
    const first = session.answer(CHROME_AUDIO_OFFER);
    assert.equal(first.media.codec, "PCMU", "the offerer's order decides");
    const again = session.answer(CHROME_AUDIO_OFFER.replace("a=sendrecv", "a=inactive"));
    assert.equal(again.media.codec, "PCMU");
    assert.equal(parse(again.answer).media[0].direction, "inactive");
  });
});

describe("WebRtcSdpSession: a browser is called", () => {
  test("a phone's offer becomes our offer to the browser: its codecs, numbers, events and direction", () => {
    const session = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    const { sdp, media } = session.filterOffer(PHONE_OFFER);
    assert.equal(media.address, "192.0.2.10", "the offering phone's side");
    assert.equal(media.codec, "PCMA");
    const m = parse(sdp).media[0];
    assert.equal(m.protocol, "UDP/TLS/RTP/SAVPF");
    assert.deepEqual(
      m.rtp.map((r) => `${r.payload} ${r.codec}`),
      ["8 PCMA", "0 PCMU", "101 telephone-event"],
    );
    assert.equal(m.setup, "actpass");
    assert.equal(String(m.mid), "0");
    assert.equal(m.rtcpMux, "rtcp-mux");
    assert.equal(m.candidates?.[0]?.port, 40002);
  });

  test("no telephone-event offered: none toward the browser either", () => {
    const plain = PHONE_OFFER.replace(" 8 0 101", " 8 0").replace(/a=(rtpmap|fmtp):101.*\r\n/g, "");
    const m = parse(new WebRtcSdpSession(fakeTransport(), "203.0.113.5").filterOffer(plain).sdp).media[0];
    assert.deepEqual(
      m.rtp.map((r) => r.codec),
      ["PCMA", "PCMU"],
    );
  });

  test("the browser's answer: setup active, its transport to the leg; passive is refused", () => {
    const transport = fakeTransport();
    const session = new WebRtcSdpSession(transport, "203.0.113.5");
    const { sdp } = session.filterOffer(PHONE_OFFER);
    const media = session.readAnswer(browserAnswer(sdp));
    assert.equal(media.codec, "PCMA");
    assert.equal(transport.given[0].ice.ufrag, "brws");
    assert.throws(
      () =>
        new WebRtcSdpSession(fakeTransport(), "203.0.113.5").readAnswer(
          browserAnswer(sdp).replace("a=setup:active", "a=setup:passive"),
        ),
      SdpError,
    );
  });

  test("the phone's hold re-offer reaches the browser with the same ICE, fingerprint and mid", () => {
    const session = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    const first = session.filterOffer(PHONE_OFFER).sdp;
    session.readAnswer(browserAnswer(first));
    const hold = session.filterOffer(PHONE_OFFER.replace("a=sendrecv", "a=sendonly")).sdp;
    const [a, b] = [parse(first).media[0], parse(hold).media[0]];
    assert.equal(b.direction, "sendonly");
    assert.equal(b.iceUfrag, a.iceUfrag);
    assert.equal(b.fingerprint?.hash, a.fingerprint?.hash);
    assert.equal(String(b.mid), String(a.mid));
    assert.equal(session.version, 2);
    // The browser's answer to it, with a new ICE ufrag, is an ICE restart: refused.
    assert.throws(() => session.readAnswer(browserAnswer(hold, { ufrag: "othr" })), SdpError);
  });
});

describe("a phone's leg and a browser's SDP", () => {
  test("a browser's offer relayed to a phone: RTP/AVP, its G.711 and events, not hold", () => {
    const phoneSide = new SdpSession("203.0.113.5", 41000);
    const { sdp, media } = phoneSide.filterOffer(CHROME_AUDIO_OFFER);
    assert.equal(media.direction, "sendrecv");
    const m = parse(sdp).media[0];
    assert.equal(m.protocol, "RTP/AVP", "never the browser's feedback profile");
    assert.deepEqual(
      m.rtp.map((r) => `${r.payload} ${r.codec}`),
      ["0 PCMU", "8 PCMA", "126 telephone-event"],
    );
    assert.equal(m.direction, "sendrecv");
    assert.equal(m.iceUfrag, undefined, "nothing of the browser's transport leaks");
    assert.equal(m.fingerprint, undefined);
  });

  test("a browser's answer rewritten for a phone that offered audio and video keeps the phone's m= lines", () => {
    const phoneSide = new SdpSession("203.0.113.5", 41000);
    const withVideo = `${PHONE_OFFER}m=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`;
    const browser = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    const toBrowser = browser.filterOffer(withVideo).sdp;
    assert.equal(parse(toBrowser).media.length, 1, "the browser is offered audio only");
    const { sdp, media } = phoneSide.rewriteAnswer(browserAnswer(toBrowser), withVideo);
    assert.equal(media.codec, "PCMA");
    assert.deepEqual(
      parse(sdp).media.map((m) => `${m.type} ${m.port} ${m.protocol}`),
      ["audio 41000 RTP/AVP", "video 0 RTP/AVP"],
    );
  });

  test("an SDES phone and a browser: each leg its own keys (RTP/SAVP with a=crypto toward the phone)", () => {
    // The browser calls a phone over TLS that requires SRTP: the phone's leg offers RTP/SAVP with its own key.
    const toPhone = new SdpSession("203.0.113.5", 41000, { srtp: "offer" }).filterOffer(
      CHROME_AUDIO_OFFER,
    ).sdp;
    const m = parse(toPhone).media[0];
    assert.equal(m.protocol, "RTP/SAVP");
    assert.ok((m.crypto?.length ?? 0) >= 1, "our keys, one per suite");
    assert.equal(m.fingerprint, undefined);
    // The SDES phone calls the browser: the browser gets DTLS-SRTP, the phone an SDES answer with our key.
    const browser = new WebRtcSdpSession(fakeTransport(), "203.0.113.5");
    const toBrowser = browser.filterOffer(SRTP_ONLY).sdp;
    assert.doesNotMatch(toBrowser, /a=crypto/, "the phone's key never reaches the browser");
    const phoneSide = new SdpSession("203.0.113.5", 41000, { srtp: "accept" });
    const { sdp } = phoneSide.rewriteAnswer(browserAnswer(toBrowser), SRTP_ONLY);
    const answered = parse(sdp).media[0];
    assert.equal(answered.protocol, "RTP/SAVP");
    assert.equal(answered.crypto?.length, 1);
    assert.ok(phoneSide.srtp, "the phone's leg has SRTP keys");
  });

  test("a plain leg still refuses to terminate a browser's offer itself", () => {
    assert.throws(() => new SdpSession("203.0.113.5", 41000).answer(CHROME_AUDIO_OFFER), SdpError);
    assert.throws(() => readOffer(CHROME_AUDIO_OFFER, true), SdpError);
    assert.equal(
      readOffer(CHROME_AUDIO_OFFER, true, undefined, true).codec,
      "PCMU",
      "its codecs, for a pickup",
    );
  });
});
