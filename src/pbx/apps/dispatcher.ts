// What happens when a phone dials a string that starts with "*": find the
// code in the tenant's table, check that the feature is switched on, check
// the argument, then run the feature's app. Every outcome is spoken.
import type { FeatureAction } from "../../store/types.ts";
import { type CallControl, type FeatureApp, Hangup } from "./call-control.ts";
import { matchFeatureCode, requiredSwitch, takesArgument } from "./feature-codes.ts";

export type AppRegistry = Partial<Record<FeatureAction, FeatureApp>>;

export async function dispatchFeatureCode(
  call: CallControl,
  dialled: string,
  apps: AppRegistry,
): Promise<void> {
  try {
    const table = await call.store.featureCodes.list(call.tenant.name);
    const match = matchFeatureCode(dialled, table);
    if (!match) {
      call.log.info({ dialled }, "feature code not valid");
      return await refuse(call, "error.code-invalid");
    }
    const feature = requiredSwitch(match.action);
    const app = apps[match.action];
    // A feature this PBX does not run (yet) is, for the caller, a feature not enabled.
    if ((feature && !call.tenant.features[feature]) || !app) {
      call.log.info({ dialled, feature, installed: app !== undefined }, "feature not enabled");
      return await refuse(call, "feature.not-enabled");
    }
    if (takesArgument(match.action) && match.argument === "") {
      return await refuse(call, "error.number-missing");
    }
    if (!takesArgument(match.action) && match.argument !== "") {
      return await refuse(call, "error.code-invalid");
    }
    call.log.info({ code: match.code, action: match.action }, "feature code");
    await app(call, match.argument);
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}

async function refuse(call: CallControl, prompt: string): Promise<void> {
  await call.play([prompt, "generic.goodbye"]);
  await call.hangup();
}
