// One call through the PBX, from the caller's INVITE to the last BYE: the
// caller's leg (dialog, SDP, RTP), the party it is bridged to, and the steps
// the router gives it (ring, app, hangup). The session answers the caller
// when a step needs it, relays in-dialog requests between the two sides
// (hold, DTMF by INFO, BYE), and hands a transfer (REFER, RFC 3515) to its
// delegate, the PBX, which routes the transfer target like any call.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseDtmfInfo } from "../../media/dtmf/index.ts";
import { MediaClosedError, MediaEndpoint, type MediaPacer } from "../../media/endpoint/index.ts";
import { RtpRelay } from "../../media/rtp/index.ts";
import type { MediaLeg } from "../../media/rtp/media-leg.ts";
import {
  type G711Codec,
  isHold,
  type MediaDescription,
  readOffer,
  SdpError,
  SdpSession,
} from "../../media/sdp/index.ts";
import {
  isWebRtcSdp,
  readWebRtcOffer,
  type WebRtcFailure,
  WebRtcSdpSession,
  type WebRtcTransport,
} from "../../media/webrtc/index.ts";
import type { Dialog, IncomingInvite, UserAgent } from "../../sip/dialog/index.ts";
import {
  createResponse,
  formatNameAddr,
  getContentType,
  getHeader,
  type HeaderField,
  type NameAddr,
  parseNameAddr,
  parseUri,
  reasonPhrase,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import type { ServerTransaction } from "../../sip/transaction/index.ts";
import { isEncrypted, type RemoteAddress } from "../../sip/transport/types.ts";
import type { Extension, Store, Tenant, Trunk } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { Company } from "../company/company.ts";
import type { Voicemail } from "../voicemail/voicemail.ts";
import type { CallObserver } from "./call-observer.ts";
import type { ActiveCall, CallView } from "./call-registry.ts";
import { ForkSet } from "./forks.ts";
import { Leg } from "./leg.ts";
import type { LineView } from "./line-state.ts";
import type { MediaLegs } from "./media-legs.ts";
import { SessionCallControl } from "./session-call-control.ts";
import { canMove, IllegalTransition, type SessionState } from "./session-state.ts";
import type { SpeechRenderer } from "./speech.ts";
import {
  type AppStep,
  type HangupStep,
  needsAnswer,
  type Outcome,
  type Party,
  type PickupStep,
  type PlayStep,
  type RingStep,
  type Step,
  type Target,
  type WaitingMedia,
} from "./steps.ts";
import { targetInvite } from "./target-invite.ts";
import { RINGBACK, WaitingPlayer } from "./waiting-media.ts";

const SDP = "application/sdp";

export interface SessionDeps {
  ua: UserAgent;
  voicemail: Voicemail;
  company: Company;
  media: MediaLegs;
  pacer: MediaPacer;
  speech: SpeechRenderer;
  store: Store;
  clock: Clock;
  mediaTimeoutMs: number;
  /** Where recordings are made before an app files them. */
  recordDir: string;
  /**
   * Who sent a request: its source, or behind a trusted proxy (Kamailio)
   * the phone's own address from the Via below the proxy's. Default: the source.
   */
  sourceOf?(req: SipRequest, remote: RemoteAddress): RemoteAddress;
}

/**
 * What the session hands up to the PBX (SIP.js's UserAgentCoreDelegate in
 * spirit): given once at construction, never overwritten.
 */
export interface SessionDelegate {
  /** Runs an app step over the given CallControl; resolves with what the app ended with. */
  runApp(session: CallSession, step: AppStep, control: SessionCallControl): Promise<Outcome>;
  /** A party asked to transfer the other one (REFER): already answered 202 by the session. */
  transfer(session: CallSession, request: Transfer): void;
  /** The session's dialogs: requests inside them are handed to the session. */
  bindDialog(dialog: Dialog, session: CallSession): void;
  /** Where a target's INVITE goes (a device's registered source, a trunk's resolved address). */
  remoteOf(target: Target): Promise<RemoteAddress>;
  unbindDialog(dialog: Dialog): void;
  ended(session: CallSession): void;
  /** Something desk phones show changed: ringing started or stopped, answered, transferred, ended. */
  changed(session: CallSession): void;
  /** A pickup step: joins this caller to a call ringing elsewhere, if there is one. */
  pickup(session: CallSession, step: PickupStep): Promise<Outcome>;
}

/** A REFER accepted by the session, for the PBX to carry out. */
export interface Transfer {
  /** The party that asked (it leaves the call). */
  transferor: Leg;
  /** The party that is handed on. */
  transferee: Leg;
  /** The Refer-To, parsed. */
  referTo: NameAddr;
  /** Tells the transferor how it went (NOTIFY with a sipfrag, RFC 3515 §2.4.5). */
  progress(status: number, reason?: string): void;
  /** The transferor leaves the call, the transferee waits for what comes next. */
  handOver(): void;
  /** After handOver, joins the two again (a failed blind transfer); false when one of them is gone. */
  restore(): boolean;
}

export interface SessionInit {
  tenant: Tenant;
  inv: IncomingInvite;
  caller: Party;
  /** The calling phone, when the caller is one of the tenant's extensions. */
  callerExtension?: Extension;
  /** The caller's trunk, when the call came from the public network. */
  callerTrunk?: Trunk;
  log: Logger;
  /** Told what the call does (the call history); never waited for. */
  observer?: CallObserver;
}

export class CallSession implements ActiveCall, LineView {
  readonly id = randomUUID();
  readonly tenant: Tenant;
  readonly log: Logger;
  readonly startedAt: number;
  /** Where the calling phone called from ("udp:203.0.113.5:5062"), for the audit log. */
  readonly callerSource: string;
  answeredAt: number | undefined;
  private stateValue: SessionState = "offered";
  /** The party the session serves; swapped with `callee` when the caller transfers. */
  caller: Leg | undefined;
  callee: Leg | undefined;
  /** The calling phone (for apps and policy). */
  readonly callerExtension: Extension | undefined;
  private inv: IncomingInvite | undefined;
  private readonly offer: string;
  private relay: RtpRelay | undefined;
  private endpoint: MediaEndpoint | undefined;
  /** Music or ringback and the waiting announcement for a caller of the inbound flow (on `endpoint`). */
  private waitingPlayer: WaitingPlayer | undefined;
  private forks: ForkSet | undefined;
  /** Legs that left the call (a transferor) but whose dialog still owes us its BYE. */
  private readonly leaving = new Set<Leg>();
  private calleeParty: Party | undefined;
  private earlyMedia = false;
  private ringingTrunk = false;
  /** Who calls, until the caller's leg exists (prepare). */
  private readonly pendingCaller: Pick<Leg, "party" | "extension" | "trunk">;
  /** Extensions whose devices this call rings now (BLF keys blink, pickup may take it). */
  ringingExtensions: string[] = [];
  private readonly observer: CallObserver | undefined;

  constructor(
    init: SessionInit,
    private readonly deps: SessionDeps,
    private readonly delegate: SessionDelegate,
  ) {
    this.tenant = init.tenant;
    this.inv = init.inv;
    this.log = init.log;
    this.callerExtension = init.callerExtension;
    this.observer = init.observer;
    this.startedAt = deps.clock.now();
    // The phone's own address, also behind a proxy: what a PIN lockout and
    // the audit log name (not the proxy's, which every phone shares).
    const r = deps.sourceOf?.(init.inv.request, init.inv.remote) ?? init.inv.remote;
    // A trunk's address is the carrier's, shared by every outside caller: never
    // something to lock out or hand to fail2ban, so it is not given as the source.
    this.callerSource = init.callerTrunk
      ? `trunk:${init.callerTrunk.name}`
      : `${r.transport.toLowerCase()}:${r.address}:${r.port}`;
    this.offer = init.inv.request.body.toString("utf8");
    this.pendingCaller = {
      party: init.caller,
      extension: init.callerExtension?.number,
      trunk: init.callerTrunk,
    };
    init.inv.onCancel = () => {
      this.log.info("caller cancelled");
      this.background(this.finish("caller cancelled"), "finish");
    };
    init.inv.onAckTimeout = () => {
      this.log.warn("caller never acknowledged the answer");
      this.background(this.terminate("no ACK"), "terminate");
    };
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get isEnded(): boolean {
    return this.stateValue === "ended";
  }

  /** The calling party's extension now (after a transfer: the transferee's), if it is a phone of the company. */
  callerExtensionNow(): string | undefined {
    return this.caller ? this.caller.extension : this.pendingCaller.extension;
  }

  /** The connected party now, if any. */
  calleeNow(): { extension?: string; party: Party } | undefined {
    return this.callee ? { extension: this.callee.extension, party: this.callee.party } : undefined;
  }

  /** The caller as shown (its number and name). */
  get callerParty(): Party {
    return this.caller?.party ?? this.pendingCaller.party;
  }

  private move(to: SessionState): void {
    if (!canMove(this.stateValue, to)) throw new IllegalTransition(this.stateValue, to);
    this.stateValue = to;
  }

  /**
   * Checks the caller's offer and opens the caller's RTP port. Answers the
   * caller itself (488, 503) and returns false when the call cannot go on.
   */
  async prepare(): Promise<boolean> {
    const inv = this.inv!;
    if (this.offer.length === 0 || getContentType(inv.request) !== SDP) {
      // A delayed offer (RFC 3261 §13.2.1) would need us to offer first; no phone of ours needs it.
      inv.reject(488, { reason: "SDP offer required" });
      await this.finish("no offer");
      return false;
    }
    let media: MediaDescription;
    // SDES keys are taken only over an encrypted hop (RFC 4568 §8.3): the
    // caller's leg may be SRTP when its INVITE came over TLS or WSS.
    const srtp = isEncrypted(inv.remote.transport) ? "accept" : "off";
    // A browser's offer (UDP/TLS/RTP/SAVPF, ICE, a fingerprint: RFC 8829)
    // gets a browser leg, which terminates its ICE, DTLS and SRTP.
    const browser = isWebRtcSdp(this.offer);
    try {
      media = browser ? readWebRtcOffer(this.offer).media : readOffer(this.offer, srtp !== "off");
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.log.info({ err: err.message }, "offer not acceptable");
      inv.reject(488, { reason: "Not Acceptable Here" });
      await this.finish("offer not acceptable");
      return false;
    }
    const rtp = browser ? await this.allocateBrowser() : await this.allocate();
    if (!rtp) {
      inv.reject(503, { reason: "No Media Ports" });
      await this.finish("no RTP ports");
      return false;
    }
    if (this.isEnded) {
      // The caller cancelled while the port was being opened.
      this.deps.media.release(rtp);
      return false;
    }
    const { party, extension, trunk } = this.pendingCaller;
    this.caller = new Leg(
      rtp,
      browser
        ? this.browserSdp(rtp as WebRtcTransport)
        : new SdpSession(this.deps.media.address, rtp.localPort, { srtp }),
      party,
      extension,
      trunk,
    );
    this.caller.media = media;
    this.applyMedia(this.caller, media);
    return true;
  }

  /** Runs one step of the router's and says how it ended. */
  async run(step: Step): Promise<Outcome> {
    this.observer?.step(this, step);
    const outcome = await this.runStep(step);
    this.observer?.outcome(this, step, outcome);
    return outcome;
  }

  private async runStep(step: Step): Promise<Outcome> {
    if (this.isEnded || !this.caller) return { kind: "caller-gone" };
    // The step's precondition (jambonz's tasks): the session answers, never the step itself.
    if (needsAnswer(step) && !(await this.answer())) return { kind: "caller-gone" };
    // The waiting music goes on only from one ring step of the inbound flow to the next.
    if (this.waitingPlayer && !(step.kind === "ring" && step.waiting)) this.closeEndpoint("waiting over");
    switch (step.kind) {
      case "ring":
        return this.ring(step);
      case "app":
        return this.app(step);
      case "play":
        return this.play(step);
      case "hangup":
        await this.hangup(step);
        return { kind: "done" };
      case "pickup":
        return this.delegate.pickup(this, step);
    }
  }

  // --- steps ---------------------------------------------------------------

  private async ring(step: RingStep): Promise<Outcome> {
    const caller = this.caller!;
    const sides = await this.calleeSides(step);
    if (!sides) return { kind: "rejected", status: 503, reason: "No Media Ports" };
    if (this.isEnded) {
      for (const side of sides) this.deps.media.release(side.rtp);
      return { kind: "caller-gone" };
    }
    this.calleeParty = step.callee;
    const answered = this.stateValue === "answered";
    const offers = new Map<CalleeSide, string>();
    for (const side of sides) {
      try {
        // Before the answer the callee gets the caller's own offer (codecs agreed end to end);
        // once answered, the caller already talks one codec and keeps it: no re-INVITE needed.
        offers.set(
          side,
          answered ? side.sdp.offer({ codecs: [caller.media!.codec] }) : side.sdp.filterOffer(this.offer).sdp,
        );
      } catch (err) {
        if (!(err instanceof SdpError)) {
          for (const s of sides) this.deps.media.release(s.rtp);
          throw err;
        }
        this.log.info({ err: err.message, browser: side.browser }, "no offer for these targets");
      }
    }
    for (const side of sides) if (!offers.has(side)) this.deps.media.release(side.rtp);
    if (sides.length > 0 && offers.size === 0) {
      return { kind: "rejected", status: 488, reason: "Not Acceptable Here" };
    }
    const ringing = sides.filter((s) => offers.has(s));
    this.ringingTrunk = step.targets.some((t) => t.kind === "trunk");
    this.ringingExtensions = step.targets.flatMap((t) => (t.kind === "device" ? [t.extension] : []));
    this.delegate.changed(this);
    if (step.waiting) this.keepWaiting(step.waiting);
    else if (answered) this.playRingback();
    const forks = new ForkSet(this.deps.ua, this.deps.clock, this.log);
    this.forks = forks;
    let leg: Leg | undefined;
    const requests = await Promise.all(
      ringing.flatMap((side) =>
        side.targets.map(async (target) => ({
          target,
          side,
          invite: await targetInvite(target, step, {
            tenant: this.tenant,
            offer: offers.get(side)!,
            remoteOf: (t) => this.delegate.remoteOf(t),
          }),
        })),
      ),
    );
    // Which side a provisional answer belongs to: its fork's, by Call-ID (one per fork).
    const sideOf = (res: SipResponse): CalleeSide | undefined =>
      requests[forks.callIds.indexOf(getHeader(res, "Call-ID") ?? "")]?.side;
    const outcome = await forks.ring(requests, step.timeoutMs, {
      onProvisional: (res) => {
        // Unmatched (no Call-ID we sent): the first side, as when there was only one.
        const side = sideOf(res) ?? ringing[0];
        if (side) this.onProvisional(res, side);
      },
      onAnswer: (res, dialog, target) => {
        const side = requests.find((r) => r.target === target)!.side;
        leg = new Leg(
          side.rtp,
          side.sdp,
          step.callee,
          target.kind === "device" ? target.extension : undefined,
          target.kind === "trunk" ? target.trunk : undefined,
        );
        leg.dialog = dialog;
        this.onCalleeAnswer(res, leg);
      },
    });
    this.forks = undefined;
    this.ringingTrunk = false;
    this.ringingExtensions = [];
    this.delegate.changed(this);
    const won = leg !== undefined && this.callee === leg ? leg.rtp : undefined;
    if (this.relay && !this.callee) this.stopRelay();
    for (const side of ringing) if (side.rtp !== won) this.deps.media.release(side.rtp);
    if (outcome.kind !== "answered" || !won) {
      if (this.isEnded) return { kind: "caller-gone" };
      // Answered with an SDP we cannot use: the fork was hung up again.
      if (outcome.kind === "answered")
        return { kind: "rejected", status: 488, reason: "Not Acceptable Here" };
    }
    return outcome;
  }

  /**
   * The callee's media of a ring step: one leg for the phones and trunks
   * (one offer goes to all of them), and one per browser (each has its own
   * ICE and DTLS: a browser is a phone registered over WebSocket, RFC 7118).
   * Undefined (nothing held) when ports ran out.
   */
  private async calleeSides(step: RingStep): Promise<CalleeSide[] | undefined> {
    const caller = this.caller!;
    const phones = step.targets.filter((t) => !isBrowserTarget(t));
    const browsers = step.targets.filter(isBrowserTarget);
    const sides: CalleeSide[] = [];
    const giveUp = () => {
      for (const side of sides) this.deps.media.release(side.rtp);
      return undefined;
    };
    // With no target at all the step still has its side, and the forks say "unreachable".
    if (phones.length > 0 || step.targets.length === 0) {
      const rtp = await this.allocate(caller.rtp);
      if (!rtp) return giveUp();
      const sdp = new SdpSession(this.deps.media.address, rtp.localPort, {
        telephoneEventPt: caller.media?.telephoneEventPt,
        // One offer goes to every phone. Keys only when every one of them is
        // reached over an encrypted hop (a phone over TLS, a trunk over TLS):
        // RTP/SAVP for a company that requires encryption, else best effort
        // (RTP/AVP with keys: a peer over TLS without SRTP answers plain,
        // one with SRTP encrypts).
        srtp:
          phones.length > 0 && phones.every(isEncryptedHop)
            ? this.tenant.requireEncryption
              ? "offer"
              : "best-effort"
            : "off",
      });
      sides.push({ rtp, sdp, targets: phones, browser: false });
    }
    for (const target of browsers) {
      const rtp = await this.allocateBrowser();
      if (!rtp) return giveUp();
      sides.push({ rtp, sdp: this.browserSdp(rtp), targets: [target], browser: true });
    }
    return sides;
  }

  private async app(step: AppStep): Promise<Outcome> {
    const endpoint = this.openEndpoint();
    const control = new SessionCallControl(this, endpoint, {
      store: this.deps.store,
      voicemail: this.deps.voicemail,
      company: this.deps.company,
      clock: this.deps.clock,
      speech: this.deps.speech,
      recordPath: () => join(this.deps.recordDir, `${this.id}-${this.deps.clock.now().toFixed(0)}.wav`),
    });
    try {
      return await this.delegate.runApp(this, step, control);
    } finally {
      this.closeEndpoint("app ended");
    }
  }

  /** Says the step's items to the answered caller; the router goes on afterwards. */
  private async play(step: PlayStep): Promise<Outcome> {
    const endpoint = this.openEndpoint();
    try {
      const audio = await this.deps.speech.render(step.items, this.language(), this.tenant.name);
      await endpoint.play(audio);
    } catch (err) {
      if (this.isEnded) return { kind: "caller-gone" };
      if (!(err instanceof MediaClosedError)) this.log.warn({ err }, "announcement not played");
    } finally {
      this.closeEndpoint("played");
    }
    return this.isEnded ? { kind: "caller-gone" } : { kind: "played" };
  }

  private language() {
    return this.callerExtension?.language ?? this.tenant.language;
  }

  private async hangup(step: HangupStep): Promise<void> {
    if (this.isEnded) return;
    if (step.announcement) await this.announce(step.announcement);
    if (this.isEnded) return;
    if (this.stateValue === "answered") {
      await this.terminate(`hangup ${step.status}`);
      return;
    }
    this.inv?.reject(step.status, step.reason ? { reason: step.reason } : undefined);
    await this.finish(`failed ${step.status}`);
  }

  /**
   * Says a short announcement to the caller: in early media (183 with our
   * answer, RFC 3960) before a failure status, so the phone still shows
   * why the call failed; on the answered call otherwise.
   */
  private async announce(prompt: string): Promise<void> {
    const caller = this.caller!;
    if (this.stateValue !== "answered" && !this.earlyMedia) {
      try {
        const { answer, media } = caller.sdp.answer(this.offer);
        caller.media = media;
        this.applyMedia(caller, media);
        this.inv?.ringing(183, { body: Buffer.from(answer), contentType: SDP });
        this.earlyMedia = true;
        this.move("early");
      } catch (err) {
        if (!(err instanceof SdpError)) throw err;
        return;
      }
    }
    this.stopRelay();
    const endpoint = this.openEndpoint();
    try {
      const audio = await this.deps.speech.render([prompt], this.language(), this.tenant.name);
      await endpoint.play(audio);
    } catch (err) {
      if (!this.isEnded) this.log.warn({ err, prompt }, "announcement not played");
    } finally {
      this.closeEndpoint("announced");
    }
  }

  /** Answers the caller's offer with media we terminate (an app, an announcement). */
  private async answer(): Promise<boolean> {
    if (this.isEnded) return false;
    if (this.stateValue === "answered") return true;
    const caller = this.caller!;
    let answer: string;
    try {
      const r = caller.sdp.answer(this.offer);
      answer = r.answer;
      caller.media = r.media;
      this.applyMedia(caller, r.media);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.inv?.reject(488, { reason: "Not Acceptable Here" });
      await this.finish("offer not acceptable");
      return false;
    }
    this.acceptCaller(answer, []);
    this.log.info({ codec: caller.media?.codec }, "answered by the PBX");
    return true;
  }

  private acceptCaller(answerSdp: string, headers: HeaderField[]): void {
    const caller = this.caller!;
    caller.dialog = this.inv!.accept({ body: Buffer.from(answerSdp), contentType: SDP, headers });
    this.delegate.bindDialog(caller.dialog, this);
    this.move("answered");
    this.answeredAt = this.deps.clock.now();
  }

  // --- callee side ---------------------------------------------------------

  private onProvisional(res: SipResponse, pending: { rtp: Leg["rtp"]; sdp: SdpSession }): void {
    if (this.isEnded || res.status === 100) return;
    const inv = this.inv;
    if (this.stateValue === "answered" || !inv) return;
    if (res.body.length > 0 && getContentType(res) === SDP) {
      // Early media (183 with SDP): relay it, so the caller hears the far end's ringback or announcement.
      try {
        const body = res.body.toString("utf8");
        this.applyMedia(pending, pending.sdp.readAnswer(body));
        const rewritten = this.caller!.sdp.rewriteAnswer(body, this.offer);
        this.applyMedia(this.caller!, this.caller!.media ?? rewritten.media);
        this.startRelay(this.caller!.rtp, pending.rtp);
        inv.ringing(183, { body: Buffer.from(rewritten.sdp), contentType: SDP });
        this.earlyMedia = true;
        this.move("early");
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "unusable early-media SDP ignored");
      }
    }
    if (this.stateValue === "offered") {
      inv.ringing(180);
      this.move("early");
    }
  }

  private onCalleeAnswer(res: SipResponse, leg: Leg): void {
    const caller = this.caller!;
    const dialog = leg.dialog!;
    if (this.isEnded) {
      this.byeDialog(dialog, "caller already gone");
      return;
    }
    this.delegate.bindDialog(dialog, this);
    try {
      if (this.stateValue === "answered") {
        // The caller already talks to us (an app, a transfer): we offered its codec, the callee took it.
        this.closeEndpoint("callee answered");
        const media = leg.sdp.readAnswer(res.body.toString("utf8"), [caller.media!.codec]);
        leg.media = media;
        this.applyMedia(leg, media);
      } else {
        const body = res.body.toString("utf8");
        leg.media = leg.sdp.readAnswer(body);
        this.applyMedia(leg, leg.media);
        const rewritten = caller.sdp.rewriteAnswer(body, this.offer);
        caller.media = { ...caller.media!, codec: rewritten.media.codec };
        this.applyMedia(caller, caller.media);
        this.acceptCaller(rewritten.sdp, [identityOf(leg.party, this.tenant.domain)]);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "callee answered with unusable SDP");
      this.byeDialog(dialog, "unusable answer");
      this.delegate.unbindDialog(dialog);
      if (this.stateValue !== "answered") {
        this.inv?.reject(488, { reason: "Not Acceptable Here" });
        this.background(this.finish("callee SDP unusable"), "finish");
      }
      return;
    }
    this.callee = leg;
    this.inv = undefined;
    this.startRelay(caller.rtp, leg.rtp);
    this.log.info({ callee: leg.party.number }, "call answered");
    this.delegate.changed(this);
    this.background(this.resumeIfHeld(caller), "resumeIfHeld");
  }

  /**
   * A transferee is usually on hold (the transferor held it before
   * transferring): once it talks to its new party, we take it off hold
   * with a re-INVITE of our own (RFC 5589 §6 leaves this to the B2BUA).
   */
  private async resumeIfHeld(leg: Leg): Promise<void> {
    if (!leg.held || !leg.dialog || !leg.media) return;
    leg.held = false;
    this.relay?.setHold(false);
    const offer = leg.sdp.offer({ codecs: [leg.media.codec] });
    const res = await this.deps.ua.request(leg.dialog, "INVITE", {
      body: Buffer.from(offer),
      contentType: SDP,
    });
    if (res.status >= 300) {
      this.log.info({ status: res.status }, "taking the transferee off hold was refused");
      return;
    }
    try {
      this.applyMedia(leg, leg.sdp.readAnswer(res.body.toString("utf8"), [leg.media.codec]));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "unusable answer to our resume offer");
    }
  }

  // --- in-dialog requests --------------------------------------------------

  /** A request inside one of this session's dialogs (the PBX routes it here). */
  onRequest(dialog: Dialog, req: SipRequest, tx: ServerTransaction): void {
    const leaving = [...this.leaving].find((l) => l.dialog === dialog);
    if (leaving) {
      this.onLeavingRequest(leaving, req, tx);
      return;
    }
    const from =
      this.caller?.dialog === dialog ? this.caller : this.callee?.dialog === dialog ? this.callee : undefined;
    if (!from) {
      tx.respond(createResponse(req, 481));
      return;
    }
    const other = from === this.caller ? this.callee : this.caller;
    switch (req.method) {
      case "BYE":
        tx.respond(createResponse(req, 200));
        this.log.info({ party: from.party.number }, "hung up");
        this.delegate.unbindDialog(dialog);
        from.dialog = undefined;
        if (other?.dialog) this.byeDialog(other.dialog, "other side hung up");
        this.background(this.finish(`${from === this.caller ? "caller" : "callee"} hung up`), "finish");
        return;
      case "INVITE":
      case "UPDATE":
        if (other?.dialog) this.background(this.relayOffer(from, other, req, tx), "relayOffer");
        else this.answerReoffer(from, req, tx);
        return;
      case "INFO":
        if (other?.dialog) this.background(this.relayInfo(req, tx, other.dialog), "relayInfo");
        else this.takeInfoDigit(req, tx);
        return;
      case "REFER":
        this.onRefer(from, other, req, tx);
        return;
      case "NOTIFY":
        // Progress of a transfer we did not ask for; nothing to relay.
        tx.respond(createResponse(req, 200));
        return;
      default:
        tx.respond(createResponse(req, 501));
    }
  }

  /** A transferor, after the transfer: its NOTIFY answers and its BYE. */
  private onLeavingRequest(leg: Leg, req: SipRequest, tx: ServerTransaction): void {
    tx.respond(createResponse(req, req.method === "BYE" ? 200 : req.method === "INVITE" ? 488 : 200));
    if (req.method === "BYE") this.dropLeaving(leg, "transferor hung up");
  }

  private dropLeaving(leg: Leg, why: string): void {
    if (!this.leaving.delete(leg)) return;
    if (leg.dialog) this.delegate.unbindDialog(leg.dialog);
    this.deps.media.release(leg.rtp);
    this.log.info({ party: leg.party.number, why }, "transferor left");
    if (this.isEnded && this.leaving.size === 0) this.delegate.ended(this);
  }

  /** re-INVITE or UPDATE (hold, resume, codec change): offer to the other side, answer with its answer. */
  private async relayOffer(from: Leg, to: Leg, req: SipRequest, tx: ServerTransaction): Promise<void> {
    let forwarded: Buffer | undefined;
    if (req.body.length > 0) {
      try {
        // The offer goes out with the origin the other side knows; the answer comes back with ours for this side.
        // The offerer's own leg must be able to answer it (its protocol, its keys) before it travels.
        from.sdp.checkOffer(req.body.toString("utf8"));
        const filtered = to.sdp.filterOffer(req.body.toString("utf8"));
        from.rtp.setRemote(filtered.media.address, filtered.media.port, filtered.media.rtcpPort);
        const hold = isHold(req.body.toString("utf8"));
        this.relay?.setHold(hold);
        to.held = hold;
        forwarded = Buffer.from(filtered.sdp);
      } catch (err) {
        if (!(err instanceof SdpError)) throw err;
        tx.respond(createResponse(req, 488));
        return;
      }
    }
    const res = await this.deps.ua.request(
      to.dialog!,
      req.method,
      forwarded ? { body: forwarded, contentType: SDP } : {},
    );
    if (res.status >= 300) {
      tx.respond(createResponse(req, res.status, res.reason));
      if (res.status === 408 || res.status === 481) this.background(this.terminate("peer lost"), "terminate");
      return;
    }
    let body: Buffer | undefined;
    if (res.body.length > 0) {
      try {
        const answerText = res.body.toString("utf8");
        this.applyMedia(to, to.sdp.readAnswer(answerText));
        const rewritten = from.sdp.rewriteAnswer(answerText, req.body.toString("utf8"));
        from.rtp.setSrtp(from.sdp.srtp);
        body = Buffer.from(rewritten.sdp);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "re-INVITE answer unusable");
        tx.respond(createResponse(req, 488));
        return;
      }
    }
    const answer = body ? { body, contentType: SDP } : {};
    // UPDATE's 2xx is not acknowledged; only a re-INVITE's is (RFC 3311 §5.2).
    if (req.method === "UPDATE") this.deps.ua.respond(tx, 200, answer);
    else this.deps.ua.acceptReinvite(tx, from.dialog!, answer);
  }

  /** A re-INVITE while the PBX itself terminates the media (an app): answer with our unchanged media. */
  private answerReoffer(from: Leg, req: SipRequest, tx: ServerTransaction): void {
    if (req.body.length === 0 || !from.dialog) {
      tx.respond(createResponse(req, 488));
      return;
    }
    try {
      const answer = from.sdp.answer(req.body.toString("utf8"));
      this.applyMedia(from, answer.media);
      const reply = { body: Buffer.from(answer.answer), contentType: SDP };
      if (req.method === "UPDATE") this.deps.ua.respond(tx, 200, reply);
      else this.deps.ua.acceptReinvite(tx, from.dialog, reply);
    } catch (err) {
      this.log.info({ err: (err as Error).message }, "re-offer refused");
      tx.respond(createResponse(req, 488));
    }
  }

  /** SIP INFO (DTMF relay) passes through to the other side. */
  private async relayInfo(req: SipRequest, tx: ServerTransaction, other: Dialog): Promise<void> {
    const contentType = getHeader(req, "Content-Type");
    const res = await this.deps.ua.request(
      other,
      "INFO",
      req.body.length > 0 && contentType ? { body: req.body, contentType } : {},
    );
    tx.respond(createResponse(req, res.status >= 300 ? res.status : 200));
  }

  /** RFC 6086 INFO carrying a key press (application/dtmf-relay, application/dtmf) into an app. */
  private takeInfoDigit(req: SipRequest, tx: ServerTransaction): void {
    const digit = parseDtmfInfo(getContentType(req), req.body.toString("utf8"));
    if (digit) this.endpoint?.pushDigit(digit, "info");
    tx.respond(createResponse(req, 200));
  }

  /**
   * REFER (RFC 3515): the sender hands the other party on to the Refer-To,
   * which the PBX routes like a call dialled by the sender (its dialling
   * policy applies). 202 at once; progress follows as NOTIFY sipfrags.
   */
  private onRefer(from: Leg, other: Leg | undefined, req: SipRequest, tx: ServerTransaction): void {
    const values = req.headers.filter((h) => h.name === "Refer-To").map((h) => h.value);
    let referTo: NameAddr | undefined;
    try {
      if (values.length === 1) referTo = parseNameAddrLoose(values[0]!);
    } catch (err) {
      this.log.info({ err: (err as Error).message }, "unreadable Refer-To");
    }
    if (!referTo) {
      // RFC 3515 §2.4.1: exactly one Refer-To.
      tx.respond(createResponse(req, 400, "Bad Refer-To"));
      return;
    }
    if (!other?.dialog || this.stateValue !== "answered") {
      tx.respond(createResponse(req, 603, "Nobody To Transfer"));
      return;
    }
    tx.respond(createResponse(req, 202));
    const dialog = from.dialog!;
    const sendNotify = (status: number, reason: string, final: boolean) => {
      const frag = `SIP/2.0 ${status} ${reason}\r\n`;
      this.deps.ua
        .request(dialog, "NOTIFY", {
          headers: [
            { name: "Event", value: "refer" },
            {
              name: "Subscription-State",
              value: final ? "terminated;reason=noresource" : "active;expires=60",
            },
          ],
          body: Buffer.from(frag),
          contentType: "message/sipfrag;version=2.0",
        })
        .then(
          (res) => {
            if (res.status >= 300) this.log.info({ status: res.status }, "transfer NOTIFY refused");
          },
          (err: unknown) => this.log.warn({ err }, "transfer NOTIFY failed"),
        );
      if (final) {
        // A transferor that does not hang up by itself after the final NOTIFY is hung up (RFC 5589 §6.1).
        this.deps.clock.setTimer(4000, () => {
          if (this.leaving.has(from) && from.dialog) {
            this.byeDialog(from.dialog, "transfer done");
            this.dropLeaving(from, "hung up after the transfer");
          }
        });
      }
    };
    sendNotify(100, "Trying", false);
    this.log.info({ referTo: formatNameAddr(referTo), by: from.party.number }, "transfer requested");
    this.delegate.transfer(this, {
      transferor: from,
      transferee: other,
      referTo,
      progress: (status, reason) => sendNotify(status, reason ?? reasonPhrase(status), status >= 200),
      handOver: () => this.handOver(from, other),
      restore: () => this.restore(from, other),
    });
  }

  /**
   * A blind transfer that failed: the transferor gets its call back
   * (RFC 5589 §6.1), before the final NOTIFY tells it why.
   */
  private restore(transferor: Leg, transferee: Leg): boolean {
    if (
      this.isEnded ||
      !this.leaving.delete(transferor) ||
      !transferor.dialog ||
      this.caller !== transferee
    ) {
      return false;
    }
    this.closeEndpoint("transfer failed");
    this.callee = transferor;
    this.startRelay(transferee.rtp, transferor.rtp);
    this.observer?.transferUndone(this);
    this.log.info({ transferor: transferor.party.number }, "transfer failed: the parties are joined again");
    this.delegate.changed(this);
    return true;
  }

  /**
   * The transferor leaves the call and the transferee stays, as the party
   * this session serves; the transferor's dialog stays bound until its BYE.
   */
  private handOver(transferor: Leg, transferee: Leg): void {
    this.stopRelay();
    this.caller = transferee;
    this.callee = undefined;
    this.leaving.add(transferor);
    this.observer?.transferred(this);
    this.delegate.changed(this);
  }

  // --- transfers that join two calls (attended transfer, RFC 5589 §7) -----

  /**
   * Takes the answered party `leg` out of `from` (another session) and
   * bridges it to this session's caller: the attended transfer's join.
   * When the codecs differ, the incoming party is re-INVITEd to ours.
   */
  async adopt(leg: Leg, from: CallSession): Promise<boolean> {
    const caller = this.caller;
    if (!caller?.media || !leg.dialog || this.isEnded) return false;
    from.release(leg);
    // The dialog moves with its party: requests in it (BYE, hold) now belong to this call.
    this.delegate.bindDialog(leg.dialog, this);
    this.closeEndpoint("joined");
    this.stopRelay();
    if (leg.media?.codec !== caller.media.codec) {
      const offer = leg.sdp.offer({ codecs: [caller.media.codec] });
      const res = await this.deps.ua.request(leg.dialog, "INVITE", {
        body: Buffer.from(offer),
        contentType: SDP,
      });
      if (res.status >= 300) {
        this.log.warn({ status: res.status }, "joined party refused the codec change");
        this.byeDialog(leg.dialog, "codec change refused");
        this.deps.media.release(leg.rtp);
        return false;
      }
      const media = leg.sdp.readAnswer(res.body.toString("utf8"), [caller.media.codec]);
      leg.media = media;
      this.applyMedia(leg, media);
    }
    this.callee = leg;
    this.calleeParty = leg.party;
    this.startRelay(caller.rtp, leg.rtp);
    this.observer?.transferred(this);
    this.log.info({ joined: leg.party.number }, "calls joined");
    this.delegate.changed(this);
    await Promise.all([this.resumeIfHeld(caller), this.resumeIfHeld(leg)]);
    return true;
  }

  /**
   * Gives up a leg to another session, which binds its dialog to itself (the
   * UA core keeps the dialog); this session ends when nobody is left.
   */
  release(leg: Leg): void {
    this.observer?.transferred(this);
    this.stopRelay();
    if (this.callee === leg) this.callee = undefined;
    if (this.caller === leg) {
      this.caller = this.callee;
      this.callee = undefined;
    }
    if (!this.caller) this.background(this.finish("parties moved to another call"), "finish");
  }

  // --- call pickup -----------------------------------------------------------

  /**
   * Another phone picks this ringing call up: our caller is answered with
   * `codec` (which the picker talks too), the forks stop as "completed
   * elsewhere", and the caller's leg goes to the picker's call. This
   * session is over; undefined when the call is no longer ringing.
   */
  async yieldToPickup(codec: G711Codec, picker: Party): Promise<Leg | undefined> {
    const leg = this.caller;
    const inv = this.inv;
    if (!leg || !inv || this.stateValue === "answered" || this.isEnded) return undefined;
    let answer: string;
    try {
      const r = leg.sdp.answer(this.offer, { codecs: [codec] });
      answer = r.answer;
      leg.media = r.media;
      this.applyMedia(leg, r.media);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      return undefined;
    }
    this.stopRelay();
    leg.dialog = inv.accept({
      body: Buffer.from(answer),
      contentType: SDP,
      headers: [identityOf(picker, this.tenant.domain)],
    });
    this.caller = undefined;
    this.inv = undefined;
    this.forks?.cancel(true);
    this.observer?.pickedUp(this, picker);
    this.log.info({ by: picker.number }, "picked up");
    await this.finish("picked up");
    return leg;
  }

  /** This caller (the picker) takes over the ringing call of `ringing`; resolves "answered" when joined. */
  async pickUp(ringing: CallSession): Promise<Outcome> {
    const caller = this.caller!;
    const codec = commonCodec(this.offer, ringing.offer);
    if (!codec) return { kind: "rejected", status: 488, reason: "Not Acceptable Here" };
    let answer: string;
    try {
      const r = caller.sdp.answer(this.offer, { codecs: [codec] });
      answer = r.answer;
      caller.media = r.media;
      this.applyMedia(caller, r.media);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      return { kind: "rejected", status: 488, reason: "Not Acceptable Here" };
    }
    const leg = await ringing.yieldToPickup(codec, caller.party);
    if (!leg?.dialog) return { kind: "rejected", status: 480, reason: "Nothing To Pick Up" };
    if (this.isEnded) {
      this.byeDialog(leg.dialog, "picker gone");
      this.deps.media.release(leg.rtp);
      return { kind: "caller-gone" };
    }
    this.delegate.bindDialog(leg.dialog, this);
    this.callee = leg;
    this.calleeParty = leg.party;
    this.acceptCaller(answer, [identityOf(leg.party, this.tenant.domain)]);
    this.inv = undefined;
    this.startRelay(caller.rtp, leg.rtp);
    this.log.info({ caller: leg.party.number }, "picked up a ringing call");
    this.delegate.changed(this);
    return { kind: "answered" };
  }

  /** The party of this session whose dialog with us is `dialog`. */
  legOf(dialog: Dialog): Leg | undefined {
    for (const leg of [this.caller, this.callee, ...this.leaving]) if (leg?.dialog === dialog) return leg;
    return undefined;
  }

  // --- media ---------------------------------------------------------------

  private openEndpoint(): MediaEndpoint {
    this.closeEndpoint("replaced");
    const caller = this.caller!;
    const media = caller.media!;
    this.endpoint = new MediaEndpoint({
      leg: caller.rtp,
      pacer: this.deps.pacer,
      clock: this.deps.clock,
      codec: media.codec,
      payloadType: media.payloadType,
      telephoneEventPt: media.telephoneEventPt,
      log: this.log,
    });
    return this.endpoint;
  }

  private closeEndpoint(reason: string): void {
    this.waitingPlayer?.stop();
    this.waitingPlayer = undefined;
    this.endpoint?.close(reason);
    this.endpoint = undefined;
  }

  /** Starts the waiting media, or lets it go on from the previous ring step. */
  private keepWaiting(media: WaitingMedia): void {
    if (this.waitingPlayer && this.endpoint === this.waitingPlayer.endpoint) return;
    const player = new WaitingPlayer(this.openEndpoint(), media, {
      clock: this.deps.clock,
      speech: this.deps.speech,
      log: this.log,
      language: this.language(),
      tenant: this.tenant.name,
    });
    this.waitingPlayer = player;
    this.background(player.start(), "waiting media");
  }

  private playRingback(): void {
    const endpoint = this.openEndpoint();
    const loop = () => {
      if (this.endpoint !== endpoint) return;
      endpoint.play(RINGBACK).then(loop, (err: unknown) => {
        // Closed when the target answers or the ring step ends: that is where the ringback stops.
        if (!(err instanceof MediaClosedError)) this.log.warn({ err }, "ringback failed");
      });
    };
    loop();
  }

  private startRelay(a: Leg["rtp"], b: Leg["rtp"]): void {
    if (this.relay && this.relay.a === a && this.relay.b === b) return;
    this.stopRelay();
    this.relay = new RtpRelay(a, b, {
      clock: this.deps.clock,
      mediaTimeoutMs: this.deps.mediaTimeoutMs,
      onTimeout: () => {
        if (this.stateValue !== "answered" || !this.callee) return;
        this.log.warn({ mediaTimeoutMs: this.deps.mediaTimeoutMs }, "RTP stopped: hanging up");
        this.background(this.terminate("media timeout"), "terminate");
      },
    });
  }

  /**
   * Where a party's media goes, from its last SDP, and its leg's SRTP keys
   * as that leg's side agreed them (none: plain RTP).
   */
  private applyMedia(leg: { rtp: Leg["rtp"]; sdp: SdpSession }, media: MediaDescription): void {
    leg.rtp.setRemote(media.address, media.port, media.rtcpPort);
    leg.rtp.setSrtp(leg.sdp.srtp);
  }

  private stopRelay(): void {
    this.relay?.stop();
    this.relay = undefined;
  }

  private async allocate(near?: Leg["rtp"]): Promise<Leg["rtp"] | undefined> {
    try {
      return await this.deps.media.allocate(near);
    } catch (err) {
      this.log.error({ err }, "no RTP ports for the call");
      return undefined;
    }
  }

  /**
   * A browser's leg (ICE-lite, DTLS-SRTP): when its DTLS fails or the
   * browser's consent lapses (RFC 7675) while it is a party of the call,
   * the call ends with BYE, logged with the Call-IDs.
   */
  private async allocateBrowser(): Promise<WebRtcTransport | undefined> {
    let transport: WebRtcTransport;
    try {
      transport = await this.deps.media.allocateWebRtc(this.log);
    } catch (err) {
      this.log.error({ err }, "no port for a browser leg");
      return undefined;
    }
    transport.onFailed = (failure) => this.browserFailed(transport, failure);
    return transport;
  }

  /** Our SDP toward a browser leg (its offers and answers: webrtc-sdp.ts). */
  private browserSdp(transport: WebRtcTransport): WebRtcSdpSession {
    return new WebRtcSdpSession(transport, this.deps.media.address, {
      telephoneEventPt: this.caller?.media?.telephoneEventPt,
    });
  }

  private browserFailed(rtp: MediaLeg, failure: WebRtcFailure): void {
    const leg = [this.caller, this.callee].find((l) => l?.rtp === rtp);
    const fields = { reason: failure.reason, err: failure.message, legCallId: leg?.callId || undefined };
    if (!leg || this.isEnded) {
      // A fork that lost, or a call already over: nothing to end.
      this.log.info(fields, "browser leg failed");
      return;
    }
    this.log.warn({ ...fields, party: leg.party.number }, "browser media failed: hanging up");
    this.background(this.terminate(`browser media failed (${failure.reason})`), "terminate");
  }

  // --- ending --------------------------------------------------------------

  /**
   * Work started from a SIP event that nobody awaits: a failure is logged
   * with the call's id, never left to crash the process as an unhandled
   * rejection.
   */
  private background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.log.error({ err, what }, "call work failed"));
  }

  private byeDialog(dialog: Dialog, why: string): void {
    this.deps.ua.request(dialog, "BYE").then(
      (res) => this.log.debug({ status: res.status, why }, "BYE answered"),
      (err: unknown) => this.log.warn({ err, why }, "BYE failed"),
    );
  }

  /** Ends the call from the PBX side (shutdown, media timeout, a failed step once answered). */
  async terminate(reason: string): Promise<void> {
    if (this.isEnded) return;
    const byes: Promise<unknown>[] = [];
    for (const leg of [this.caller, this.callee, ...this.leaving]) {
      if (leg?.dialog) {
        byes.push(
          this.deps.ua
            .request(leg.dialog, "BYE")
            .catch((err: unknown) => this.log.warn({ err }, "BYE failed")),
        );
      }
    }
    if (this.stateValue !== "answered") this.inv?.reject(503, { reason: "Service Unavailable" });
    await this.finish(reason);
    await Promise.all(byes);
  }

  private async finish(reason: string): Promise<void> {
    if (this.isEnded) return;
    this.stateValue = "ended";
    this.forks?.cancel();
    this.closeEndpoint(reason);
    this.stopRelay();
    for (const leg of [this.caller, this.callee]) {
      if (!leg) continue;
      if (leg.dialog) this.delegate.unbindDialog(leg.dialog);
      this.deps.media.release(leg.rtp);
    }
    for (const leg of [...this.leaving]) this.dropLeaving(leg, "call ended");
    this.log.info({ reason, durationMs: this.deps.clock.now() - this.startedAt }, "call ended");
    this.observer?.ended(this);
    this.delegate.changed(this);
    if (this.leaving.size === 0) this.delegate.ended(this);
  }

  // --- views ---------------------------------------------------------------

  view(): CallView {
    return {
      id: this.id,
      tenant: this.tenant.name,
      from: this.callerParty.number,
      to: this.calleeParty?.number ?? "",
      state: this.stateValue === "answered" ? "answered" : "ringing",
      startedAt: new Date(this.startedAt).toISOString(),
      answeredAt: this.answeredAt === undefined ? undefined : new Date(this.answeredAt).toISOString(),
      callIds: [
        ...[this.caller?.dialog?.callId ?? (this.inv ? getHeader(this.inv.request, "Call-ID") : undefined)],
        this.callee?.dialog?.callId,
        ...(this.forks?.callIds ?? []),
      ].filter((c): c is string => c !== undefined && c !== ""),
    };
  }

  /** The tenant's extensions on this call: the calling phone, and the answering one. */
  busyExtensions(): string[] {
    const out: string[] = [];
    const calling = this.caller ? this.caller.extension : this.pendingCaller.extension;
    if (calling) out.push(calling);
    if (this.callee?.extension && this.stateValue === "answered") out.push(this.callee.extension);
    return out;
  }

  /** True when a leg of this call goes through a trunk, ringing or answered (the company's cap counts it). */
  usesTrunk(): boolean {
    const callerTrunk = this.caller ? this.caller.trunk : this.pendingCaller.trunk;
    return callerTrunk !== undefined || this.callee?.trunk !== undefined || this.ringingTrunk;
  }
}

