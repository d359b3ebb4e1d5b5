// Reading a number typed on a phone keypad (or given to the API) the way a
// person of the tenant's country means it: "0791231212" in Switzerland is
// +41 79 123 12 12, "0033612345678" is a French mobile, "144" is the
// ambulance. Each number gets a class (fixed, mobile, premium rate, ...);
// whether the tenant may dial that class is dialling-policy.ts, not here.
import {
  type CountryCode,
  isSupportedCountry,
  type NumberType,
  parsePhoneNumberFromString,
} from "libphonenumber-js/max";

export type NumberClass =
  | "fixed"
  | "mobile"
  | "tollFree"
  | "premiumRate"
  | "sharedCost"
  | "personal"
  | "emergency"
  | "international"
  | "other";

export type Destination =
  | { kind: "extension"; number: string }
  | { kind: "external"; e164: string; national: string; class: NumberClass };

export class InvalidNumber extends Error {
  constructor(
    readonly input: string,
    readonly why: "empty" | "malformed",
  ) {
    super(`invalid number ${JSON.stringify(input)}: ${why}`);
    this.name = "InvalidNumber";
  }
}

/**
 * Emergency and short service numbers, which libphonenumber-js does not know
 * (its short-number metadata is not part of the JS port). `emergency` numbers
 * win over an extension of the same number: whoever dials 112 or 144 in a
 * panic must reach the emergency service, never a colleague. `service`
 * numbers (non-emergency lines such as GB 101) give way to an extension with
 * that number, because 101 is also the most common extension number there is.
 * Carriers take all of them as dialled, so they keep no "+" and no prefix.
 */
const SHORT_NUMBERS: Readonly<Record<string, { emergency: readonly string[]; service: readonly string[] }>> =
  {
    // 117 police, 118 fire, 144 ambulance, 1414/1415 air rescue (Rega, Air-Glaciers),
    // 145 poison centre, 143 and 147 the crisis lines for adults and the young.
    CH: { emergency: ["112", "117", "118", "143", "144", "145", "147", "1414", "1415"], service: [] },
    LI: { emergency: ["112", "117", "118", "143", "144", "145", "147", "1414"], service: [] },
    // 116116 blocks lost cards, 116117 the doctors' on-call service.
    DE: { emergency: ["110", "112"], service: ["116116", "116117"] },
    // 15 SAMU, 17 police, 18 fire, 114 for the deaf, 115 homeless, 119 children
    // at risk, 191 aeronautical and 196 maritime rescue; 116000 missing children.
    FR: { emergency: ["15", "17", "18", "112", "114", "115", "119", "191", "196"], service: ["116000"] },
    // 113 police, 115 fire, 118 ambulance, 114 children at risk, 1530 coast guard.
    IT: { emergency: ["112", "113", "114", "115", "118", "1530"], service: [] },
    // 122 fire, 133 police, 144 ambulance, 140 mountain rescue; 141 doctors on
    // call, 142 and 147 crisis lines.
    AT: { emergency: ["112", "122", "133", "140", "144"], service: ["141", "142", "147"] },
    // 101 police and 111 NHS (non-emergency), 105 power cuts.
    GB: { emergency: ["999", "112"], service: ["101", "105", "111"] },
    // 988 suicide and crisis line; 211 and 311 community and city services.
    US: { emergency: ["911", "988"], service: ["211", "311"] },
  };

/** 112 reaches the emergency services across Europe and on any GSM network. */
const FALLBACK_SHORT_NUMBERS = { emergency: ["112"], service: [] } as const;

function shortNumbers(country: string) {
  return SHORT_NUMBERS[country.toUpperCase()] ?? FALLBACK_SHORT_NUMBERS;
}

/**
 * Whether `digits` is an emergency number of the country, one that is
 * dialled even when an extension has the same number. The extension API
 * should refuse to create such extensions.
 */
export function isEmergencyNumber(digits: string, country: string): boolean {
  return shortNumbers(country).emergency.includes(digits);
}

/** Separators people write in numbers: "+41 79 123 45 67", "079/123.45.67", "(044) 123-45-67". */
const SEPARATORS = /[\s\-./()]/g;
/** E.164 has at most 15 digits; an international prefix ("00", "011") adds three. */
const MAX_DIGITS = 18;

/**
 * Turns what the user typed into a destination: an emergency or short
 * service number, one of the tenant's extensions, or a public number in
 * E.164 with its class. Throws InvalidNumber ("empty" or "malformed") for
 * anything that is none of these; says nothing about whether it may be
 * dialled (see policyRefusal).
 */
