import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { answerOffer } from "./answer.ts";
import { parseAnswer } from "./offer.ts";
import { BARESIP, IPV6, SIPP_DTMF, VIDEO_AUDIO, YEALINK } from "./phone-sdp.fixtures.ts";
import { filterOffer, sdpDirection } from "./rewrite.ts";
import { SdpError } from "./types.ts";

const local = { address: "203.0.113.5", port: 30000, sessionId: "1", sessionVersion: 1 };

/** Runs every entry point; anything but success or SdpError is a bug. */
function onlySdpErrors(text: string): void {
  for (const f of [
    () => answerOffer(text, local),
    () => parseAnswer(text),
    () => filterOffer(text, local),
    () => sdpDirection(text),
  ]) {
    try {
      f();
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
    }
  }
}

describe("SDP from the network", () => {
  it("never throws anything but SdpError on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => onlySdpErrors(`v=0\r\n${s}`)),
      { numRuns: 300 },
    );
  });

  it("never throws anything but SdpError on damaged phone offers", () => {
    const fixtures = [BARESIP, IPV6, SIPP_DTMF, VIDEO_AUDIO, YEALINK];
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.string({ maxLength: 8 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (base, edits) => {
          let s = base;
          for (const [at, del, ins] of edits) {
            const i = at % (s.length + 1);
            s = s.slice(0, i) + ins + s.slice(i + del);
          }
          onlySdpErrors(s);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("answers damaged offers with an SDP that parses back", () => {
    // Deleting attribute lines one at a time still leaves acceptable offers.
    for (const base of [BARESIP, YEALINK, VIDEO_AUDIO]) {
      const lines = base.split(/\r?\n/);
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i].startsWith("a=")) continue;
        const offer = [...lines.slice(0, i), ...lines.slice(i + 1)].join("\r\n");
        const { answer, media } = answerOffer(offer, local);
        assert.equal(parseAnswer(answer).codec, media.codec);
      }
    }
  });
});
