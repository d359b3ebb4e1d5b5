// *72, *90, *52 + number: forward always, when busy, when unreachable.
// *73 cancels every forwarding, *91 and *53 cancel one. Each ends with the
// spoken confirmation the users' page promises.
import type { ForwardingKind } from "../../../store/types.ts";
import { InvalidNumber, readDestination, spokenDigits, storedTarget } from "../../routing/phone-number.ts";
import type { CallControl } from "../call-control.ts";
import type { AppRegistry } from "../dispatcher.ts";

export async function enableForwarding(
  call: CallControl,
  kind: ForwardingKind,
  typed: string,
): Promise<void> {
  await call.answer();
  const own = call.extension;
  if (!own) return await say(call, ["error.code-invalid"]);
  const extensions = new Set((await call.store.extensions.list(call.tenant.name)).map((e) => e.number));
  let destination: ReturnType<typeof readDestination>;
  try {
    destination = readDestination(typed, call.tenant, (n) => extensions.has(n));
  } catch (err) {
    if (!(err instanceof InvalidNumber)) throw err;
    const prompt = err.why === "not-allowed" ? "error.destination-not-allowed" : "error.number-invalid";
    return await say(call, [prompt]);
  }
  if (destination.kind === "extension" && destination.number === own.number) {
    return await say(call, ["error.number-invalid"]);
  }
  await call.store.forwarding.set({
    tenant: call.tenant.name,
    extension: own.number,
    kind,
    target: storedTarget(destination),
  });
  await say(call, [`forwarding.${kind}.enabled`, { digits: spokenDigits(destination, call.tenant) }]);
}

export async function disableForwarding(call: CallControl, kind: ForwardingKind | "all"): Promise<void> {
  await call.answer();
  const own = call.extension;
  if (!own) return await say(call, ["error.code-invalid"]);
  await call.store.forwarding.clear(call.tenant.name, own.number, kind === "all" ? undefined : kind);
  await say(call, [`forwarding.${kind}.disabled`]);
}

async function say(call: CallControl, items: Parameters<CallControl["play"]>[0]): Promise<void> {
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
