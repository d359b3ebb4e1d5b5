// The small spoken fragments that numbers, phone numbers, times and dates
// are built from. Each fragment is its own prompt id (`digit.7`,
// `number.42`, `month.3`...), synthesised and cached once, so "you have 42
// new messages" costs no synthesis at call time: it is the concatenation of
// three cached prompts.
//
// Swiss usage, chosen deliberately:
// - French: septante (70) and nonante (90) as everywhere in Romandie, and
//   "quatre-vingts" for 80 as in Geneva, Neuchâtel and the Jura: understood
//   by every French speaker, while "huitante" is only Vaud/Fribourg/Valais.
// - German: Swiss Standard German spelling, no ß ("dreissig").
// - Italian as spoken in Ticino (same as standard Italian for numbers).
// - English: British (the "and" in "two hundred and five", "the third of March").
import type { Language } from "../store/types.ts";

type Table = Map<string, string>;

const FR_UNITS = [
  "zéro",
  "un",
  "deux",
  "trois",
  "quatre",
  "cinq",
  "six",
  "sept",
  "huit",
  "neuf",
  "dix",
  "onze",
  "douze",
  "treize",
  "quatorze",
  "quinze",
  "seize",
  "dix-sept",
  "dix-huit",
  "dix-neuf",
];
const FR_TENS = [
  "",
  "",
  "vingt",
  "trente",
  "quarante",
  "cinquante",
  "soixante",
  "septante",
  "quatre-vingt",
  "nonante",
];

const DE_UNITS = [
  "null",
  "eins",
  "zwei",
  "drei",
  "vier",
  "fünf",
  "sechs",
  "sieben",
  "acht",
  "neun",
  "zehn",
  "elf",
  "zwölf",
  "dreizehn",
  "vierzehn",
  "fünfzehn",
  "sechzehn",
  "siebzehn",
  "achtzehn",
  "neunzehn",
];
const DE_TENS = [
  "",
  "",
  "zwanzig",
  "dreissig",
  "vierzig",
  "fünfzig",
  "sechzig",
  "siebzig",
  "achtzig",
  "neunzig",
];

const IT_UNITS = [
  "zero",
  "uno",
  "due",
  "tre",
  "quattro",
  "cinque",
  "sei",
  "sette",
  "otto",
  "nove",
  "dieci",
  "undici",
  "dodici",
  "tredici",
  "quattordici",
  "quindici",
  "sedici",
  "diciassette",
  "diciotto",
  "diciannove",
];
const IT_TENS = [
  "",
  "",
  "venti",
  "trenta",
  "quaranta",
  "cinquanta",
  "sessanta",
  "settanta",
  "ottanta",
  "novanta",
];

const EN_UNITS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/** 0-99 in words, the form used when the number stands alone (counting). */
function below100(n: number, lang: Language): string {
  const t = Math.floor(n / 10);
  const u = n % 10;
  switch (lang) {
    case "fr":
      if (n < 20) return FR_UNITS[n];
      if (u === 0) return t === 8 ? "quatre-vingts" : FR_TENS[t];
      // "et un" everywhere except after quatre-vingt (quatre-vingt-un).
      if (u === 1 && t !== 8) return `${FR_TENS[t]} et un`;
      return `${FR_TENS[t]}-${FR_UNITS[u]}`;
    case "de":
      if (n < 20) return DE_UNITS[n];
      if (u === 0) return DE_TENS[t];
      return `${u === 1 ? "ein" : DE_UNITS[u]}und${DE_TENS[t]}`;
    case "it": {
      if (n < 20) return IT_UNITS[n];
      if (u === 0) return IT_TENS[t];
      // The tens lose their final vowel before uno and otto (ventuno, ventotto).
      const tens = u === 1 || u === 8 ? IT_TENS[t].slice(0, -1) : IT_TENS[t];
      return tens + (u === 3 ? "tré" : IT_UNITS[u]);
    }
    case "en":
      if (n < 20) return EN_UNITS[n];
      return u === 0 ? EN_TENS[t] : `${EN_TENS[t]}-${EN_UNITS[u]}`;
  }
}

/** Round hundreds 100-900; `followed` is the form used when more follows (French "deux cent trois"). */
function hundreds(h: number, lang: Language, followed: boolean): string {
  switch (lang) {
    case "fr":
      if (h === 1) return "cent";
      return `${FR_UNITS[h]} ${followed ? "cent" : "cents"}`;
    case "de":
      return h === 1 ? "hundert" : `${DE_UNITS[h]}hundert`;
    case "it":
      return h === 1 ? "cento" : `${IT_UNITS[h]}cento`;
    case "en":
      return `${EN_UNITS[h]} hundred`;
  }
}

function thousands(th: number, lang: Language): string {
  switch (lang) {
    case "fr":
      return th === 1 ? "mille" : `${FR_UNITS[th]} mille`;
    case "de":
      return th === 1 ? "tausend" : `${DE_UNITS[th]}tausend`;
    case "it":
      return th === 1 ? "mille" : `${IT_UNITS[th]}mila`;
    case "en":
      return `${EN_UNITS[th]} thousand`;
  }
}

const MONTHS: Record<Language, string[]> = {
  fr: [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
  ],
  de: [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
  ],
  it: [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
  ],
  en: [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
  ],
};

