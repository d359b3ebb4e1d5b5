// *72, *90, *52 + number: forward always, when busy, when unreachable.
// *73 cancels every forwarding (no answer included), *91 and *53 cancel one.
// Each ends with the spoken confirmation the users' page promises. The rule
// is checked and written by routing/forwarding-settings.ts, the same code
// as behind the REST API, so a phone can set nothing the API would refuse.
import type { PromptId } from "../../../prompts/index.ts";
import type { ForwardingKind } from "../../../store/types.ts";
import { clearForwarding, type ForwardingRefusal, setForwarding } from "../../routing/forwarding-settings.ts";
import { spokenDigits } from "../../routing/phone-number.ts";
import type { CallControl, Speech } from "../call-control.ts";
import type { AppRegistry } from "../dispatcher.ts";

/** The kinds a feature code sets; "no answer" (with its delay) is set through the API. */
type PhoneForwardingKind = Exclude<ForwardingKind, "noAnswer">;

const REFUSAL_PROMPTS: Record<ForwardingRefusal, PromptId> = {
  invalid: "error.number-invalid",
  "not-allowed": "error.destination-not-allowed",
  self: "error.number-invalid",
  loop: "error.forwarding-loop",
};

export async function enableForwarding(
  call: CallControl,
  kind: PhoneForwardingKind,
  typed: string,
): Promise<void> {
  const own = call.extension;
  if (!own) return await say(call, ["error.code-invalid"]);
  const result = await setForwarding(call.store, call.tenant, own.number, kind, typed, call.actor);
  if (!result.ok) {
    call.log.info({ kind, typed, why: result.why }, "forwarding refused");
    return await say(call, [REFUSAL_PROMPTS[result.why]]);
  }
  call.log.info({ kind, target: result.target }, "forwarding set");
  const digits = result.destination ? spokenDigits(result.destination, call.tenant) : typed;
  await say(call, [`forwarding.${kind}.enabled`, { digits }]);
}

export async function disableForwarding(call: CallControl, kind: PhoneForwardingKind | "all"): Promise<void> {
  const own = call.extension;
  if (!own) return await say(call, ["error.code-invalid"]);
  await clearForwarding(call.store, call.tenant, own.number, kind, call.actor);
  call.log.info({ kind }, "forwarding cleared");
  await say(call, [`forwarding.${kind}.disabled`]);
}

async function say(call: CallControl, items: Speech[]): Promise<void> {
  await call.play(items);
  await call.hangup();
}

export const forwardingApps: AppRegistry = {
  "forwarding.unconditional.enable": (call, arg) => enableForwarding(call, "unconditional", arg),
  "forwarding.busy.enable": (call, arg) => enableForwarding(call, "busy", arg),
  "forwarding.unreachable.enable": (call, arg) => enableForwarding(call, "unreachable", arg),
  "forwarding.all.disable": (call) => disableForwarding(call, "all"),
  "forwarding.busy.disable": (call) => disableForwarding(call, "busy"),
  "forwarding.unreachable.disable": (call) => disableForwarding(call, "unreachable"),
};
