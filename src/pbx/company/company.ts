// The company's inbound flow as the rest of the PBX sees it: the schedule's
// mode now (with `*20`'s override), the call flow switch (`*11`), and the
// company's own audio (the four announcements of `*30`-`*33`, music for
// waiting callers). Apps, the router and the API use this interface; the
// service behind it (company-service.ts) keeps the store, the override's
// timer and the feature lamps in step.
import type {
  Actor,
  AnnouncementKind,
  CompanyAudio,
  CompanyAudioKind,
  Language,
  Tenant,
} from "../../store/types.ts";

/** The schedule's mode now, as `GET …/schedule/state` shows it. */
export interface ScheduleState {
  mode: string;
  /** The mode's label, else its name. */
  label: string;
  /** `*20` forced the mode. */
  overridden: boolean;
  /** When the mode now ends: the override's end, or the schedule's next transition (ms since the epoch). */
  until?: number;
  /** The schedule's next transition after now (ignoring the override). */
  next?: { at: number; mode: string };
}

/** What `*20` did. */
export type ScheduleAdvance =
  /** The next mode is forced now, until the transition after it. */
  | { kind: "overridden"; mode: string; label: string; until: number }
  /** An override was active: it is cancelled, the schedule rules again. */
  | { kind: "cancelled"; state: ScheduleState }
  /** The schedule has no transition ahead (no weekly range, no exception): nothing to force. */
  | { kind: "no-transition" };

/** The call flow switch after `*11`. */
export interface CallFlowView {
  state: string;
  label: string;
  /** The first (normal) state: the inbound flow goes on to the schedule; the lamp is off. */
  normal: boolean;
}

/** Audio bytes as uploaded: WAV (any rate, 8/16-bit PCM, mono or stereo) or MP3. */
export interface AudioUpload {
  bytes: Buffer;
  /** The request's Content-Type ("audio/wav", "audio/mpeg"); sniffed from the bytes when absent or generic. */
  contentType?: string;
}

/** Bad audio (unknown format, undecodable, empty, too long): the API answers 400 with the message. */
export class AudioRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AudioRejected";
  }
}

export interface Company {
  scheduleState(tenant: Tenant): Promise<ScheduleState>;
  /** `*20`: forces the next mode now, or cancels an active override. Audited with `actor`; lamps follow. */
  advanceSchedule(tenant: Tenant, actor: Actor): Promise<ScheduleAdvance>;
  callFlow(tenant: Tenant): Promise<CallFlowView>;
  /** `*11`: the other state. Audited with `actor`; the lamp follows. */
  toggleCallFlow(tenant: Tenant, actor: Actor): Promise<CallFlowView>;
  /**
   * The API changed the schedule, the override or the call flow: re-arm the
   * override's end and set the lamps from the store.
   */
  refresh(tenant: string): Promise<void>;

  /** A WAV file (8 kHz mono 16-bit) of the company's own audio; undefined: none (the default prompt plays). */
  audioFile(tenant: string, kind: CompanyAudioKind): Promise<string | undefined>;
  audio(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined>;
  /** `*3x` kept a recording made on the phone (a WAV written by the media endpoint): it replaces the old one. */
  keepRecording(
    tenant: string,
    kind: AnnouncementKind,
    recording: string,
    actor: Actor,
  ): Promise<CompanyAudio>;
  /** Upload (WAV or MP3, converted to 8 kHz mono). Rejects with AudioRejected on bad audio. */
  saveUpload(
    tenant: string,
    kind: CompanyAudioKind,
    upload: AudioUpload,
    actor: Actor,
  ): Promise<CompanyAudio>;
  /** Speech synthesis of `text` in `language`. Rejects with AudioRejected on empty or too long text. */
  saveText(
    tenant: string,
    kind: CompanyAudioKind,
    text: string,
    language: Language,
    actor: Actor,
  ): Promise<CompanyAudio>;
  /** Back to the default prompt (for music: the ringback tone). False when there was nothing to reset. */
  resetAudio(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean>;
  /** The tenant was deleted: its timer and lamps go, its audio files are removed. */
  forgetTenant(tenant: string): Promise<void>;
  /** Forget every timer (shutdown). */
  close(): void;
}

/** The audio half of Company, kept by company-audio.ts (files in the data directory, rows in the store). */
export type CompanyAudioStore = Pick<
  Company,
  "audioFile" | "audio" | "keepRecording" | "saveUpload" | "saveText" | "resetAudio"
> & {
  /** Removes every audio file of a deleted tenant. */
  forget(tenant: string): Promise<void>;
};
