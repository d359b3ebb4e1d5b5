import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerOffer } from "./answer.ts";
import { createOffer, parseAnswer } from "./offer.ts";
import { SdpError } from "./types.ts";

const local = { address: "203.0.113.5", port: 30000, sessionId: "99", sessionVersion: 3 };

describe("createOffer", () => {
  it("offers PCMU, PCMA and telephone-event on 101 by default", () => {
    assert.equal(
      createOffer(local),
      [
        "v=0",
        "o=vpbx 99 3 IN IP4 203.0.113.5",
        "s=vpbx",
        "c=IN IP4 203.0.113.5",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
        "",
      ].join("\r\n"),
    );
  });

  it("follows the codec order, event payload type and direction asked", () => {
    const sdp = createOffer({ ...local, codecs: ["PCMA"], telephoneEventPt: 96, direction: "sendonly" });
    assert.match(sdp, /^m=audio 30000 RTP\/AVP 8 96\r$/m);
    assert.match(sdp, /^a=sendonly\r$/m);
    assert.throws(() => createOffer({ ...local, telephoneEventPt: 18 }), RangeError);
    assert.throws(() => createOffer({ ...local, codecs: [] }), RangeError);
  });

  it("offers over IPv6", () => {
    assert.match(createOffer({ ...local, address: "::1" }), /^c=IN IP6 ::1\r$/m);
  });
});

describe("parseAnswer", () => {
  it("reads back our own answer to our own offer", () => {
    const offer = createOffer({ ...local, codecs: ["PCMA", "PCMU"] });
    const { answer } = answerOffer(offer, {
      address: "198.51.100.7",
      port: 4000,
      sessionId: "1",
      sessionVersion: 1,
    });
    assert.deepEqual(parseAnswer(answer), {
      codec: "PCMA",
      payloadType: 8,
      telephoneEventPt: 101,
      address: "198.51.100.7",
      port: 4000,
      rtcpPort: 4001,
      direction: "sendrecv",
      ptime: 20,
    });
  });

  it("takes the first G.711 codec of an answer that lists several", () => {
    const answer = [
      "v=0",
      "o=- 5 6 IN IP4 10.1.1.1",
      "s=-",
      "c=IN IP4 10.1.1.1",
      "t=0 0",
      "m=audio 7078 RTP/AVP 0 8 101",
      "a=rtpmap:101 telephone-event/8000",
      "a=recvonly",
      "",
    ].join("\r\n");
    const media = parseAnswer(answer);
    assert.equal(media.codec, "PCMU");
    assert.equal(media.direction, "recvonly");
    assert.equal(parseAnswer(answer, ["PCMA"]).codec, "PCMA");
  });

  it("throws SdpError when the audio stream was declined or unusable", () => {
    const declined =
      "v=0\r\no=- 5 6 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert.throws(() => parseAnswer(declined), SdpError);
    const g729 = declined.replace("m=audio 0 RTP/AVP 0", "m=audio 7078 RTP/AVP 18");
    assert.throws(() => parseAnswer(g729), SdpError);
    assert.throws(() => parseAnswer("SIP/2.0 200 OK"), SdpError);
  });
});
