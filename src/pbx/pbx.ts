// The PBX: every request that reaches the UA core comes here and is sent on
// its way. REGISTER goes to the registrar. An INVITE from an authenticated
// phone, or from a carrier's trunk, becomes a call session, and the router
// gives it its steps one after another (ring, app, hangup) until one is
// final. Transfers (REFER) are routed the same way, as dialled by the
// transferor. Calls never cross tenants: a phone's call is routed in its
// own company, a trunk's call in the company that owns the number.
import type { MediaPacer } from "../media/endpoint/index.ts";
import { offersEncryptedMedia } from "../media/sdp/index.ts";
import type { Dialog, IncomingInvite, UserAgent, UserAgentDelegate } from "../sip/dialog/index.ts";
import { createResponse, getHeader, newTag, type SipRequest } from "../sip/message/index.ts";
import type { ServerTransaction } from "../sip/transaction/index.ts";
import { isEncrypted, type RemoteAddress } from "../sip/transport/types.ts";
import type { Extension, Store, Tenant, Trunk } from "../store/types.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { Hangup } from "./apps/call-control.ts";
import { type AppRegistry, dispatchFeatureCode } from "./apps/dispatcher.ts";
import { leaveMessage } from "./apps/voicemail/index.ts";
import { type CapRefusal, callCapRefusal } from "./call/call-caps.ts";
import type { CallHistoryRecorder, CallStart } from "./call/call-history.ts";
import { CallRegistry, type CallView } from "./call/call-registry.ts";
import { CallSession, type SessionDelegate, type Transfer } from "./call/call-session.ts";
import { dialogsOf, type ExtensionDialog, extensionsOf } from "./call/line-state.ts";
import type { MediaLegs } from "./call/media-legs.ts";
import type { SessionCallControl } from "./call/session-call-control.ts";
import type { SpeechRenderer } from "./call/speech.ts";
import {
  type AppStep,
  isFinal,
  type Outcome,
  type PickupStep,
  type Step,
  type Target,
} from "./call/steps.ts";
import type { Company } from "./company/company.ts";
import type { LiveFeed, LiveSource } from "./live/live-feed.ts";
import { MessageRelay } from "./messaging/message-relay.ts";
import { isSourceSubject, type PbxCounters, type PbxMetrics } from "./pbx-metrics.ts";
import type { Registrar } from "./registrar/index.ts";
import { watchForwarding } from "./routing/forwarding-settings.ts";
import { callerFromTrunk, findNumber } from "./routing/inbound.ts";
import { type RouteRequest, Router, type Routing } from "./routing/router.ts";
import type { PhoneAuthenticator } from "./security/index.ts";
import type { TrunkDirectory } from "./trunks/index.ts";
import type { Voicemail } from "./voicemail/voicemail.ts";

/** The event room as the PBX uses it (SUBSCRIBE in, lamps out): src/pbx/events. */
export interface PbxEvents {
  subscribe(
    req: SipRequest,
    tx: ServerTransaction,
    who: { tenant: Tenant; extension: Extension },
  ): Promise<void>;
  onDialogRequest(req: SipRequest, tx: ServerTransaction, dialog: Dialog): boolean;
  publishDialogs(tenant: string, extension: string, dialogs: ExtensionDialog[]): void;
}

