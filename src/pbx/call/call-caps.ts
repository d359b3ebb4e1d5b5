// Fair shares between companies (issue 10): every call holds media ports
// and a share of the CPU, so one company must not be able to take them all
// and leave the others with 503 "No Media Ports". A company's calls at once,
// from its phones and to its numbers, are capped by Tenant.maxCalls; a phone's
// own calls out by its extension's maxCalls (the same number that makes it
// busy for calls in). Emergency numbers are never refused by a cap: a caller
// in danger must get through whatever else the company is doing.
import { isEmergencyNumber } from "../routing/phone-number.ts";
import type { CallRegistry } from "./call-registry.ts";

export type CapRefusal =
  /** The company is at Tenant.maxCalls. */
  | { scope: "company"; cap: number; calls: number }
  /** The calling phone's extension is at its maxCalls. */
  | { scope: "extension"; cap: number; calls: number };

/** Separators a phone may put in a dialled number ("1 4 4", "14-4"). */
const SEPARATORS = /[\s\-./()]/g;

/**
 * Whether a new call may start. `extension` is the calling phone's (a call
 * from a phone), absent for a call from the trunk; `dialled` what the phone
 * dialled, to let emergency calls through.
 */
export function callCapRefusal(
  calls: Pick<CallRegistry, "callsOfTenant" | "callsOf">,
  tenant: { name: string; country: string; maxCalls: number },
  caller: { extension?: { number: string; maxCalls: number }; dialled?: string } = {},
): CapRefusal | undefined {
  if (
    caller.dialled !== undefined &&
    isEmergencyNumber(caller.dialled.replace(SEPARATORS, ""), tenant.country)
  )
    return undefined;
  const ofTenant = calls.callsOfTenant(tenant.name);
  if (ofTenant >= tenant.maxCalls) return { scope: "company", cap: tenant.maxCalls, calls: ofTenant };
  const extension = caller.extension;
  if (extension) {
    const ofExtension = calls.callsOf(tenant.name, extension.number);
    if (ofExtension >= extension.maxCalls)
      return { scope: "extension", cap: extension.maxCalls, calls: ofExtension };
  }
  return undefined;
}
