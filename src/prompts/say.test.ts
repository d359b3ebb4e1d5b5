import assert from "node:assert/strict";
import { test } from "node:test";
import { LANGUAGES, type Language } from "../store/types.ts";
import { promptText } from "./catalogue.ts";
import {
  GROUP_PAUSE_MS,
  type PromptPart,
  sayDate,
  sayDigits,
  sayMessageCounts,
  sayMessageEnvelope,
  sayNumber,
  sayTime,
  sayWeekday,
  sayWeekdayDate,
} from "./say.ts";

/** What a listener hears: the texts joined, "|" for a pause. */
function heard(parts: PromptPart[], lang: Language): string {
  return parts.map((p) => (typeof p === "string" ? promptText(p, lang) : "|")).join(" ");
}

const num = (n: number, lang: Language, gender?: "m" | "f") => heard(sayNumber(n, lang, { gender }), lang);

test("numbers in Swiss French", () => {
  const expected: Record<number, string> = {
    0: "zéro",
    7: "sept",
    21: "vingt et un",
    71: "septante et un",
    77: "septante-sept",
    80: "quatre-vingts",
    81: "quatre-vingt-un",
    91: "nonante et un",
    100: "cent",
    101: "cent un",
    200: "deux cents",
    280: "deux cent quatre-vingts",
    1000: "mille",
    2026: "deux mille vingt-six",
    9999: "neuf mille neuf cent nonante-neuf",
  };
  for (const [n, words] of Object.entries(expected)) assert.equal(num(Number(n), "fr"), words);
  assert.equal(num(1, "fr", "f"), "une");
  assert.equal(num(21, "fr", "f"), "vingt et une");
  assert.equal(num(11, "fr", "f"), "onze");
});

test("numbers in German", () => {
  assert.equal(num(0, "de"), "null");
  assert.equal(num(7, "de"), "sieben");
  assert.equal(num(21, "de"), "einundzwanzig");
  assert.equal(num(71, "de"), "einundsiebzig");
  assert.equal(num(80, "de"), "achtzig");
  assert.equal(num(91, "de"), "einundneunzig");
  assert.equal(num(100, "de"), "hundert");
  assert.equal(num(1000, "de"), "tausend");
  assert.equal(num(1234, "de"), "tausend zweihundert vierunddreissig");
  assert.equal(num(1, "de", "f"), "eine");
  assert.equal(num(1, "de", "m"), "ein");
  assert.equal(num(1, "de"), "eins");
});

test("numbers in Italian", () => {
  assert.equal(num(0, "it"), "zero");
  assert.equal(num(21, "it"), "ventuno");
  assert.equal(num(23, "it"), "ventitré");
  assert.equal(num(28, "it"), "ventotto");
  assert.equal(num(71, "it"), "settantuno");
  assert.equal(num(81, "it"), "ottantuno");
  assert.equal(num(91, "it"), "novantuno");
  assert.equal(num(100, "it"), "cento");
  assert.equal(num(1000, "it"), "mille");
  assert.equal(num(2000, "it"), "duemila");
  assert.equal(num(1, "it", "m"), "un");
  assert.equal(num(1, "it", "f"), "una");
});

test("numbers in British English", () => {
  assert.equal(num(0, "en"), "zero");
  assert.equal(num(21, "en"), "twenty-one");
  assert.equal(num(80, "en"), "eighty");
  assert.equal(num(100, "en"), "one hundred");
  assert.equal(num(205, "en"), "two hundred and five");
  assert.equal(num(1000, "en"), "one thousand");
  assert.equal(num(1012, "en"), "one thousand and twelve");
});

test("numbers outside 0-9999", () => {
  assert.equal(num(12345, "en"), "one two three four five");
  assert.throws(() => sayNumber(-1, "fr"), RangeError);
  assert.throws(() => sayNumber(1.5, "fr"), RangeError);
});