export interface PbxDeps {
  ua: UserAgent;
  /** Mailboxes (src/pbx/voicemail). */
  voicemail: Voicemail;
  /** Subscriptions and lamps; without it SUBSCRIBE gets 489. */
  events?: PbxEvents;
  store: Store;
  registrar: Registrar;
  auth: PhoneAuthenticator;
  trunks: TrunkDirectory;
  media: MediaLegs;
  pacer: MediaPacer;
  speech: SpeechRenderer;
  apps: AppRegistry;
  /** The company's schedule, call flow and audio (the inbound flow, `*20`, `*11`, `*30`-`*33`). */
  company: Company;
  /** A request came from a known carrier: its TCP connection gets the idle timeout of an authenticated peer. */
  peerTrusted?(remote: RemoteAddress): void;
  /** The phone's own address behind a trusted proxy (see SessionDeps.sourceOf). */
  sourceOf?(req: SipRequest, remote: RemoteAddress): RemoteAddress;
  /** Overload control: a new call refused at once with 503 while the signalling thread lags. */
  overload?: { refusal(): { retryAfterSeconds: number } | undefined };
  clock: Clock;
  log: Logger;
  mediaTimeoutMs: number;
  /** Where recordings are made before an app files them. */
  recordDir: string;
  /**
   * The console's change notices (src/pbx/live): the PBX publishes its calls
   * and the forwarding changes made on its store, the API listens
   * (PbxView.live); closed by shutdown().
   */
  live?: LiveFeed;
  /** The call history: every call's record when it ends. Optional: none without it. */
  history?: CallHistoryRecorder;
  /** What /metrics reads (the media legs are metered with it). Optional: metrics() says less without it. */
  counters?: PbxCounters;
}

/** The methods the PBX serves; the UA core's OPTIONS answer and 405s list the same. */
export const PBX_METHODS = [
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "REGISTER",
  "INFO",
  "UPDATE",
  "REFER",
  "NOTIFY",
];

/** Seconds a phone over its company's call cap is told to wait (Retry-After). */
const CAP_RETRY_AFTER_SECONDS = 30;

/** Who calls (a phone or a trunk's caller) and what was dialled (a trunk call: its DID). */
interface CallFrom {
  extension?: Extension;
  trunk?: Trunk;
  dialled: string;
}

/** How a routing ended, for the transferor's NOTIFY. */
interface Driven {
  answered: boolean;
  status: number;
  reason?: string;
}

export class Pbx implements SessionDelegate, UserAgentDelegate {
  readonly calls = new CallRegistry<CallSession>();
  private readonly dialogs = new Map<Dialog, CallSession>();
  private readonly router: Router;
  private readonly messages: MessageRelay;
  private accepting = true;
  /** The media legs of every call, metered for /metrics when counters are given. */
  private readonly media: MediaLegs;
  private readonly unwatchForwarding: (() => void) | undefined;

  constructor(private readonly deps: PbxDeps) {
    this.media = deps.counters ? deps.counters.meteredMediaLegs(deps.media) : deps.media;
    this.router = new Router({
      store: deps.store,
      devices: (tenant, extension) => this.devices(tenant, extension),
      trunkFor: (tenant) => deps.trunks.forTenant(tenant),
      callsOf: (tenant, extension) => this.calls.callsOf(tenant, extension),
      mailboxOpen: async (tenant, extension) => (await deps.voicemail.open(tenant, extension)) !== undefined,
      outsideCallsOf: (tenant) => this.calls.ofTenant(tenant).filter((c) => c.usesTrunk()).length,
      company: deps.company,
      now: () => deps.clock.now(),
      log: deps.log,
    });
    this.messages = new MessageRelay({
      ua: deps.ua,
      store: deps.store,
      devices: (tenant, extension) => this.devices(tenant, extension),
      log: deps.log,
    });
    const live = deps.live;
    // *72... and the API both write through forwarding-settings.ts, on this store.
    this.unwatchForwarding = live
      ? watchForwarding(deps.store, (tenant, extension) =>
          live.publish({ type: "forwarding", tenant, extension }),
        )
      : undefined;
  }

  private async devices(tenant: string, extension: string) {
    const now = this.deps.clock.now();
    return (await this.deps.registrar.lookup(tenant, extension)).filter((b) => b.expiresAt > now);
  }

  // --- UserAgentDelegate: what the UA core hands up ------------------------

