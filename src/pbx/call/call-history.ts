// The call history: every call writes one record when it ends (who called,
// what was dialled, who answered or was rung last, how it ended, the trunk,
// the extensions that took part), for the console, the API and the metrics.
//
// The recorder watches a call through the session's observer (call-observer.ts):
// the router's steps and their outcomes say what happened, without the
// session knowing anything about the history. How a call ended is read in
// this order: picked up by another phone or answered (by whom it was meant
// for, or after a forwarding: "forwarded"), unless a transfer handed it on
// ("transferred"); else voicemail, else an app (a feature code); else the
// last failure (busy, no answer, unavailable, cancelled by the caller,
// failed). A forwarding's last target is kept in `forwardedTo` whatever the
// outcome.
//
// Writing never touches the call: records go into a bounded queue that one
// writer drains into the store; a store failure is logged with the call's
// Call-ID, and a full queue (a store that stopped answering) drops new
// records with a warning rather than holding memory without bound.
//
// The writer sends what has queued up in one batch (addMany): one commit for
// many calls instead of one per call. It waits one turn of the event loop
// (setImmediate: no time passes, the calls ending in the messages already
// received join the batch) before taking the queue, since a SQLite write
// completes within the turn that started it, and the next call can only end
// in a later one.
import { randomUUID } from "node:crypto";
import type { CallDirection, CallOutcome, CallRecord, Store } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { CallObserver, ObservedCall } from "./call-observer.ts";
import type { Outcome, Party, Step } from "./steps.ts";

/** Records waiting for the store at most, by default. */
export const DEFAULT_HISTORY_QUEUE = 10_000;
/** Records written in one batch at most. */
export const HISTORY_BATCH = 200;
/** A queue that keeps dropping warns at most this often. */
const DROP_WARNING_EVERY_MS = 60_000;
/** Longest text kept of what a call's parties sent (a Request-URI, a display name). */
const MAX_TEXT = 256;

export interface CallHistoryDeps {
  store: Pick<Store, "callHistory">;
  clock: Clock;
  log: Logger;
  /** Records are written to the store; false (VPBX_CALL_HISTORY_DAYS=0): built for onRecord only. */
  keep: boolean;
  /** Records waiting to be written at most; beyond it new ones are dropped with a warning. */
  maxQueue?: number;
  /** Told of every call that ended, written or not (the metrics count outcomes per tenant). */
  onRecord?(record: CallRecord): void;
}

/** What is known of a call when it starts. */
export interface CallStart {
  tenant: string;
  /** The caller's SIP Call-ID. */
  callId: string;
  caller: Party;
  /** What the phone dialled, or the DID a trunk call came to. */
  dialled: string;
  /** The calling phone's extension, when the caller is one. */
  callerExtension?: string;
  /** The trunk the call came in on. */
  trunk?: string;
}

export class CallHistoryRecorder {
  private readonly queue: CallRecord[] = [];
  private writing: Promise<void> | undefined;
  private droppedCount = 0;
  private droppedSinceWarning = 0;
  private lastDropWarning = Number.NEGATIVE_INFINITY;
  private readonly maxQueue: number;

  constructor(private readonly deps: CallHistoryDeps) {
    this.maxQueue = deps.maxQueue ?? DEFAULT_HISTORY_QUEUE;
  }

  /** The observer of one new call: give it to the session, which tells it what happens. */
  observe(start: CallStart): CallObserver {
    return new CallTrace(start, this.deps.clock, this.deps.log, (record) => this.ended(record));
  }

  /** A call refused before it became a session (the company's cap, a plain call where encryption is required). */
  refused(start: CallStart, status: number, reason?: string): void {
    const now = this.deps.clock.now();
    this.ended({
      id: randomUUID(),
      tenant: start.tenant,
      callId: start.callId,
      direction: start.trunk ? "inbound" : "internal",
      startedAt: now,
      endedAt: now,
      caller: clip(start.caller.number),
      ...(start.caller.displayName ? { callerName: clip(start.caller.displayName) } : {}),
      dialled: clip(start.dialled),
      outcome: failureOf(status, reason),
      ...(start.trunk ? { trunk: start.trunk } : {}),
      extensions: start.callerExtension ? [start.callerExtension] : [],
    });
  }