test("phone numbers are read digit by digit in the Swiss groups", () => {
  assert.equal(
    heard(sayDigits("0791231212", "fr"), "fr"),
    "zéro sept neuf | un deux trois | un deux | un deux",
  );
  // International form of a Swiss number: read as people know it, nationally.
  assert.equal(
    heard(sayDigits("+41791231212", "fr"), "fr"),
    "zéro sept neuf | un deux trois | un deux | un deux",
  );
  assert.equal(
    heard(sayDigits("0041213124567", "de"), "de"),
    "null zwei eins | drei eins zwei | vier fünf | sechs sieben",
  );
  assert.equal(
    heard(sayDigits("0800123456", "it"), "it"),
    "zero otto zero zero | uno due tre | quattro cinque sei",
  );
  // Foreign numbers: "plus", the country code, then the groups of that country.
  assert.equal(
    heard(sayDigits("+33612345678", "en"), "en"),
    "plus three three | six | one two | three four | five six | seven eight",
  );
  // Extensions and codes are one group; the caller's own grouping is kept.
  assert.equal(heard(sayDigits("101", "en"), "en"), "one zero one");
  assert.equal(heard(sayDigits("*72", "fr"), "fr"), "étoile sept deux");
  assert.equal(
    heard(sayDigits("079 123 12 12", "it"), "it"),
    "zero sette nove | uno due tre | uno due | uno due",
  );
  // Unparseable long digit strings still get short groups.
  assert.equal(heard(sayDigits("1234567", "en"), "en"), "one two three | four five | six seven");
  assert.deepEqual(sayDigits("", "fr"), []);
  const parts = sayDigits("0791231212", "fr");
  assert.deepEqual(parts[3], { silenceMs: GROUP_PAUSE_MS });
});

test("times of day", () => {
  assert.equal(heard(sayTime(13, 30, "fr"), "fr"), "treize heures trente");
  assert.equal(heard(sayTime(1, 0, "fr"), "fr"), "une heure");
  assert.equal(heard(sayTime(21, 21, "fr"), "fr"), "vingt et une heures vingt et une");
  assert.equal(heard(sayTime(13, 30, "de"), "de"), "dreizehn Uhr dreissig");
  assert.equal(heard(sayTime(1, 5, "de"), "de"), "ein Uhr fünf");
  assert.equal(heard(sayTime(13, 30, "it"), "it"), "tredici e trenta");
  assert.equal(heard(sayTime(8, 0, "it"), "it"), "otto");
  assert.equal(heard(sayTime(13, 30, "en"), "en"), "one thirty p.m.");
  assert.equal(heard(sayTime(0, 5, "en"), "en"), "twelve oh five a.m.");
  assert.equal(heard(sayTime(7, 0, "en"), "en"), "seven a.m.");
  assert.throws(() => sayTime(24, 0, "fr"), RangeError);
});

test("dates", () => {
  const d = { year: 2026, month: 3, day: 8 };
  assert.equal(heard(sayDate(d, "fr"), "fr"), "le huit mars");
  assert.equal(heard(sayDate({ ...d, day: 1 }, "fr"), "fr"), "le premier mars");
  assert.equal(heard(sayDate(d, "de"), "de"), "achten März");
  assert.equal(heard(sayDate({ ...d, day: 21 }, "de"), "de"), "einundzwanzigsten März");
  assert.equal(heard(sayDate(d, "it"), "it"), "l'otto marzo");
  assert.equal(heard(sayDate({ ...d, day: 3 }, "it"), "it"), "il tre marzo");
  assert.equal(heard(sayDate(d, "en"), "en"), "the eighth of March");
  assert.equal(heard(sayDate({ ...d, day: 30 }, "en"), "en"), "the thirtieth of March");
  assert.equal(heard(sayDate(d, "fr", { withYear: true }), "fr"), "le huit mars deux mille vingt-six");
  assert.equal(heard(sayDate(new Date(2026, 11, 25), "en"), "en"), "the twenty-fifth of December");
  assert.throws(() => sayDate({ year: 2026, month: 13, day: 1 }, "fr"), RangeError);
});