  /** A new INVITE: a call from a phone or a trunk. A failure is logged and answered 500 while it can be. */
  onInvite(inv: IncomingInvite): void {
    this.guard(
      inv.request,
      () => this.serveInvite(inv),
      () => inv.pending && inv.reject(500),
    );
  }

  /** A request outside a dialog (REGISTER...). A failure is logged and answered 500. */
  onRequest(req: SipRequest, tx: ServerTransaction): void {
    this.guard(
      req,
      () => this.serveRequest(req, tx),
      () => tx.respond(createResponse(req, 500)),
    );
  }

  /**
   * A request inside a dialog goes to the session that owns the dialog, or
   * to the event hub for a subscription; 481 when nobody does (§12.2.2).
   */
  onDialogRequest(req: SipRequest, tx: ServerTransaction, dialog: Dialog): void {
    const session = this.dialogs.get(dialog);
    if (session) session.onRequest(dialog, req, tx);
    else if (!this.deps.events?.onDialogRequest(req, tx, dialog)) tx.respond(createResponse(req, 481));
  }

  /** Runs a request handler; a failure is logged with the Call-ID and answered with 500. */
  private guard(req: SipRequest, work: () => Promise<void>, fail: () => void): void {
    work().catch((err: unknown) => {
      this.deps.log.error({ err, callId: getHeader(req, "Call-ID") }, "request failed unexpectedly");
      try {
        fail();
      } catch (answerErr) {
        this.deps.log.warn({ err: answerErr, callId: getHeader(req, "Call-ID") }, "could not answer 500");
      }
    });
  }

  /** Stops taking calls and ends those in progress with BYE (SIGTERM); the consoles' live streams end. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    this.unwatchForwarding?.();
    this.deps.live?.close();
    await Promise.all(this.calls.all().map((c) => c.terminate("shutdown")));
  }

  callViews(): CallView[] {
    return this.calls.views();
  }

  /** A snapshot for /metrics: registrations and calls by tenant, counters since the start. */
  async metrics(): Promise<PbxMetrics> {
    const { store, clock, counters } = this.deps;
    const now = clock.now();
    const [tenants, bindings, blocks] = await Promise.all([
      store.tenants.list(),
      store.bindings.listAll(),
      store.authBlocks.active(now),
    ]);
    const registrations = new Map<string, number>(tenants.map((t) => [t.name, 0]));
    for (const b of bindings) {
      if (b.expiresAt > now) registrations.set(b.tenant, (registrations.get(b.tenant) ?? 0) + 1);
    }
    const inProgress = new Map<string, number>();
    for (const c of this.calls.all()) inProgress.set(c.tenant.name, (inProgress.get(c.tenant.name) ?? 0) + 1);
    const sources = blocks.filter((b) => isSourceSubject(b.subject)).length;
    return {
      registrations: [...registrations].map(([tenant, count]) => ({ tenant, count })),
      callsInProgress: [...inProgress].map(([tenant, count]) => ({ tenant, count })),
      callsEnded: counters?.callsEnded() ?? [],
      sipErrorResponses: counters?.sipErrorResponses() ?? [],
      rtp: counters?.rtp() ?? { received: 0, sent: 0, lost: 0, dropped: { foreign: 0, invalid: 0, srtp: 0 } },
      authFailures: counters?.authFailures ?? 0,
      authBlocks: { sources, accounts: blocks.length - sources },
    };
  }

  /** The console's change notices, for the API's server-sent events (PbxView.live). */
  live(): LiveSource | undefined {
    return this.deps.live;
  }

  /** The console hears that the company's calls changed, and which extensions they concern. */
  private callsChanged(tenant: string, extensions: Iterable<string>): void {
    this.deps.live?.publish({ type: "calls", tenant, extensions: [...extensions] });
  }

