// Who gets a call, as data: the router turns (caller, dialled, tenant) into
// the next step of the call session, and every outcome that is not
// "answered" back into the step after it. The rules, in order:
//   feature code          → app("feature-code")
//   extension             → unconditional forwarding, else busy (in a call
//                           without call waiting, or at maxCalls), else no
//                           device registered, else ring its devices; then
//                           busy / no answer / unreachable → that forwarding,
//                           else a short announcement and the status
//   public number         → dialling policy, the company's cap of outside
//                           calls, then ring the trunk
//   a device's 3xx        → the Contact, read like a dialled number
//   ring group            → its available members all at once, or one
//                           after the other, within the group's timeout;
//                           then its fallback
//   announcement          → say it (the company's own, else the default),
//                           then its `then`
//   inbound flow          → the welcome announcement (when the company has
//                           one), the call flow state's destination (when not
//                           normal), else the schedule mode's destination;
//                           callers of the flow wait answered, with music or
//                           ringback and the waiting announcement
// Forwarding chains are followed to a hop limit and stop at the first
// extension seen twice. Features add rules here and apps beside it, never
// branches in the session.
import { isEncrypted } from "../../sip/transport/types.ts";
import {
  type AnnouncementKind,
  type Binding,
  DEFAULT_CALL_FLOW,
  DEFAULT_SCHEDULE,
  type DestinationSpec,
  type Extension,
  type Forwarding,
  type RingGroup,
  type Store,
  type Tenant,
  type Trunk,
} from "../../store/types.ts";
import type { Logger } from "../../util/log.ts";
import type { BridgeTarget, Speech } from "../apps/call-control.ts";
import { matchFeatureCode } from "../apps/feature-codes.ts";
import type {
  Diversion,
  DiversionReason,
  Outcome,
  Party,
  RingStep,
  Step,
  Target,
  WaitingMedia,
} from "../call/steps.ts";
import type { Company } from "../company/company.ts";
import { readInCompany } from "./company-number.ts";
import { policyRefusal } from "./dialling-policy.ts";
import { type Destination, InvalidNumber, storedDestination } from "./phone-number.ts";

/** How many forwardings (and redirects) one call may follow. */
export const MAX_DIVERSIONS = 5;

/** How long an outside number rings before the call counts as unanswered. */
const TRUNK_RING_TIMEOUT_MS = 120_000;

export interface RouterDeps {
  store: Store;
  /** Registered devices of an extension, expired ones left out. */
  devices(tenant: string, extension: string): Promise<Binding[]>;
  /** The trunk of a company's outside calls, if the provider has one. */
  trunkFor(tenant: Tenant): Promise<Trunk | undefined>;
  /** Calls the extension is on now (as caller, or answered). */
  callsOf(tenant: string, extension: string): number;
  /** Calls of the company through a trunk now (ringing or answered). */
  outsideCallsOf(tenant: string): number;
  /** Whether the extension's mailbox takes messages (the company's voicemail on, the mailbox enabled). */
  mailboxOpen(tenant: Tenant, extension: string): Promise<boolean>;
  /** The schedule's mode now, the call flow's state, the company's own audio. */
  company: Pick<Company, "scheduleState" | "callFlow" | "audioFile">;
  /** Now, from the PBX's clock (a sequential ring group's deadline). */
  now(): number;
  log: Logger;
}

/** What the router is asked to route. */
export type RouteRequest =
  | { kind: "dialled"; text: string }
  | { kind: "destination"; destination: DestinationSpec }
  | { kind: "bridge"; target: BridgeTarget };

export interface CallContext {
  tenant: Tenant;
  /** Who calls, as shown to the callee. */
  caller: Party;
  /** The calling phone, when the caller is one of the company's extensions. */
  callerExtension?: Extension;
  /**
   * The phone whose dialling the call counts as, for the caller ID toward
   * the carrier: the caller, or the transferor of a transfer.
   */
  dialledBy?: Extension;
  /** Extensions already rung or passed through on this call (a transfer starts with the transferor). */
  seen?: string[];
  /** The call's logger (its Call-ID on every line); else the router's. */
  log?: Logger;
}

/** What the router remembers of the step it gave, to read its outcome. */
type Pending =
  | { kind: "extension"; extension: Extension; rules: Map<string, string> }
  | { kind: "external" }
  | { kind: "pickup" }
  /** A ring group: the members not rung yet (sequential) and when the group gives up. */
  | { kind: "group"; group: RingGroup; rest: string[]; deadline: number }
  /** A play step: where the call goes once it is said. */
  | { kind: "then"; destination: DestinationSpec }
  | { kind: "other" };

