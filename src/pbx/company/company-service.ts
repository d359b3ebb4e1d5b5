// The company service: the one place that changes the schedule's override
// (`*20`) and the call flow switch (`*11`) at run time, keeps the override's
// end on the clock, and keeps the feature lamps in step with the store.
//
// The override is stored with its end (ScheduleOverride.until), so it
// survives a restart: start() arms the end of every live override and drops
// the ones that ended while the PBX was down. One timer per tenant; every
// change of a tenant's state runs after the previous one (a per-tenant
// queue), so two phones dialling `*20` at once do not both "advance".
//
// With a live feed (the console's server-sent events), every change of the
// mode, the override or the call flow is a `schedule` notice, and so is each
// of the schedule's own transitions (its ranges' boundaries): one more timer
// per tenant, at the next transition, re-armed at each sync.
import {
  type Actor,
  type AnnouncementKind,
  type CallFlow,
  type CompanyAudio,
  type CompanyAudioKind,
  DEFAULT_CALL_FLOW,
  DEFAULT_SCHEDULE,
  type FeatureAction,
  type Language,
  type Schedule,
  type ScheduleOverride,
  type Store,
  type Tenant,
} from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { LivePublisher } from "../live/live-feed.ts";
import type {
  AudioUpload,
  CallFlowView,
  Company,
  CompanyAudioStore,
  ScheduleAdvance,
  ScheduleState,
} from "./company.ts";
import { nextTransitions, overrideIsLive, planOverride, scheduleStateAt } from "./schedule.ts";

/** Where the lamps of `*11` and `*20` are published (the event hub). */
export interface FeatureLamps {
  publishFeature(tenant: string, code: string, on: boolean): void;
}

export interface CompanyServiceDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  audio: CompanyAudioStore;
  lamps?: FeatureLamps;
  /** The console's change notices (`schedule`); without it no boundary timers are kept. */
  live?: LivePublisher;
}

/** Who ends an override when its time is up (the audit log shows it). */
export const SCHEDULE_ACTOR: Actor = { kind: "system", id: "schedule" };

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type LampAction = Extract<FeatureAction, "schedule.next" | "callflow.toggle">;

const sameOverride = (a: ScheduleOverride, b: ScheduleOverride) =>
  a.tenant === b.tenant && a.mode === b.mode && a.since === b.since && a.until === b.until;

/** The flow's view: an unknown stored state reads as the first (normal) one. */
function viewOf(flow: CallFlow): CallFlowView {
  const names = Object.keys(flow.states);
  const state = Object.hasOwn(flow.states, flow.state) ? flow.state : names[0]!;
  return { state, label: flow.states[state]?.label ?? state, normal: state === names[0] };
}

