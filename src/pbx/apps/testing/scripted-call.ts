// A CallControl with no sockets: the test scripts what the caller types and
// reads back what the app said and did. Every app's voice menu is unit-tested
// through this; the same app runs over real RTP in the integration tests.
import { isPromptId } from "../../../prompts/index.ts";
import type { Actor, Extension, Language, Store, Tenant } from "../../../store/types.ts";
import { type Clock, FakeClock } from "../../../util/clock.ts";
import { type Logger, silentLogger } from "../../../util/log.ts";
import {
  type BridgeTarget,
  type CallControl,
  type CollectOptions,
  type CollectResult,
  Hangup,
  type RecordOptions,
  type RecordResult,
  type Speech,
} from "../call-control.ts";

/** What the caller does next: type digits (answering the next collect or recording), or hang up. */
export type CallerStep = { type: string } | { hangup: true } | { speak: number /* ms of audio to record */ };

export type CallEvent =
  | { op: "play"; items: Speech[] }
  | { op: "collect"; opts: CollectOptions; result: CollectResult }
  | { op: "record"; opts: RecordOptions; result: RecordResult }
  | { op: "bridge"; target: BridgeTarget }
  | { op: "hangup" };

export class ScriptedCall implements CallControl {
  readonly events: CallEvent[] = [];
  readonly clock: Clock;
  readonly log: Logger;
  readonly caller: string;
  readonly actor: Actor;
  readonly language: Language;
  private ended = false;
  private readonly steps: CallerStep[];

  constructor(
    readonly tenant: Tenant,
    readonly extension: Extension | undefined,
    readonly store: Store,
    script: CallerStep[] = [],
    opts: { clock?: Clock; log?: Logger; recordDir?: string } = {},
  ) {
    this.steps = [...script];
    this.clock = opts.clock ?? new FakeClock();
    this.log = opts.log ?? silentLogger();
    this.caller = extension?.number ?? "anonymous";
    this.actor = { kind: "phone", id: this.caller, source: "udp:192.0.2.10:5062" };
    this.language = extension?.language ?? tenant.language;
  }

  /** Every prompt id and generated item played, in order. */
  get said(): Speech[] {
    return this.events.flatMap((e) => (e.op === "play" ? e.items : []));
  }

  get hungUp(): boolean {
    return this.ended;
  }

  private live(): void {
    if (this.ended) throw new Hangup("the call has ended");
  }

  async play(items: Speech[]): Promise<"done" | "interrupted"> {
    this.live();
    for (const item of items) {
      if (typeof item === "string" && !isPromptId(item))
        throw new Error(`no prompt ${item} in the catalogue`);
    }
    this.events.push({ op: "play", items });
    return "done";
  }

  async collect(opts: CollectOptions): Promise<CollectResult> {
    this.live();
    const step = this.steps.shift();
    if (!step || "hangup" in step) return this.hangupNow();
    if (!("type" in step)) throw new Error("script expected digits for collect");
    let digits = "";
    let reason: CollectResult["reason"] = "timeout";
    for (const d of step.type) {
      if (opts.terminators?.includes(d)) {
        reason = "terminator";
        break;
      }
      digits += d;
      if (digits.length >= opts.max) {
        reason = "max";
        break;
      }
    }
    const result = { digits, reason };
    this.events.push({ op: "collect", opts, result });
    return result;
  }

  async record(opts: RecordOptions): Promise<RecordResult> {
    this.live();
    const step = this.steps.shift();
    if (!step || "hangup" in step) return this.hangupNow();
    if (!("speak" in step)) throw new Error("script expected speech for record");
    const result: RecordResult = {
      path: `/scripted/recording-${this.events.length}.wav`,
      durationMs: Math.min(step.speak, opts.maxSeconds * 1000),
      reason: step.speak >= opts.maxSeconds * 1000 ? "max" : "terminator",
    };
    this.events.push({ op: "record", opts, result });
    return result;
  }

  async bridge(target: BridgeTarget): Promise<void> {
    this.live();
    this.events.push({ op: "bridge", target });
    this.ended = true;
  }

  async hangup(): Promise<void> {
    if (this.ended) return;
    this.events.push({ op: "hangup" });
    this.ended = true;
  }

  private hangupNow(): never {
    this.ended = true;
    throw new Hangup();
  }
}
