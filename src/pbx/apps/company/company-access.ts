// Who may dial the company-wide codes (`*20`, `*11`, `*30`-`*33`): they
// change how every caller of the company is answered, so the company may
// keep them to listed phones and ask for its PIN as well. Every app of this
// folder passes here first; a refusal is spoken and ends the call.
import { verifyPin } from "../../voicemail/pin.ts";
import type { CallControl } from "../call-control.ts";
import { goodbye, MAX_TRIES, readPin } from "../voicemail/menu-keys.ts";

/**
 * Resolves when the calling phone may use the company-wide codes; else says
 * why, says goodbye, hangs up and throws Hangup. A phone that is not one of
 * the company's extensions never may; when `companyCodes.extensions` is set,
 * only the extensions it lists may; when `companyCodes.pinHash` is set, the
 * PIN is asked (`#` ends it), three attempts, the third wrong one ends the
 * call. Wrong PINs are logged with the extension, never with the digits.
 */
export async function requireCompanyAccess(call: CallControl): Promise<void> {
  const access = call.tenant.companyCodes ?? {};
  const own = call.extension;
  if (!own || (access.extensions !== undefined && !access.extensions.includes(own.number))) {
    call.log.info({ extension: own?.number, caller: call.caller }, "company code refused: phone not allowed");
    await call.play(["company.codes.not-allowed"]);
    return await goodbye(call);
  }
  if (access.pinHash === undefined) return;
  for (let attempt = 1; ; attempt++) {
    const pin = await readPin(call, ["company.pin.enter"]);
    if (pin !== "" && (await verifyPin(pin, access.pinHash))) return;
    call.log.warn({ extension: own.number, attempt }, "company code PIN wrong");
    if (attempt >= MAX_TRIES) return await goodbye(call, "company.pin.too-many-attempts");
    await call.play(["company.pin.wrong"]);
  }
}
