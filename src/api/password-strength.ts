// How guessable an extension's SIP password is. The password is the only
// thing between the internet and the company's phone bill: SIP scanners try
// leaked password lists, the extension number and keyboard walks against
// every extension they find, so a password must be long (NIST SP 800-63B
// §5.1.1.2: at least 8, we ask 10) and not on a list of common passwords,
// and zxcvbn's estimate must say it takes at least 10^8 guesses (score 3,
// "safely unguessable" for an online attack, which is what a SIP digest
// guesser runs). The estimate comes from zxcvbn-ts with its language-neutral
// dictionaries (common passwords, diceware words) and keyboard graphs.
import { ZxcvbnFactory, type ZxcvbnResult } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";

/** zxcvbn's score a password must reach: 3 = at least 10^8 guesses. */
export const PASSWORD_MIN_SCORE = 3;

export type PasswordVerdict =
  | { ok: true }
  /** On (or a capitalised / l33t form of) the list of common passwords. */
  | { ok: false; why: "too-common" }
  /** Estimated under PASSWORD_MIN_SCORE; `feedback` says what makes it guessable. */
  | { ok: false; why: "too-guessable"; feedback: string };

/**
 * zxcvbn's warnings and suggestions are translation keys; these are our
 * English sentences for them (the 400 names the reason, never the password).
 */
const WARNINGS: Record<string, string> = {
  straightRow: "straight rows of keys are easy to guess",
  keyPattern: "short keyboard patterns are easy to guess",
  simpleRepeat: 'repeated characters like "aaa" are easy to guess',
  extendedRepeat: 'repeated patterns like "abcabcabc" are easy to guess',
  sequences: 'sequences like "abc" or "6543" are easy to guess',
  recentYears: "recent years are easy to guess",
  dates: "dates are easy to guess",
  topTen: "it is one of the ten most used passwords",
  topHundred: "it is one of the hundred most used passwords",
  common: "it is a commonly used password",
  similarToCommon: "it is similar to a commonly used password",
  wordByItself: "single words are easy to guess",
  namesByThemselves: "names on their own are easy to guess",
  commonNames: "common names are easy to guess",
  userInputs: "it contains the extension number or the company's name or domain",
  pwned: "it appeared in a data breach",
};
const SUGGESTIONS: Record<string, string> = {
  l33t: "avoid predictable letter substitutions like '@' for 'a'",
  reverseWords: "avoid reversed spellings of common words",
  allUppercase: "capitalise some, but not all letters",
  capitalization: "capitalise more than the first letter",
  dates: "avoid dates and years that are associated with you",
  recentYears: "avoid recent years",
  associatedYears: "avoid years that are associated with you",
  sequences: "avoid common character sequences",
  repeated: "avoid repeated words and characters",
  longerKeyboardPattern: "use longer keyboard patterns and change typing direction several times",
  anotherWord: "add more words that are less common",
  useWords: "use several words, but avoid common phrases",
  noNeed: "add more words that are less common",
  pwned: "choose a password that was never used elsewhere",
};

let estimator: { factory: ZxcvbnFactory; common: Set<string> } | undefined;

/** Built on first use: the dictionaries take some 50 ms to rank. */
function zxcvbn() {
  estimator ??= {
    factory: new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs }),
    common: new Set(common.dictionary["passwords-common"]),
  };
  return estimator;
}

/** The whole password is one entry of the common-password list, perhaps capitalised or in l33t. */
function isCommon(password: string, result: ZxcvbnResult, list: Set<string>): boolean {
  if (list.has(password.toLowerCase())) return true;
  const [only, ...more] = result.sequence;
  return (
    more.length === 0 &&
    only !== undefined &&
    only.pattern === "dictionary" &&
    (only as { dictionaryName?: string }).dictionaryName === "passwords-common"
  );
}

/**
 * Judges a password. `userInputs` are words an attacker knows (the extension
 * number, the company's name and domain, the display name): a password
 * built on them counts as guessable.
 */
export function passwordStrength(password: string, userInputs: readonly string[] = []): PasswordVerdict {
  const z = zxcvbn();
  const result = z.factory.check(
    password,
    userInputs.filter((w) => w.length > 0),
  );
  if (isCommon(password, result, z.common)) return { ok: false, why: "too-common" };
  if (result.score >= PASSWORD_MIN_SCORE) return { ok: true };
  const said = [
    ...(result.feedback.warning ? [WARNINGS[result.feedback.warning] ?? result.feedback.warning] : []),
    ...result.feedback.suggestions.map((s) => SUGGESTIONS[s] ?? s),
  ];
  const feedback = [...new Set(said)].join("; ") || SUGGESTIONS.anotherWord;
  return { ok: false, why: "too-guessable", feedback };
}
