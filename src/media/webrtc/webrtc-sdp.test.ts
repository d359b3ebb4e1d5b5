// Reading browsers' SDP and writing ours, from offers recorded from Chromium.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "sdp-transform";
import { SdpError } from "../sdp/types.ts";
import { CHROME_AUDIO_OFFER, CHROME_AV_DATA_OFFER } from "./chrome-sdp.fixtures.ts";
import type { DtlsFingerprint } from "./dtls-certificate.ts";
import {
  answerWebRtcOffer,
  createWebRtcOffer,
  isWebRtcSdp,
  readWebRtcAnswer,
  readWebRtcOffer,
  type WebRtcAnswerOptions,
} from "./webrtc-sdp.ts";

const FINGERPRINT: DtlsFingerprint = {
  algorithm: "sha-256",
  value: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
};

const LOCAL: WebRtcAnswerOptions = {
  address: "203.0.113.5",
  port: 40002,
  ice: { ufrag: "vpbxUfrg", pwd: "vpbxPasswordOf24Chars+/x" },
  fingerprint: FINGERPRINT,
  sessionId: "123456",
  sessionVersion: 1,
};

/** The a= lines of the n-th m= section. */
function mediaAttributes(sdp: string, n: number): string[] {
  return sdp.split("\r\n").reduce<string[][]>((acc, line) => {
    if (line.startsWith("m=")) acc.push([]);
    else if (line.startsWith("a=") && acc.length > 0) acc[acc.length - 1].push(line);
    return acc;
  }, [])[n];
}

test("Chrome's audio offer: ICE, fingerprint, setup, mid, BUNDLE, candidates and the G.711 it offers", () => {
  const { media, remote, streamIndex } = readWebRtcOffer(CHROME_AUDIO_OFFER);
  assert.equal(streamIndex, 0);
  assert.equal(media.codec, "PCMU", "opus and G722 come first, PCMU is the first G.711");
  assert.equal(media.payloadType, 0);
  assert.equal(media.telephoneEventPt, 126, "telephone-event/8000, not the 48 kHz one (110)");
  assert.equal(media.direction, "sendrecv", "c=0.0.0.0 placeholders are not hold");
  assert.equal(media.address, "");
  assert.equal(media.port, 0);
  assert.deepEqual(remote.ice, { ufrag: "Fqvx", pwd: "77qivMG2ySYA+zZDLOnfXUNH", lite: false });
  assert.deepEqual(remote.fingerprints, [
    {
      algorithm: "sha-256",
      value:
        "22:C8:50:A8:B7:76:00:16:FB:09:DC:F1:0F:6A:5E:86:A1:55:01:FE:9B:85:41:24:DF:63:08:DC:80:94:7E:31",
    },
  ]);
  assert.equal(remote.setup, "actpass");
  assert.equal(remote.mid, "0");
  assert.deepEqual(remote.bundle, ["0"]);
  assert.equal(remote.candidates.length, 4);
  assert.deepEqual(remote.candidates[0], {
    foundation: "3790614753",
    component: 1,
    transport: "udp",
    priority: 2122194687,
    address: "192.0.2.2",
    port: 35476,
    type: "host",
  });
  assert.equal(remote.ssrcs.length, 1);
});

test("our answer to Chrome: one audio section, ICE-lite, our candidate and fingerprint, passive, rtcp-mux", () => {
  const { answer, media } = answerWebRtcOffer(CHROME_AUDIO_OFFER, LOCAL);
  const s = parse(answer);
  assert.equal(s.media.length, 1);
  const m = s.media[0];
  assert.equal(m.type, "audio");
  assert.equal(m.port, 40002);
  assert.equal(m.protocol, "UDP/TLS/RTP/SAVPF");
  assert.equal(String(m.payloads), "0 126", "PCMU and telephone-event with the offerer's numbers");
  assert.equal(media.codec, "PCMU");
  const a = mediaAttributes(answer, 0);
  for (const line of [
    "a=mid:0",
    "a=ice-ufrag:vpbxUfrg",
    "a=ice-pwd:vpbxPasswordOf24Chars+/x",
    `a=fingerprint:sha-256 ${FINGERPRINT.value}`,
    "a=setup:passive",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:126 telephone-event/8000",
    "a=fmtp:126 0-15",
    "a=ptime:20",
    "a=candidate:1 1 udp 2130706431 203.0.113.5 40002 typ host",
    "a=end-of-candidates",
  ]) {
    assert.ok(a.includes(line), `${line} in the audio section`);
  }
  assert.match(answer, /^a=group:BUNDLE 0$/m);
  assert.match(answer, /^a=ice-lite$/m);
  assert.match(answer, /^c=IN IP4 203\.0\.113\.5$/m);
  // What we do not do is not in our answer: it declines it.
  assert.doesNotMatch(answer, /opus|extmap|ssrc|rtcp-fb|rtcp-rsize|ice-options|msid/);
});

test("audio, video and a data channel: video and data declined with port 0, mids kept, BUNDLE audio only", () => {
  const { answer, streamIndex } = answerWebRtcOffer(CHROME_AV_DATA_OFFER, LOCAL);
  assert.equal(streamIndex, 0);
  const s = parse(answer);
  assert.deepEqual(
    s.media.map((m) => [m.type, m.port, String(m.mid)]),
    [
      ["audio", 40002, "0"],
      ["video", 0, "1"],
      ["application", 0, "2"],
    ],
  );
  assert.equal(s.media[2].protocol, "UDP/DTLS/SCTP");
  assert.match(answer, /^a=group:BUNDLE 0$/m);
});

