// Turning numbers, phone numbers, times and dates into prompt parts: lists
// of cached fragment ids (see words.ts) with short silences where a person
// would pause. Nothing here synthesises; the PromptLibrary resolves parts.
import { type CountryCode, type PhoneNumber, parsePhoneNumberFromString } from "libphonenumber-js";
import type { Language } from "../store/types.ts";

/** A prompt id (catalogue or fragment), or a pause of the given length. */
export type PromptPart = string | { readonly silenceMs: number };

export type Gender = "m" | "f";

/** Pause between the groups of a phone number ("079 | 123 | 12 | 12"). */
export const GROUP_PAUSE_MS = 250;

/**
 * Reads a number digit by digit, in the groups that people in Switzerland
 * say them: national numbers as the directory prints them ("079 123 12 12",
 * "0800 123 456"), Swiss numbers in international form brought back to the
 * national form (nobody says "plus four one seven nine" for a mobile in
 * Switzerland), foreign numbers as "plus" and the international groups.
 * Spaces, dots or dashes in the input are taken as the caller's own grouping.
 * `*` and `#` are read as the key names; other characters are ignored. The
 * digit ids are the same in every language; the language is taken so that
 * all say* functions have one shape.
 */
export function sayDigits(
  digits: string,
  _language: Language,
  opts: { country?: string } = {},
): PromptPart[] {
  const groups = groupDigits(digits, (opts.country ?? "CH").toUpperCase());
  const parts: PromptPart[] = [];
  for (const group of groups) {
    if (parts.length > 0) parts.push({ silenceMs: GROUP_PAUSE_MS });
    for (const ch of group) parts.push(digitId(ch));
  }
  return parts;
}

function digitId(ch: string): string {
  if (ch === "*") return "digit.star";
  if (ch === "#") return "digit.hash";
  if (ch === "+") return "digit.plus";
  return `digit.${ch}`;
}