  private async serveRequest(req: SipRequest, tx: ServerTransaction): Promise<void> {
    if (req.method === "REGISTER") {
      await this.deps.registrar.handle(req, tx);
      return;
    }
    if (req.method === "MESSAGE" || req.method === "SUBSCRIBE" || req.method === "PUBLISH") {
      await this.fromPhone(req, tx);
      return;
    }
    // §8.2.6.2: a final response outside a dialog carries a To tag of ours.
    tx.respond(
      createResponse(req, 405, undefined, {
        toTag: newTag(),
        headers: [{ name: "Allow", value: PBX_METHODS.join(", ") }],
      }),
    );
  }

  /**
   * What a phone sends besides calls and REGISTER: chat (MESSAGE), lamps
   * (SUBSCRIBE) and its own presence (PUBLISH). Authenticated like a
   * REGISTER (401, the same failure counting), in the phone's own company.
   */
  private async fromPhone(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const auth = await this.deps.auth.authenticate(req, tx.remote, "www");
    if (!auth.ok) {
      tx.respond(auth.response);
      return;
    }
    const { tenant, extension } = auth;
    switch (req.method) {
      case "MESSAGE":
        await this.messages.relay(req, tx, tenant, extension);
        return;
      case "SUBSCRIBE":
        if (this.deps.events) await this.deps.events.subscribe(req, tx, { tenant, extension });
        else tx.respond(createResponse(req, 489, undefined, { toTag: newTag() }));
        return;
      default: {
        // RFC 3903: a phone's own presence document. The PBX derives presence from
        // registrations and calls; the PUBLISH is taken (so the phone stops retrying) and not kept.
        // Expires: 0 withdraws the document (a phone shutting down): it is answered 0.
        const asked = Number(getHeader(req, "Expires") ?? 3600);
        const expires = Number.isFinite(asked) && asked >= 0 ? Math.min(Math.floor(asked), 3600) : 3600;
        tx.respond(
          createResponse(req, 200, undefined, {
            toTag: newTag(),
            headers: [
              { name: "SIP-ETag", value: newTag() },
              { name: "Expires", value: String(expires) },
            ],
          }),
        );
      }
    }
  }

  private async serveInvite(inv: IncomingInvite): Promise<void> {
    const callId = getHeader(inv.request, "Call-ID");
    const log = this.deps.log.child({ callId });
    if (!this.accepting) {
      inv.reject(503, { headers: [{ name: "Retry-After", value: "30" }] });
      return;
    }
    // Before any store read or digest check: a refusal must cost next to
    // nothing, and the calls already taken keep the thread (RFC 7339 §5).
    const overloaded = this.deps.overload?.refusal();
    if (overloaded) {
      // Sent once (the sender has not authenticated: no amplification, and
      // an overloaded PBX has better to do than Timer G's repeats).
      log.warn({ retryAfter: overloaded.retryAfterSeconds }, "new call refused: overloaded");
      inv.tx.respond(
        createResponse(inv.request, 503, "Overloaded", {
          toTag: inv.localTag,
          headers: [{ name: "Retry-After", value: String(overloaded.retryAfterSeconds) }],
        }),
        { retransmit: false },
      );
      return;
    }
    const trunk = await this.deps.trunks.trunkFrom(inv.remote.address);
    if (trunk) {
      // The carrier is known by its address: its TCP connection is kept like an authenticated phone's.
      this.deps.peerTrusted?.(inv.remote);
      return this.fromTrunk(inv, trunk, log);
    }
    const auth = await this.deps.auth.authenticate(inv.request, inv.remote, "proxy");
    if (!auth.ok) {
      // No amplification toward a sender that has not authenticated (its Via
      // may name a victim): the challenge goes out once, without Timer G's ten
      // repeats (RFC 3261 §17.2.1); a phone whose 407 was lost retransmits its
      // INVITE and the transaction answers it again.
      inv.tx.respond(
        createResponse(inv.request, auth.response.status, auth.response.reason, {
          toTag: inv.localTag,
          headers: auth.response.headers.filter(
            (h) => h.name === "Proxy-Authenticate" || h.name === "Retry-After",
          ),
        }),
        { retransmit: false },
      );
      return;
    }
    const { tenant, extension } = auth;
    const dialled = inv.request.uri.user ?? "";
    log.info({ tenant: tenant.name, from: extension.number, dialled }, "call");
    if (tenant.requireEncryption && !encryptedCall(inv)) {
      log.warn(
        { tenant: tenant.name, from: extension.number, transport: inv.remote.transport },
        "plain call refused: the company requires encryption",
      );
      inv.reject(403, { reason: "Encryption Required (SIP over TLS and SRTP)" });
      this.deps.history?.refused(this.callStart(inv, tenant, { extension, dialled }), 403);
      return;
    }
    // Checked and counted with no await in between: two INVITEs cannot both take the last place.
    const over = callCapRefusal(this.calls, tenant, { extension, dialled });
    if (over) return this.refuseOverCap(inv, over, tenant, log, { extension, dialled });
    const session = this.open(inv, tenant, log, { extension, dialled });
    if (!(await session.prepare())) return;
    const routing = this.router.begin({
      tenant,
      caller: { number: extension.number, displayName: extension.displayName || undefined },
      callerExtension: extension,
      log,
    });
    await this.drive(session, routing, { kind: "dialled", text: dialled });
  }

