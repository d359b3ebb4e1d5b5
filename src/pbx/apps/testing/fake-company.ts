// An in-memory Company for the apps' tests. The schedule is a list of the
// instants where its mode changes (what schedule evaluation would compute),
// and the fake keeps the rules that company.ts promises around it: `*20`
// forces the mode of the next transition until the transition after it (none
// within 14 days: nothing changes), `*20` during an override cancels it, an
// override whose end has passed is over; the call flow has two states, the
// first the normal one; a recording is filed only when kept, and one too
// short is refused with AudioRejected. Every change is remembered with its
// actor, and the lamps with their state, for the tests to read back.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readWav, writeWav } from "../../../media/codec/wav.ts";
import {
  type Actor,
  type AnnouncementKind,
  type CallFlow,
  type CompanyAudio,
  type CompanyAudioKind,
  DEFAULT_CALL_FLOW,
  type Language,
  type ScheduleOverride,
  type Tenant,
} from "../../../store/types.ts";
import type { Clock } from "../../../util/clock.ts";
import {
  AudioRejected,
  type AudioUpload,
  type CallFlowView,
  type Company,
  type ScheduleAdvance,
  type ScheduleState,
} from "../../company/company.ts";

/** How far ahead `*20` looks for the next transition, as the real service does. */
const HORIZON_MS = 14 * 24 * 3600_000;
/** A kept recording shorter than this is refused, as company-audio.ts does after trimming. */
const MIN_RECORDING_MS = 500;
const MAX_TEXT = 1000;

/** A schedule as the instants where its mode changes. */
export interface FakeScheduleTimeline {
  /** Every mode, with its label when it has one. */
  modes: Record<string, { label?: string }>;
  /** The mode before the first change. */
  initial: string;
  /** Where the scheduled mode becomes `mode` (ms since the epoch), in time order. */
  changes: Array<{ at: number; mode: string }>;
}

export interface FakeCompanyOptions {
  clock: Clock;
  /** Where the company's audio files are written (a test's temporary folder). */
  audioDir: string;
  /** Default: open all the time, a closed mode ready (DEFAULT_SCHEDULE). */
  schedule?: FakeScheduleTimeline;
  /** Default: DEFAULT_CALL_FLOW. */
  callFlow?: CallFlow;
}

/** One change the fake made, with who asked for it. */
export interface FakeCompanyChange {
  op: "schedule.override" | "schedule.cancel" | "callflow.toggle" | "audio.set" | "audio.reset";
  tenant: string;
  actor: Actor;
  kind?: CompanyAudioKind;
  source?: CompanyAudio["source"];
}

interface Stored {
  audio: CompanyAudio;
  file: string;
}

export class FakeCompany implements Company {
  readonly changes: FakeCompanyChange[] = [];
  /** Every lamp state published ("*20": an override is active; "*11": the flow is not normal). */
  readonly lamps: Array<{ tenant: string; code: "*20" | "*11"; on: boolean }> = [];
  private readonly clock: Clock;
  private readonly audioDir: string;
  private readonly timeline: FakeScheduleTimeline;
  private readonly initialFlow: CallFlow;
  private readonly overrides = new Map<string, ScheduleOverride>();
  private readonly flows = new Map<string, CallFlow>();
  private readonly files = new Map<string, Stored>();
  private closed = false;

  constructor(opts: FakeCompanyOptions) {
    this.clock = opts.clock;
    this.audioDir = opts.audioDir;
    this.timeline = opts.schedule ?? {
      modes: { open: {}, closed: {} },
      initial: "open",
      changes: [],
    };
    this.initialFlow = opts.callFlow ?? DEFAULT_CALL_FLOW;
    const flowStates = Object.keys(this.initialFlow.states);
    if (flowStates.length !== 2 || !flowStates.includes(this.initialFlow.state))
      throw new Error("a call flow has exactly two states, the current one among them");
    for (const mode of [this.timeline.initial, ...this.timeline.changes.map((c) => c.mode)])
      if (!Object.hasOwn(this.timeline.modes, mode)) throw new Error(`the fake schedule has no mode ${mode}`);
  }