type GroupPending = Extract<Pending, { kind: "group" }>;

/** How many ring groups, announcements and inbound flows one call may pass through (they may name each other). */
const MAX_FLOW_HOPS = 8;

export class Router {
  constructor(private readonly deps: RouterDeps) {}

  /** A routing of one call (or of one transfer of it): remembers hops and what was rung. */
  begin(ctx: CallContext): Routing {
    return new Routing(this.deps, ctx);
  }
}

export class Routing {
  private readonly seen: Set<string>;
  private readonly diversions: Diversion[] = [];
  private pending: Pending = { kind: "other" };
  private mainNumber: string | null | undefined;
  /** Set once the call entered the company's inbound flow: its callers wait answered. */
  private waiting: WaitingMedia | undefined;
  private flowHops = 0;
  private readonly log: Logger;

  constructor(
    private readonly deps: RouterDeps,
    readonly ctx: CallContext,
  ) {
    this.seen = new Set(ctx.seen ?? []);
    this.log = ctx.log ?? deps.log;
  }

  /** The first step for what was dialled or where the number leads. */
  async first(request: RouteRequest): Promise<Step> {
    switch (request.kind) {
      case "dialled":
        return this.dialled(request.text);
      case "destination":
        return this.destination(request.destination);
      case "bridge":
        return this.to(
          request.target.kind === "extension"
            ? { kind: "extension", number: request.target.number }
            : storedDestination(request.target.number, this.ctx.tenant),
        );
    }
  }

  /** The step after an outcome that was not final; undefined when the call is over. */
  async next(outcome: Outcome): Promise<Step | undefined> {
    const pending = this.pending;
    this.pending = { kind: "other" };
    switch (outcome.kind) {
      case "answered":
      case "done":
      case "caller-gone":
        return undefined;
      case "played":
        return pending.kind === "then" ? this.destination(pending.destination) : undefined;
      case "bridge":
        return this.first({ kind: "bridge", target: outcome.target });
      case "redirected":
        if (pending.kind === "group") return this.groupNext(pending);
        return this.redirected(pending, outcome.contacts);
      case "busy":
        if (pending.kind === "group") return this.groupNext(pending);
        if (pending.kind !== "extension") return hangup(486);
        return this.divert(
          pending,
          "busy",
          "user-busy",
          await this.mailboxOr(pending, "busy", hangup(486, "call.busy")),
        );
      case "unreachable": {
        if (pending.kind === "group") return this.groupNext(pending);
        if (pending.kind !== "extension") return hangup(480);
        const otherwise = await this.mailboxOr(pending, "unavailable", hangup(480, "call.unreachable"));
        return this.divert(pending, "unreachable", "unavailable", otherwise);
      }
      case "no-answer": {
        if (pending.kind === "group") return this.groupNext(pending);
        if (pending.kind !== "extension") return hangup(480, undefined, "No Answer");
        const otherwise = await this.mailboxOr(pending, "unavailable", hangup(480, undefined, "No Answer"));
        return this.divert(pending, "noAnswer", "no-answer", otherwise);
      }
      case "rejected":
        // A member declining (603) passes the call on to the next, as a busy one does.
        if (pending.kind === "group" && outcome.status !== 503) return this.groupNext(pending);
        if (pending.kind === "pickup")
          return hangup(outcome.status, "pickup.nothing-ringing", outcome.reason);
        return hangup(outcome.status, undefined, outcome.reason);
    }
  }

  private async dialled(text: string): Promise<Step> {
    const { tenant } = this.ctx;
    if (text.startsWith("*")) {
      if (!this.ctx.callerExtension) return hangup(403, undefined, "Feature Codes Are For Phones");
      const match = matchFeatureCode(text, await this.deps.store.featureCodes.list(tenant.name));
      if (match?.action === "pickup.group" && match.argument === "") return this.pickup(undefined);
      if (match?.action === "pickup.directed" && /^[0-9]{1,8}$/.test(match.argument)) {
        return this.pickup(match.argument);
      }
      return { kind: "app", name: "feature-code", args: text };
    }
    let destination: Destination;
    try {
      destination = await readInCompany(this.deps.store, tenant, text);
    } catch (err) {
      if (!(err instanceof InvalidNumber)) throw err;
      return hangup(404, "error.number-not-assigned");
    }
    return this.to(destination);
  }

