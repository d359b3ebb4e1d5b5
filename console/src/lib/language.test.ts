import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, formatter, knownZone, weekPosition } from "./format.ts";
import { browserLanguage, chooseLanguage } from "./language.ts";

test("the language: the menu's, the user's, the extension's, the company's, the browser's, else French", () => {
  assert.equal(chooseLanguage({}), "fr");
  assert.equal(chooseLanguage({ browser: ["en-US", "en"] }), "en");
  assert.equal(chooseLanguage({ browser: ["es-ES", "de-CH"] }), "de", "the first supported one");
  assert.equal(chooseLanguage({ browser: ["es"] }), "fr");
  assert.equal(chooseLanguage({ tenant: "it", browser: ["en"] }), "it");
  assert.equal(chooseLanguage({ extension: "de", tenant: "it" }), "de");
  assert.equal(chooseLanguage({ user: "en", extension: "de", tenant: "it" }), "en");
  assert.equal(chooseLanguage({ chosen: "it", user: "en" }), "it");
  assert.equal(
    chooseLanguage({ chosen: "xx", user: null, tenant: "de" }),
    "de",
    "junk in storage is ignored",
  );
  assert.equal(browserLanguage(["IT_ch"]), "it");
  assert.equal(browserLanguage(undefined), undefined);
});

test("dates in the company's zone, not the browser's", () => {
  const at = "2026-03-29T00:30:00Z"; // 01:30 in Zurich (CET), 01:30 in Lisbon (WEST after its change at 01:00 UTC? no: 00:30 UTC is before it)
  assert.equal(formatter("en", "Europe/Zurich").time(at), "01:30");
  assert.equal(formatter("en", "America/New_York").time(at), "20:30");
  assert.equal(formatter("fr", "Europe/Zurich").time("2026-07-01T10:00:00Z"), "12:00", "summer time");
  assert.equal(formatter("de", "Europe/Zurich").time(null), "");
  assert.equal(formatter("de", "Europe/Zurich").time("not a date"), "not a date");
  assert.equal(knownZone("Nowhere/Else"), undefined);
  assert.equal(knownZone("Europe/Rome"), "Europe/Rome");
});

test("durations", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(3_723_000), "1:02:03");
  assert.equal(formatDuration(-1), "");
  assert.equal(formatDuration(null), "");
});

test("where now falls in the company's week", () => {
  // Monday 2026-03-30 06:15 UTC: 08:15 in Zurich (summer time), 23:15 on Sunday in Los Angeles.
  const at = new Date("2026-03-30T06:15:00Z");
  assert.deepEqual(weekPosition(at, "Europe/Zurich"), { day: 0, minute: 8 * 60 + 15 });
  assert.deepEqual(weekPosition(at, "America/Los_Angeles"), { day: 6, minute: 23 * 60 + 15 });
  assert.deepEqual(weekPosition(new Date("2026-03-29T22:00:00Z"), "Europe/Zurich"), { day: 0, minute: 0 });
});
