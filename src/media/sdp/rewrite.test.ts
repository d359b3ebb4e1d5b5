import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "sdp-transform";
import {
  BARESIP,
  G729_ONLY,
  IPV6,
  SIPP,
  VIDEO_AUDIO,
  withAddress,
  withDirection,
  YEALINK,
} from "./phone-sdp.fixtures.ts";
import { filterOffer, isHold, rewriteAnswer, sdpDirection } from "./rewrite.ts";
import { SdpError } from "./types.ts";

const relay = { address: "203.0.113.5", port: 40000 };

describe("filterOffer", () => {
  it("passes baresip's G.711 codecs and events in its order, with our address only", () => {
    const { sdp, media } = filterOffer(BARESIP, relay);
    assert.equal(media.codec, "PCMA");
    assert.equal(media.address, "192.168.1.20");
    assert.equal(media.port, 10862);
    const s = parse(sdp);
    assert.equal(s.origin.address, "203.0.113.5");
    assert.equal(s.connection!.ip, "203.0.113.5");
    assert.equal(s.media[0].port, 40000);
    assert.equal(s.media[0].payloads, "8 0 101");
    assert.ok(!sdp.includes("192.168.1.20"), "no address of the far phone leaks");
    assert.ok(!/opus|speex|G722|ssrc/.test(sdp));
  });

  it("keeps the offerer's session id and version unless given ours", () => {
    assert.equal(parse(filterOffer(YEALINK, relay).sdp).origin.sessionVersion, 20018);
    const ours = parse(filterOffer(YEALINK, { ...relay, sessionId: "77", sessionVersion: 5 }).sdp).origin;
    assert.equal(String(ours.sessionId), "77");
    assert.equal(ours.sessionVersion, 5);
  });

  it("drops G.729, keeps ptime, restricts to the codecs allowed", () => {
    const { sdp } = filterOffer(YEALINK, { ...relay, codecs: ["PCMU"] });
    const m = parse(sdp).media[0];
    assert.equal(m.payloads, "0 101");
    assert.equal(m.ptime, 20);
    assert.throws(() => filterOffer(G729_ONLY, relay), SdpError);
  });

  it("declines other m= lines and rewrites IPv6", () => {
    const s = parse(filterOffer(VIDEO_AUDIO, relay).sdp);
    assert.deepEqual(
      s.media.map((m) => [m.type, m.port]),
      [
        ["video", 0],
        ["audio", 40000],
      ],
    );
    const v6 = filterOffer(IPV6, { address: "2001:db8::1", port: 40002 });
    assert.match(v6.sdp, /^c=IN IP6 2001:db8::1\r$/m);
    assert.ok(!v6.sdp.includes("a=rtcp:"), "the far phone's RTCP port is not passed on");
  });

  it("turns RFC 2543 hold into a direction attribute, since our address replaces 0.0.0.0", () => {
    const { sdp, media } = filterOffer(withAddress(SIPP, "0.0.0.0"), relay);
    assert.equal(media.direction, "sendonly");
    assert.equal(parse(sdp).media[0].direction, "sendonly");
    assert.equal(parse(sdp).connection!.ip, "203.0.113.5");
  });
});

describe("rewriteAnswer", () => {
  it("rewrites the answer of the called phone to our relay", () => {
    const answer = [
      "v=0",
      "o=- 20018 20019 IN IP4 10.0.0.51",
      "s=SDP data",
      "c=IN IP4 10.0.0.51",
      "t=0 0",
      "m=video 0 RTP/AVP 99",
      "m=audio 11796 RTP/AVP 0 101",
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-15",
      "a=recvonly",
      "",
    ].join("\r\n");
    const { sdp, media } = rewriteAnswer(answer, relay);
    assert.deepEqual(media, {
      codec: "PCMU",
      payloadType: 0,
      telephoneEventPt: 101,
      address: "10.0.0.51",
      port: 11796,
      rtcpPort: 11797,
      direction: "recvonly",
    });
    const s = parse(sdp);
    assert.deepEqual(
      s.media.map((m) => [m.type, m.port, m.direction]),
      [
        ["video", 0, undefined],
        ["audio", 40000, "recvonly"],
      ],
    );
  });

  it("throws SdpError when the answerer declined audio", () => {
    assert.throws(() => rewriteAnswer(SIPP.replace("m=audio 6000", "m=audio 0"), relay), SdpError);
  });
});

describe("hold detection", () => {
  it("reads the direction as the sender means it (RFC 3264 §8.4)", () => {
    assert.equal(sdpDirection(SIPP), "sendrecv");
    assert.equal(sdpDirection(withDirection(YEALINK, "sendonly")), "sendonly");
    assert.equal(sdpDirection(withDirection(YEALINK, "inactive")), "inactive");
    assert.equal(sdpDirection(withDirection(YEALINK, "recvonly")), "recvonly");
    assert.equal(sdpDirection(withAddress(SIPP, "0.0.0.0")), "sendonly");
    assert.equal(sdpDirection(withAddress(withDirection(YEALINK, "recvonly"), "0.0.0.0")), "inactive");
    assert.equal(sdpDirection(VIDEO_AUDIO), "sendrecv");
  });

  it("says which SDP puts the call on hold", () => {
    assert.equal(isHold(SIPP), false);
    assert.equal(isHold(withDirection(YEALINK, "recvonly")), false);
    assert.equal(isHold(withDirection(YEALINK, "sendonly")), true);
    assert.equal(isHold(withDirection(BARESIP.replaceAll("\n", "\r\n"), "inactive")), true);
    assert.equal(isHold(withAddress(SIPP, "0.0.0.0")), true);
    assert.throws(() => isHold("nonsense"), SdpError);
  });
});