  /** Call pickup: a BLF key (`**101`) or the group code (`*8`); nothing ringing is said so. */
  private pickup(extension: string | undefined): Step {
    this.pending = { kind: "pickup" };
    return { kind: "pickup", extension };
  }

  private async destination(spec: DestinationSpec): Promise<Step> {
    switch (spec.type) {
      case "extension":
        return this.to({ kind: "extension", number: spec.number });
      case "external":
        return this.to(storedDestination(spec.number, this.ctx.tenant));
      case "voicemail":
        if (await this.deps.mailboxOpen(this.ctx.tenant, spec.number))
          return voicemail(spec.number, "unavailable");
        return hangup(480, "call.unreachable");
      case "hangup":
        return hangup(480);
      case "ring-group":
      case "announcement":
      case "inbound-flow":
        if (++this.flowHops > MAX_FLOW_HOPS) {
          this.log.warn({ destination: spec.type }, "the company's destinations name each other in a loop");
          return hangup(482, undefined, "Loop Detected");
        }
        if (spec.type === "ring-group") return this.ringGroup(spec.name);
        if (spec.type === "announcement") return this.announcement(spec.announcement, spec.then);
        return this.inboundFlow();
    }
  }

  /**
   * The company's inbound flow (issue: a call to the company's number
   * follows the rules the owner set): welcome, then the call flow switch,
   * then the schedule. Each step is skipped while its feature is off.
   */
  private async inboundFlow(): Promise<Step> {
    const { tenant } = this.ctx;
    const { company } = this.deps;
    const announcements = tenant.features.announcements;
    const first = !this.waiting;
    if (!this.waiting) {
      const waitMs = tenant.waitingSeconds * 1000;
      const waitingFile = announcements ? await company.audioFile(tenant.name, "waiting") : undefined;
      this.waiting = {
        music: await company.audioFile(tenant.name, "music"),
        announcement: announcements
          ? [waitingFile ? { file: waitingFile } : "announcement.default.waiting"]
          : undefined,
        firstMs: waitMs,
        everyMs: waitMs,
      };
    }
    const next = await this.flowDestination();
    const welcome = announcements ? await company.audioFile(tenant.name, "welcome") : undefined;
    if (welcome && first) {
      this.pending = { kind: "then", destination: next };
      return { kind: "play", items: [{ file: welcome }] };
    }
    return this.destination(next);
  }

  /** Where the flow goes now: a call flow state's destination, else the schedule mode's. */
  private async flowDestination(): Promise<DestinationSpec> {
    const { tenant } = this.ctx;
    const { store, company } = this.deps;
    if (tenant.features.callFlowControl) {
      const view = await company.callFlow(tenant);
      const flow = (await store.companyFlow.callFlow(tenant.name)) ?? DEFAULT_CALL_FLOW;
      const destination = flow.states[view.state]?.destination;
      if (!view.normal && destination) {
        this.log.info({ callflow: view.state }, "inbound flow: call flow state");
        return destination;
      }
    }
    const schedule = (await store.companyFlow.schedule(tenant.name)) ?? DEFAULT_SCHEDULE;
    const mode = tenant.features.schedules ? (await company.scheduleState(tenant)).mode : schedule.default;
    this.log.info({ mode }, "inbound flow: schedule mode");
    return schedule.modes[mode]?.destination ?? { type: "hangup" };
  }

  /** One of the company's announcements (its own while the feature is on, else the default), then `then`. */
  private async announcement(kind: AnnouncementKind, then: DestinationSpec): Promise<Step> {
    const { tenant } = this.ctx;
    const file = tenant.features.announcements
      ? await this.deps.company.audioFile(tenant.name, kind)
      : undefined;
    this.pending = { kind: "then", destination: then };
    const items: Speech[] = [file ? { file } : `announcement.default.${kind}`];
    return { kind: "play", items };
  }

  private async ringGroup(name: string): Promise<Step> {
    const group = await this.deps.store.ringGroups.get(this.ctx.tenant.name, name);
    if (!group) {
      this.log.warn({ group: name }, "a destination names a ring group that does not exist");
      return hangup(480);
    }
    const available = await this.availableMembers(group.members);
    const deadline = this.deps.now() + group.timeout * 1000;
    this.log.info({ group: name, strategy: group.strategy, available }, "ring group");
    if (group.strategy === "simultaneous") {
      const pending: GroupPending = { kind: "group", group, rest: [], deadline };
      return (await this.ringMembers(pending, available, group.timeout * 1000)) ?? this.groupNext(pending);
    }
    return this.groupNext({ kind: "group", group, rest: available, deadline });
  }

