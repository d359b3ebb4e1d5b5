// Reading a number typed on a phone keypad the way a person of the tenant's
// country means it: "0791231212" in Switzerland is +41 79 123 12 12,
// "0033612345678" is a French mobile. Policy about which destinations cost
// too much lives here too, in the PBX, never in the protocol rooms.
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";

export type Destination =
  | { kind: "extension"; number: string }
  | { kind: "external"; e164: string; national: string };

export class InvalidNumber extends Error {
  constructor(
    readonly input: string,
    readonly why: "empty" | "malformed" | "not-allowed",
  ) {
    super(`invalid number ${JSON.stringify(input)}: ${why}`);
    this.name = "InvalidNumber";
  }
}

/**
 * Premium-rate and shared-cost numbers, and any number abroad, are the
 * classic toll-fraud targets of a hijacked phone: refused by default.
 */
const COSTLY_TYPES = new Set(["PREMIUM_RATE", "SHARED_COST", "UAN", "PAGER"]);

/**
 * Turns what the user typed into a destination: one of the tenant's
 * extensions, or a public number in E.164. Throws InvalidNumber.
 */
export function readDestination(
  input: string,
  tenant: { country: string },
  isExtension: (number: string) => boolean,
): Destination {
  const typed = input.trim();
  if (typed === "") throw new InvalidNumber(input, "empty");
  if (!/^\+?[0-9]+$/.test(typed)) throw new InvalidNumber(input, "malformed");
  if (isExtension(typed)) return { kind: "extension", number: typed };
  const country = tenant.country.toUpperCase() as CountryCode;
  const parsed = parsePhoneNumberFromString(typed, country);
  if (!parsed?.isValid()) throw new InvalidNumber(input, "malformed");
  const type = parsed.getType();
  if ((type && COSTLY_TYPES.has(type)) || parsed.country !== country) {
    throw new InvalidNumber(input, "not-allowed");
  }
  return { kind: "external", e164: parsed.number, national: parsed.nationalNumber.toString() };
}

/** The digits to read back to the user: "0791231212" for a Swiss mobile, "101" for an extension. */
export function spokenDigits(destination: Destination, tenant: { country: string }): string {
  if (destination.kind === "extension") return destination.number;
  const parsed = parsePhoneNumberFromString(destination.e164);
  if (parsed && parsed.country === tenant.country.toUpperCase()) {
    return parsed.formatNational().replace(/[^0-9]/g, "");
  }
  return destination.e164;
}

/** A stored forwarding target ("+41791231212" or "102") back into a Destination. */
export function storedDestination(target: string): Destination {
  if (target.startsWith("+")) {
    const parsed = parsePhoneNumberFromString(target);
    return { kind: "external", e164: target, national: parsed ? parsed.nationalNumber.toString() : target };
  }
  return { kind: "extension", number: target };
}

export function storedTarget(destination: Destination): string {
  return destination.kind === "extension" ? destination.number : destination.e164;
}
