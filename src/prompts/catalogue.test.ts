import assert from "node:assert/strict";
import { test } from "node:test";
import { LANGUAGES, type Language } from "../store/types.ts";
import { isPromptId, PROMPT_IDS, promptText, UnknownPrompt } from "./catalogue.ts";
import { fragmentIds } from "./words.ts";

test("every catalogue prompt has a real text in all four languages", () => {
  for (const id of PROMPT_IDS) {
    assert.match(id, /^[a-z]+(\.[a-z0-9-]+)+$/, `id ${id} is dotted lower-case`);
    const texts = LANGUAGES.map((lang) => promptText(id, lang));
    for (const [i, text] of texts.entries()) {
      const where = `${id} [${LANGUAGES[i]}]`;
      assert.ok(text.trim().length > 0, `${where} is empty`);
      assert.equal(text, text.trim(), `${where} has stray spaces`);
      assert.doesNotMatch(
        text,
        /TODO|FIXME|XXX|TBD|lorem|<|>|\{|\}|\$|\.\.\./i,
        `${where} looks like a placeholder`,
      );
    }
    // A sentence copied from another language instead of translated.
    assert.equal(new Set(texts).size, 4, `${id} is not translated in every language: ${texts.join(" / ")}`);
  }
});

test("the catalogue covers the whole help page", () => {
  const required = [
    "forwarding.unconditional.enabled",
    "forwarding.all.disabled",
    "forwarding.busy.enabled",
    "forwarding.busy.disabled",
    "forwarding.unreachable.enabled",
    "forwarding.unreachable.disabled",
    "error.code-invalid",
    "feature.not-enabled",
    "error.number-missing",
    "error.number-invalid",
    "error.destination-not-allowed",
    "error.forwarding-loop",
    "error.number-not-assigned",
    "error.try-again-later",
    "call.busy",
    "call.unreachable",
    "call.not-allowed",
    "voicemail.you-have",
    "voicemail.menu.main",
    "voicemail.menu.message",
    "voicemail.menu.options",
    "voicemail.menu.recording",
    "voicemail.help",
    "voicemail.message.number",
    "voicemail.greeting.default.busy",
    "voicemail.greeting.title.unavailable",
    "voicemail.greeting.title.busy",
    "voicemail.name.record",
    "voicemail.pin.trivial",
    "voicemail.pin.invalid",
    "voicemail.envelope.received",
    "voicemail.message.deleted",
    "voicemail.message.saved",
    "voicemail.no-messages",
    "voicemail.greeting.record",
    "voicemail.greeting.saved",
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.too-many-attempts",
    "voicemail.greeting.default.extension",
    "voicemail.greeting.default.unavailable",
    "voicemail.remote-access.not-allowed",
    "schedule.switched",
    "schedule.mode.closed",
    "schedule.mode.open",
    "schedule.mode.lunch",
    "schedule.switched.until",
    "schedule.switched.until-tomorrow",
    "schedule.switched.until-day",
    "schedule.switched.at",
    "schedule.override-cancelled",
    "schedule.not-configured",
    "callflow.mode.normal",
    "company.codes.not-allowed",
    "company.pin.enter",
    "company.pin.wrong",
    "company.pin.too-many-attempts",
    "announcement.default-restored",
    "announcement.already-default",
    "announcement.playing-default",
    "callflow.switched",
    "callflow.mode.day",
    "callflow.mode.night",
    "callflow.mode.vacation",
    "callflow.mode.schedule",
    "announcement.title.welcome",
    "announcement.title.waiting",
    "announcement.title.closed",
    "announcement.title.vacation",
    "announcement.menu",
    "announcement.record",
    "announcement.saved",
    "announcement.default.welcome",
    "announcement.default.waiting",
    "announcement.default.closed",
    "announcement.default.vacation",
    "generic.thank-you",
    "generic.goodbye",
    "generic.invalid-choice",
    "generic.please-wait",
  ];
  for (const id of required) assert.ok(isPromptId(id), `missing prompt ${id}`);
});

/** The words for the star and hash keys, as each language says them on the phone. */
const STAR: Record<string, RegExp> = { fr: /étoile/, de: /Sterntaste/, it: /asterisco/, en: /star/ };
const HASH: Record<string, RegExp> = { fr: /dièse/, de: /Rautetaste/, it: /cancelletto/, en: /hash/ };

