// What a call session tells whoever watches it (the call history,
// call-history.ts): the steps it runs and how they ended, transfers, a
// pickup by another phone, the end. One object per call, given at the
// session's creation; the session never waits for it and never reads from
// it, so a watcher can neither slow nor break a call.
import type { Outcome, Party, Step } from "./steps.ts";

/** What an observer may read of the call it watches. */
export interface ObservedCall {
  readonly id: string;
  readonly startedAt: number;
  /** The connected party now, if any. */
  calleeNow(): { extension?: string; party: Party } | undefined;
}

export interface CallObserver {
  /** The session is about to run one of the router's steps. */
  step(call: ObservedCall, step: Step): void;
  /** What that step ended with. */
  outcome(call: ObservedCall, step: Step, outcome: Outcome): void;
  /** A transfer handed the call on (blind), joined it to another call, or took its party to another call. */
  transferred(call: ObservedCall): void;
  /** A blind transfer failed: the parties are joined again, as before it. */
  transferUndone(call: ObservedCall): void;
  /** Another phone picked the ringing call up (its own session goes on with the caller). */
  pickedUp(call: ObservedCall, by: Party): void;
  /** The session is over. Told once. */
  ended(call: ObservedCall): void;
}