export function readDestination(
  input: string,
  tenant: { country: string },
  isExtension: (number: string) => boolean,
): Destination {
  const typed = input.replace(SEPARATORS, "");
  if (typed === "") throw new InvalidNumber(input, "empty");
  if (!/^\+?[0-9]+$/.test(typed) || typed.length > MAX_DIGITS + 1) {
    throw new InvalidNumber(input, "malformed");
  }
  const short = shortNumbers(tenant.country);
  if (short.emergency.includes(typed)) return shortNumber(typed);
  if (isExtension(typed)) return { kind: "extension", number: typed };
  if (short.service.includes(typed)) return shortNumber(typed);
  const country = tenant.country.toUpperCase() as CountryCode;
  const parsed = parsePhoneNumberFromString(typed, country);
  if (!parsed?.isValid()) throw new InvalidNumber(input, "malformed");
  return {
    kind: "external",
    e164: parsed.number,
    national: parsed.nationalNumber.toString(),
    class: parsed.country === country ? classOfType(parsed.getType()) : "international",
  };
}

function shortNumber(digits: string): Destination {
  return { kind: "external", e164: digits, national: digits, class: "emergency" };
}

/**
 * The class of a number in its own country, whatever the tenant's: what
 * "+33899123456" is in France (premium rate). The dialling policy uses it to
 * keep foreign premium-rate lines off even where international calls are on.
 */
export function classInItsCountry(e164: string): NumberClass {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed?.isValid()) return "other";
  return classOfType(parsed.getType());
}

/**
 * libphonenumber's number types folded into the classes a dialling policy
 * decides on. UAN (CH 058, GB 03) and VoIP (FR 09, DE 032) numbers are
 * billed like fixed lines; "fixed line or mobile" (the NANP cannot tell) is
 * geographic numbering, billed as fixed. Pagers and voicemail access numbers
 * (CH 074, 086) are valid but fit no class: "other".
 */
function classOfType(type: NumberType): NumberClass {
  switch (type) {
    case "FIXED_LINE":
    case "FIXED_LINE_OR_MOBILE":
    case "UAN":
    case "VOIP":
      return "fixed";
    case "MOBILE":
      return "mobile";
    case "TOLL_FREE":
      return "tollFree";
    case "PREMIUM_RATE":
      return "premiumRate";
    case "SHARED_COST":
      return "sharedCost";
    case "PERSONAL_NUMBER":
      return "personal";
    default:
      return "other";
  }
}

/**
 * The digits to read back to the user, as they would dial them:
 * "0791231212" for a Swiss mobile, "0033612345678" for a French one seen from
 * Switzerland, "144", "101" for an extension.
 */
export function spokenDigits(destination: Destination, tenant: { country: string }): string {
  if (destination.kind === "extension") return destination.number;
  if (destination.class === "emergency") return destination.e164;
  const parsed = parsePhoneNumberFromString(destination.e164);
  if (!parsed) return destination.e164;
  const country = tenant.country.toUpperCase();
  // An unknown tenant country has no way of dialling abroad to write: E.164.
  if (!isSupportedCountry(country)) return destination.e164;
  const written =
    parsed.country === country ? parsed.formatNational() : parsed.format("IDD", { fromCountry: country });
  return written ? written.replace(/[^0-9]/g, "") : destination.e164;
}

/**
 * A stored target ("+41791231212", "102", "144") back into a Destination.
 * With the tenant, the class is judged exactly as readDestination judges a
 * typed number (a number abroad is "international", short numbers of the
 * tenant's country are "emergency"): pass it whenever the class decides
 * something, since the policy may have changed since the target was stored.
 * Without it, the class is the number's class in its own country.
 */
export function storedDestination(target: string, tenant?: { country: string }): Destination {
  if (target.startsWith("+")) {
    const parsed = parsePhoneNumberFromString(target);
    if (!parsed) return { kind: "external", e164: target, national: target.slice(1), class: "other" };
    const national = parsed.nationalNumber.toString();
    if (!parsed.isValid()) return { kind: "external", e164: target, national, class: "other" };
    const abroad = tenant !== undefined && parsed.country !== tenant.country.toUpperCase();
    return {
      kind: "external",
      e164: parsed.number,
      national,
      class: abroad ? "international" : classOfType(parsed.getType()),
    };
  }
  if (tenant) {
    const short = shortNumbers(tenant.country);
    if (short.emergency.includes(target)) return shortNumber(target);
  }
  return { kind: "extension", number: target };
}

export function storedTarget(destination: Destination): string {
  return destination.kind === "extension" ? destination.number : destination.e164;
}
