// Calls from the public network: which company's number was dialled, and
// who is calling, as the carrier writes them. Carriers send numbers in
// E.164 ("+41215550100"), without the plus ("41215550100"), or in the
// national form ("0215550100"); the number is found whichever they use.
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { getFrom, type SipRequest } from "../../sip/message/index.ts";
import type { Store, TenantNumber } from "../../store/types.ts";
import type { Party } from "../call/steps.ts";

export async function findNumber(store: Store, dialled: string): Promise<TenantNumber | undefined> {
  const digits = dialled.replace(/[\s\-./()]/g, "");
  if (!/^\+?[0-9]{3,20}$/.test(digits)) return undefined;
  if (digits.startsWith("+")) return store.numbers.find(digits);
  if (digits.startsWith("00")) return store.numbers.find(`+${digits.slice(2)}`);
  if (!digits.startsWith("0")) {
    const international = await store.numbers.find(`+${digits}`);
    if (international) return international;
  }
  // National form: the number whose national significant number it is, in its own country.
  const national = digits.replace(/^0/, "");
  for (const n of await store.numbers.listAll()) {
    const parsed = parsePhoneNumberFromString(n.number);
    if (parsed && parsed.nationalNumber === national) return n;
  }
  return undefined;
}

/** The caller of a trunk call, as E.164 when the carrier gave a number; "anonymous" when withheld. */
export function callerFromTrunk(req: SipRequest, country: string): Party {
  let user: string | undefined;
  let displayName: string | undefined;
  try {
    const from = getFrom(req);
    user = from.uri.user;
    displayName = from.displayName || undefined;
  } catch {
    return { number: "anonymous" };
  }
  const digits = (user ?? "").replace(/[\s\-./()]/g, "");
  if (!/^\+?[0-9]{2,20}$/.test(digits)) return { number: "anonymous", displayName };
  if (digits.startsWith("+")) return { number: digits, displayName };
  if (digits.startsWith("00")) return { number: `+${digits.slice(2)}`, displayName };
  const parsed = parsePhoneNumberFromString(digits, country.toUpperCase() as never);
  if (digits.startsWith("0") && parsed?.isValid()) return { number: parsed.number, displayName };
  return { number: digits, displayName };
}
