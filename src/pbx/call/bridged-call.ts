// A call between two parties through the PBX: a back-to-back user agent
// (B2BUA). The caller's INVITE is answered by us; one INVITE goes to each
// registered device of the callee (parallel forking); the first 2xx wins and
// the other forks are cancelled (RFC 3261 §16.7 behaviour, done as a UA).
// Media is anchored: each side talks RTP to a port of ours and a relay
// copies packets across, so phones behind NAT and on hold work alike.
import { randomUUID } from "node:crypto";
import { type RtpLeg, RtpRelay } from "../../media/rtp/index.ts";
import { isHold, type MediaDescription, SdpError, SdpSession } from "../../media/sdp/index.ts";
import type { Dialog, IncomingInvite, OutgoingInvite, UserAgent } from "../../sip/dialog/index.ts";
import {
  createResponse,
  getContentType,
  getHeader,
  type NameAddr,
  parseUri,
  type SipRequest,
  type SipResponse,
} from "../../sip/message/index.ts";
import type { ServerTransaction } from "../../sip/transaction/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding, Tenant } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { ActiveCall, CallView } from "./call-registry.ts";
import type { MediaLegs } from "./media-legs.ts";

export interface CallParty {
  /** "101" or an E.164 number. */
  number: string;
  displayName?: string;
}

export interface BridgedCallDeps {
  ua: UserAgent;
  media: MediaLegs;
  clock: Clock;
  log: Logger;
  mediaTimeoutMs: number;
  /** Called once the call has ended and freed everything. */
  onEnded: (call: BridgedCall) => void;
  /** Lets the PBX route requests of this call's dialogs back here. */
  bindDialog: (dialog: Dialog, handler: (req: SipRequest, tx: ServerTransaction) => void) => void;
  unbindDialog: (dialog: Dialog) => void;
}

/** A caller already answered by the PBX (an app handing its call on): its dialog, media leg and codec. */
export interface AnsweredCaller {
  dialog: Dialog;
  leg: RtpLeg;
  media: MediaDescription;
  /** The origin the caller already knows us by. */
  sdp: SdpSession;
}

/** Why the callee side failed, as the routing decides what to do next (forward, or answer the caller). */
export type ForkOutcome =
  | { kind: "answered" }
  | { kind: "busy" }
  | { kind: "unreachable" }
  | { kind: "no-answer" }
  | { kind: "rejected"; status: number }
  | { kind: "caller-gone" };

interface Fork {
  binding: Binding;
  invite: OutgoingInvite;
  done: boolean;
  status?: number;
}

const SDP = "application/sdp";

export class BridgedCall implements ActiveCall {
  readonly id = randomUUID();
  readonly startedAt: Date;
  answeredAt?: Date;
  private callerDialog?: Dialog;
  private calleeDialog?: Dialog;
  private relay?: RtpRelay;
  private callerLeg?: RtpLeg;
  private calleeLeg?: RtpLeg;
  /** What we say about our media to each side: one origin per side, versions rising (RFC 3264 §8). */
  private callerSdp?: SdpSession;
  private calleeSdp?: SdpSession;
  private forks: Fork[] = [];
  private ringTimer?: Timer;
  private ended = false;
  private callerCancelled = false;
  private ringingSent = false;
  private calleeNumber = "";
  private offerToCallee = "";
  readonly log: Logger;

  constructor(
    readonly tenant: Tenant,
    private readonly inv: IncomingInvite | undefined,
    readonly caller: CallParty,
    private readonly deps: BridgedCallDeps,
    private readonly answered?: AnsweredCaller,
  ) {
    this.startedAt = new Date(deps.clock.now());
    this.log = deps.log;
    if (!inv) return;
    inv.onCancel = () => {
      this.callerCancelled = true;
      this.log.info("caller cancelled");
      for (const fork of this.forks) if (!fork.done) fork.invite.cancel();
      void this.finish("caller cancelled");
    };
  }