export class CompanyService implements Company {
  private readonly timers = new Map<string, { override: ScheduleOverride; timer: Timer }>();
  /** Per tenant, the schedule's next transition (live feed only): the mode changes by itself then. */
  private readonly boundaries = new Map<string, { at: number; timer: Timer }>();
  /** The code each lamp was last published under: a renamed code turns its old lamp off. */
  private readonly lampCodes = new Map<string, Map<LampAction, string>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly deps: CompanyServiceDeps) {}

  /** For every tenant: drop overrides that ended while we were down, arm the others' end, set both lamps. */
  async start(): Promise<void> {
    for (const tenant of await this.deps.store.tenants.list()) {
      try {
        await this.refresh(tenant.name);
      } catch (err) {
        this.deps.log.error({ err, tenant: tenant.name }, "company state not restored");
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.timers.values()) timer.cancel();
    this.timers.clear();
    for (const { timer } of this.boundaries.values()) timer.cancel();
    this.boundaries.clear();
  }

  // ------------------------------------------------------------ schedule

  async scheduleState(tenant: Tenant): Promise<ScheduleState> {
    const { companyFlow } = this.deps.store;
    const schedule = await this.schedule(tenant.name);
    const override = await companyFlow.override(tenant.name);
    return scheduleStateAt(schedule, tenant.timezone, override, this.deps.clock.now());
  }

  advanceSchedule(tenant: Tenant, actor: Actor): Promise<ScheduleAdvance> {
    return this.serial(tenant.name, async () => {
      const { companyFlow } = this.deps.store;
      const now = this.deps.clock.now();
      const schedule = await this.schedule(tenant.name);
      const stored = await companyFlow.override(tenant.name);
      if (overrideIsLive(stored, now)) {
        await companyFlow.setOverride(tenant.name, null, actor);
        this.disarm(tenant.name);
        await this.publish(tenant.name, "schedule.next", false);
        this.changed(tenant.name);
        this.deps.log.info({ tenant: tenant.name, mode: stored.mode }, "schedule override cancelled");
        return { kind: "cancelled", state: scheduleStateAt(schedule, tenant.timezone, undefined, now) };
      }
      const plan = planOverride(schedule, tenant.timezone, now);
      if (!plan) return { kind: "no-transition" };
      // The store keeps whole milliseconds; the system clock has fractions.
      const override: ScheduleOverride = {
        tenant: tenant.name,
        mode: plan.mode,
        since: Math.floor(now),
        until: plan.until,
      };
      await companyFlow.setOverride(tenant.name, override, actor);
      this.arm(override);
      await this.publish(tenant.name, "schedule.next", true);
      this.changed(tenant.name);
      this.deps.log.info(
        { tenant: tenant.name, mode: plan.mode, until: plan.until },
        "schedule override set",
      );
      return {
        kind: "overridden",
        mode: plan.mode,
        label: schedule.modes[plan.mode]?.label ?? plan.mode,
        until: plan.until,
      };
    });
  }

  // ------------------------------------------------------------ call flow

  async callFlow(tenant: Tenant): Promise<CallFlowView> {
    return viewOf(await this.flow(tenant.name));
  }

  toggleCallFlow(tenant: Tenant, actor: Actor): Promise<CallFlowView> {
    return this.serial(tenant.name, async () => {
      const flow = await this.flow(tenant.name);
      const names = Object.keys(flow.states);
      const current = viewOf(flow).state;
      const next = names[(names.indexOf(current) + 1) % names.length]!;
      const toggled: CallFlow = { ...structuredClone(flow), state: next };
      await this.deps.store.companyFlow.setCallFlow(tenant.name, toggled, actor);
      const view = viewOf(toggled);
      await this.publish(tenant.name, "callflow.toggle", !view.normal);
      this.changed(tenant.name);
      this.deps.log.info({ tenant: tenant.name, state: view.state }, "call flow toggled");
      return view;
    });
  }

  // ------------------------------------------------------------ both

  refresh(tenant: string): Promise<void> {
    return this.serial(tenant, () => this.sync(tenant));
  }

  async forgetTenant(tenant: string): Promise<void> {
    await this.refresh(tenant);
    await this.deps.audio.forget(tenant);
  }

  /** Makes the timer and the lamps say what the store says; drops an override that is over. */
  private async sync(name: string): Promise<void> {
    const { store, clock, log } = this.deps;
    const tenant = await store.tenants.get(name);
    if (!tenant) {
      // Deleted: nothing to end, and its lamps go dark.
      this.disarm(name);
      this.disarmBoundary(name);
      for (const code of this.lampCodes.get(name)?.values() ?? [])
        this.deps.lamps?.publishFeature(name, code, false);
      this.lampCodes.delete(name);
      this.changed(name);
      return;
    }
    let override = await store.companyFlow.override(name);
    if (override && clock.now() >= override.until) {
      // Its end passed (while we were down, or just now): the schedule rules again.
      await store.companyFlow.setOverride(name, null, SCHEDULE_ACTOR);
      log.info({ tenant: name, mode: override.mode, until: override.until }, "schedule override ended");
      override = undefined;
    }
    if (override) this.arm(override);
    else this.disarm(name);
    const flow = viewOf(await this.flow(name));
    await this.publish(name, "schedule.next", override !== undefined);
    await this.publish(name, "callflow.toggle", !flow.normal);
    // An API change, an override's end or a boundary: the console reads the state again.
    if (this.deps.live) this.armBoundary(tenant, await this.schedule(name));
    this.changed(name);
  }

  // ------------------------------------------------------------ timers

  /** One timer per tenant, at the end of its override (re-armed on every change). */
  private arm(override: ScheduleOverride): void {
    const current = this.timers.get(override.tenant);
    if (current && sameOverride(current.override, override)) return;
    this.disarm(override.tenant);
    if (this.closed) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, override.until - this.deps.clock.now()));
    const timer = this.deps.clock.setTimer(wait, () => {
      if (this.timers.get(override.tenant)?.timer !== timer) return;
      this.timers.delete(override.tenant);
      // sync() removes the override if it is over (still the stored one), or re-arms what is stored now.
      this.refresh(override.tenant).catch((err: unknown) =>
        this.deps.log.error({ err, tenant: override.tenant }, "schedule override end failed"),
      );
    });
    this.timers.set(override.tenant, { override, timer });
  }

  private disarm(tenant: string): void {
    this.timers.get(tenant)?.timer.cancel();
    this.timers.delete(tenant);
  }

  /**
   * A timer at the schedule's next transition (in wall time, through DST:
   * schedule.ts), so that the console hears that the mode changed by itself.
   * When it fires, refresh() sends the notice and arms the one after.
   */
  private armBoundary(tenant: Tenant, schedule: Schedule): void {
    let next: number | undefined;
    try {
      next = nextTransitions(schedule, tenant.timezone, this.deps.clock.now(), 1)[0]?.at;
    } catch (err) {
      this.deps.log.error(
        { err, tenant: tenant.name },
        "schedule transitions unreadable: no boundary notice",
      );
    }
    if (next === undefined || this.closed) {
      this.disarmBoundary(tenant.name);
      return;
    }
    this.waitForBoundary(tenant.name, next);
  }

  private waitForBoundary(name: string, at: number): void {
    if (this.boundaries.get(name)?.at === at) return;
    this.disarmBoundary(name);
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, at - this.deps.clock.now()));
    const timer = this.deps.clock.setTimer(wait, () => {
      if (this.boundaries.get(name)?.timer !== timer) return;
      this.boundaries.delete(name);
      // More than a Node timer can wait: one more step.
      if (this.deps.clock.now() < at) return this.waitForBoundary(name, at);
      this.refresh(name).catch((err: unknown) =>
        this.deps.log.error({ err, tenant: name }, "schedule transition: refresh failed"),
      );
    });
    this.boundaries.set(name, { at, timer });
  }

  private disarmBoundary(tenant: string): void {
    this.boundaries.get(tenant)?.timer.cancel();
    this.boundaries.delete(tenant);
  }

  /** The console's notice that the mode, the override or the call flow may have changed. */
  private changed(tenant: string): void {
    this.deps.live?.publish({ type: "schedule", tenant });
  }

  // ------------------------------------------------------------ helpers

  private async schedule(tenant: string): Promise<Schedule> {
    return (await this.deps.store.companyFlow.schedule(tenant)) ?? DEFAULT_SCHEDULE;
  }

  private async flow(tenant: string): Promise<CallFlow> {
    return (await this.deps.store.companyFlow.callFlow(tenant)) ?? DEFAULT_CALL_FLOW;
  }

  /** A lamp under the tenant's current code for the action (`*20`, `*11` unless renamed). */
  private async publish(tenant: string, action: LampAction, on: boolean): Promise<void> {
    const { lamps } = this.deps;
    if (!lamps) return;
    const code = (await this.deps.store.featureCodes.list(tenant)).find((c) => c.action === action)?.code;
    const codes = this.lampCodes.get(tenant) ?? new Map<LampAction, string>();
    const before = codes.get(action);
    if (before !== undefined && before !== code) lamps.publishFeature(tenant, before, false);
    if (code === undefined) codes.delete(action);
    else {
      codes.set(action, code);
      lamps.publishFeature(tenant, code, on);
    }
    this.lampCodes.set(tenant, codes);
  }

  /** Runs `task` after the tenant's previous one, whatever became of it (its caller saw its error). */
  private serial<T>(tenant: string, task: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(tenant) ?? Promise.resolve()).then(task, task);
    this.queues.set(tenant, run);
    const forget = () => {
      if (this.queues.get(tenant) === run) this.queues.delete(tenant);
    };
    run.then(forget, forget);
    return run;
  }

  // ------------------------------------------------------------ audio

  audioFile(tenant: string, kind: CompanyAudioKind): Promise<string | undefined> {
    return this.deps.audio.audioFile(tenant, kind);
  }

  audio(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined> {
    return this.deps.audio.audio(tenant, kind);
  }

  keepRecording(
    tenant: string,
    kind: AnnouncementKind,
    recording: string,
    actor: Actor,
  ): Promise<CompanyAudio> {
    return this.deps.audio.keepRecording(tenant, kind, recording, actor);
  }

  saveUpload(
    tenant: string,
    kind: CompanyAudioKind,
    upload: AudioUpload,
    actor: Actor,
  ): Promise<CompanyAudio> {
    return this.deps.audio.saveUpload(tenant, kind, upload, actor);
  }

  saveText(
    tenant: string,
    kind: CompanyAudioKind,
    text: string,
    language: Language,
    actor: Actor,
  ): Promise<CompanyAudio> {
    return this.deps.audio.saveText(tenant, kind, text, language, actor);
  }

  resetAudio(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean> {
    return this.deps.audio.resetAudio(tenant, kind, actor);
  }
}
