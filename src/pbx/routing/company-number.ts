// What a person of the company means by a number typed on a keypad (or
// given in a Contact, or to the API): one of its extensions, or a public
// number read in its country (phone-number.ts).
import type { Store, Tenant } from "../../store/types.ts";
import { type Destination, readDestination } from "./phone-number.ts";

/**
 * One row is looked up, never the whole list of extensions: this runs for
 * every call. Throws InvalidNumber.
 */
export async function readInCompany(store: Store, tenant: Tenant, typed: string): Promise<Destination> {
  const digits = typed.replace(/[\s\-./()]/g, "");
  const known =
    /^[0-9]{1,8}$/.test(digits) && (await store.extensions.get(tenant.name, digits)) !== undefined;
  return readDestination(typed, tenant, (n) => known && n === digits);
}
