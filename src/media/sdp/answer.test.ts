import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "sdp-transform";
import { answerOffer } from "./answer.ts";
import {
  BARESIP,
  G729_ONLY,
  IPV6,
  SIPP,
  SIPP_DTMF,
  SRTP_ONLY,
  VIDEO_AUDIO,
  VIDEO_ONLY,
  withAddress,
  withDirection,
  YEALINK,
} from "./phone-sdp.fixtures.ts";
import { SdpError } from "./types.ts";

const local = { address: "203.0.113.5", port: 30000, sessionId: "4711", sessionVersion: 1 };

function audioOf(sdp: string) {
  const s = parse(sdp);
  const m = s.media.find((x) => x.type === "audio")!;
  return { s, m };
}

describe("answerOffer", () => {
  it("answers SIPp's PCMU offer", () => {
    const { answer, media } = answerOffer(SIPP, local);
    assert.deepEqual(media, {
      codec: "PCMU",
      payloadType: 0,
      address: "127.0.0.1",
      port: 6000,
      rtcpPort: 6001,
      direction: "sendrecv",
    });
    assert.equal(
      answer,
      [
        "v=0",
        "o=vpbx 4711 1 IN IP4 203.0.113.5",
        "s=vpbx",
        "c=IN IP4 203.0.113.5",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "a=ptime:20",
        "a=sendrecv",
        "",
      ].join("\r\n"),
    );
  });

  it("keeps the offerer's telephone-event payload number (SIPp uses 97)", () => {
    const { answer, media } = answerOffer(SIPP_DTMF, local);
    assert.equal(media.codec, "PCMA");
    assert.equal(media.payloadType, 8);
    assert.equal(media.telephoneEventPt, 97);
    const { m } = audioOf(answer);
    assert.equal(m.payloads, "8 97");
    assert.deepEqual(
      m.rtp.map((r) => [r.payload, r.codec, r.rate]),
      [
        [8, "PCMA", 8000],
        [97, "telephone-event", 8000],
      ],
    );
    assert.deepEqual(m.fmtp, [{ payload: 97, config: "0-15" }]);
  });

  it("picks from baresip's many codecs the first one we take, in the offerer's order", () => {
    const { answer, media } = answerOffer(BARESIP, local);
    assert.equal(media.codec, "PCMA");
    assert.equal(media.telephoneEventPt, 101);
    assert.equal(audioOf(answer).m.payloads, "8 101");
    // Restricting our codecs to PCMU makes us skip PCMA.
    const onlyU = answerOffer(BARESIP, { ...local, codecs: ["PCMU"] });
    assert.equal(onlyU.media.codec, "PCMU");
    assert.equal(audioOf(onlyU.answer).m.payloads, "0 101");
  });

  it("skips G.729 in a Yealink offer and carries its ptime", () => {
    const { media } = answerOffer(YEALINK, local);
    assert.deepEqual(media, {
      codec: "PCMA",
      payloadType: 8,
      telephoneEventPt: 101,
      address: "10.0.0.51",
      port: 11796,
      rtcpPort: 11797,
      direction: "sendrecv",
      ptime: 20,
    });
  });

  it("answers IPv6 with IN IP6 and honours a=rtcp (RFC 3605)", () => {
    const { answer, media } = answerOffer(IPV6, { ...local, address: "2001:db8::1" });
    assert.equal(media.address, "2001:db8::10");
    assert.equal(media.rtcpPort, 20011);
    assert.equal(media.codec, "PCMU");
    assert.equal(media.ptime, 30);
    assert.match(answer, /^o=vpbx 4711 1 IN IP6 2001:db8::1\r$/m);
    assert.match(answer, /^c=IN IP6 2001:db8::1\r$/m);
  });

  it("declines the video stream with port 0, keeping the m= lines in order (§6)", () => {
    const { answer, media } = answerOffer(VIDEO_AUDIO, local);
    assert.equal(media.address, "10.0.0.61", "media-level c= wins over session-level");
    assert.equal(media.port, 9076);
    const s = parse(answer);
    assert.deepEqual(
      s.media.map((m) => [m.type, m.port, m.payloads]),
      [
        ["video", 0, "99 97"],
        ["audio", 30000, "0 101"],
      ],
    );
  });

  it("answers hold offers with the matching direction (§6.1, §8.4)", () => {
    const cases: [string, string, string][] = [
      [withDirection(YEALINK, "sendonly"), "sendonly", "recvonly"],
      [withDirection(YEALINK, "inactive"), "inactive", "inactive"],
      [withDirection(YEALINK, "recvonly"), "recvonly", "sendonly"],
      [withAddress(SIPP, "0.0.0.0"), "sendonly", "recvonly"],
    ];
    for (const [offer, remote, ours] of cases) {
      const { answer, media } = answerOffer(offer, local);
      assert.equal(media.direction, remote);
      assert.equal(audioOf(answer).m.direction, ours);
    }
    // Our own wish narrows the answer too.
    const { answer } = answerOffer(YEALINK, { ...local, direction: "sendonly" });
    assert.equal(audioOf(answer).m.direction, "sendonly");
    const held = answerOffer(withDirection(YEALINK, "sendonly"), { ...local, direction: "sendonly" });
    assert.equal(audioOf(held.answer).m.direction, "inactive");
  });

  it("takes a session-level direction attribute", () => {
    const offer = SIPP.replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
    assert.equal(answerOffer(offer, local).media.direction, "inactive");
  });

  it("throws SdpError (488) when nothing can be accepted", () => {
    for (const [name, offer] of [
      ["G.729 only", G729_ONLY],
      ["video only", VIDEO_ONLY],
      ["SRTP only", SRTP_ONLY],
      ["audio declined", SIPP.replace("m=audio 6000", "m=audio 0")],
      ["garbage", "hello world"],
      ["empty", ""],
      ["no o= line", SIPP.replace(/^o=.*\r\n/m, "")],
      ["broken m= line", SIPP.replace("m=audio 6000 RTP/AVP 0", "m=audio sixty RTP/AVP 0")],
      ["no address", SIPP.replace("c=IN IP4 127.0.0.1\r\n", "")],
      ["huge", SIPP + "a=x\r\n".repeat(20000)],
    ]) {
      assert.throws(
        () => answerOffer(offer, local),
        (e: unknown) => e instanceof SdpError && e.status === 488,
        name,
      );
    }
  });
});

describe("answerOffer to a re-offer", () => {
  it("keeps the codec in use when it is still offered", () => {
    // baresip lists PCMA before PCMU; the call started on PCMU.
    const { answer, media } = answerOffer(BARESIP, { ...local, sessionVersion: 2, current: "PCMU" });
    assert.equal(media.codec, "PCMU");
    assert.equal(media.payloadType, 0);
    assert.equal(audioOf(answer).m.payloads, "0 101");
    // Not offered any more: the usual choice.
    assert.equal(answerOffer(SIPP_DTMF, { ...local, current: "PCMU" }).media.codec, "PCMA");
    // Not one of ours: ignored.
    assert.equal(answerOffer(BARESIP, { ...local, codecs: ["PCMA"], current: "PCMU" }).media.codec, "PCMA");
  });
});
