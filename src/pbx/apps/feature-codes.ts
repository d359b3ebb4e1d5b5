// The feature-code table: which dialled strings are codes, which feature
// each belongs to, and which features a provider must switch on first (the
// users' page: "activé sur demande").
import type { FeatureAction, FeatureCode, FeatureSwitches } from "../../store/types.ts";

export interface FeatureMatch {
  code: string;
  action: FeatureAction;
  /** What was dialled after the code: the number of "*720791231212". */
  argument: string;
}

/** The longest code of the table that starts the dialled string. */
export function matchFeatureCode(dialled: string, table: readonly FeatureCode[]): FeatureMatch | undefined {
  let best: FeatureCode | undefined;
  for (const entry of table) {
    if (dialled.startsWith(entry.code) && (!best || entry.code.length > best.code.length)) best = entry;
  }
  return best && { code: best.code, action: best.action, argument: dialled.slice(best.code.length) };
}

/** The switch that must be on for an action; forwarding needs none (always on). */
export function requiredSwitch(action: FeatureAction): keyof FeatureSwitches | undefined {
  if (action.startsWith("voicemail.")) return "voicemail";
  if (action.startsWith("schedule.")) return "schedules";
  if (action.startsWith("callflow.")) return "callFlowControl";
  if (action.startsWith("announcement.")) return "announcements";
  return undefined;
}

/** Actions dialled with a number after the code (*72, *90, *52). */
export function takesArgument(action: FeatureAction): boolean {
  return action.endsWith(".enable") || action === "pickup.directed";
}