  /** A call from the public network: the number dialled (a DID) says whose it is and where it goes. */
  private async fromTrunk(inv: IncomingInvite, trunk: Trunk, log: Logger): Promise<void> {
    const dialled = inv.request.uri.user ?? "";
    const did = await findNumber(this.deps.store, dialled);
    if (!did) {
      log.info({ trunk: trunk.name, dialled }, "trunk call to a number of no company");
      inv.reject(404);
      return;
    }
    const tenant = await this.deps.store.tenants.get(did.tenant);
    if (!tenant) {
      inv.reject(404);
      return;
    }
    const caller = callerFromTrunk(inv.request, tenant.country);
    log.info({ trunk: trunk.name, tenant: tenant.name, did: did.number, from: caller.number }, "trunk call");
    const over = callCapRefusal(this.calls, tenant);
    if (over) return this.refuseOverCap(inv, over, tenant, log, { trunk, dialled: did.number });
    const session = this.open(inv, tenant, log, { trunk, dialled: did.number });
    if (!(await session.prepare())) return;
    const routing = this.router.begin({ tenant, caller, log });
    await this.drive(session, routing, { kind: "destination", destination: did.destination });
  }

  /**
   * A new call over a cap (call-caps.ts). A phone over its company's cap
   * hears 503 with Retry-After (RFC 3261 §21.5.4: the PBX is overloaded for
   * this company, try later); a phone over its own cap, and a caller from the
   * trunk, hear busy (486): toward a carrier a 503 could make it fail over
   * or mark the trunk down for every company.
   */
  private refuseOverCap(
    inv: IncomingInvite,
    over: CapRefusal,
    tenant: Tenant,
    log: Logger,
    caller: CallFrom,
  ): void {
    const from = caller.trunk ? "trunk" : "phone";
    this.deps.history?.refused(
      this.callStart(inv, tenant, caller),
      over.scope === "company" && from === "phone" ? 503 : 486,
    );
    if (over.scope === "company") {
      log.warn({ tenant: tenant.name, cap: over.cap, calls: over.calls, from }, "company at its call cap");
      if (from === "phone") {
        inv.reject(503, {
          reason: "Too Many Calls",
          headers: [{ name: "Retry-After", value: String(CAP_RETRY_AFTER_SECONDS) }],
        });
      } else inv.reject(486);
      return;
    }
    log.info({ tenant: tenant.name, cap: over.cap, calls: over.calls }, "extension at its call cap");
    inv.reject(486);
  }

