// What a desk phone's busy lamp (BLF) shows of an extension: its calls, as
// RFC 4235 dialogs. Ringing at the extension is an early dialog it receives
// (the key blinks); dialling out is an early dialog it initiates; a call in
// progress is confirmed (the key is lit); no dialog at all is idle.
import type { Party } from "./steps.ts";

export interface ExtensionDialog {
  /** Stable per call (the session id). */
  id: string;
  state: "early" | "confirmed";
  direction: "initiator" | "recipient";
  /** The other party: colleagues of the same company may see who calls. */
  remote?: { number: string; displayName?: string };
}

/** What line-state needs to know of one call. */
export interface LineView {
  readonly id: string;
  readonly tenant: { name: string };
  readonly isEnded: boolean;
  readonly state: string;
  readonly callerParty: Party;
  readonly ringingExtensions: readonly string[];
  callerExtensionNow(): string | undefined;
  calleeNow(): { extension?: string; party: Party } | undefined;
}

/** Every extension a call concerns right now (caller, callee, the rung ones). */
export function extensionsOf(call: LineView): string[] {
  const out = new Set<string>(call.ringingExtensions);
  const caller = call.callerExtensionNow();
  if (caller) out.add(caller);
  const callee = call.calleeNow();
  if (callee?.extension) out.add(callee.extension);
  return [...out];
}

/** The dialogs of one extension across the company's calls. */
export function dialogsOf(calls: Iterable<LineView>, tenant: string, extension: string): ExtensionDialog[] {
  const out: ExtensionDialog[] = [];
  for (const call of calls) {
    if (call.tenant.name !== tenant || call.isEnded) continue;
    const answered = call.state === "answered";
    const callee = call.calleeNow();
    if (call.callerExtensionNow() === extension) {
      out.push({
        id: call.id,
        state: answered ? "confirmed" : "early",
        direction: "initiator",
        remote: callee?.party,
      });
    } else if (answered && callee?.extension === extension) {
      out.push({ id: call.id, state: "confirmed", direction: "recipient", remote: call.callerParty });
    } else if (!answered && call.ringingExtensions.includes(extension)) {
      out.push({ id: call.id, state: "early", direction: "recipient", remote: call.callerParty });
    }
  }
  return out;
}
