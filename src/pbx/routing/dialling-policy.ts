// Which destinations a company may reach through the trunk: the one check
// behind outgoing calls, forwarding to public numbers and transfers. A
// hijacked phone (or a guessed password) is most often used to call premium
// rate and foreign numbers whose owner shares the revenue (toll fraud), so
// those classes stay closed until the provider opens them for a tenant.
import type { DiallingPolicy } from "../../store/types.ts";
import { classInItsCountry, type Destination, type NumberClass } from "./phone-number.ts";

export type PolicyRefusal = "international" | "premiumRate" | "sharedCost" | "personal";

/**
 * undefined: allowed. Extensions, fixed, mobile, tollFree, emergency (and
 * "other", valid national numbers of no costly class) are always allowed.
 * A foreign number needs `international`, and when it is premium-rate,
 * shared-cost or personal in its own country, that switch too: opening
 * calls to customers abroad must not open the foreign premium-rate lines
 * that international revenue-share fraud lives on.
 */
export function policyRefusal(policy: DiallingPolicy, dest: Destination): PolicyRefusal | undefined {
  if (dest.kind === "extension") return undefined;
  if (dest.class !== "international") return costlyRefusal(policy, dest.class);
  if (!policy.international) return "international";
  return costlyRefusal(policy, classInItsCountry(dest.e164));
}

function costlyRefusal(policy: DiallingPolicy, cls: NumberClass): PolicyRefusal | undefined {
  switch (cls) {
    case "premiumRate":
    case "sharedCost":
    case "personal":
      return policy[cls] ? undefined : cls;
    default:
      return undefined;
  }
}