  /**
   * Prepares the media for both sides from the caller's offer. Answers 488
   * itself (and returns false) when the offer has no codec we relay.
   */
  async prepare(): Promise<boolean> {
    if (this.answered) return this.prepareAnswered(this.answered);
    if (!this.inv) throw new Error("a bridged call needs an INVITE or an answered caller");
    const offer = this.inv.request.body.toString("utf8");
    if (offer.length === 0 || getContentType(this.inv.request) !== SDP) {
      this.inv.reject(488, { reason: "SDP offer required" });
      await this.finish("no offer");
      return false;
    }
    const legs = await this.allocateLegs(2);
    if (!legs) return false;
    const [callerLeg, calleeLeg] = legs as [RtpLeg, RtpLeg];
    this.callerLeg = callerLeg;
    this.calleeLeg = calleeLeg;
    this.callerSdp = new SdpSession(this.deps.media.address, callerLeg.localPort);
    this.calleeSdp = new SdpSession(this.deps.media.address, calleeLeg.localPort);
    try {
      const filtered = this.calleeSdp.filterOffer(offer);
      callerLeg.setRemote(filtered.media.address, filtered.media.port, filtered.media.rtcpPort);
      this.offerToCallee = filtered.sdp;
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.log.info({ err: err.message }, "offer not acceptable");
      this.inv.reject(488, { reason: "Not Acceptable Here" });
      await this.finish("offer not acceptable");
      return false;
    }
    return true;
  }

  /** `count` RTP legs, or 503 when the port range is exhausted; undefined if the call cannot go on. */
  private async allocateLegs(count: number): Promise<RtpLeg[] | undefined> {
    const legs: RtpLeg[] = [];
    try {
      while (legs.length < count) legs.push(await this.deps.media.allocate());
    } catch (err) {
      for (const leg of legs) this.deps.media.release(leg);
      this.log.error({ err }, "no RTP ports for the call");
      await this.fail(503, "No Media Ports");
      return undefined;
    }
    if (this.ended) {
      // The caller left while the ports were being opened.
      for (const leg of legs) this.deps.media.release(leg);
      return undefined;
    }
    return legs;
  }

  /**
   * The caller already talks to us (an app answered it): keep its dialog and
   * media as they are, and offer the callee the codec the caller uses, so the
   * relay needs no transcoding and the caller needs no re-INVITE.
   */
  private async prepareAnswered(answered: AnsweredCaller): Promise<boolean> {
    this.callerLeg = answered.leg;
    this.callerDialog = answered.dialog;
    this.callerSdp = answered.sdp;
    this.deps.bindDialog(answered.dialog, (req, tx) => this.onRequest("caller", req, tx));
    const legs = await this.allocateLegs(1);
    if (!legs) return false;
    this.calleeLeg = legs[0]!;
    this.calleeSdp = new SdpSession(this.deps.media.address, this.calleeLeg.localPort, {
      telephoneEventPt: answered.media.telephoneEventPt,
    });
    this.offerToCallee = this.calleeSdp.offer({ codecs: [answered.media.codec] });
    return true;
  }

