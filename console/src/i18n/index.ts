// The console's words in its four languages. Each dictionary is typed by
// the English one (en.ts): a key missing from, or unknown to, any of them
// is a type error, so no page can show a raw key.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { type Formatter, formatter } from "../lib/format.ts";
import { DEFAULT_LANGUAGE } from "../lib/language.ts";
import type { Lang } from "../types.ts";
import { de } from "./de.ts";
import { en, type Messages } from "./en.ts";
import { fr } from "./fr.ts";
import { it } from "./it.ts";

export type MessageKey = keyof Messages;
export type Vars = Record<string, string | number>;

export const DICTIONARIES: Record<Lang, Messages> = { fr, de, it, en };

/** The language's own name, as the language menu shows it. */
export const LANGUAGE_NAMES: Record<Lang, string> = {
  fr: "Français",
  de: "Deutsch",
  it: "Italiano",
  en: "English",
};

/** `{name}` in the text is replaced by vars.name. */
export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const text = DICTIONARIES[lang][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(vars, name) ? String(vars[name]) : whole,
  );
}

/** The words of a form's problem (lib/validate.ts), or undefined when there is none. */
export function problemText(
  t: I18n["t"],
  p: { key: MessageKey; vars?: Vars } | undefined,
): string | undefined {
  return p ? t(p.key, p.vars) : undefined;
}

export interface I18n {
  lang: Lang;
  t(key: MessageKey, vars?: Vars): string;
  fmt: Formatter;
  /** The company's time zone the dates are shown in (undefined: the browser's). */
  zone?: string;
  setLang(lang: Lang): void;
}

export function makeI18n(lang: Lang, zone: string | undefined, setLang: (l: Lang) => void): I18n {
  return { lang, t: (key, vars) => translate(lang, key, vars), fmt: formatter(lang, zone), zone, setLang };
}

export const I18nContext = createContext<I18n>(makeI18n(DEFAULT_LANGUAGE, undefined, () => undefined));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