function groupDigits(input: string, country: string): string[] {
  const trimmed = input.trim();
  if (/[\s./-]/.test(trimmed)) {
    const groups = trimmed
      .split(/[\s./-]+/)
      .map((g) => g.replace(/[^0-9*#+]/g, ""))
      .filter((g) => g.length > 0);
    return groups;
  }
  const clean = trimmed.replace(/[^0-9*#+]/g, "");
  if (clean.length === 0) return [];
  // Short codes and extensions ("101", "*72") are one group.
  if (clean.length <= 6 || /[*#]/.test(clean)) return [clean];
  const phone = parsePhone(clean.replace(/^00/, "+"), country);
  if (phone?.isValid()) {
    const formatted = phone.country === country ? phone.formatNational() : phone.formatInternational();
    const groups = formatted
      .split(/[\s()-]+/)
      .map((g) => g.replace(/[^0-9+]/g, ""))
      .filter((g) => g.length > 0)
      // "+33" stays one group: "plus three three", then a pause.
      .flatMap((g) => (g.startsWith("+") ? [g] : splitLong(g)));
    return groups;
  }
  return splitLong(clean);
}

function parsePhone(text: string, country: string): PhoneNumber | undefined {
  try {
    return parsePhoneNumberFromString(text, country as CountryCode);
  } catch {
    // An unknown default country: read the digits as they come.
    return undefined;
  }
}

/** Long runs are hard to follow by ear: cut into threes, ending in twos (7 → 3 2 2). */
function splitLong(group: string): string[] {
  if (group.length <= 4) return [group];
  const out: string[] = [];
  let rest = group;
  while (rest.length > 4) {
    out.push(rest.slice(0, 3));
    rest = rest.slice(3);
  }
  if (rest.length === 4 && out.length > 0) out.push(rest.slice(0, 2), rest.slice(2));
  else out.push(rest);
  return out;
}

/**
 * A quantity, 0 to 9999, as words ("trois nouveaux messages", "einundzwanzig").
 * `gender` gives the form agreeing with the noun that follows (French "une",
 * German "eine"/"ein", Italian "una"/"un"); without it the counting form.
 * Larger numbers are read digit by digit; negative or fractional ones are a
 * programming error.
 */
export function sayNumber(n: number, lang: Language, opts: { gender?: Gender } = {}): PromptPart[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sayNumber takes a non-negative integer, got ${n}`);
  if (n > 9999) return sayDigits(String(n), lang);
  if (n === 0) return ["number.0"];
  const parts: string[] = [];
  const th = Math.floor(n / 1000);
  const h = Math.floor((n % 1000) / 100);
  const rest = n % 100;
  if (th > 0) parts.push(`number.${th * 1000}`);
  if (h > 0)
    parts.push(rest > 0 && lang === "fr" && h > 1 ? `number.${h * 100}.prefix` : `number.${h * 100}`);
  if (rest > 0) {
    // British English: "two hundred and five", "one thousand and twelve".
    if (lang === "en" && parts.length > 0) parts.push("word.and");
    parts.push(genderedBelow100(rest, lang, n, opts.gender));
  }
  return parts;
}

function genderedBelow100(rest: number, lang: Language, whole: number, gender: Gender | undefined): string {
  if (!gender || rest % 10 !== 1) return `number.${rest}`;
  switch (lang) {
    case "fr":
      return gender === "f" && rest !== 11 ? `number.${rest}.f` : `number.${rest}`;
    case "de":
    case "it":
      // "eine Nachricht", "un messaggio"; compounds (einundzwanzig, hunderteins) do not change.
      return whole === 1 ? `number.1.${gender}` : `number.${rest}`;
    case "en":
      return `number.${rest}`;
  }
}

/**
 * A time of day, as said on the phone: 24-hour in French, German and Italian
 * ("quatorze heures trente", "vierzehn Uhr dreissig", "quattordici e
 * trenta"), 12-hour with a.m./p.m. in English ("two thirty p.m.").
 */
export function sayTime(hour: number, minute: number, lang: Language): PromptPart[] {
  if (
    !Number.isInteger(hour) ||
    !Number.isInteger(minute) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59
  ) {
    throw new RangeError(`invalid time ${hour}:${minute}`);
  }
  switch (lang) {
    case "fr": {
      // Heure is feminine: "une heure", "vingt et une heures", "quatorze heures une".
      const parts: PromptPart[] = [...sayNumber(hour, "fr", { gender: "f" })];
      parts.push(hour <= 1 ? "time.hour" : "time.hours");
      if (minute > 0) parts.push(...sayNumber(minute, "fr", { gender: "f" }));
      return parts;
    }
    case "de": {
      const parts: PromptPart[] = [...sayNumber(hour, "de", { gender: "m" }), "time.oclock"];
      if (minute > 0) parts.push(...sayNumber(minute, "de"));
      return parts;
    }
    case "it": {
      const parts: PromptPart[] = [...sayNumber(hour, "it", { gender: "f" })];
      if (minute > 0) parts.push("word.and", ...sayNumber(minute, "it"));
      return parts;
    }
    case "en": {
      const h12 = hour % 12 === 0 ? 12 : hour % 12;
      const parts: PromptPart[] = [...sayNumber(h12, "en")];
      if (minute > 0 && minute < 10) parts.push("time.oh", ...sayNumber(minute, "en"));
      else if (minute >= 10) parts.push(...sayNumber(minute, "en"));
      parts.push(hour < 12 ? "time.am" : "time.pm");
      return parts;
    }
  }
}

/** A calendar date; Date values are read in the process's local time zone. */
export type DateLike = Date | { year: number; month: number; day: number };

/**
 * A date without the weekday, as it follows "message received": "le trois
 * mars", "dritten März" (after "vom"), "il tre marzo", "the third of March".
 * The year is said only when asked for.
 */
export function sayDate(date: DateLike, lang: Language, opts: { withYear?: boolean } = {}): PromptPart[] {
  const { year, month, day } =
    date instanceof Date
      ? { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate() }
      : date;
  if (!Number.isInteger(day) || day < 1 || day > 31 || !Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`invalid date ${year}-${month}-${day}`);
  }
  const parts: PromptPart[] = [`date.day.${day}`];
  if (lang === "en") parts.push("word.of");
  parts.push(`month.${month}`);
  if (opts.withYear) parts.push(...sayNumber(year, lang));
  return parts;
}

/** Pause between a weekday and its date ("lundi, le trois mars"). */
const WEEKDAY_PAUSE_MS = 150;

/** A day of the week, 1 = Monday (ISO 8601, as luxon's `weekday`). */
export function sayWeekday(weekday: number, _lang: Language): PromptPart[] {
  if (!Number.isInteger(weekday) || weekday < 1 || weekday > 7)
    throw new RangeError(`invalid weekday ${weekday}`);
  return [`weekday.${weekday}`];
}

/**
 * A weekday and its date, for a day too far ahead for the weekday alone:
 * "lundi, le trois mars", "Montag, den dritten März", "lunedì, il tre
 * marzo", "Monday, the third of March".
 */
export function sayWeekdayDate(weekday: number, date: DateLike, lang: Language): PromptPart[] {
  const parts: PromptPart[] = [...sayWeekday(weekday, lang), { silenceMs: WEEKDAY_PAUSE_MS }];
  if (lang === "de") parts.push("date.article");
  parts.push(...sayDate(date, lang));
  return parts;
}

/**
 * The voicemail welcome count: "Vous avez trois nouveaux messages et un
 * message sauvegardé", with the agreement of each language ("aucun nouveau
 * message", "eine neue Nachricht"), or "no messages" when both are zero.
 */
export function sayMessageCounts(newCount: number, savedCount: number, lang: Language): PromptPart[] {
  if (newCount === 0 && savedCount === 0) return ["voicemail.no-messages"];
  // Nachricht is feminine, message and messaggio masculine.
  const gender: Gender = lang === "de" ? "f" : "m";
  const count = (n: number, noun: "voicemail.new-message" | "voicemail.saved-message"): PromptPart[] => {
    if (n === 0) return [`${noun}.none`];
    return [...sayNumber(n, lang, { gender }), n === 1 ? `${noun}.one` : `${noun}.many`];
  };
  return [
    "voicemail.you-have",
    ...count(newCount, "voicemail.new-message"),
    "word.and",
    ...count(savedCount, "voicemail.saved-message"),
  ];
}

/**
 * The envelope said before a voicemail message: "Message reçu le trois mars
 * à quatorze heures trente, du numéro 079 123 12 12". The caller gives the
 * date and time already in the mailbox owner's time zone.
 */
export function sayMessageEnvelope(
  received: { date: DateLike; hour: number; minute: number },
  from: string | undefined,
  lang: Language,
  opts: { country?: string } = {},
): PromptPart[] {
  const parts: PromptPart[] = [
    "voicemail.envelope.received",
    ...sayDate(received.date, lang),
    "voicemail.envelope.at",
    ...sayTime(received.hour, received.minute, lang),
    { silenceMs: GROUP_PAUSE_MS },
  ];
  const digits = from?.replace(/[^0-9*#+]/g, "") ?? "";
  if (digits.length > 0) parts.push("voicemail.envelope.from", ...sayDigits(from!, lang, opts));
  else parts.push("voicemail.envelope.from-unknown");
  return parts;
}
