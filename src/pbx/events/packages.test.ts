import assert from "node:assert/strict";
import { test } from "node:test";
import { accepts, formatEvent, isEventPackage, parseEvent } from "./packages.ts";
import { escapeXml } from "./xml.ts";

test("Event: type lower-cased, the id parameter kept, other parameters ignored, junk refused", () => {
  assert.deepEqual(parseEvent("dialog"), { type: "dialog" });
  assert.deepEqual(parseEvent("Presence ; id=7 ;foo=bar"), { type: "presence", id: "7" });
  assert.deepEqual(parseEvent("message-summary;ID=a.b"), { type: "message-summary", id: "a.b" });
  assert.equal(parseEvent(undefined), undefined);
  assert.equal(parseEvent(""), undefined);
  assert.equal(parseEvent("<dialog>"), undefined);
  assert.deepEqual(parseEvent("dialog;id=<x>"), { type: "dialog" });
  assert.equal(formatEvent("dialog", "7"), "dialog;id=7");
  assert.equal(formatEvent("presence", undefined), "presence");
  assert.equal(isEventPackage("dialog"), true);
  assert.equal(isEventPackage("dialog.winfo"), false);
});

test("Accept: none means the package's type; exact, wildcards and parameters", () => {
  const t = "application/pidf+xml";
  assert.equal(accepts([], t), true);
  assert.equal(accepts(["application/pidf+xml"], t), true);
  assert.equal(accepts(["Application/PIDF+XML;q=0.5"], t), true);
  assert.equal(accepts(["application/*"], t), true);
  assert.equal(accepts(["*/*"], t), true);
  assert.equal(accepts(["application/xpidf+xml", "application/cpim-pidf+xml"], t), false);
  assert.equal(accepts(["text/*"], t), false);
});

test("escapeXml: the five entities, controls and lone surrogates dropped, tab and newline kept", () => {
  assert.equal(escapeXml(`a&b<c>d"e'f`), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  assert.equal(escapeXml("x\u0000\u0008y\tz\n\ud800é😀"), "xy\tz\né😀");
});
