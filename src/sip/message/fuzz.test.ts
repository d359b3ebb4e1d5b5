// Property tests: whatever the bytes, parseMessage returns a message or throws
// SipParseError, never anything else, and never takes long (no scanner or
// regular expression with super-linear behaviour).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { StreamFramer } from "./framer.ts";
import { parseMessage } from "./parse.ts";
import { serializeMessage } from "./serialize.ts";
import { type SipMessage, SipParseError } from "./types.ts";

const dir = new URL("./fixtures/rfc4475/", import.meta.url);
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".dat"))
  .sort()
  .map((f) => readFileSync(new URL(f, dir)));

/** Parses, asserting the only two allowed outcomes; a parsed message must also serialise and parse again. */
function check(data: Buffer): void {
  const started = performance.now();
  let m: SipMessage | undefined;
  try {
    m = parseMessage(data);
  } catch (e) {
    assert.ok(e instanceof SipParseError, `threw ${String(e)}`);
    assert.doesNotMatch(e.message, /internal parser error/);
  }
  if (m !== undefined) {
    // What we accept, we can write and read back to the same thing.
    const again = parseMessage(serializeMessage(m));
    if (m.type === "request" && again.type === "request") {
      assert.equal(again.method, m.method);
      assert.deepEqual(again.uri, m.uri);
    }
    const strip = (x: SipMessage) => x.headers.filter((h) => h.name !== "Content-Length");
    assert.deepEqual(strip(again), strip(m));
    assert.ok(again.body.equals(m.body));
  }
  const elapsed = performance.now() - started;
  // Generous, as the machine may be loaded: super-linear scanning would take seconds, not milliseconds.
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms on ${data.length} bytes`);
}

const SPECIAL = [...'\r\n\t "<>;,:@?=%\\[]/'].map((c) => c.charCodeAt(0));

/** One edit of a fixture: flip a byte, cut, duplicate a slice, or insert a grammar-significant character. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), len: fc.nat(200) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("dup" as const), at: fc.nat(), len: fc.nat(80) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.constantFrom(...SPECIAL) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(data: Buffer, m: Mutation): Buffer {
  const at = data.length === 0 ? 0 : m.at % data.length;
  switch (m.kind) {
    case "flip": {
      const copy = Buffer.from(data);
      if (copy.length > 0) copy[at] = m.byte;
      return copy;
    }
    case "cut":
      return Buffer.concat([data.subarray(0, at), data.subarray(at + m.len)]);
    case "truncate":
      return data.subarray(0, at);
    case "dup":
      return Buffer.concat([data.subarray(0, at + m.len), data.subarray(at)]);
    case "insert":
      return Buffer.concat([data.subarray(0, at), Buffer.from([m.byte]), data.subarray(at)]);
  }
}

test("random bytes never escape as anything but SipParseError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => check(Buffer.from(bytes))),
    { seed: 4475, numRuns: 3000 },
  );
});

test("random text shaped like SIP never escapes", () => {
  const line = fc.stringMatching(/^[A-Za-z:;,<>"@= \t./\-0-9%?]{0,60}$/);
  const message = fc
    .tuple(
      fc.constantFrom("INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "REGISTER sip:x SIP/2.0"),
      fc.array(line),
    )
    .map(([start, lines]) => Buffer.from([start, ...lines, "", ""].join("\r\n")));
  fc.assert(fc.property(message, check), { seed: 3261, numRuns: 3000 });
});

test("mutated RFC 4475 messages never escape", () => {
  fc.assert(
    fc.property(
      fc.nat(fixtures.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      (i, edits) => {
        check(edits.reduce(apply, fixtures[i]));
      },
    ),
    { seed: 20060501, numRuns: 5000 },
  );
});

test("the stream framer only throws SipParseError on mutated streams", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(fixtures.length - 1), { minLength: 1, maxLength: 4 }),
      fc.array(mutation, { maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
      (picks, edits, cuts) => {
        const stream = edits.reduce(apply, Buffer.concat(picks.map((i) => fixtures[i])));
        const framer = new StreamFramer();
        try {
          let pos = 0;
          for (let k = 0; pos < stream.length; k++) {
            const size = cuts[k % cuts.length];
            for (const item of framer.push(stream.subarray(pos, pos + size)))
              if (item !== "ping") check(item);
            pos += size;
          }
        } catch (e) {
          assert.ok(e instanceof SipParseError, `threw ${String(e)}`);
        }
      },
    ),
    { seed: 5626, numRuns: 1000 },
  );
});

test("pathological inputs stay linear", () => {
  const many = (s: string, n: number) => s.repeat(n);
  const cases = [
    "INVITE sip:a@b SIP/2.0\r\nTo: " + many('"', 8000) + "\r\n\r\n",
    "INVITE sip:a@b SIP/2.0\r\nContact: " + many("<sip:a@b>,", 800) + "\r\n\r\n",
    "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h" + many(";a", 4000) + "\r\n\r\n",
    "INVITE sip:a@b SIP/2.0\r\nFrom: " + many("a ", 4000) + "<sip:x@y>\r\n\r\n",
    "INVITE sip:" + many("%", 8000) + "@b SIP/2.0\r\n\r\n",
    "INVITE sip:a@b SIP/2.0\r\n" + many("X: a\r\n", 300) + "\r\n",
    "INVITE sip:a@b SIP/2.0\r\nX: a\r\n" + many(" b\r\n", 3000) + "\r\n",
    many("\n", 60000),
    "SIP/2.0 200 " + many("x", 9000) + "\r\n\r\n",
  ];
  for (const c of cases) check(Buffer.from(c));
});