test("menus name the keys that the help page and the voicemail menu use", () => {
  for (const lang of LANGUAGES) {
    // The Asterisk/FreePBX layout: 1 listen, 0 options, * help, # exit.
    const main = promptText("voicemail.menu.main", lang);
    for (const key of ["1", "0"]) assert.ok(main.includes(key), `main menu ${lang} lacks ${key}`);
    assert.match(main, STAR[lang], `main menu ${lang} lacks the star key`);
    assert.match(main, HASH[lang], `main menu ${lang} lacks the hash key`);
    const message = promptText("voicemail.menu.message", lang);
    for (const key of ["3", "4", "5", "6", "7", "9"])
      assert.ok(message.includes(key), `message menu ${lang} lacks ${key}`);
    const options = promptText("voicemail.menu.options", lang);
    for (const key of ["1", "2", "3", "4"]) assert.ok(options.includes(key), `options ${lang} lack ${key}`);
    assert.match(options, STAR[lang], `options ${lang} lack the way back`);
    const recording = promptText("voicemail.menu.recording", lang);
    for (const key of ["1", "2", "3"]) assert.ok(recording.includes(key), `review ${lang} lacks ${key}`);
    const help = promptText("voicemail.help", lang);
    for (const key of ["0", "1", "2", "3", "4", "5", "6", "7", "9"])
      assert.ok(help.includes(key), `help ${lang} lacks ${key}`);
    const announcement = promptText("announcement.menu", lang);
    for (const key of ["1", "2", "3"]) assert.ok(announcement.includes(key));
    assert.match(announcement, HASH[lang], `announcement menu ${lang} lacks the way out`);
  }
});

/** The spoken sentence of a list of ids and words, as the `*20` confirmation strings them together. */
const sentence = (lang: Language, ...ids: string[]) => ids.map((id) => promptText(id, lang)).join(" ");

test("the *20 confirmations read as one sentence in every language, parts in the same order", () => {
  // mode, "until", time: the app strings them in this order whatever the language.
  const expected: Record<Language, string[]> = {
    fr: [
      "Le mode fermé est activé jusqu'à treize heures",
      "Le mode ouvert est activé jusqu'à demain à huit heures",
      "Le mode pause de midi est activé jusqu'à lundi à huit heures",
    ],
    de: [
      "Der Modus geschlossen ist jetzt aktiv bis dreizehn Uhr",
      "Der Modus geöffnet ist jetzt aktiv bis morgen um acht Uhr",
      "Der Modus Mittagspause ist jetzt aktiv bis Montag um acht Uhr",
    ],
    it: [
      "La modalità chiuso è ora attiva fino alle ore tredici",
      "La modalità aperto è ora attiva fino a domani alle ore otto",
      "La modalità pausa pranzo è ora attiva fino a lunedì alle ore otto",
    ],
    en: [
      "The schedule is now in closed mode until one p.m.",
      "The schedule is now in open mode until tomorrow at eight a.m.",
      "The schedule is now in lunch break mode until Monday at eight a.m.",
    ],
  };
  const time: Record<Language, { one: string[]; eight: string[] }> = {
    fr: { one: ["number.13", "time.hours"], eight: ["number.8", "time.hours"] },
    de: { one: ["number.13", "time.oclock"], eight: ["number.8", "time.oclock"] },
    it: { one: ["number.13"], eight: ["number.8"] },
    en: { one: ["number.1", "time.pm"], eight: ["number.8", "time.am"] },
  };
  for (const lang of LANGUAGES) {
    const t = time[lang];
    assert.deepEqual(
      [
        sentence(lang, "schedule.switched", "schedule.mode.closed", "schedule.switched.until", ...t.one),
        sentence(
          lang,
          "schedule.switched",
          "schedule.mode.open",
          "schedule.switched.until-tomorrow",
          ...t.eight,
        ),
        sentence(
          lang,
          "schedule.switched",
          "schedule.mode.lunch",
          "schedule.switched.until-day",
          "weekday.1",
          "schedule.switched.at",
          ...t.eight,
        ),
      ],
      expected[lang],
    );
    assert.ok(promptText("schedule.override-cancelled", lang).length > 0);
    assert.ok(promptText("callflow.switched", lang).length > 0);
  }
});

test("Swiss usage: French says septante and nonante, German writes no ß", () => {
  assert.equal(promptText("number.71", "fr"), "septante et un");
  assert.equal(promptText("number.95", "fr"), "nonante-cinq");
  for (const id of [...PROMPT_IDS, ...fragmentIds("de")]) assert.ok(!promptText(id, "de").includes("ß"), id);
  assert.equal(promptText("number.30", "de"), "dreissig");
  assert.equal(promptText("generic.goodbye", "de"), "Auf Wiederhören.");
});

test("fragments are prompts too; unknown ids throw UnknownPrompt", () => {
  assert.equal(promptText("digit.7", "it"), "sette");
  assert.equal(promptText("month.3", "de"), "März");
  assert.throws(() => promptText("forwarding.sideways.enabled", "fr"), UnknownPrompt);
  assert.throws(() => promptText("time.am", "fr"), UnknownPrompt);
  assert.equal(isPromptId("toString"), false);
});
