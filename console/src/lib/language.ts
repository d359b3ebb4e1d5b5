// Which language the console speaks: the one chosen in the menu, else the
// user's, else the company's, else the browser's first supported one
// (navigator.languages, "de-CH" → de), else French, the product's default.
import { LANGUAGES, type Lang } from "../types.ts";

export const DEFAULT_LANGUAGE: Lang = "fr";

export function isLang(v: unknown): v is Lang {
  return typeof v === "string" && (LANGUAGES as readonly string[]).includes(v);
}

/** The first supported language of a browser's list ("de-CH", "en-US", "it"). */
export function browserLanguage(tags: readonly string[] | undefined): Lang | undefined {
  for (const tag of tags ?? []) {
    const primary = tag.toLowerCase().split(/[-_]/, 1)[0];
    if (isLang(primary)) return primary;
  }
  return undefined;
}

export interface LanguageSources {
  /** Picked in the language menu (kept in the browser). */
  chosen?: string | null;
  /** The console user's own language. */
  user?: string | null;
  /** The extension's language, for an extension's user. */
  extension?: string | null;
  /** The company's language. */
  tenant?: string | null;
  /** navigator.languages */
  browser?: readonly string[];
}

export function chooseLanguage(s: LanguageSources): Lang {
  for (const v of [s.chosen, s.user, s.extension, s.tenant]) if (isLang(v)) return v;
  return browserLanguage(s.browser) ?? DEFAULT_LANGUAGE;
}

/** The locale of Intl's formats for each language: Swiss conventions, as the product's users expect. */
export const LOCALES: Record<Lang, string> = { fr: "fr-CH", de: "de-CH", it: "it-CH", en: "en-GB" };