test("weekdays, and a weekday with its date for a day more than a week ahead", () => {
  assert.equal(heard(sayWeekday(1, "fr"), "fr"), "lundi");
  assert.equal(heard(sayWeekday(7, "de"), "de"), "Sonntag");
  assert.equal(heard(sayWeekday(3, "it"), "it"), "mercoledì");
  assert.equal(heard(sayWeekday(5, "en"), "en"), "Friday");
  assert.throws(() => sayWeekday(0, "fr"), RangeError);
  assert.throws(() => sayWeekday(8, "fr"), RangeError);
  const d = { year: 2026, month: 3, day: 3 };
  assert.equal(heard(sayWeekdayDate(2, d, "fr"), "fr"), "mardi | le trois mars");
  assert.equal(heard(sayWeekdayDate(2, d, "de"), "de"), "Dienstag | den dritten März");
  assert.equal(heard(sayWeekdayDate(2, d, "it"), "it"), "martedì | il tre marzo");
  assert.equal(heard(sayWeekdayDate(2, d, "en"), "en"), "Tuesday | the third of March");
});

test("voicemail counts agree in number and gender", () => {
  assert.equal(
    heard(sayMessageCounts(3, 1, "fr"), "fr"),
    "Vous avez trois nouveaux messages et un message sauvegardé",
  );
  assert.equal(
    heard(sayMessageCounts(1, 0, "de"), "de"),
    "Sie haben eine neue Nachricht und keine gespeicherten Nachrichten",
  );
  assert.equal(
    heard(sayMessageCounts(0, 2, "it"), "it"),
    "Lei ha nessun nuovo messaggio e due messaggi salvati",
  );
  assert.equal(
    heard(sayMessageCounts(21, 1, "en"), "en"),
    "You have twenty-one new messages and one saved message",
  );
  assert.equal(heard(sayMessageCounts(0, 0, "fr"), "fr"), "Vous n'avez aucun message.");
});

test("message envelope", () => {
  const received = { date: { year: 2026, month: 3, day: 8 }, hour: 14, minute: 30 };
  assert.equal(
    heard(sayMessageEnvelope(received, "+41791231212", "fr"), "fr"),
    "Message reçu le huit mars à quatorze heures trente | du numéro zéro sept neuf | un deux trois | un deux | un deux",
  );
  assert.equal(
    heard(sayMessageEnvelope(received, undefined, "de"), "de"),
    "Nachricht vom achten März um vierzehn Uhr dreissig | von einer unterdrückten Nummer",
  );
});

test("every part that say* produces exists in its language", () => {
  for (const lang of LANGUAGES) {
    const all: PromptPart[] = [];
    for (let n = 0; n <= 9999; n += n < 200 ? 1 : 37) {
      all.push(
        ...sayNumber(n, lang),
        ...sayNumber(n, lang, { gender: "f" }),
        ...sayNumber(n, lang, { gender: "m" }),
      );
    }
    for (let h = 0; h < 24; h++) for (let m = 0; m < 60; m += 7) all.push(...sayTime(h, m, lang));
    for (let mo = 1; mo <= 12; mo++)
      for (let d = 1; d <= 31; d++) all.push(...sayDate({ year: 2026, month: mo, day: d }, lang));
    for (let w = 1; w <= 7; w++) all.push(...sayWeekdayDate(w, { year: 2026, month: 3, day: w }, lang));
    all.push(
      ...sayDigits("+41 79 123 45 67 *#", lang),
      ...sayMessageCounts(5, 1, lang),
      ...sayMessageCounts(1, 0, lang),
    );
    for (const part of all) if (typeof part === "string") assert.ok(promptText(part, lang).length > 0);
  }
});