  /** Records not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Records dropped since the start because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Resolves once every record queued so far is written (or failed and was logged): before the store closes. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private ended(record: CallRecord): void {
    try {
      this.deps.onRecord?.(record);
    } catch (err) {
      this.deps.log.error({ err, callId: record.callId }, "call record listener failed");
    }
    if (!this.deps.keep) return;
    if (this.queue.length >= this.maxQueue) {
      this.droppedCount++;
      this.droppedSinceWarning++;
      const now = this.deps.clock.now();
      if (now - this.lastDropWarning >= DROP_WARNING_EVERY_MS) {
        this.deps.log.warn(
          { callId: record.callId, dropped: this.droppedSinceWarning, queued: this.queue.length },
          "call history: the store does not keep up, records dropped",
        );
        this.lastDropWarning = now;
        this.droppedSinceWarning = 0;
      }
      return;
    }
    this.queue.push(record);
    this.writing ??= this.drain();
  }

  /**
   * One writer, oldest first: the store sees one batch at a time, whatever
   * the call rate. A batch that fails is written again record by record,
   * so that one record the store refuses (PostgreSQL refuses a NUL that a
   * display name may carry) does not take the others with it; each record
   * that still fails is logged with its Call-ID.
   */
  private async drain(): Promise<void> {
    try {
      await nextTurn();
      await this.writeQueued();
    } finally {
      // In the same step as the last look at the queue: a record queued after it starts a new writer.
      this.writing = undefined;
    }
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, HISTORY_BATCH);
      try {
        await this.deps.store.callHistory.addMany(batch);
        continue;
      } catch (err) {
        if (batch.length === 1) {
          this.failed(batch[0]!, err);
          continue;
        }
        this.deps.log.warn(
          { err, callIds: batch.map((r) => r.callId), records: batch.length },
          "call history batch could not be written: writing its records one by one",
        );
      }
      for (const record of batch) {
        try {
          await this.deps.store.callHistory.add(record);
        } catch (err) {
          this.failed(record, err);
        }
      }
    }
  }

  private failed(record: CallRecord, err: unknown): void {
    this.deps.log.error(
      { err, callId: record.callId, tenant: record.tenant },
      "call history record could not be written",
    );
  }
}

/** After the I/O of this turn of the event loop (no time passes: not a timer). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The status of a refusal, as the history says it. */
function failureOf(status: number, reason?: string): CallOutcome {
  if (status === 486 || status === 600 || status === 603) return "busy";
  if (status === 408 || (status === 480 && reason === "No Answer")) return "no-answer";
  if (status === 480 || status === 410) return "unavailable";
  return "failed";
}

const clip = (text: string): string => (text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text);

interface Connected {
  party: Party;
  extension?: string;
  /** Answered at the end of a forwarding. */
  forwarded: boolean;
}

/** What one call did, as its observer saw it; becomes its record when it ends. */
class CallTrace implements CallObserver {
  private readonly extensions = new Set<string>();
  private direction: CallDirection;
  private trunk: string | undefined;
  private answeredAt: number | undefined;
  private connected: Connected | undefined;
  private transfer = false;
  private app: { outcome: "voicemail" | "app"; destination: string } | undefined;
  private failure: CallOutcome | undefined;
  /** The latest destination: the last rung, an app, the connected party. */
  private destination: string | undefined;
  private forwardedTo: string | undefined;
  /** The step the session runs now (told, its outcome not yet). */
  private running: Step | undefined;
  private done = false;

  constructor(
    private readonly start: CallStart,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onEnd: (record: CallRecord) => void,
  ) {
    this.direction = start.trunk ? "inbound" : "internal";
    this.trunk = start.trunk;
    if (start.callerExtension) this.extensions.add(start.callerExtension);
  }

  step(_call: ObservedCall, step: Step): void {
    this.safely("step", () => {
      this.running = step;
      switch (step.kind) {
        case "ring":
          this.destination = step.callee.number;
          for (const d of step.diversions) this.extensions.add(d.from);
          if (step.diversions.length > 0) this.forwardedTo = step.callee.number;
          for (const t of step.targets) {
            if (t.kind === "device") this.extensions.add(t.extension);
            else {
              // A call of a phone out to a trunk is outbound; a trunk's call forwarded out stays inbound.
              if (this.direction === "internal") this.direction = "outbound";
              this.trunk ??= t.trunk.name;
            }
          }
          return;
        case "app": {
          this.answeredAt ??= this.clock.now();
          const voicemail = step.name === "voicemail";
          if (voicemail) this.extensions.add(step.args);
          this.app = {
            outcome: voicemail ? "voicemail" : "app",
            destination: voicemail ? `voicemail:${step.args}` : `app:${step.args}`,
          };
          this.destination = this.app.destination;
          return;
        }
        case "hangup":
          if (!this.connected) this.failure = failureOf(step.status, step.reason);
          return;
        case "pickup":
          if (step.extension) this.extensions.add(step.extension);
          return;
        case "play":
          return;
      }
    });
  }

