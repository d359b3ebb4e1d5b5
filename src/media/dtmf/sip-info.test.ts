import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseDtmfInfo } from "./sip-info.ts";

describe("parseDtmfInfo", () => {
  it("reads application/dtmf-relay bodies", () => {
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), "5");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=*\r\nDuration=250"), "*");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal= #\nDuration= 100\n"), "#");
    assert.equal(parseDtmfInfo("Application/DTMF-Relay; charset=utf-8", "signal=b\r\n"), "B");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=10\r\nDuration=160"), "*");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=11\r\nDuration=160"), "#");
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Duration=160\r\nSignal=0"), "0");
  });

  it("reads application/dtmf bodies", () => {
    assert.equal(parseDtmfInfo("application/dtmf", "7"), "7");
    assert.equal(parseDtmfInfo("application/dtmf", "#\r\n"), "#");
    assert.equal(parseDtmfInfo("application/dtmf", "11"), "#");
  });

  it("returns null for other types and malformed bodies", () => {
    assert.equal(parseDtmfInfo(undefined, "Signal=5"), null);
    assert.equal(parseDtmfInfo("text/plain", "Signal=5"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", ""), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Duration=160"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=E\r\nDuration=160"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=16"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=55"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=abc"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nSignal=6"), null);
    assert.equal(parseDtmfInfo("application/dtmf-relay", "garbage"), null);
    assert.equal(parseDtmfInfo("application/dtmf", "12345"), null);
    assert.equal(parseDtmfInfo("application/dtmf", ""), null);
  });
});

describe("parseDtmfInfo on arbitrary input", () => {
  it("returns a digit or null, never throws", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("application/dtmf-relay", "application/dtmf", "text/plain"),
        fc.string(),
        (t, b) => {
          const r = parseDtmfInfo(t, b);
          assert.ok(r === null || /^[0-9*#A-D]$/.test(r));
        },
      ),
      { numRuns: 300 },
    );
  });
});