  /** The next member of a sequential group while time is left, else the group's fallback. */
  private async groupNext(pending: GroupPending): Promise<Step> {
    let rest = pending.rest;
    while (rest.length > 0 && pending.deadline - this.deps.now() >= 1000) {
      const member = rest[0]!;
      rest = rest.slice(1);
      const timeoutMs = Math.min(pending.group.memberTimeout * 1000, pending.deadline - this.deps.now());
      // A member unregistered since the group started is passed over.
      const step = await this.ringMembers({ ...pending, rest }, [member], timeoutMs);
      if (step) return step;
    }
    this.log.info({ group: pending.group.name }, "ring group unanswered: fallback");
    return this.destination(pending.group.fallback);
  }

  /** Rings every device of these members; undefined when none has one. */
  /**
   * The phones of an extension that may be rung: all of them, or for a
   * company that requires encryption only those registered over TLS or WSS
   * (a binding made before the switch was turned on is skipped).
   */
  private async devicesOf(number: string): Promise<Binding[]> {
    const { tenant } = this.ctx;
    const all = await this.deps.devices(tenant.name, number);
    return tenant.requireEncryption ? all.filter((b) => isEncrypted(b.source.transport)) : all;
  }

  private async ringMembers(
    pending: GroupPending,
    members: string[],
    timeoutMs: number,
  ): Promise<RingStep | undefined> {
    const targets: Target[] = [];
    for (const number of members) {
      for (const binding of await this.devicesOf(number)) {
        targets.push({ kind: "device", extension: number, binding });
      }
    }
    if (targets.length === 0) return undefined;
    this.pending = pending;
    return this.ringStep({ number: pending.group.name, displayName: pending.group.name }, targets, timeoutMs);
  }

  /** Members that can take a call now: they exist, are not busy, and have a device registered. */
  private async availableMembers(members: string[]): Promise<string[]> {
    const { tenant } = this.ctx;
    const out: string[] = [];
    for (const number of members) {
      const extension = await this.deps.store.extensions.get(tenant.name, number);
      if (!extension) continue;
      const calls = this.deps.callsOf(tenant.name, number);
      if ((calls > 0 && !extension.callWaiting) || calls >= extension.maxCalls) continue;
      if ((await this.devicesOf(number)).length === 0) continue;
      out.push(number);
    }
    return out;
  }

  private ringStep(callee: Party, targets: Target[], timeoutMs: number, from = this.ctx.caller): RingStep {
    return {
      kind: "ring",
      callee,
      targets,
      timeoutMs,
      from,
      diversions: [...this.diversions],
      waiting: this.waiting,
    };
  }

  private async to(destination: Destination): Promise<Step> {
    if (destination.kind === "extension") return this.extension(destination.number);
    return this.external(destination);
  }

  private async extension(number: string): Promise<Step> {
    const { tenant } = this.ctx;
    const { store } = this.deps;
    if (this.seen.has(number)) {
      this.log.info({ extension: number }, "forwarding loop: stopping at the first repeat");
      return hangup(482, undefined, "Loop Detected");
    }
    this.seen.add(number);
    const extension = await store.extensions.get(tenant.name, number);
    if (!extension) return hangup(404, "error.number-not-assigned");
    const rules = rulesOf(await store.forwarding.list(tenant.name, number));
    const pending: Pending = { kind: "extension", extension, rules };
    if (rules.has("unconditional")) {
      return this.divert(pending, "unconditional", "unconditional", hangup(480));
    }
    const calls = this.deps.callsOf(tenant.name, number);
    if ((calls > 0 && !extension.callWaiting) || calls >= extension.maxCalls) {
      return this.divert(
        pending,
        "busy",
        "user-busy",
        await this.mailboxOr(pending, "busy", hangup(486, "call.busy")),
      );
    }
    const devices = await this.devicesOf(number);
    if (devices.length === 0) {
      return this.divert(
        pending,
        "unreachable",
        "unavailable",
        await this.mailboxOr(pending, "unavailable", hangup(480, "call.unreachable")),
      );
    }
    this.pending = pending;
    const seconds = rules.has("noAnswer") ? extension.noAnswerSeconds : extension.ringTimeoutSeconds;
    return this.ringStep(
      { number, displayName: extension.displayName || undefined },
      devices.map((binding) => ({ kind: "device" as const, extension: number, binding })),
      seconds * 1000,
    );
  }