  outcome(call: ObservedCall, step: Step, outcome: Outcome): void {
    this.safely("outcome", () => {
      this.running = undefined;
      switch (outcome.kind) {
        case "answered": {
          this.answeredAt ??= this.clock.now();
          const callee = call.calleeNow();
          if (!callee) return;
          this.connect({
            party: callee.party,
            extension: callee.extension,
            forwarded: step.kind === "ring" && step.diversions.length > 0,
          });
          return;
        }
        case "busy":
          this.failure = "busy";
          return;
        case "no-answer":
          this.failure = "no-answer";
          return;
        case "unreachable":
          this.failure = "unavailable";
          return;
        case "rejected":
          this.failure = failureOf(outcome.status, outcome.reason);
          return;
        case "caller-gone":
          // The caller left before anyone (or anything) took the call.
          if (!this.connected && !this.app) this.failure = "cancelled";
          return;
        default:
          return;
      }
    });
  }

  transferred(call: ObservedCall): void {
    this.safely("transferred", () => {
      this.transfer = true;
      const callee = call.calleeNow();
      if (callee?.extension) this.extensions.add(callee.extension);
    });
  }

  transferUndone(): void {
    this.transfer = false;
  }

  pickedUp(_call: ObservedCall, by: Party): void {
    this.safely("pickedUp", () => {
      this.answeredAt ??= this.clock.now();
      // Only the company's phones pick up: the picker's number is its extension.
      this.connect({ party: by, extension: by.number, forwarded: false });
    });
  }

  ended(call: ObservedCall): void {
    this.safely("ended", () => {
      if (this.done) return;
      this.done = true;
      const callee = call.calleeNow();
      if (callee?.extension) this.extensions.add(callee.extension);
      // The session ended in the middle of ringing or of an announcement (a
      // CANCEL, the caller's BYE while waiting): the step's outcome comes after.
      const cut = this.running?.kind;
      if (!this.connected && (cut === "ring" || cut === "play" || cut === "pickup"))
        this.failure = "cancelled";
      let outcome: CallOutcome;
      let destination = this.destination;
      if (this.transfer) {
        outcome = "transferred";
        if (callee) destination = callee.extension ?? callee.party.number;
      } else if (this.connected) {
        outcome = this.connected.forwarded ? "forwarded" : "answered";
        destination = this.connected.extension ?? this.connected.party.number;
      } else if (this.app) {
        outcome = this.app.outcome;
        destination = this.app.destination;
      } else {
        outcome = this.failure ?? "failed";
      }
      const s = this.start;
      this.onEnd({
        id: randomUUID(),
        tenant: s.tenant,
        callId: s.callId,
        direction: this.direction,
        startedAt: call.startedAt,
        ...(this.answeredAt === undefined ? {} : { answeredAt: this.answeredAt }),
        endedAt: this.clock.now(),
        caller: clip(s.caller.number),
        ...(s.caller.displayName ? { callerName: clip(s.caller.displayName) } : {}),
        dialled: clip(s.dialled),
        ...(destination === undefined ? {} : { destination: clip(destination) }),
        outcome,
        ...(this.forwardedTo === undefined ? {} : { forwardedTo: clip(this.forwardedTo) }),
        ...(this.trunk === undefined ? {} : { trunk: this.trunk }),
        extensions: [...this.extensions],
      });
    });
  }

  private connect(c: Connected): void {
    this.connected = c;
    this.failure = undefined;
    this.destination = c.extension ?? c.party.number;
    if (c.extension) this.extensions.add(c.extension);
  }

  /** The call goes on whatever happens here: a fault of the history is logged with the Call-ID. */
  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, callId: this.start.callId, what }, "call history: observing the call failed");
    }
  }
}
