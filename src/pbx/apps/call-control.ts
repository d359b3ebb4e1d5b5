// The one API that feature apps use. An app is an async function over a
// CallControl and reads like the voice menu it implements; it never sees a
// socket, a SIP message or an RTP packet. The call session answers before an
// app runs (an app step needs an answered call), so no app answers by itself. The same app runs over real RTP
// (call/session-call-control.ts) and over a scripted CallControl in unit tests.
import type { Actor, Extension, Language, Store, Tenant } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { Company } from "../company/company.ts";
import type { Voicemail } from "../voicemail/voicemail.ts";

/**
 * Something to say. A string is a prompt id of the catalogue; the objects
 * are generated speech (a phone number read digit by digit, a quantity, a
 * time of day as the language says it), free text (a mode's own label:
 * synthesised once, then cached), silence, the record beep, or an audio
 * file (a recorded message).
 */
export type Speech =
  | string
  | { digits: string }
  | { number: number }
  | { time: { hour: number; minute: number } }
  | { text: string }
  | { silence: number }
  | { beep: true }
  | { file: string };

export interface CollectOptions {
  /** Stop after this many digits. */
  max: number;
  /** Keys that end the input early (not included in the result), e.g. "#". */
  terminators?: string;
  /** How long to wait for the first digit; default 5000 ms. */
  firstTimeoutMs?: number;
  /** How long to wait between digits; default 3000 ms. */
  interTimeoutMs?: number;
}

export interface CollectResult {
  digits: string;
  reason: "max" | "terminator" | "timeout";
}

export interface RecordOptions {
  maxSeconds: number;
  /** Stop after this much silence; default 5 s. */
  silenceSeconds?: number;
  /** Play the beep before recording; default true. */
  beep?: boolean;
}

export interface RecordResult {
  /** A WAV file (8 kHz, 16-bit), complete under this name. */
  path: string;
  durationMs: number;
  reason: "terminator" | "max" | "silence" | "hangup";
}

/** Where an app hands the call on to. */
export type BridgeTarget = { kind: "extension"; number: string } | { kind: "external"; number: string };

/** The caller hung up: every pending operation rejects with this, and the app ends. */
export class Hangup extends Error {
  constructor(message = "caller hung up") {
    super(message);
    this.name = "Hangup";
  }
}

export interface CallControl {
  readonly tenant: Tenant;
  /** The calling phone when the caller is one of the tenant's extensions. */
  readonly extension: Extension | undefined;
  /** The caller's number as shown (extension number or E.164). */
  readonly caller: string;
  /** Who acts when the app changes a setting (the audit log): the phone and where it called from. */
  readonly actor: Actor;
  readonly language: Language;
  readonly store: Store;
  /** Mailboxes: messages, greetings, PINs (src/pbx/voicemail). */
  readonly voicemail: Voicemail;
  /** The company's schedule, call flow and audio (src/pbx/company). */
  readonly company: Company;
  readonly clock: Clock;
  readonly log: Logger;
  play(items: Speech[], opts?: { bargeIn?: boolean }): Promise<"done" | "interrupted">;
  collect(opts: CollectOptions): Promise<CollectResult>;
  record(opts: RecordOptions): Promise<RecordResult>;
  bridge(target: BridgeTarget): Promise<void>;
  hangup(): Promise<void>;
}

/** A feature app: runs one dialled feature code. `argument` is what followed the code ("0791231212"). */
export type FeatureApp = (call: CallControl, argument: string) => Promise<void>;
