// A CallControl with no sockets: the test scripts what the caller types and
// reads back what the app said and did. Every app's voice menu is unit-tested
// through this; the same app runs over real RTP in the integration tests.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeWav } from "../../../media/codec/wav.ts";
import { fragmentText, isPromptId, sayTime } from "../../../prompts/index.ts";
import type { Actor, Extension, Language, Store, Tenant } from "../../../store/types.ts";
import { type Clock, FakeClock } from "../../../util/clock.ts";
import { type Logger, silentLogger } from "../../../util/log.ts";
import type { Company } from "../../company/company.ts";
import type { Voicemail } from "../../voicemail/voicemail.ts";
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

/**
 * What the caller does next: type digits (answering the next collect), press
 * keys while a prompt plays (`interrupt`: ends the next play that allows
 * barge-in, the keys wait for the next collect, as on the real endpoint),
 * speak (answering the next record: that many ms of sound, ended by `#`
 * unless `end` says otherwise; "hangup" resolves the record, then the call is
 * gone), or hang up.
 */
export type CallerStep =
  | { type: string }
  | { interrupt: string }
  | { hangup: true }
  | { speak: number; end?: "terminator" | "silence" | "hangup" };

export interface ScriptedCallOptions {
  clock?: Clock;
  log?: Logger;
  /** Recordings become real WAV files here (a tone as long as the speech); else fake paths. */
  recordDir?: string;
  voicemail?: Voicemail;
  /** The company's schedule, call flow and audio; testing/fake-company.ts is an in-memory one. */
  company?: Company;
  /** The caller's number when it is not the extension's (an outside caller). */
  caller?: string;
  /** Where the call comes from ("udp:203.0.113.5:5062"). */
  source?: string;
}

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
  readonly voicemail: Voicemail;
  readonly company: Company;
  readonly language: Language;
  private ended = false;
  private readonly steps: CallerStep[];
  /** Keys pressed during a prompt, waiting for the next collect. */
  private typeAhead = "";
  private readonly recordDir: string | undefined;

  constructor(
    readonly tenant: Tenant,
    readonly extension: Extension | undefined,
    readonly store: Store,
    script: CallerStep[] = [],
    opts: ScriptedCallOptions = {},
  ) {
    this.voicemail = opts.voicemail ?? noVoicemail;
    this.company = opts.company ?? noCompany;
    this.steps = [...script];
    this.clock = opts.clock ?? new FakeClock();
    this.log = opts.log ?? silentLogger();
    this.recordDir = opts.recordDir;
    this.caller = opts.caller ?? extension?.number ?? "anonymous";
    this.actor = { kind: "phone", id: this.caller, source: opts.source ?? "udp:192.0.2.10:5062" };
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

  /** Script steps not used by the app (a test may check that the app read everything). */
  get unusedSteps(): readonly CallerStep[] {
    return this.steps;
  }

  async play(items: Speech[], opts: { bargeIn?: boolean } = {}): Promise<"done" | "interrupted"> {
    this.live();
    for (const item of items) {
      if (typeof item === "string" && !isPromptId(item) && fragmentText(item, this.language) === undefined)
        throw new Error(`no prompt ${item} in the catalogue`);
      // What the real renderer would refuse is refused here too.
      if (typeof item === "object" && "time" in item)
        sayTime(item.time.hour, item.time.minute, this.language);
      if (typeof item === "object" && "text" in item && item.text.trim() === "")
        throw new Error("free text to speak is empty");
    }
    // As on the endpoint: a key already waiting ends a barge-in prompt before a sound of it is heard.
    if (opts.bargeIn && this.typeAhead !== "") return "interrupted";
    this.events.push({ op: "play", items });
    const next = this.steps[0];
    if (opts.bargeIn && next && "interrupt" in next) {
      this.steps.shift();
      this.typeAhead += next.interrupt;
      return "interrupted";
    }
    return "done";
  }

  async collect(opts: CollectOptions): Promise<CollectResult> {
    this.live();
    let step: CallerStep | undefined;
    if (this.typeAhead !== "") {
      step = { type: this.typeAhead };
      this.typeAhead = "";
    } else {
      step = this.steps.shift();
      // Keys pressed during a prompt that could not be interrupted are read now.
      if (step && "interrupt" in step) step = { type: step.interrupt };
    }
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
    const durationMs = Math.min(step.speak, opts.maxSeconds * 1000);
    const name = `recording-${this.events.length}.wav`;
    const path = this.recordDir ? join(this.recordDir, name) : `/scripted/${name}`;
    if (this.recordDir) writeFileSync(path, writeWav(tone(durationMs), 8000));
    const result: RecordResult = {
      path,
      durationMs,
      reason: step.speak >= opts.maxSeconds * 1000 ? "max" : (step.end ?? "terminator"),
    };
    this.events.push({ op: "record", opts, result });
    // The endpoint keeps what was said before a hang-up: record resolves, everything after rejects.
    if (result.reason === "hangup") this.ended = true;
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

/** A voice-like 440 Hz tone at a speaking level, 8 kHz. */
function tone(ms: number): Int16Array {
  const samples = new Int16Array(Math.round(ms * 8));
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return samples;
}

/** A test that drives the company's codes gives one (testing/fake-company.ts); any other use is a mistake. */
const noCompany: Company = new Proxy({} as Company, {
  get(_target, name) {
    return () => {
      throw new Error(`this scripted call has no company (called ${String(name)}): pass opts.company`);
    };
  },
});

/** A test that drives voicemail gives the real service (over its store); any other use is a mistake in the test. */
const noVoicemail: Voicemail = new Proxy({} as Voicemail, {
  get(_target, name) {
    return () => {
      throw new Error(`this scripted call has no voicemail (called ${String(name)}): pass opts.voicemail`);
    };
  },
});