  /**
   * Rings every device of the callee at once and resolves when one answers
   * or all have failed, or the ring timeout passed. Does not answer the
   * caller on failure: the PBX decides (forwarding, voicemail or an error).
   */
  ring(
    callee: { number: string; displayName: string; domain: string },
    bindings: Binding[],
    ringTimeoutMs: number,
  ): Promise<ForkOutcome> {
    this.calleeNumber = callee.number;
    let resolve!: (outcome: ForkOutcome) => void;
    const promise = new Promise<ForkOutcome>((r) => {
      resolve = r;
    });
    if (this.ended) {
      resolve({ kind: "caller-gone" });
      return promise;
    }
    const from: NameAddr = {
      displayName: this.caller.displayName,
      uri: parseUri(`sip:${this.caller.number}@${this.tenant.domain}`),
      params: {},
    };
    const to: NameAddr = {
      displayName: callee.displayName || undefined,
      uri: parseUri(`sip:${callee.number}@${callee.domain}`),
      params: {},
    };
    let settled = false;
    const settle = (outcome: ForkOutcome) => {
      if (settled) return;
      settled = true;
      this.ringTimer?.cancel();
      resolve(outcome);
    };
    // Forks of this round only: a forwarded call rings again after a failed round.
    const round: Fork[] = [];
    const forkFailed = () => {
      if (round.some((f) => !f.done)) return;
      if (this.callerCancelled || this.ended) return settle({ kind: "caller-gone" });
      settle(classify(round.map((f) => f.status ?? 500)));
    };
    for (const binding of bindings) {
      const fork: Fork = { binding, done: false } as Fork;
      const remote: RemoteAddress = {
        transport: binding.source.transport,
        address: binding.source.address,
        port: binding.source.port,
      };
      fork.invite = this.deps.ua.invite(
        {
          requestUri: parseUri(binding.contact),
          from,
          to,
          remote,
          body: Buffer.from(this.offerToCallee),
          contentType: SDP,
        },
        {
          onProvisional: (res) => this.onCalleeProvisional(res),
          onAnswer: (res, dialog) => {
            if (this.calleeDialog || this.ended) {
              // A second device answered too: it lost the race (§13.2.2.4).
              void this.deps.ua.request(dialog, "BYE").catch(() => {});
              return;
            }
            fork.done = true;
            fork.status = res.status;
            this.onCalleeAnswer(res, dialog);
            for (const other of round) if (other !== fork && !other.done) other.invite.cancel();
            settle({ kind: "answered" });
          },
          onFailure: (res) => {
            fork.done = true;
            fork.status = res.status;
            this.log.info({ status: res.status, contact: binding.contact }, "fork failed");
            forkFailed();
          },
        },
      );
      this.forks.push(fork);
      round.push(fork);
    }
    if (bindings.length === 0) {
      settle({ kind: "unreachable" });
      return promise;
    }
    this.ringTimer = this.deps.clock.setTimer(ringTimeoutMs, () => {
      this.log.info({ ringTimeoutMs }, "no answer within the ring timeout");
      for (const fork of round) if (!fork.done) fork.invite.cancel();
      settle({ kind: "no-answer" });
    });
    return promise;
  }

  /** Tells the caller how the call failed and frees everything. */
  async fail(status: number, reason?: string): Promise<void> {
    if (!this.ended && !this.callerCancelled) {
      if (this.inv) this.inv.reject(status, reason ? { reason } : undefined);
      else if (this.callerDialog) void this.deps.ua.request(this.callerDialog, "BYE").catch(() => {});
    }
    await this.finish(`failed ${status}`);
  }

