// The CallControl an app step runs over: the session's caller, answered by
// the session before the app starts, spoken to through a media endpoint on
// the caller's RTP leg. When the caller hangs up, whatever the app was
// waiting for rejects with Hangup and nothing is left behind.
import { MediaClosedError, type MediaEndpoint } from "../../media/endpoint/index.ts";
import type { Actor, Extension, Language, Store, Tenant } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import {
  type BridgeTarget,
  type CallControl,
  type CollectOptions,
  type CollectResult,
  Hangup,
  type RecordOptions,
  type RecordResult,
  type Speech,
} from "../apps/call-control.ts";
import type { Company } from "../company/company.ts";
import type { Voicemail } from "../voicemail/voicemail.ts";
import type { SpeechRenderer } from "./speech.ts";

/** What the session knows of its caller, as an app needs it. */
export interface AppCaller {
  readonly tenant: Tenant;
  readonly callerExtension: Extension | undefined;
  readonly callerParty: { number: string };
  readonly log: Logger;
  readonly isEnded: boolean;
  /** Where the calling phone called from ("udp:203.0.113.5:5062"), for the audit log. */
  readonly callerSource?: string;
  terminate(reason: string): Promise<void>;
}

export interface SessionCallControlDeps {
  store: Store;
  voicemail: Voicemail;
  company: Company;
  clock: Clock;
  speech: SpeechRenderer;
  /** A fresh path for a recording. */
  recordPath(): string;
}

export class SessionCallControl implements CallControl {
  readonly language: Language;
  readonly actor: Actor;
  /** Set when the app hands its caller on: the router continues there once the app returns. */
  bridgedTo: BridgeTarget | undefined;
  private done = false;

  constructor(
    private readonly session: AppCaller,
    private readonly endpoint: MediaEndpoint,
    private readonly deps: SessionCallControlDeps,
  ) {
    this.language = session.callerExtension?.language ?? session.tenant.language;
    this.actor = {
      kind: "phone",
      id: session.callerExtension?.number ?? session.callerParty.number,
      source: session.callerSource,
    };
  }

  get tenant(): Tenant {
    return this.session.tenant;
  }

  get extension(): Extension | undefined {
    return this.session.callerExtension;
  }

  get caller(): string {
    return this.session.callerParty.number;
  }

  get store(): Store {
    return this.deps.store;
  }

  get voicemail(): Voicemail {
    return this.deps.voicemail;
  }

  get company(): Company {
    return this.deps.company;
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  get log(): Logger {
    return this.session.log;
  }

  async play(items: Speech[], opts: { bargeIn?: boolean } = {}): Promise<"done" | "interrupted"> {
    this.live();
    const audio = await this.deps.speech.render(items, this.language, this.tenant.name);
    return this.guard(this.endpoint.play(audio, { bargeIn: opts.bargeIn ?? false }));
  }

  async collect(opts: CollectOptions): Promise<CollectResult> {
    this.live();
    return this.guard(
      this.endpoint.collect({
        max: opts.max,
        terminators: opts.terminators,
        firstTimeoutMs: opts.firstTimeoutMs ?? 5000,
        interTimeoutMs: opts.interTimeoutMs ?? 3000,
      }),
    );
  }

  async record(opts: RecordOptions): Promise<RecordResult> {
    this.live();
    if (opts.beep ?? true) await this.guard(this.endpoint.play([{ kind: "tone", freqs: [1000], ms: 250 }]));
    return this.guard(
      this.endpoint.record({
        path: this.deps.recordPath(),
        maxMs: opts.maxSeconds * 1000,
        silenceMs: (opts.silenceSeconds ?? 5) * 1000,
      }),
    );
  }

  /** Hands the caller on once the app returns; the app says nothing more after this. */
  async bridge(target: BridgeTarget): Promise<void> {
    this.live();
    this.bridgedTo = target;
    this.done = true;
  }

  async hangup(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.session.terminate("app hung up");
  }

  private live(): void {
    if (this.done || this.session.isEnded) throw new Hangup();
  }

  /** Media operations end with Hangup once the call is gone, whatever the media layer said. */
  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      if (err instanceof MediaClosedError || this.session.isEnded) throw new Hangup();
      throw err;
    }
  }
}