  /** The override of a tenant as stored, over or not (a test may set one, as a restart would find it). */
  override(tenant: string): ScheduleOverride | undefined {
    return this.overrides.get(tenant);
  }

  setOverride(override: ScheduleOverride): void {
    this.overrides.set(override.tenant, override);
  }

  async scheduleState(tenant: Tenant): Promise<ScheduleState> {
    this.live();
    const now = this.clock.now();
    const next = this.transitions(now)[0];
    const active = this.activeOverride(tenant.name, now);
    const mode = active?.mode ?? this.modeAt(now);
    const until = active ? active.until : next?.at;
    return {
      mode,
      label: this.label(mode),
      overridden: active !== undefined,
      ...(until === undefined ? {} : { until }),
      ...(next === undefined ? {} : { next }),
    };
  }

  async advanceSchedule(tenant: Tenant, actor: Actor): Promise<ScheduleAdvance> {
    this.live();
    const now = this.clock.now();
    if (this.activeOverride(tenant.name, now)) {
      this.overrides.delete(tenant.name);
      this.changes.push({ op: "schedule.cancel", tenant: tenant.name, actor });
      this.lamps.push({ tenant: tenant.name, code: "*20", on: false });
      return { kind: "cancelled", state: await this.scheduleState(tenant) };
    }
    // The transition after T1 is, by definition, where the mode stops being T1's.
    const [t1, t2] = this.transitions(now);
    if (!t1 || !t2) return { kind: "no-transition" };
    this.overrides.set(tenant.name, { tenant: tenant.name, mode: t1.mode, since: now, until: t2.at });
    this.changes.push({ op: "schedule.override", tenant: tenant.name, actor });
    this.lamps.push({ tenant: tenant.name, code: "*20", on: true });
    return { kind: "overridden", mode: t1.mode, label: this.label(t1.mode), until: t2.at };
  }

  async callFlow(tenant: Tenant): Promise<CallFlowView> {
    this.live();
    return this.view(this.flow(tenant.name));
  }

  async toggleCallFlow(tenant: Tenant, actor: Actor): Promise<CallFlowView> {
    this.live();
    const flow = this.flow(tenant.name);
    const other = Object.keys(flow.states).find((s) => s !== flow.state)!;
    this.flows.set(tenant.name, { ...flow, state: other });
    this.changes.push({ op: "callflow.toggle", tenant: tenant.name, actor });
    const view = this.view(this.flow(tenant.name));
    this.lamps.push({ tenant: tenant.name, code: "*11", on: !view.normal });
    return view;
  }

  async refresh(tenant: string): Promise<void> {
    this.live();
    const now = this.clock.now();
    this.lamps.push({ tenant, code: "*20", on: this.activeOverride(tenant, now) !== undefined });
    this.lamps.push({ tenant, code: "*11", on: !this.view(this.flow(tenant)).normal });
  }

  async audioFile(tenant: string, kind: CompanyAudioKind): Promise<string | undefined> {
    this.live();
    const stored = this.files.get(`${tenant}/${kind}`);
    return stored && existsSync(stored.file) ? stored.file : undefined;
  }