  private onCalleeProvisional(res: SipResponse): void {
    if (this.ended || this.calleeDialog || !this.inv) return;
    if (res.status === 100) return;
    if (res.body.length > 0 && getContentType(res) === SDP && this.calleeLeg && this.callerLeg) {
      // Early media (183 Session Progress with SDP): relay it so the caller hears ringback or announcements.
      try {
        const rewritten = this.callerSdp!.rewriteAnswer(res.body.toString("utf8"));
        this.calleeLeg.setRemote(rewritten.media.address, rewritten.media.port, rewritten.media.rtcpPort);
        this.startRelay();
        this.inv.ringing(183, { body: Buffer.from(rewritten.sdp), contentType: SDP });
        this.ringingSent = true;
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "unusable early-media SDP ignored");
      }
    }
    if (!this.ringingSent) {
      this.inv.ringing(180);
      this.ringingSent = true;
    }
  }

  private onCalleeAnswer(res: SipResponse, dialog: Dialog): void {
    this.calleeDialog = dialog;
    this.deps.bindDialog(dialog, (req, tx) => this.onRequest("callee", req, tx));
    let answerSdp: string;
    try {
      const rewritten = this.callerSdp!.rewriteAnswer(res.body.toString("utf8"));
      this.calleeLeg!.setRemote(rewritten.media.address, rewritten.media.port, rewritten.media.rtcpPort);
      answerSdp = rewritten.sdp;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "callee answered with unusable SDP");
      void this.deps.ua.request(dialog, "BYE").catch(() => {});
      void this.fail(488, "Not Acceptable Here");
      return;
    }
    if (this.inv) {
      this.callerDialog = this.inv.accept({ body: Buffer.from(answerSdp), contentType: SDP });
      this.deps.bindDialog(this.callerDialog, (req, tx) => this.onRequest("caller", req, tx));
      this.inv.onAckTimeout = () => {
        this.log.warn("caller never acknowledged the answer");
        void this.hangupBoth("no ACK");
      };
    }
    this.answeredAt = new Date(this.deps.clock.now());
    this.startRelay();
    this.log.info({ callee: this.calleeNumber }, "call answered");
  }

  private startRelay(): void {
    if (this.relay || !this.callerLeg || !this.calleeLeg) return;
    this.relay = new RtpRelay(this.callerLeg, this.calleeLeg, {
      clock: this.deps.clock,
      mediaTimeoutMs: this.deps.mediaTimeoutMs,
      onTimeout: () => {
        if (!this.answeredAt) return;
        this.log.warn({ mediaTimeoutMs: this.deps.mediaTimeoutMs }, "RTP stopped: hanging up");
        void this.hangupBoth("media timeout");
      },
    });
  }

  /** A request inside one of our two dialogs. */
  private onRequest(side: "caller" | "callee", req: SipRequest, tx: ServerTransaction): void {
    const other = side === "caller" ? this.calleeDialog : this.callerDialog;
    switch (req.method) {
      case "BYE":
        tx.respond(createResponse(req, 200));
        this.log.info({ side }, "hung up");
        if (other) void this.deps.ua.request(other, "BYE").catch(() => {});
        void this.finish(`${side} hung up`);
        return;
      case "INVITE":
      case "UPDATE":
        void this.relayOffer(side, req, tx);
        return;
      case "INFO":
        void this.relayInfo(req, tx, other);
        return;
      default:
        tx.respond(createResponse(req, 501));
    }
  }

  /** re-INVITE or UPDATE (hold, resume, codec change): offer to the other side, answer with its answer. */
  private async relayOffer(side: "caller" | "callee", req: SipRequest, tx: ServerTransaction): Promise<void> {
    const other = side === "caller" ? this.calleeDialog : this.callerDialog;
    const mine = side === "caller" ? this.callerDialog : this.calleeDialog;
    const fromLeg = side === "caller" ? this.callerLeg : this.calleeLeg;
    const toLeg = side === "caller" ? this.calleeLeg : this.callerLeg;
    // The offer goes out with the origin the other side knows; the answer comes back with ours for this side.
    const toSdp = side === "caller" ? this.calleeSdp : this.callerSdp;
    const fromSdp = side === "caller" ? this.callerSdp : this.calleeSdp;
    if (!other || !mine || !fromLeg || !toLeg || !toSdp || !fromSdp) {
      tx.respond(createResponse(req, 491));
      return;
    }
    let forwarded: Buffer | undefined;
    if (req.body.length > 0) {
      try {
        const filtered = toSdp.filterOffer(req.body.toString("utf8"));
        fromLeg.setRemote(filtered.media.address, filtered.media.port, filtered.media.rtcpPort);
        this.relay?.setHold(isHold(req.body.toString("utf8")));
        forwarded = Buffer.from(filtered.sdp);
      } catch (err) {
        if (!(err instanceof SdpError)) throw err;
        tx.respond(createResponse(req, 488));
        return;
      }
    }
    let res: SipResponse;
    try {
      res = await this.deps.ua.request(
        other,
        req.method,
        forwarded ? { body: forwarded, contentType: SDP } : {},
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "re-INVITE relay failed");
      tx.respond(createResponse(req, 500));
      return;
    }
    if (res.status >= 300) {
      tx.respond(createResponse(req, res.status, res.reason));
      if (res.status === 408 || res.status === 481) void this.hangupBoth("peer lost");
      return;
    }
    let body: Buffer | undefined;
    if (res.body.length > 0) {
      try {
        const rewritten = fromSdp.rewriteAnswer(res.body.toString("utf8"));
        toLeg.setRemote(rewritten.media.address, rewritten.media.port, rewritten.media.rtcpPort);
        body = Buffer.from(rewritten.sdp);
      } catch {
        tx.respond(createResponse(req, 488));
        return;
      }
    }
    const answer = body ? { body, contentType: SDP } : {};
    // UPDATE's 2xx is not acknowledged; only a re-INVITE's is (RFC 3311 §5.2).
    if (req.method === "UPDATE") this.deps.ua.respond(tx, 200, answer);
    else this.deps.ua.acceptReinvite(tx, mine, answer);
  }

  /** SIP INFO (DTMF relay) passes through to the other side. */
  private async relayInfo(req: SipRequest, tx: ServerTransaction, other: Dialog | undefined): Promise<void> {
    if (!other) {
      tx.respond(createResponse(req, 481));
      return;
    }
    const contentType = getHeader(req, "Content-Type");
    try {
      const res = await this.deps.ua.request(
        other,
        "INFO",
        req.body.length > 0 && contentType ? { body: req.body, contentType } : {},
      );
      tx.respond(createResponse(req, res.status >= 300 ? res.status : 200));
    } catch {
      tx.respond(createResponse(req, 500));
    }
  }

  private async hangupBoth(reason: string): Promise<void> {
    if (this.ended) return;
    const byes: Promise<unknown>[] = [];
    for (const dialog of [this.callerDialog, this.calleeDialog]) {
      if (dialog) byes.push(this.deps.ua.request(dialog, "BYE").catch(() => {}));
    }
    if (!this.callerDialog && !this.callerCancelled) this.inv?.reject(503, { reason: "Service Unavailable" });
    for (const fork of this.forks) if (!fork.done) fork.invite.cancel();
    await this.finish(reason);
    await Promise.all(byes);
  }

  async terminate(reason: string): Promise<void> {
    await this.hangupBoth(reason);
  }

  private async finish(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.ringTimer?.cancel();
    this.relay?.stop();
    for (const dialog of [this.callerDialog, this.calleeDialog]) if (dialog) this.deps.unbindDialog(dialog);
    for (const leg of [this.callerLeg, this.calleeLeg]) if (leg) this.deps.media.release(leg);
    this.log.info({ reason, durationMs: this.deps.clock.now() - this.startedAt.getTime() }, "call ended");
    this.deps.onEnded(this);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  view(): CallView {
    return {
      id: this.id,
      tenant: this.tenant.name,
      from: this.caller.number,
      to: this.calleeNumber,
      state: this.answeredAt ? "answered" : "ringing",
      startedAt: this.startedAt.toISOString(),
      answeredAt: this.answeredAt?.toISOString(),
      callIds: [
        ...(this.inv ? [getHeader(this.inv.request, "Call-ID") ?? ""] : [this.callerDialog?.callId ?? ""]),
        ...this.forks.map((f) => getHeader(f.invite.request, "Call-ID") ?? ""),
      ],
    };
  }

  busyExtensions(): string[] {
    if (!this.answeredAt) return [];
    return [this.caller.number, this.calleeNumber];
  }
}

/** RFC 3261 §16.7 step 6 in spirit: the most telling failure among the forks. */
function classify(statuses: number[]): ForkOutcome {
  if (statuses.some((s) => s === 486 || s === 600 || s === 603)) return { kind: "busy" };
  if (statuses.every((s) => s === 408 || s === 503 || s === 480 || s === 404 || s === 410)) {
    return { kind: "unreachable" };
  }
  const worst = statuses.find((s) => s >= 400) ?? 480;
  return { kind: "rejected", status: worst };
}
