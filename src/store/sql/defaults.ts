// The values a new row takes when the caller gave none.
import {
  ANNOUNCEMENT_KINDS,
  type CompanyAudioKind,
  type DestinationSpec,
  type Language,
  type RingGroup,
} from "../types.ts";

export const DEFAULT_TENANT_LANGUAGE: Language = "fr";
export const DEFAULT_TENANT_TIMEZONE = "Europe/Zurich";
export const DEFAULT_TENANT_COUNTRY = "CH";
export const DEFAULT_RING_TIMEOUT_SECONDS = 30;
export const DEFAULT_NO_ANSWER_SECONDS = 20;
export const DEFAULT_MAX_CALLS = 2;

export const DEFAULT_RING_GROUP_STRATEGY: RingGroup["strategy"] = "simultaneous";
/** Seconds a group rings in all before its fallback takes the call. */
export const DEFAULT_RING_GROUP_TIMEOUT = 60;
/** Seconds each member of a sequential group rings. */
export const DEFAULT_RING_GROUP_MEMBER_TIMEOUT = 20;
export const DEFAULT_RING_GROUP_FALLBACK: DestinationSpec = { type: "hangup" };

/** The company's audio kinds, in the order the API lists them. */
export const COMPANY_AUDIO_KINDS: readonly CompanyAudioKind[] = [...ANNOUNCEMENT_KINDS, "music"];
