// A call that the PBX answers itself to run an app (a feature code, the
// voicemail, an announcement): the CallControl of the apps over a real SIP
// dialog and a real RTP media endpoint. When the caller hangs up, whatever
// the app was waiting for rejects with Hangup and nothing is left behind.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseDtmfInfo } from "../../media/dtmf/index.ts";
import { MediaClosedError, MediaEndpoint, type MediaPacer } from "../../media/endpoint/index.ts";
import type { RtpLeg } from "../../media/rtp/index.ts";
import { type MediaDescription, SdpError, SdpSession } from "../../media/sdp/index.ts";
import type { Dialog, IncomingInvite, UserAgent } from "../../sip/dialog/index.ts";
import { createResponse, getContentType, getHeader, type SipRequest } from "../../sip/message/index.ts";
import type { ServerTransaction } from "../../sip/transaction/index.ts";
import type { Extension, Language, Store, Tenant } from "../../store/types.ts";
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
import type { AnsweredCaller } from "./bridged-call.ts";
import type { ActiveCall, CallView } from "./call-registry.ts";
import type { MediaLegs } from "./media-legs.ts";
import type { SpeechRenderer } from "./speech.ts";

export interface AppCallDeps {
  ua: UserAgent;
  media: MediaLegs;
  pacer: MediaPacer;
  speech: SpeechRenderer;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Where recordings are written before an app files them. */
  recordDir: string;
  bindDialog: (dialog: Dialog, handler: (req: SipRequest, tx: ServerTransaction) => void) => void;
  unbindDialog: (dialog: Dialog) => void;
  onEnded: (call: AppCall) => void;
  /** Hands an answered app call on to an extension or a public number. */
  bridge?: (call: AppCall, target: BridgeTarget) => Promise<void>;
}

const SDP = "application/sdp";

export class AppCall implements CallControl, ActiveCall {
  readonly id = randomUUID();
  readonly language: Language;
  readonly startedAt: Date;
  private answeredAt?: Date;
  private dialog?: Dialog;
  private leg?: RtpLeg;
  private endpoint?: MediaEndpoint;
  private negotiated?: MediaDescription;
  private ended = false;
  /** Our origin and versions towards the caller; keeps the codec in use on re-offers. */
  private sdp?: SdpSession;

  constructor(
    readonly tenant: Tenant,
    readonly extension: Extension | undefined,
    readonly caller: string,
    private readonly dialled: string,
    private readonly inv: IncomingInvite,
    private readonly deps: AppCallDeps,
  ) {
    this.language = extension?.language ?? tenant.language;
    this.startedAt = new Date(deps.clock.now());
    inv.onCancel = () => void this.finish("caller cancelled");
  }

