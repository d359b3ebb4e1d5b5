// The PBX: every request that reaches the UA core comes here and is sent on
// its way. REGISTER goes to the registrar; an INVITE from an authenticated
// phone either runs a feature app ("*72...") or rings an extension, with the
// extension's forwarding rules applied. Calls never cross tenants: the callee
// is looked up in the caller's tenant only.
import type { MediaPacer } from "../media/endpoint/index.ts";
import type { Dialog, IncomingInvite, UserAgent } from "../sip/dialog/index.ts";
import { createResponse, getHeader, newTag, type SipRequest } from "../sip/message/index.ts";
import type { ServerTransaction } from "../sip/transaction/index.ts";
import type { Extension, Store, Tenant } from "../store/types.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { type BridgeTarget, Hangup } from "./apps/call-control.ts";
import { type AppRegistry, dispatchFeatureCode } from "./apps/dispatcher.ts";
import { AppCall } from "./call/app-call.ts";
import { BridgedCall, type BridgedCallDeps } from "./call/bridged-call.ts";
import { CallRegistry, type CallView } from "./call/call-registry.ts";
import type { MediaLegs } from "./call/media-legs.ts";
import type { SpeechRenderer } from "./call/speech.ts";
import type { Registrar } from "./registrar/index.ts";
import { storedDestination } from "./routing/phone-number.ts";
import type { PhoneAuthenticator } from "./security/index.ts";

export interface PbxDeps {
  ua: UserAgent;
  store: Store;
  registrar: Registrar;
  auth: PhoneAuthenticator;
  media: MediaLegs;
  pacer: MediaPacer;
  speech: SpeechRenderer;
  apps: AppRegistry;
  clock: Clock;
  log: Logger;
  mediaTimeoutMs: number;
  /** Where recordings are made before an app files them. */
  recordDir: string;
}

type DialogHandler = (req: SipRequest, tx: ServerTransaction) => void;

/** How many forwardings one call may follow before we stop (A→B→A loops). */
const MAX_FORWARDS = 5;

/** The methods the PBX serves; the UA core's OPTIONS answer and 405s list the same. */
export const PBX_METHODS = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "UPDATE"];

export class Pbx {
  readonly calls = new CallRegistry();
  private readonly dialogs = new Map<Dialog, DialogHandler>();
  private accepting = true;

  constructor(private readonly deps: PbxDeps) {}

  start(): void {
    const { ua, log } = this.deps;
    ua.onInvite = (inv) => {
      this.onInvite(inv).catch((err) => {
        log.error({ err, callId: getHeader(inv.request, "Call-ID") }, "call failed unexpectedly");
        try {
          inv.reject(500);
        } catch {
          // already answered or gone
        }
      });
    };
    ua.onRequest = (req, tx) => {
      this.onRequest(req, tx).catch((err) => {
        log.error({ err, callId: getHeader(req, "Call-ID") }, "request failed unexpectedly");
        tx.respond(createResponse(req, 500));
      });
    };
    ua.onDialogRequest = (req, tx, dialog) => {
      const handler = this.dialogs.get(dialog);
      if (handler) handler(req, tx);
      else tx.respond(createResponse(req, 481));
    };
  }

  /** Stops taking calls and ends those in progress with BYE (SIGTERM). */
  async shutdown(): Promise<void> {
    this.accepting = false;
    await Promise.all(this.calls.all().map((c) => c.terminate("shutdown")));
  }

  callViews(): CallView[] {
    return this.calls.views();
  }

