import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DTMF_EVENTS,
  digitToEvent,
  eventToDigit,
  parseTelephoneEvent,
  TelephoneEventReceiver,
  TelephoneEventSender,
  writeTelephoneEvent,
} from "./rfc4733.ts";

function payload(event: number, end: boolean, duration: number, volume = 10): Uint8Array {
  const p = new Uint8Array(4);
  writeTelephoneEvent(p, 0, { event, end, volume, duration });
  return p;
}

describe("RFC 4733 event codes", () => {
  it("maps the 16 DTMF events both ways (§3.2)", () => {
    assert.equal(DTMF_EVENTS.length, 16);
    for (let e = 0; e < 16; e++) assert.equal(digitToEvent(eventToDigit(e)!), e);
    assert.equal(eventToDigit(10), "*");
    assert.equal(eventToDigit(11), "#");
    assert.equal(eventToDigit(15), "D");
    assert.equal(digitToEvent("a"), 12);
    assert.equal(eventToDigit(16), undefined);
    assert.equal(eventToDigit(-1), undefined);
    assert.equal(digitToEvent("E"), undefined);
    assert.equal(digitToEvent("12"), undefined);
  });
});

describe("telephone-event payload (§2.3)", () => {
  it("parses a captured end packet: digit 5, E bit, volume 10, 800 units", () => {
    const ev = parseTelephoneEvent(Uint8Array.of(0x05, 0x8a, 0x03, 0x20));
    assert.deepEqual(ev, { event: 5, end: true, volume: 10, duration: 800 });
  });

  it("ignores the reserved bit and reads at an offset", () => {
    const ev = parseTelephoneEvent(Uint8Array.of(0xff, 0xff, 0x0b, 0x7f, 0x3f, 0x01, 0x40), 2);
    assert.deepEqual(ev, { event: 11, end: false, volume: 63, duration: 0x3f01 });
  });

  it("returns null for short payloads", () => {
    assert.equal(parseTelephoneEvent(Uint8Array.of(1, 2, 3)), null);
    assert.equal(parseTelephoneEvent(Uint8Array.of(1, 2, 3, 4, 5), 2), null);
    assert.equal(parseTelephoneEvent(Uint8Array.of(1, 2, 3, 4, 5), 0, 3), null);
  });

  it("writes what it parses, clamping duration and volume", () => {
    const out = new Uint8Array(6);
    writeTelephoneEvent(out, 2, { event: 10, end: true, volume: 7, duration: 1234 });
    assert.deepEqual(parseTelephoneEvent(out, 2), { event: 10, end: true, volume: 7, duration: 1234 });
    writeTelephoneEvent(out, 0, { event: 1, end: false, volume: 99, duration: 1e6 });
    assert.deepEqual(parseTelephoneEvent(out), { event: 1, end: false, volume: 63, duration: 0xffff });
    assert.throws(
      () => writeTelephoneEvent(out, 3, { event: 1, end: false, volume: 0, duration: 0 }),
      RangeError,
    );
  });
});