  private async external(destination: Extract<Destination, { kind: "external" }>): Promise<Step> {
    const { tenant } = this.ctx;
    const refusal = policyRefusal(tenant.policy, destination);
    if (refusal) {
      this.log.info({ number: destination.e164, refusal }, "destination refused by the dialling policy");
      return hangup(403, "call.not-allowed", "Destination Not Allowed");
    }
    // Emergency calls never wait behind the company's cap.
    const capped = destination.class !== "emergency";
    if (capped && this.deps.outsideCallsOf(tenant.name) >= tenant.policy.maxExternalCalls) {
      this.log.warn({ max: tenant.policy.maxExternalCalls }, "the company's outside calls are at their cap");
      return hangup(403, "error.try-again-later", "Too Many Outside Calls");
    }
    const trunk = await this.deps.trunkFor(tenant);
    if (!trunk) {
      this.log.warn(
        { number: destination.e164 },
        "a call to a public number needs a trunk, and none is configured",
      );
      return hangup(503, "error.try-again-later", "No Trunk");
    }
    this.pending = { kind: "external" };
    return this.ringStep(
      { number: destination.e164 },
      [{ kind: "trunk", trunk, number: destination.e164 }],
      TRUNK_RING_TIMEOUT_MS,
      await this.callerIdOutside(),
    );
  }

  /** The extension's mailbox when it takes messages (and no forwarding took the call), else `otherwise`. */
  private async mailboxOr(pending: Pending, reason: "busy" | "unavailable", otherwise: Step): Promise<Step> {
    if (pending.kind !== "extension") return otherwise;
    if (!(await this.deps.mailboxOpen(this.ctx.tenant, pending.extension.number))) return otherwise;
    return voicemail(pending.extension.number, reason);
  }

  /**
   * A forwarding rule of the extension, when set, with the diversion noted
   * for History-Info and Diversion; otherwise the fallback.
   */
  private async divert(
    pending: Pending,
    kind: Forwarding["kind"],
    reason: DiversionReason,
    otherwise: Step,
  ): Promise<Step> {
    if (pending.kind !== "extension") return otherwise;
    const target = pending.rules.get(kind);
    if (!target) return otherwise;
    if (this.diversions.length >= MAX_DIVERSIONS) {
      this.log.info({ extension: pending.extension.number }, "too many forwardings: stopping");
      return otherwise;
    }
    this.log.info({ from: pending.extension.number, to: target, kind }, "forwarding");
    this.diversions.push({
      from: pending.extension.number,
      reason,
      publicNumber: pending.extension.callerId ?? (await this.main()),
    });
    return this.to(storedDestination(target, this.ctx.tenant));
  }

  /** A device answered 3xx: follow its first Contact like a number dialled in the company, within the hop limit. */
  private async redirected(pending: Pending, contacts: string[]): Promise<Step> {
    const contact = contacts[0];
    if (pending.kind !== "extension" || !contact || this.diversions.length >= MAX_DIVERSIONS) {
      return hangup(480);
    }
    this.diversions.push({
      from: pending.extension.number,
      reason: "deflection",
      publicNumber: pending.extension.callerId ?? (await this.main()),
    });
    this.log.info({ from: pending.extension.number, to: contact }, "device redirected the call");
    try {
      return await this.to(await readInCompany(this.deps.store, this.ctx.tenant, contact));
    } catch (err) {
      if (!(err instanceof InvalidNumber)) throw err;
      return hangup(480);
    }
  }

  /**
   * The number shown on the public network: an outside caller's own number
   * (a forwarded call keeps it, with Diversion saying why), else the
   * dialling phone's caller ID, else the company's main number.
   */
  private async callerIdOutside(): Promise<Party> {
    const { caller } = this.ctx;
    if (caller.number.startsWith("+")) return caller;
    const phone = this.ctx.dialledBy ?? this.ctx.callerExtension;
    const number = phone?.callerId ?? (await this.main());
    return number ? { number, displayName: caller.displayName } : { number: "anonymous" };
  }

  private async main(): Promise<string | undefined> {
    if (this.mainNumber === undefined) {
      const numbers = await this.deps.store.numbers.list(this.ctx.tenant.name);
      this.mainNumber = numbers[0]?.number ?? null;
    }
    return this.mainNumber ?? undefined;
  }
}

function rulesOf(forwardings: Forwarding[]): Map<string, string> {
  return new Map(forwardings.map((f) => [f.kind, f.target]));
}

function voicemail(mailbox: string, reason: "busy" | "unavailable"): Step {
  return { kind: "app", name: "voicemail", args: mailbox, reason };
}

function hangup(status: number, announcement?: string, reason?: string): Step {
  return { kind: "hangup", status, announcement, reason };
}