test("our codec preference narrows, the offerer's order decides (RFC 3264 §6.1)", () => {
  const { media } = answerWebRtcOffer(CHROME_AUDIO_OFFER, { ...LOCAL, codecs: ["PCMA"] });
  assert.equal(media.codec, "PCMA");
  assert.equal(media.payloadType, 8);
  const both = answerWebRtcOffer(CHROME_AUDIO_OFFER, { ...LOCAL, codecs: ["PCMA", "PCMU"] });
  assert.equal(both.media.codec, "PCMU");
});

test("a browser on hold (sendonly) is answered recvonly", () => {
  const held = CHROME_AUDIO_OFFER.replace("a=sendrecv", "a=sendonly");
  const { answer, media } = answerWebRtcOffer(held, LOCAL);
  assert.equal(media.direction, "sendonly");
  assert.match(answer, /^a=recvonly$/m);
});

test("offers we cannot take are refused with a clear SdpError (488)", () => {
  const cases: [string, string, RegExp][] = [
    ["no fingerprint", CHROME_AUDIO_OFFER.replace(/^a=fingerprint:.*\r\n/m, ""), /fingerprint/],
    [
      "md5 fingerprint only",
      CHROME_AUDIO_OFFER.replace(/^a=fingerprint:sha-256/m, "a=fingerprint:md5"),
      /fingerprint/,
    ],
    ["no ice-ufrag", CHROME_AUDIO_OFFER.replace(/^a=ice-ufrag:.*\r\n/m, ""), /ICE credentials/],
    ["no ice-pwd", CHROME_AUDIO_OFFER.replace(/^a=ice-pwd:.*\r\n/m, ""), /ICE credentials/],
    ["short ice-pwd", CHROME_AUDIO_OFFER.replace(/^a=ice-pwd:.*$/m, "a=ice-pwd:short"), /malformed ICE/],
    ["no rtcp-mux", CHROME_AUDIO_OFFER.replace(/^a=rtcp-mux\r\n/m, ""), /rtcp-mux/],
    ["setup passive", CHROME_AUDIO_OFFER.replace("a=setup:actpass", "a=setup:passive"), /DTLS server/],
    ["no G.711", CHROME_AUDIO_OFFER.replace(/ 9 0 8 13/, " 9 13"), /G\.711/],
    ["plain RTP", CHROME_AUDIO_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"), /UDP\/TLS\/RTP\/SAVPF/],
    ["not SDP", "hello", /v=0/],
  ];
  for (const [what, sdp, message] of cases) {
    assert.throws(
      () => answerWebRtcOffer(sdp, LOCAL),
      (err: unknown) => err instanceof SdpError && err.status === 488 && message.test(err.message),
      what,
    );
  }
});

test("fingerprints and ICE credentials may sit at session level; several fingerprints are all kept", () => {
  const moved = CHROME_AUDIO_OFFER.replace(
    /^(a=ice-ufrag:.*|a=ice-pwd:.*|a=fingerprint:.*)\r\n/gm,
    "",
  ).replace(
    "t=0 0\r\n",
    `t=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 ${FINGERPRINT.value}\r\na=fingerprint:sha-1 01:02\r\n`,
  );
  const { remote } = readWebRtcOffer(moved);
  assert.equal(remote.ice.ufrag, "abcd");
  assert.equal(remote.fingerprints.length, 2);
  assert.equal(remote.setup, "actpass");
});

test("our offer to a browser: actpass, ICE-lite, our candidate; the browser's answer is read", () => {
  const offer = createWebRtcOffer({ ...LOCAL, codecs: ["PCMA", "PCMU"], telephoneEventPt: 101 });
  const s = parse(offer);
  assert.equal(s.media.length, 1);
  assert.equal(String(s.media[0].payloads), "8 0 101");
  assert.equal(s.media[0].protocol, "UDP/TLS/RTP/SAVPF");
  const a = mediaAttributes(offer, 0);
  for (const line of ["a=mid:0", "a=setup:actpass", "a=rtcp-mux", "a=end-of-candidates", "a=sendrecv"]) {
    assert.ok(a.includes(line), line);
  }
  assert.match(offer, /^a=group:BUNDLE 0$/m);
  assert.match(offer, /^a=ice-lite$/m);
  assert.ok(isWebRtcSdp(offer));

  // What Chrome answers to it (its answer's shape: active, its own ICE and fingerprint).
  const answer = [
    "v=0",
    "o=- 1 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 8 101",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:wxyz",
    "a=ice-pwd:0123456789abcdefghijklmn",
    "a=ice-options:trickle",
    `a=fingerprint:sha-256 ${FINGERPRINT.value}`,
    "a=setup:active",
    "a=mid:0",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "",
  ].join("\r\n");
  const { media, remote } = readWebRtcAnswer(answer);
  assert.equal(media.codec, "PCMA");
  assert.equal(media.telephoneEventPt, 101);
  assert.equal(remote.setup, "active");
  assert.equal(remote.ice.ufrag, "wxyz");
  assert.throws(() => readWebRtcAnswer(answer.replace("setup:active", "setup:passive")), SdpError);
});

test("isWebRtcSdp tells a browser's SDP from a phone's", () => {
  assert.ok(isWebRtcSdp(CHROME_AUDIO_OFFER));
  assert.equal(isWebRtcSdp(CHROME_AUDIO_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP")), false);
  assert.equal(isWebRtcSdp("garbage"), false);
});