describe("TelephoneEventReceiver", () => {
  it("tells a late copy of an older event from a restarted stream by the sequence numbers", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(85760, payload(10, true, 800), 0, 4, 5000), "*");
    // A late packet of an earlier event: timestamp and sequence both a little behind.
    assert.equal(rx.push(84000, payload(4, true, 800), 0, 4, 4990), null);
    // A sender replaying captured events (SIPp's pcaps): the timestamp goes back, the sequence
    // jumps far back, or forward: each is a new key press.
    assert.equal(rx.push(40000, payload(4, true, 800), 0, 4, 1200), "4");
    assert.equal(rx.push(30000, payload(8, true, 800), 0, 4, 1201), "8");
    assert.equal(rx.push(30000, payload(8, true, 800), 0, 4, 1202), null, "its retransmitted end");
  });

  it("reports a digit once through start, updates and three end packets", () => {
    const rx = new TelephoneEventReceiver();
    const got = [160, 320, 480, 640].map((d) => rx.push(1000, payload(5, false, d)));
    for (let i = 0; i < 3; i++) got.push(rx.push(1000, payload(5, true, 800)));
    assert.deepEqual(got, ["5", null, null, null, null, null, null]);
  });

  it("reports on a later packet when the first ones were lost", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(5000, payload(9, false, 480)), "9");
    assert.equal(rx.push(5000, payload(9, true, 800)), null);
    // Only an end packet of the next event arrives.
    assert.equal(rx.push(9000, payload(11, true, 800)), "#");
    assert.equal(rx.push(9000, payload(11, true, 800)), null);
  });

  it("reports the same digit twice when pressed twice (different timestamps)", () => {
    const rx = new TelephoneEventReceiver();
    const seq: (string | null)[] = [];
    for (const ts of [2000, 4000]) {
      seq.push(rx.push(ts, payload(1, false, 160)));
      for (let i = 0; i < 3; i++) seq.push(rx.push(ts, payload(1, true, 640)));
    }
    assert.deepEqual(seq, ["1", null, null, null, "1", null, null, null]);
  });

  it("reports a long key press once", () => {
    const rx = new TelephoneEventReceiver();
    const digits: string[] = [];
    for (let d = 160; d <= 40000; d += 160) {
      const r = rx.push(70000, payload(0, false, d));
      if (r) digits.push(r);
    }
    for (let i = 0; i < 3; i++) rx.push(70000, payload(0, true, 40000));
    assert.deepEqual(digits, ["0"]);
  });

  it("continues an event beyond the 16-bit duration in a new segment (§2.5.1.3)", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(100, payload(7, false, 65000)), "7");
    assert.equal(rx.push(100, payload(7, false, 0xffff)), null);
    // The next segment starts where the previous one ended.
    assert.equal(rx.push(100 + 0xffff, payload(7, false, 160)), null);
    assert.equal(rx.push(100 + 0xffff, payload(7, true, 800)), null);
    assert.equal(rx.push(100 + 0xffff + 4000, payload(7, false, 160)), "7");
  });

  it("survives the timestamp wrap-around", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(0xffffff00, payload(3, false, 160)), "3");
    assert.equal(rx.push(0xffffff00, payload(3, true, 800)), null);
    assert.equal(rx.push(0x00000200, payload(4, false, 160)), "4");
    assert.equal(rx.push(0x00000200, payload(4, true, 800)), null);
    // A late end packet of the event before the wrap is old, not new.
    assert.equal(rx.push(0xffffff00, payload(3, true, 800)), null);
  });

  it("ignores a late retransmission of an earlier event", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(8000, payload(2, true, 800)), "2");
    assert.equal(rx.push(9600, payload(6, false, 160)), "6");
    assert.equal(rx.push(8000, payload(2, true, 800)), null);
  });

  it("ignores non-DTMF events and short payloads", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(100, payload(16, false, 160)), null);
    assert.equal(rx.push(200, payload(70, true, 160)), null);
    assert.equal(rx.push(300, Uint8Array.of(1, 2)), null);
    assert.equal(rx.push(400, payload(8, false, 160)), "8");
  });

  it("reads a payload inside a larger packet buffer", () => {
    const rx = new TelephoneEventReceiver();
    const buf = new Uint8Array(16);
    buf.set(payload(12, false, 160), 12);
    assert.equal(rx.push(42, buf, 12, 4), "A");
    assert.equal(rx.push(43, buf, 12, 3), null);
  });

  it("starts afresh after reset()", () => {
    const rx = new TelephoneEventReceiver();
    assert.equal(rx.push(500, payload(4, false, 160)), "4");
    rx.reset();
    assert.equal(rx.push(500, payload(4, false, 320)), "4");
  });
});

describe("TelephoneEventSender", () => {
  it("sends a marked start, 20 ms updates and three end packets (§2.5.1)", () => {
    const packets = new TelephoneEventSender().packets("#", 100, 10);
    const parsed = packets.map((p) => ({ ...parseTelephoneEvent(p.payload)!, marker: p.marker }));
    assert.deepEqual(
      parsed.map((p) => [p.marker, p.end, p.duration]),
      [
        [true, false, 160],
        [false, false, 320],
        [false, false, 480],
        [false, false, 640],
        [false, true, 800],
        [false, true, 800],
        [false, true, 800],
      ],
    );
    assert.ok(parsed.every((p) => p.event === 11 && p.volume === 10));
    assert.ok(packets.every((p, i) => p.end === i >= 4));
  });

  it("marks the first end packet for a press shorter than one packet", () => {
    const packets = new TelephoneEventSender().packets("1", 10);
    assert.deepEqual(
      packets.map((p) => [p.marker, p.end]),
      [
        [true, true],
        [false, true],
        [false, true],
      ],
    );
    assert.equal(parseTelephoneEvent(packets[0].payload)!.duration, 160);
  });

  it("is read back as exactly one digit by the receiver", () => {
    const tx = new TelephoneEventSender();
    const rx = new TelephoneEventReceiver();
    const got: string[] = [];
    let ts = 123456;
    for (const d of "19*#AD0") {
      for (const p of tx.packets(d, 80)) {
        const r = rx.push(ts, p.payload);
        if (r) got.push(r);
      }
      ts += 1600;
    }
    assert.equal(got.join(""), "19*#AD0");
  });

  it("rejects what is not a digit", () => {
    assert.throws(() => new TelephoneEventSender().packets("x"), RangeError);
  });
});