  get store(): Store {
    return this.deps.store;
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  get log(): Logger {
    return this.deps.log;
  }

  async answer(): Promise<void> {
    this.live();
    if (this.dialog) return;
    const offer = this.inv.request.body.toString("utf8");
    if (offer.length === 0 || getContentType(this.inv.request) !== SDP) {
      this.inv.reject(488, { reason: "SDP offer required" });
      await this.finish("no offer");
      throw new Hangup("no SDP offer");
    }
    try {
      this.leg = await this.deps.media.allocate();
    } catch (err) {
      this.deps.log.error({ err }, "no RTP ports for the call");
      this.inv.reject(503, { reason: "No Media Ports" });
      await this.finish("no RTP ports");
      throw new Hangup("no RTP ports");
    }
    if (this.ended) {
      // The caller left while the port was being opened.
      this.deps.media.release(this.leg);
      this.leg = undefined;
      throw new Hangup();
    }
    this.sdp = new SdpSession(this.deps.media.address, this.leg.localPort);
    let answer: ReturnType<SdpSession["answer"]>;
    try {
      answer = this.sdp.answer(offer);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.inv.reject(488, { reason: "Not Acceptable Here" });
      await this.finish("offer not acceptable");
      throw new Hangup("offer not acceptable");
    }
    const media = answer.media;
    this.negotiated = media;
    this.leg.setRemote(media.address, media.port, media.rtcpPort);
    this.endpoint = new MediaEndpoint({
      leg: this.leg,
      pacer: this.deps.pacer,
      clock: this.deps.clock,
      codec: media.codec,
      payloadType: media.payloadType,
      telephoneEventPt: media.telephoneEventPt,
      log: this.deps.log,
    });
    this.dialog = this.inv.accept({ body: Buffer.from(answer.answer), contentType: SDP });
    this.answeredAt = new Date(this.deps.clock.now());
    this.deps.bindDialog(this.dialog, (req, tx) => this.onRequest(req, tx));
    this.inv.onAckTimeout = () => void this.hangup();
    this.deps.log.info({ dialled: this.dialled, codec: media.codec }, "app answered");
  }

  async play(items: Speech[], opts: { bargeIn?: boolean } = {}): Promise<"done" | "interrupted"> {
    const endpoint = this.media();
    const audio = await this.deps.speech.render(items, this.language, this.tenant.name);
    return this.guard(endpoint.play(audio, { bargeIn: opts.bargeIn ?? false }));
  }

  async collect(opts: CollectOptions): Promise<CollectResult> {
    const endpoint = this.media();
    return this.guard(
      endpoint.collect({
        max: opts.max,
        terminators: opts.terminators,
        firstTimeoutMs: opts.firstTimeoutMs ?? 5000,
        interTimeoutMs: opts.interTimeoutMs ?? 3000,
      }),
    );
  }

  async record(opts: RecordOptions): Promise<RecordResult> {
    const endpoint = this.media();
    if (opts.beep ?? true) await this.guard(endpoint.play([{ kind: "tone", freqs: [1000], ms: 250 }]));
    const path = join(this.deps.recordDir, `${this.id}-${this.deps.clock.now().toFixed(0)}.wav`);
    return this.guard(
      endpoint.record({
        path,
        maxMs: opts.maxSeconds * 1000,
        silenceMs: (opts.silenceSeconds ?? 5) * 1000,
      }),
    );
  }

  async bridge(target: BridgeTarget): Promise<void> {
    this.live();
    if (!this.deps.bridge) throw new Error("bridging is not available");
    await this.deps.bridge(this, target);
  }

  async hangup(): Promise<void> {
    if (this.ended) return;
    if (this.dialog) {
      const dialog = this.dialog;
      await this.finish("app hung up");
      await this.deps.ua.request(dialog, "BYE").catch(() => {});
    } else {
      this.inv.reject(480);
      await this.finish("app ended before answer");
    }
  }

  async terminate(reason: string): Promise<void> {
    if (this.dialog) {
      const dialog = this.dialog;
      await this.finish(reason);
      await this.deps.ua.request(dialog, "BYE").catch(() => {});
    } else if (!this.ended) {
      this.inv.reject(503);
      await this.finish(reason);
    }
  }

  view(): CallView {
    return {
      id: this.id,
      tenant: this.tenant.name,
      from: this.caller,
      to: this.dialled,
      state: this.answeredAt ? "answered" : "ringing",
      startedAt: this.startedAt.toISOString(),
      answeredAt: this.answeredAt?.toISOString(),
      callIds: [getHeader(this.inv.request, "Call-ID") ?? ""],
    };
  }

  busyExtensions(): string[] {
    return this.extension && this.answeredAt ? [this.extension.number] : [];
  }

  private onRequest(req: SipRequest, tx: ServerTransaction): void {
    switch (req.method) {
      case "BYE":
        tx.respond(createResponse(req, 200));
        void this.finish("caller hung up");
        return;
      case "INFO": {
        // RFC 6086 INFO carrying a key press (application/dtmf-relay, application/dtmf).
        const digit = parseDtmfInfo(getContentType(req), req.body.toString("utf8"));
        if (digit) this.endpoint?.pushDigit(digit, "info");
        tx.respond(createResponse(req, 200));
        return;
      }
      case "INVITE":
      case "UPDATE":
        this.answerReoffer(req, tx);
        return;
      default:
        tx.respond(createResponse(req, 501));
    }
  }

  /** A re-INVITE to an app (hold, refresh): answer with our unchanged media. */
  private answerReoffer(req: SipRequest, tx: ServerTransaction): void {
    if (!this.dialog || !this.leg || !this.sdp) {
      tx.respond(createResponse(req, 491));
      return;
    }
    if (req.body.length === 0) {
      tx.respond(createResponse(req, 488));
      return;
    }
    try {
      const answer = this.sdp.answer(req.body.toString("utf8"));
      this.leg.setRemote(answer.media.address, answer.media.port, answer.media.rtcpPort);
      const reply = { body: Buffer.from(answer.answer), contentType: SDP };
      if (req.method === "UPDATE") this.deps.ua.respond(tx, 200, reply);
      else this.deps.ua.acceptReinvite(tx, this.dialog, reply);
    } catch {
      tx.respond(createResponse(req, 488));
    }
  }

  private media(): MediaEndpoint {
    this.live();
    if (!this.endpoint) throw new Error("the app must answer before using media");
    return this.endpoint;
  }

  private live(): void {
    if (this.ended) throw new Hangup();
  }

  /** Media operations end with Hangup once the call is gone, whatever the media layer said. */
  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      if (err instanceof MediaClosedError || this.ended) throw new Hangup();
      throw err;
    }
  }

  private async finish(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.endpoint?.close(reason);
    if (this.dialog) this.deps.unbindDialog(this.dialog);
    if (this.leg) this.deps.media.release(this.leg);
    this.deps.log.info({ reason }, "app call ended");
    this.deps.onEnded(this);
  }

  /**
   * For a bridge: the answered caller side, handed over with its dialog, its
   * media leg and the codec it talks; this app call is over after it.
   */
  detachForBridge(): AnsweredCaller | undefined {
    if (!this.dialog || !this.leg || !this.negotiated || !this.sdp || this.ended) return undefined;
    this.endpoint?.close("bridged");
    const handed = { dialog: this.dialog, leg: this.leg, media: this.negotiated, sdp: this.sdp };
    this.ended = true;
    this.deps.unbindDialog(this.dialog);
    this.deps.onEnded(this);
    return handed;
  }
}