  private async onRequest(req: SipRequest, tx: ServerTransaction): Promise<void> {
    if (req.method === "REGISTER") {
      await this.deps.registrar.handle(req, tx);
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

  private async onInvite(inv: IncomingInvite): Promise<void> {
    const callId = getHeader(inv.request, "Call-ID");
    const log = this.deps.log.child({ callId });
    if (!this.accepting) {
      inv.reject(503, { headers: [{ name: "Retry-After", value: "30" }] });
      return;
    }
    const auth = await this.deps.auth.authenticate(inv.request, inv.remote, "proxy");
    if (!auth.ok) {
      inv.reject(auth.response.status, {
        reason: auth.response.reason,
        headers: auth.response.headers.filter(
          (h) => h.name === "Proxy-Authenticate" || h.name === "Retry-After",
        ),
      });
      return;
    }
    const { tenant, extension } = auth;
    const dialled = inv.request.uri.user ?? "";
    log.info({ tenant: tenant.name, from: extension.number, dialled }, "call");
    if (dialled.startsWith("*")) {
      const app = this.appCall(tenant, extension, dialled, inv, log);
      await dispatchFeatureCode(app, dialled, this.deps.apps);
      await app.hangup();
      return;
    }
    const call = this.bridgedCall(tenant, extension, inv, log);
    if (!(await call.prepare())) return;
    await this.ringExtension(call, tenant, dialled, 0);
  }

  /**
   * Rings one extension of the tenant, applying its forwarding rules:
   * unconditional first, then busy (already in a call, or declined), then
   * unreachable (no registered device, or none answering the signalling).
   */
  private async ringExtension(
    call: BridgedCall,
    tenant: Tenant,
    number: string,
    hops: number,
  ): Promise<void> {
    const { store, registrar } = this.deps;
    const callee = await store.extensions.get(tenant.name, number);
    if (!callee) return call.fail(404);
    const rules = new Map((await store.forwarding.list(tenant.name, number)).map((f) => [f.kind, f.target]));
    const forward = async (kind: "unconditional" | "busy" | "unreachable", otherwise: number) => {
      const target = rules.get(kind);
      if (!target || hops >= MAX_FORWARDS) return call.fail(otherwise);
      call.log.info({ from: number, to: target, kind }, "forwarding");
      return this.forwardTo(call, tenant, target, hops + 1);
    };
    if (rules.has("unconditional")) return forward("unconditional", 480);
    if (this.calls.isBusy(tenant.name, number)) return forward("busy", 486);
    const bindings = await registrar.lookup(tenant.name, number);
    if (bindings.length === 0) return forward("unreachable", 480);
    const outcome = await call.ring(
      { number, displayName: callee.displayName, domain: tenant.domain },
      bindings,
      callee.ringTimeoutSeconds * 1000,
    );
    switch (outcome.kind) {
      case "answered":
      case "caller-gone":
        return;
      case "busy":
        return forward("busy", 486);
      case "unreachable":
        return forward("unreachable", 480);
      case "no-answer":
        return call.fail(480, "No Answer");
      case "rejected":
        return call.fail(outcome.status);
    }
  }

  private async forwardTo(call: BridgedCall, tenant: Tenant, target: string, hops: number): Promise<void> {
    const destination = storedDestination(target);
    if (destination.kind === "extension") return this.ringExtension(call, tenant, destination.number, hops);
    call.log.warn({ target }, "forwarding to a public number needs a trunk, and none is configured");
    return call.fail(480, "No Trunk");
  }

  private bridgedCall(tenant: Tenant, extension: Extension, inv: IncomingInvite, log: Logger): BridgedCall {
    const call = new BridgedCall(
      tenant,
      inv,
      { number: extension.number, displayName: extension.displayName },
      this.bridgedDeps(log),
    );
    this.calls.add(call);
    return call;
  }

  private bridgedDeps(log: Logger): BridgedCallDeps {
    return {
      ua: this.deps.ua,
      media: this.deps.media,
      clock: this.deps.clock,
      log,
      mediaTimeoutMs: this.deps.mediaTimeoutMs,
      onEnded: (c) => this.calls.remove(c.id),
      bindDialog: (d, h) => this.dialogs.set(d, h),
      unbindDialog: (d) => this.unbind(d),
    };
  }

  private appCall(
    tenant: Tenant,
    extension: Extension,
    dialled: string,
    inv: IncomingInvite,
    log: Logger,
  ): AppCall {
    const call = new AppCall(tenant, extension, extension.number, dialled, inv, {
      ua: this.deps.ua,
      media: this.deps.media,
      pacer: this.deps.pacer,
      speech: this.deps.speech,
      store: this.deps.store,
      clock: this.deps.clock,
      log,
      recordDir: this.deps.recordDir,
      bindDialog: (d, h) => this.dialogs.set(d, h),
      unbindDialog: (d) => this.unbind(d),
      onEnded: (c) => this.calls.remove(c.id),
      bridge: (c, target) => this.bridgeApp(c, target),
    });
    this.calls.add(call);
    return call;
  }

  private unbind(dialog: Dialog): void {
    this.dialogs.delete(dialog);
    this.deps.ua.forget(dialog);
  }

  /**
   * An app hands its answered caller on (to an extension, or a number): the
   * caller's dialog and RTP leg move into a bridged call, which rings the
   * target with the caller's codec; the app's part of the call is over.
   */
  private async bridgeApp(app: AppCall, target: BridgeTarget): Promise<void> {
    const answered = app.detachForBridge();
    if (!answered) throw new Hangup("the call ended before the bridge");
    const call = new BridgedCall(
      app.tenant,
      undefined,
      { number: app.caller, displayName: app.extension?.displayName },
      this.bridgedDeps(app.log),
      answered,
    );
    this.calls.add(call);
    if (!(await call.prepare())) return;
    app.log.info({ target }, "app bridges the call");
    if (target.kind === "extension") return this.ringExtension(call, app.tenant, target.number, 0);
    return this.forwardTo(call, app.tenant, target.number, 0);
  }
}
