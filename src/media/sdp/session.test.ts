import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "sdp-transform";
import { G729_ONLY, SIPP, withDirection, YEALINK } from "./phone-sdp.fixtures.ts";
import { SdpSession } from "./session.ts";
import { SdpError } from "./types.ts";

const origin = (sdp: string) => {
  const o = parse(sdp).origin;
  return [String(o.sessionId), o.sessionVersion];
};

describe("SdpSession (RFC 3264 §8)", () => {
  it("keeps the session id and increases the version on each changed offer", () => {
    const s = new SdpSession("203.0.113.5", 30000, { sessionId: "123456" });
    const first = s.offer();
    const hold = s.offer({ direction: "sendonly" });
    const resume = s.offer();
    assert.deepEqual(
      [origin(first), origin(hold), origin(resume)],
      [
        ["123456", 1],
        ["123456", 2],
        ["123456", 3],
      ],
    );
    assert.equal(s.version, 3);
  });

  it("sends an unchanged SDP again with the same version", () => {
    const s = new SdpSession("203.0.113.5", 30000, { sessionId: "9", firstVersion: 100 });
    const a = s.offer();
    assert.equal(s.offer(), a);
    s.port = 30002;
    assert.deepEqual(origin(s.offer()), ["9", 101]);
  });

  it("numbers answers and relayed SDP in the same sequence", () => {
    const s = new SdpSession("203.0.113.5", 30000);
    const { answer, media } = s.answer(YEALINK);
    assert.equal(media.codec, "PCMA");
    const id = origin(answer)[0];
    assert.match(String(id), /^\d+$/);
    const relayed = s.filterOffer(withDirection(SIPP, "sendonly"));
    assert.deepEqual(origin(relayed.sdp), [id, 2]);
    assert.equal(relayed.media.direction, "sendonly");
    assert.deepEqual(origin(s.rewriteAnswer(SIPP, YEALINK).sdp), [id, 3]);
    assert.notEqual(new SdpSession("::1", 1).sessionId, new SdpSession("::1", 1).sessionId);
  });

  it("does not use up a version on a rejected offer", () => {
    const s = new SdpSession("203.0.113.5", 30000, { sessionId: "5" });
    s.offer();
    assert.throws(() => s.answer(G729_ONLY), SdpError);
    assert.deepEqual(origin(s.offer({ direction: "inactive" })), ["5", 2]);
  });
});

describe("SdpSession answers", () => {
  it("keeps the codec of its first answer across re-offers", () => {
    const s = new SdpSession("203.0.113.5", 30000);
    assert.equal(s.answer(SIPP).media.codec, "PCMU");
    assert.equal(s.answer(YEALINK).media.codec, "PCMU", "Yealink prefers PCMA but offers PCMU too");
  });
});
