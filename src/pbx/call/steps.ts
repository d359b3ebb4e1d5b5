// What a call session runs, and what comes back: the router speaks in these
// words, the session carries them out. A step says whether it needs the
// caller answered (jambonz's task preconditions): the session answers when
// one does, so neither the router nor an app ever answers by itself.
import type { Binding, Trunk } from "../../store/types.ts";
import type { BridgeTarget, Speech } from "../apps/call-control.ts";

/** Someone on a call, as shown to the other side. */
export interface Party {
  /** "101" for an extension, E.164 for an outside number, "anonymous" when withheld. */
  number: string;
  displayName?: string;
}

/** Why a call left the number it was made to (RFC 5806 Diversion reasons, RFC 7044 History-Info). */
export type DiversionReason = "unconditional" | "user-busy" | "no-answer" | "unavailable" | "deflection";

export interface Diversion {
  /** The extension the call was diverted from. */
  from: string;
  reason: DiversionReason;
  /** That extension's public number (E.164), for the Diversion header toward the carrier. */
  publicNumber?: string;
}

/** One fork of a ring step. */
export type Target =
  | { kind: "device"; extension: string; binding: Binding }
  | { kind: "trunk"; trunk: Trunk /** E.164, or a short emergency code as dialled */; number: string };

export interface RingStep {
  kind: "ring";
  /** Who is rung, as shown to the caller (the 200's P-Asserted-Identity) and in the call list. */
  callee: Party;
  targets: Target[];
  timeoutMs: number;
  /** Who the callee sees calling (trunk calls: the caller ID the company may show). */
  from: Party;
  diversions: Diversion[];
  /**
   * A caller of the company's inbound flow waits answered: it hears
   * ringback or the company's music, and the waiting announcement after
   * `firstMs` and every `everyMs` again, across the ring steps that follow
   * each other (a sequential ring group), until someone answers.
   */
  waiting?: WaitingMedia;
}

export interface WaitingMedia {
  /** The company's music (a WAV file); undefined: ringback tone. */
  music?: string;
  /** Said after firstMs of waiting and every everyMs again; undefined: none. */
  announcement?: Speech[];
  firstMs: number;
  everyMs: number;
}

export interface AppStep {
  kind: "app";
  /** "feature-code" runs the dispatcher on `args` (what was dialled); "voicemail" takes a message for mailbox `args`. */
  name: "feature-code" | "voicemail";
  args: string;
  /** For voicemail: which greeting the caller hears. */
  reason?: "unavailable" | "busy";
}

export interface HangupStep {
  kind: "hangup";
  status: number;
  reason?: string;
  /** A prompt id said to the caller before the status (early media, or before BYE once answered). */
  announcement?: string;
}

/** Answer a call ringing elsewhere in the company: at one extension (directed), or any (group). */
export interface PickupStep {
  kind: "pickup";
  extension?: string;
}

/** Says something to the answered caller (an announcement of the company), then the router goes on. */
export interface PlayStep {
  kind: "play";
  items: Speech[];
}

export type Step = RingStep | AppStep | HangupStep | PickupStep | PlayStep;

/** Does the step need the caller answered before it runs? */
export function needsAnswer(step: Step): boolean {
  return step.kind === "app" || step.kind === "play" || (step.kind === "ring" && step.waiting !== undefined);
}

/** What a step ended with; everything but "answered", "done" and "caller-gone" goes back to the router. */
export type Outcome =
  | { kind: "answered" }
  | { kind: "done" }
  | { kind: "caller-gone" }
  /** A play step ended; the router goes on. */
  | { kind: "played" }
  | { kind: "busy" }
  | { kind: "no-answer" }
  | { kind: "unreachable" }
  | { kind: "rejected"; status: number; reason?: string }
  /** A device answered 3xx: where it wants the call to go instead (RFC 3261 §8.1.3.4). */
  | { kind: "redirected"; contacts: string[] }
  /** An app hands its caller on. */
  | { kind: "bridge"; target: BridgeTarget };

export function isFinal(outcome: Outcome): boolean {
  return outcome.kind === "answered" || outcome.kind === "done" || outcome.kind === "caller-gone";
}
