// How a schedule mode or a call flow state is said in a confirmation: a
// label the company gave it, synthesised ("Inventaire"); otherwise the
// catalogue's word for the usual names (open, closed, lunch, vacation;
// normal, day, night...) in the caller's language; otherwise the name itself.
import { isPromptId } from "../../../prompts/index.ts";
import type { Speech } from "../call-control.ts";

/** The company's label when it set one, else `schedule.mode.<mode>` when the catalogue has it, else the name. */
export function spokenModeName(mode: string, label: string): Speech {
  return catalogueOr(`schedule.mode.${mode}`, label, mode);
}

/** The company's label when it set one, else `callflow.mode.<state>` when the catalogue has it, else the name. */
export function spokenFlowState(state: string, label: string): Speech {
  return catalogueOr(`callflow.mode.${state}`, label, state);
}

function catalogueOr(id: string, label: string, name: string): Speech {
  // The views give the name as the label when the company set none.
  const own = label.trim() !== "" && label !== name;
  if (!own && isPromptId(id)) return id;
  return { text: own ? label : name };
}
