import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { OPENED_MEMO_ENTRIES, SecretBox, SecretKeyMismatch, UnsealedSecret } from "./secret-box.ts";

const HA1 = "939e7578ed9e3c518a452acee763bce9"; // RFC 2617 §3.5's Mufasa

/** `stored` with the first base64 character of its ciphertext changed. */
function altered(stored: string): string {
  const parts = stored.split(":");
  parts[3] = (parts[3]![0] === "A" ? "B" : "A") + parts[3]!.slice(1);
  return parts.join(":");
}

describe("secret box: opened values remembered", () => {
  test("the same plain value, from memory the second time", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(HA1, "extension acme/101 ha1_md5");
    assert.equal(box.memoSize, 0);
    assert.equal(box.open(sealed, "extension acme/101 ha1_md5"), HA1);
    assert.equal(box.memoSize, 1);
    assert.equal(box.open(sealed, "extension acme/101 ha1_md5"), HA1);
    assert.equal(box.memoSize, 1, "one entry per value and context");
    assert.equal(box.open(box.seal("", "")), "", "the empty value too");
  });

  test("a value that opened once still refuses another context, another key, altered bytes", () => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    const sealed = box.seal(HA1, "extension acme/101 ha1_md5");
    assert.equal(box.open(sealed, "extension acme/101 ha1_md5"), HA1);
    assert.throws(() => box.open(sealed, "extension acme/102 ha1_md5"), SecretKeyMismatch);
    assert.throws(() => box.open(altered(sealed), "extension acme/101 ha1_md5"), SecretKeyMismatch);
    assert.throws(() => box.open(HA1, "extension acme/101 ha1_md5"), UnsealedSecret);
    assert.throws(
      () => new SecretBox(randomBytes(32)).open(sealed, "extension acme/101 ha1_md5"),
      SecretKeyMismatch,
    );
    // A failure is not remembered: it fails again, and the good value still opens.
    assert.throws(() => box.open(sealed, "extension acme/102 ha1_md5"), SecretKeyMismatch);
    assert.equal(box.open(sealed, "extension acme/101 ha1_md5"), HA1);
    assert.equal(
      new SecretBox(key).open(sealed, "extension acme/101 ha1_md5"),
      HA1,
      "the same key elsewhere",
    );
  });

  test("a context and a sealed text never spell another pair's key", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(HA1, "ab");
    assert.equal(box.open(sealed, "ab"), HA1);
    // "a" + "b<sealed>" would read as "ab" + "<sealed>" in a key without the context's length.
    assert.throws(() => box.open(`b${sealed}`, "a"), UnsealedSecret);
  });

  test("at most memoEntries values (OPENED_MEMO_ENTRIES by default), the oldest dropped", () => {
    assert.equal(OPENED_MEMO_ENTRIES, 20_000);
    const box = new SecretBox(randomBytes(32), { memoEntries: 3 });
    const values = ["a", "b", "c", "d", "e"].map((v) => ({ v, sealed: box.seal(v, `ctx ${v}`) }));
    for (const { v, sealed } of values) assert.equal(box.open(sealed, `ctx ${v}`), v);
    assert.equal(box.memoSize, 3);
    for (const { v, sealed } of values) assert.equal(box.open(sealed, `ctx ${v}`), v, "all still open");
    assert.equal(box.memoSize, 3);
  });
});