  /** What the call history knows of a call as it starts. */
  private callStart(inv: IncomingInvite, tenant: Tenant, from: CallFrom): CallStart {
    return {
      tenant: tenant.name,
      callId: getHeader(inv.request, "Call-ID") ?? "",
      caller: from.extension
        ? { number: from.extension.number, displayName: from.extension.displayName || undefined }
        : callerFromTrunk(inv.request, tenant.country),
      dialled: from.dialled,
      callerExtension: from.extension?.number,
      trunk: from.trunk?.name,
    };
  }

  private open(inv: IncomingInvite, tenant: Tenant, log: Logger, from: CallFrom): CallSession {
    const caller = from.extension
      ? { number: from.extension.number, displayName: from.extension.displayName || undefined }
      : callerFromTrunk(inv.request, tenant.country);
    const session = new CallSession(
      {
        tenant,
        inv,
        caller,
        callerExtension: from.extension,
        callerTrunk: from.trunk,
        log,
        observer: this.deps.history?.observe(this.callStart(inv, tenant, from)),
      },
      {
        ua: this.deps.ua,
        voicemail: this.deps.voicemail,
        company: this.deps.company,
        media: this.media,
        pacer: this.deps.pacer,
        speech: this.deps.speech,
        store: this.deps.store,
        clock: this.deps.clock,
        mediaTimeoutMs: this.deps.mediaTimeoutMs,
        recordDir: this.deps.recordDir,
        sourceOf: this.deps.sourceOf,
      },
      this,
    );
    this.calls.add(session);
    this.callsChanged(tenant.name, extensionsOf(session));
    return session;
  }

  /**
   * Runs the router's steps on the session until one is final: every
   * outcome that is not goes back to the router for the next step.
   */
  private async drive(
    session: CallSession,
    routing: Routing,
    request: RouteRequest,
    opts: { keepOnFailure?: boolean } = {},
  ): Promise<Driven> {
    let step: Step | undefined = await routing.first(request);
    let last: Driven = { answered: false, status: 480 };
    while (step && !session.isEnded) {
      session.log.info({ step: describeStep(step) }, "step");
      if (step.kind === "hangup") {
        last = { answered: false, status: step.status, reason: step.reason };
        // A transfer's failure is the transferor's to hear about, not a reason to end the call.
        if (opts.keepOnFailure) return last;
      }
      const outcome: Outcome = await session.run(step);
      if (outcome.kind === "answered") return { answered: true, status: 200 };
      if (outcome.kind === "rejected")
        last = { answered: false, status: outcome.status, reason: outcome.reason };
      if (isFinal(outcome)) break;
      step = await routing.next(outcome);
    }
    // An app that returned without handing its caller on leaves nothing to talk to.
    if (!opts.keepOnFailure && !session.isEnded && !session.callee)
      await session.terminate("nothing more to do");
    return last;
  }

  // --- SessionDelegate ------------------------------------------------------

  async runApp(session: CallSession, step: AppStep, control: SessionCallControl): Promise<Outcome> {
    try {
      if (step.name === "feature-code") await dispatchFeatureCode(control, step.args, this.deps.apps);
      else await leaveMessage(control, step.args, step.reason ?? "unavailable");
    } catch (err) {
      if (!(err instanceof Hangup)) throw err;
    }
    if (control.bridgedTo) return { kind: "bridge", target: control.bridgedTo };
    return session.isEnded ? { kind: "caller-gone" } : { kind: "done" };
  }

  bindDialog(dialog: Dialog, session: CallSession): void {
    this.dialogs.set(dialog, session);
  }

  unbindDialog(dialog: Dialog): void {
    this.dialogs.delete(dialog);
    this.deps.ua.forget(dialog);
  }

  ended(session: CallSession): void {
    this.calls.remove(session.id);
    this.callsChanged(session.tenant.name, extensionsOf(session));
  }

