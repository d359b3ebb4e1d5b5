// `*11`: the call flow switch to its other state, said back ("Le flux
// d'appel est maintenant en mode vacances"). The state stays until `*11`
// again; the Company service stores it and lights the lamp.
import { type CallControl, Hangup } from "../call-control.ts";
import { requireCompanyAccess } from "./company-access.ts";
import { spokenFlowState } from "./spoken-names.ts";

export async function toggleCallFlowApp(call: CallControl): Promise<void> {
  try {
    await requireCompanyAccess(call);
    const flow = await call.company.toggleCallFlow(call.tenant, call.actor);
    call.log.info({ state: flow.state, normal: flow.normal }, "*11 switched the call flow");
    await call.play(["callflow.switched", spokenFlowState(flow.state, flow.label), "generic.goodbye"]);
    await call.hangup();
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}