/** The callee's media of a ring step for some of its targets: a leg, our SDP toward them. */
interface CalleeSide {
  rtp: MediaLeg;
  sdp: SdpSession;
  targets: Target[];
  /** A browser's leg (DTLS-SRTP, its own ICE): one target only. */
  browser: boolean;
}

/**
 * A phone registered over WebSocket (RFC 7118) is a browser's (JsSIP,
 * SIP.js): it gets our WebRTC offer (ICE-lite, DTLS-SRTP).
 */
/** SDES keys may go to this target (RFC 4568 §8.3: only over a hop that TLS protects). */
function isEncryptedHop(t: Target): boolean {
  return t.kind === "device" ? isEncrypted(t.binding.source.transport) : t.trunk.transport === "tls";
}

function isBrowserTarget(t: Target): boolean {
  return t.kind === "device" && (t.binding.source.transport === "WS" || t.binding.source.transport === "WSS");
}

/** The first codec of the picker's offer that the ringing caller offered too (the relay cannot transcode). */
function commonCodec(pickerOffer: string, ringingOffer: string): G711Codec | undefined {
  // Either may be a browser's offer (DTLS-SRTP): only its codecs count here.
  for (const codec of [readOffer(pickerOffer, true, undefined, true).codec, ...(["PCMU", "PCMA"] as const)]) {
    try {
      readOffer(ringingOffer, true, [codec], true);
      readOffer(pickerOffer, true, [codec], true);
      return codec;
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
    }
  }
  return undefined;
}

/** P-Asserted-Identity of the answering party (RFC 3325 §9.1): the caller's phone shows who answered. */
function identityOf(party: Party, domain: string): HeaderField {
  const uri = parseUri(`sip:${party.number}@${domain}`);
  return {
    name: "P-Asserted-Identity",
    value: formatNameAddr({ displayName: party.displayName, uri, params: {} }),
  };
}

/** Refer-To is a name-addr, or (RFC 3515 §2.1) a bare addr-spec that may carry ?Replaces=… */
function parseNameAddrLoose(value: string): NameAddr {
  const text = value.trim();
  if (text.includes("<")) return parseNameAddr(text);
  return { uri: parseUri(text), params: {} };
}