  /** Desk phones' lamps follow the calls: every extension the call concerns, before and now. */
  changed(session: CallSession): void {
    const events = this.deps.events;
    const now = session.isEnded ? [] : extensionsOf(session);
    const before = this.calls.involve(session.id, now);
    const lines = new Set([...before, ...now]);
    // Ringing, answered, transferred, picked up, ended: what the calls page shows.
    this.callsChanged(session.tenant.name, lines);
    if (!events) return;
    for (const extension of lines) {
      events.publishDialogs(
        session.tenant.name,
        extension,
        dialogsOf(this.calls.involving(session.tenant.name, extension), session.tenant.name, extension),
      );
    }
  }

  /**
   * Call pickup: the oldest call ringing at the extension (directed, a BLF
   * key's `**101`, any extension of the company), or at another extension of
   * the picker's pickup group (group, `*8`), is joined to the picker.
   * Groups are read from the store now, not from the session's copy, so
   * that a change through the API counts from the next pickup on.
   */
  async pickup(session: CallSession, step: PickupStep): Promise<Outcome> {
    const picker = session.callerExtensionNow();
    const pickable = (c: CallSession) =>
      c !== session &&
      c.tenant.name === session.tenant.name &&
      !c.isEnded &&
      c.state !== "answered" &&
      c.callerExtensionNow() !== picker;
    let ringing = this.calls
      .all()
      .filter(
        (c) =>
          pickable(c) &&
          (step.extension
            ? c.ringingExtensions.includes(step.extension)
            : c.ringingExtensions.some((e) => e !== picker)),
      );
    if (!step.extension && ringing.length > 0) {
      // Group pickup: only calls ringing another extension of the picker's
      // group. An extension without a group is in the company's default
      // group (undefined); one gone from the store meanwhile is in none.
      // Each extension is read once per pickup.
      const gone = Symbol("no such extension");
      const groups = new Map<string, Promise<string | undefined | typeof gone>>();
      const groupOf = (number: string) => {
        let group = groups.get(number);
        if (!group) {
          group = this.deps.store.extensions
            .get(session.tenant.name, number)
            .then((e) => (e ? e.pickupGroup : gone));
          groups.set(number, group);
        }
        return group;
      };
      // A caller that is no phone of the company (it cannot dial *8) counts in the default group.
      const own = picker === undefined ? undefined : await groupOf(picker);
      const keep = await Promise.all(
        ringing.map(async (c) => {
          if (own === gone) return false;
          for (const e of c.ringingExtensions) {
            if (e !== picker && (await groupOf(e)) === own) return true;
          }
          return false;
        }),
      );
      // The store answered asynchronously: a call may have been answered or ended meanwhile.
      ringing = ringing.filter((c, i) => keep[i] && pickable(c));
    }
    const call = ringing.sort((a, b) => a.startedAt - b.startedAt)[0];
    if (!call) {
      session.log.info({ extension: step.extension ?? "group" }, "pickup: nothing ringing");
      return { kind: "rejected", status: 480, reason: "Nothing To Pick Up" };
    }
    session.log.info({ picked: call.id, extension: step.extension ?? "group" }, "pickup");
    return session.pickUp(call);
  }

  async remoteOf(target: Target): Promise<RemoteAddress> {
    if (target.kind === "device") {
      const s = target.binding.source;
      return { transport: s.transport, address: s.address, port: s.port };
    }
    return this.deps.trunks.remoteOf(target.trunk);
  }

  transfer(session: CallSession, transfer: Transfer): void {
    this.carryOut(session, transfer).catch((err: unknown) => {
      session.log.error({ err }, "transfer failed unexpectedly");
      transfer.progress(500);
    });
  }