  async audio(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined> {
    this.live();
    return this.files.get(`${tenant}/${kind}`)?.audio;
  }

  async keepRecording(
    tenant: string,
    kind: AnnouncementKind,
    recording: string,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.live();
    const wav = readWav(await readFile(recording));
    const durationMs = Math.round((wav.samples.length * 1000) / wav.sampleRate);
    if (durationMs < MIN_RECORDING_MS) throw new AudioRejected("the recording is too short");
    const audio = await this.file(tenant, kind, wav.samples, wav.sampleRate, { source: "recording" }, actor);
    await rm(recording, { force: true });
    return audio;
  }

  async saveUpload(
    tenant: string,
    kind: CompanyAudioKind,
    upload: AudioUpload,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.live();
    let wav: ReturnType<typeof readWav>;
    try {
      wav = readWav(upload.bytes);
    } catch (err) {
      // The fake reads WAV only; the real service also takes MP3.
      throw new AudioRejected(`not a WAV file this fake can read: ${(err as Error).message}`);
    }
    if (wav.samples.length === 0) throw new AudioRejected("the audio is empty");
    return this.file(tenant, kind, wav.samples, wav.sampleRate, { source: "upload" }, actor);
  }

  async saveText(
    tenant: string,
    kind: CompanyAudioKind,
    text: string,
    _language: Language,
    actor: Actor,
  ): Promise<CompanyAudio> {
    this.live();
    const clean = text.trim();
    if (clean.length === 0 || clean.length > MAX_TEXT)
      throw new AudioRejected(`the text must have 1 to ${MAX_TEXT} characters`);
    // A tone as long as the text would take to say (about 15 characters a second).
    const samples = new Int16Array(Math.round((clean.length / 15) * 8000)).map((_, i) =>
      Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / 8000)),
    );
    return this.file(tenant, kind, samples, 8000, { source: "text", text: clean }, actor);
  }

  async resetAudio(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean> {
    this.live();
    const stored = this.files.get(`${tenant}/${kind}`);
    if (!stored) return false;
    this.files.delete(`${tenant}/${kind}`);
    await rm(stored.file, { force: true });
    this.changes.push({ op: "audio.reset", tenant, actor, kind });
    return true;
  }

  async forgetTenant(tenant: string): Promise<void> {
    for (const [key, stored] of this.files) {
      if (!key.startsWith(`${tenant}/`)) continue;
      this.files.delete(key);
      await rm(stored.file, { force: true });
    }
  }

  close(): void {
    this.closed = true;
  }

  private live(): void {
    if (this.closed) throw new Error("the company service is closed");
  }

  private async file(
    tenant: string,
    kind: CompanyAudioKind,
    samples: Int16Array,
    sampleRate: number,
    what: { source: CompanyAudio["source"]; text?: string },
    actor: Actor,
  ): Promise<CompanyAudio> {
    const dir = join(this.audioDir, tenant);
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${kind}.wav`);
    await writeFile(file, writeWav(samples, sampleRate));
    const audio: CompanyAudio = {
      tenant,
      kind,
      ...what,
      durationMs: Math.round((samples.length * 1000) / sampleRate),
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    this.files.set(`${tenant}/${kind}`, { audio, file });
    this.changes.push({ op: "audio.set", tenant, actor, kind, source: what.source });
    return audio;
  }

  private flow(tenant: string): CallFlow {
    return this.flows.get(tenant) ?? this.initialFlow;
  }

  private view(flow: CallFlow): CallFlowView {
    const normal = Object.keys(flow.states)[0];
    return {
      state: flow.state,
      label: flow.states[flow.state].label ?? flow.state,
      normal: flow.state === normal,
    };
  }

  private label(mode: string): string {
    return this.timeline.modes[mode]?.label ?? mode;
  }

  private activeOverride(tenant: string, now: number): ScheduleOverride | undefined {
    const override = this.overrides.get(tenant);
    return override && now < override.until ? override : undefined;
  }

  private modeAt(at: number): string {
    let mode = this.timeline.initial;
    for (const change of this.timeline.changes) if (change.at <= at) mode = change.mode;
    return mode;
  }

  /** The instants after `from`, within the horizon, where the scheduled mode changes. */
  private transitions(from: number): Array<{ at: number; mode: string }> {
    const out: Array<{ at: number; mode: string }> = [];
    let current = this.modeAt(from);
    for (const change of this.timeline.changes) {
      if (change.at <= from || change.at > from + HORIZON_MS) continue;
      if (change.mode === current) continue;
      out.push({ at: change.at, mode: change.mode });
      current = change.mode;
    }
    return out;
  }
}
