import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BencodeError, decode, decodeDict, encode } from "./bencode.ts";

const b = (s: string) => Buffer.from(s, "latin1");

test("encodes strings, integers, lists and dictionaries with sorted keys", () => {
  assert.equal(encode("spam").toString("latin1"), "4:spam");
  assert.equal(encode("").toString("latin1"), "0:");
  assert.equal(encode(42).toString("latin1"), "i42e");
  assert.equal(encode(-7).toString("latin1"), "i-7e");
  assert.equal(encode(0).toString("latin1"), "i0e");
  assert.equal(encode(12345678901234567890n).toString("latin1"), "i12345678901234567890e");
  assert.equal(encode(["a", 1, []]).toString("latin1"), "l1:ai1elee");
  assert.equal(encode({ command: "ping" }).toString("latin1"), "d7:command4:pinge");
  // Keys sorted by bytes; undefined members left out.
  assert.equal(encode({ z: 1, a: "x", m: undefined }).toString("latin1"), "d1:a1:x1:zi1ee");
  // Lengths count bytes, not characters.
  assert.deepEqual(encode("é"), Buffer.concat([b("2:"), Buffer.from("é", "utf8")]));
  assert.deepEqual(encode(Buffer.from([0, 255, 10])), Buffer.from([0x33, 0x3a, 0, 255, 10]));
  assert.deepEqual(encode(new Uint8Array([1, 2])), Buffer.from([0x32, 0x3a, 1, 2]));
});

test("refuses values bencode cannot carry", () => {
  assert.throws(() => encode(1.5), BencodeError);
  assert.throws(() => encode(Number.NaN), BencodeError);
  assert.throws(() => encode(2 ** 60), BencodeError);
  assert.throws(() => encode(null as never), BencodeError);
  assert.throws(() => encode(true as never), BencodeError);
  assert.throws(() => encode({ a: null } as never), BencodeError);
  assert.throws(() => encode([undefined] as never), BencodeError);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => encode(cycle as never), /nesting deeper/);
});

test("decodes an rtpengine reply, strings as text or as bytes", () => {
  const reply = b("d6:result2:ok3:sdp12:v=0\r\no=- 1 2e");
  assert.deepEqual(decode(reply), { result: "ok", sdp: "v=0\r\no=- 1 2" });
  assert.deepEqual(decode(reply, { bytes: true }), {
    result: Buffer.from("ok"),
    sdp: Buffer.from("v=0\r\no=- 1 2"),
  });
  assert.deepEqual(decode(b("li1ei-20el1:xee")), [1, -20, ["x"]]);
  assert.deepEqual(decode(b("de")), {});
  // rtpengine does not sort its keys: accepted in any order.
  assert.deepEqual(decode(b("d1:bi2e1:ai1ee")), { b: 2, a: 1 });
  assert.deepEqual(decodeDict(b("d7:command4:pinge")), { command: "ping" });
});

test("round-trips arbitrary values", () => {
  const leaf = fc.oneof(fc.string(), fc.maxSafeInteger(), fc.integer());
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("tree"), { maxLength: 4 }),
      fc.dictionary(fc.string(), tie("tree"), { maxKeys: 4, noNullPrototype: true }),
    ),
  }));
  fc.assert(
    fc.property(tree, (v) => {
      assert.deepEqual(decode(encode(v as never)), v);
    }),
  );
});

test("a key named __proto__ is a plain member, not the prototype", () => {
  const d = decode(b("d9:__proto__d5:admini1eee")) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(d), Object.prototype);
  assert.deepEqual(Object.keys(d), ["__proto__"]);
  assert.equal((d as { admin?: unknown }).admin, undefined);
});

test("rejects malformed input with a BencodeError naming the place", () => {
  const bad: Array<[string, RegExp]> = [
    ["", /input ends/],
    ["i", /input ends/],
    ["i12", /input ends/],
    ["ie", /expected digits/],
    ["i-e", /expected digits/],
    ["i-0e", /negative zero/],
    ["i03e", /leading zero/],
    ["i1x", /not terminated/],
    ["i99999999999999999999e", /too large/],
    ["5:abc", /only 3 remain/],
    ["03:abc", /leading zero/],
    ["3abc", /not followed by ':'/],
    ["99999999999999999999:x", /too large/],
    ["l", /input ends/],
    ["li1e", /input ends/],
    ["d", /input ends/],
    ["d1:a", /input ends/],
    ["di1ei2ee", /key is not a string/],
    ["d1:ai1e1:ai2ee", /duplicate dictionary key "a"/],
    ["x", /unexpected byte 0x78/],
    ["i1ei2e", /trailing bytes/],
    ["4:spamgarbage", /trailing bytes/],
  ];
  for (const [input, message] of bad) {
    assert.throws(
      () => decode(b(input)),
      (err: unknown) =>
        err instanceof BencodeError && message.test(err.message) && /at byte \d+/.test(err.message),
      `input ${JSON.stringify(input)}`,
    );
  }
  assert.throws(() => decodeDict(b("l1:ae")), /expected a dictionary/);
  assert.throws(() => decodeDict(b("")), /expected a dictionary/);
});

test("bounds the nesting instead of exhausting the stack", () => {
  const deep = b("l".repeat(100_000) + "e".repeat(100_000));
  assert.throws(() => decode(deep), /nesting deeper than 32/);
  assert.deepEqual(decode(b("llee"), { maxDepth: 2 }), [[]]);
  assert.throws(() => decode(b("llee"), { maxDepth: 1 }), /nesting deeper than 1/);
  assert.throws(() => decode(b("d1:ad1:ad1:adeeee"), { maxDepth: 3 }), /nesting deeper than 3/);
});

test("random bytes never throw anything but a BencodeError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decode(Buffer.from(bytes));
      } catch (err) {
        assert.ok(err instanceof BencodeError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
  // Mutations of a valid message: most break it, none escape as another error.
  const valid = encode({ command: "offer", flags: ["trust address"], sdp: "v=0\r\n", n: 12 });
  fc.assert(
    fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
      const copy = Buffer.from(valid);
      copy[at] = byte;
      try {
        decode(copy);
      } catch (err) {
        assert.ok(err instanceof BencodeError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