  /**
   * Blind transfer: the transferee is routed to the Refer-To as if the
   * transferor had dialled it (its company's policy, its caller ID toward
   * the carrier). Attended transfer (Refer-To with Replaces, RFC 3891): the
   * transferee is joined to the party of the transferor's other call.
   */
  private async carryOut(session: CallSession, transfer: Transfer): Promise<void> {
    const uri = transfer.referTo.uri;
    const replacesKey = Object.keys(uri.headers).find((k) => k.toLowerCase() === "replaces");
    if (replacesKey) return this.join(session, transfer, uri.headers[replacesKey]!);
    const text = uri.user ?? "";
    const transferor = transfer.transferor.extension
      ? await this.deps.store.extensions.get(session.tenant.name, transfer.transferor.extension)
      : undefined;
    if (!transferor) {
      // Only the company's phones may transfer: a carrier's REFER would be toll fraud.
      transfer.progress(403, "Forbidden");
      return;
    }
    transfer.handOver();
    const routing = this.router.begin({
      tenant: session.tenant,
      caller: transfer.transferee.party,
      dialledBy: transferor,
      seen: transfer.transferee.extension ? [transfer.transferee.extension] : [],
      log: session.log,
    });
    const result = await this.drive(session, routing, { kind: "dialled", text }, { keepOnFailure: true });
    // RFC 5589 §6.1: a transfer that fails leaves the transferor its call; then NOTIFY says why.
    if (!result.answered && !transfer.restore() && !session.isEnded)
      await session.terminate("transfer failed");
    transfer.progress(result.status, result.reason);
  }

  private async join(session: CallSession, transfer: Transfer, replaces: string): Promise<void> {
    const [callId, ...params] = replaces.split(";").map((s) => s.trim());
    const tag = (name: string) =>
      params.find((p) => p.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1);
    const toTag = tag("to-tag");
    const fromTag = tag("from-tag");
    let found: { dialog: Dialog; session: CallSession } | undefined;
    for (const [dialog, owner] of this.dialogs) {
      if (dialog.callId !== callId || owner === session) continue;
      // From the transferor's side: to-tag is ours, from-tag its own; accept them the other way round too.
      const ours =
        (dialog.localTag === toTag && dialog.remoteTag === fromTag) ||
        (dialog.localTag === fromTag && dialog.remoteTag === toTag);
      if (ours) found = { dialog, session: owner };
    }
    const other = found?.session;
    const replaced = found && other?.legOf(found.dialog);
    // Only the transferor's own call, in its own company, can be joined: a
    // guessed or leaked Call-ID must not let a phone take over someone else's call.
    const own =
      other?.tenant.name === session.tenant.name &&
      replaced?.extension !== undefined &&
      replaced.extension === transfer.transferor.extension;
    const joining = replaced && (other!.caller === replaced ? other!.callee : other!.caller);
    if (!found || !other || !replaced || !own || !joining?.dialog || other.state !== "answered") {
      session.log.info({ replaces }, "attended transfer: no answered call to join");
      transfer.progress(481, "Call Does Not Exist");
      return;
    }
    transfer.handOver();
    if (!(await session.adopt(joining, other))) {
      transfer.progress(488, "Not Acceptable Here");
      await session.terminate("attended transfer failed");
      return;
    }
    transfer.progress(200, "OK");
    // RFC 3891 §3: the replaced dialog ends.
    await other.terminate("replaced by a transfer");
  }
}

function describeStep(step: Step): string {
  switch (step.kind) {
    case "ring":
      return `ring ${step.callee.number} (${step.targets.length} target${step.targets.length === 1 ? "" : "s"})`;
    case "app":
      return `app ${step.name}`;
    case "hangup":
      return `hangup ${step.status}${step.announcement ? ` after ${step.announcement}` : ""}`;
    case "pickup":
      return `pickup ${step.extension ?? "group"}`;
    case "play":
      return "play";
  }
}

/** Signalling over TLS or WSS, and media offered encrypted (SRTP or DTLS-SRTP). */
function encryptedCall(inv: IncomingInvite): boolean {
  return isEncrypted(inv.remote.transport) && offersEncryptedMedia(inv.request.body.toString("utf8"));
}