/** Monday first, as ISO 8601 and luxon number them (weekday.1 is Monday). */
const WEEKDAYS: Record<Language, string[]> = {
  fr: ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
  de: ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
  it: ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
  en: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
};

const EN_ORDINALS = [
  "",
  "first",
  "second",
  "third",
  "fourth",
  "fifth",
  "sixth",
  "seventh",
  "eighth",
  "ninth",
  "tenth",
  "eleventh",
  "twelfth",
  "thirteenth",
  "fourteenth",
  "fifteenth",
  "sixteenth",
  "seventeenth",
  "eighteenth",
  "nineteenth",
];

/**
 * The day of the month as said in a date, with what must go with it: French
 * and Italian take the article (Italian elides it: "l'otto", "l'undici"),
 * German the dative ordinal after "vom"/"am", English "the third" (of March).
 */
function dayOfMonth(d: number, lang: Language): string {
  switch (lang) {
    case "fr":
      return d === 1 ? "le premier" : `le ${below100(d, "fr")}`;
    case "it":
      if (d === 1) return "il primo";
      return d === 8 || d === 11 ? `l'${below100(d, "it")}` : `il ${below100(d, "it")}`;
    case "de": {
      const special: Record<number, string> = { 1: "ersten", 3: "dritten", 7: "siebten", 8: "achten" };
      if (special[d]) return special[d];
      return d < 20 ? `${below100(d, "de")}ten` : `${below100(d, "de")}sten`;
    }
    case "en": {
      if (d < 20) return `the ${EN_ORDINALS[d]}`;
      const t = Math.floor(d / 10);
      const u = d % 10;
      return u === 0 ? `the ${EN_TENS[t].slice(0, -1)}ieth` : `the ${EN_TENS[t]}-${EN_ORDINALS[u]}`;
    }
  }
}

const DIGIT_SYMBOLS: Record<Language, { star: string; hash: string; plus: string }> = {
  fr: { star: "étoile", hash: "dièse", plus: "plus" },
  de: { star: "Stern", hash: "Raute", plus: "plus" },
  it: { star: "asterisco", hash: "cancelletto", plus: "più" },
  en: { star: "star", hash: "hash", plus: "plus" },
};

/** Feminine and masculine forms that differ from the counting form, per language. */
function genderForms(lang: Language, t: Table): void {
  switch (lang) {
    case "fr":
      // "une heure", "vingt et une minutes": every number ending in un except onze.
      for (let n = 1; n < 100; n += 10) {
        if (n === 11) continue;
        t.set(`number.${n}.f`, `${below100(n, "fr")}e`);
      }
      break;
    case "de":
      t.set("number.1.f", "eine");
      t.set("number.1.m", "ein");
      break;
    case "it":
      t.set("number.1.f", "una");
      t.set("number.1.m", "un");
      break;
    case "en":
      break;
  }
}

/** Words that join the fragments; each exists only in the languages that use it. */
const JOINERS: Record<Language, Record<string, string>> = {
  fr: { "word.and": "et", "time.hour": "heure", "time.hours": "heures" },
  // "bis Montag, den dritten März": the accusative article before a date that follows a weekday.
  de: { "word.and": "und", "time.oclock": "Uhr", "date.article": "den" },
  it: { "word.and": "e" },
  en: { "word.and": "and", "word.of": "of", "time.oh": "oh", "time.am": "a.m.", "time.pm": "p.m." },
};

function build(lang: Language): Table {
  const t: Table = new Map();
  for (let d = 0; d <= 9; d++) t.set(`digit.${d}`, below100(d, lang));
  const symbols = DIGIT_SYMBOLS[lang];
  t.set("digit.star", symbols.star);
  t.set("digit.hash", symbols.hash);
  t.set("digit.plus", symbols.plus);
  for (let n = 0; n < 100; n++) t.set(`number.${n}`, below100(n, lang));
  for (let h = 1; h <= 9; h++) {
    t.set(`number.${h * 100}`, hundreds(h, lang, false));
    const followed = hundreds(h, lang, true);
    if (followed !== hundreds(h, lang, false)) t.set(`number.${h * 100}.prefix`, followed);
  }
  for (let th = 1; th <= 9; th++) t.set(`number.${th * 1000}`, thousands(th, lang));
  genderForms(lang, t);
  for (let m = 1; m <= 12; m++) t.set(`month.${m}`, MONTHS[lang][m - 1]);
  for (let d = 1; d <= 31; d++) t.set(`date.day.${d}`, dayOfMonth(d, lang));
  for (let w = 1; w <= 7; w++) t.set(`weekday.${w}`, WEEKDAYS[lang][w - 1]);
  for (const [id, text] of Object.entries(JOINERS[lang])) t.set(id, text);
  return t;
}

const TABLES: Record<Language, Table> = {
  fr: build("fr"),
  de: build("de"),
  it: build("it"),
  en: build("en"),
};

/** Text of a fragment id in a language, or undefined when that language has no such fragment. */
export function fragmentText(id: string, lang: Language): string | undefined {
  return TABLES[lang].get(id);
}

/** Every fragment id of a language, for building the cache ahead of calls. */
export function fragmentIds(lang: Language): string[] {
  return [...TABLES[lang].keys()];
}
