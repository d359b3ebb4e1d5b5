// `*20`: the schedule's next mode now, until the transition after it ("Le
// mode fermé est activé jusqu'à treize heures trente"); dialled again while
// that holds, the schedule rules again ("L'horaire normal est rétabli. Mode
// actuel : ouvert"). What is forced, and until when, is the Company
// service's rule (src/pbx/company); this menu only says it.
import { IANAZone } from "luxon";
import { type CallControl, Hangup, type Speech } from "../call-control.ts";
import { requireCompanyAccess } from "./company-access.ts";
import { spokenModeName } from "./spoken-names.ts";
import { spokenUntil } from "./until-speech.ts";

export async function advanceScheduleApp(call: CallControl): Promise<void> {
  try {
    await requireCompanyAccess(call);
    const advance = await call.company.advanceSchedule(call.tenant, call.actor);
    let said: Speech[];
    switch (advance.kind) {
      case "overridden":
        call.log.info(
          { mode: advance.mode, until: new Date(advance.until).toISOString() },
          "*20 forced a mode",
        );
        said = [
          "schedule.switched",
          spokenModeName(advance.mode, advance.label),
          ...spokenUntil(advance.until, call.clock.now(), companyZone(call), call.language),
        ];
        break;
      case "cancelled":
        call.log.info({ mode: advance.state.mode }, "*20 cancelled the forced mode");
        said = ["schedule.override-cancelled", spokenModeName(advance.state.mode, advance.state.label)];
        break;
      case "no-transition":
        call.log.info("*20 with no transition ahead: nothing forced");
        said = ["schedule.not-configured"];
        break;
    }
    await call.play([...said, "generic.goodbye"]);
    await call.hangup();
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}

/** The company's time zone; one that luxon does not know (a bad setting) is said in UTC, with a warning. */
function companyZone(call: CallControl): string {
  if (IANAZone.isValidZone(call.tenant.timezone)) return call.tenant.timezone;
  call.log.warn({ timezone: call.tenant.timezone }, "unknown company time zone; *20 says the time in UTC");
  return "UTC";
}
