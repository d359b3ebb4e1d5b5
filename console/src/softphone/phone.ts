// The softphone's logic, apart from the page: one SIP user agent (JsSIP in
// the page, jssip-ua.ts; a fake in the tests) registered as the extension
// over the server's WebSocket, its calls and the voicemail lamp, as a
// snapshot the page draws. The rules of a desk phone:
// - one call talks at a time: dialling, answering a waiting call or
//   resuming a held one puts the talking call on hold first (call waiting);
// - DTMF goes in the media as RFC 4733 events (JsSIP's transportType
//   "RFC2833"), which the PBX's menus and feature codes read like any phone's;
// - a blind transfer is a REFER (RFC 3515); once the PBX reports the
//   transfer accepted (NOTIFY 2xx), this side hangs up;
// - the lamp is a message-summary subscription to one's own mailbox (RFC 3842).
import { type Mailbox, readMessageSummary } from "./message-summary.ts";

/** What GET /api/v1/tenants/:name/extensions/:number/webrtc answers. */
export interface SoftphoneCredentials {
  wsUrl: string;
  uri: string;
  authorizationUser: string;
  realm: string;
  ha1: string;
  displayName: string;
}

/** The part of a JsSIP RTCSession the phone uses. */
export interface SipSession {
  readonly id: string;
  readonly direction: "incoming" | "outgoing" | string;
  readonly remote_identity: { uri: { user: string | null | undefined }; display_name?: string | null };
  readonly connection: RTCPeerConnection | null | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: JsSIP's events carry objects of many shapes
  on(event: string, listener: (...args: any[]) => void): unknown;
  answer(options?: object): void;
  terminate(options?: object): void;
  /** False when it cannot start now (a re-INVITE in progress, already held); `done` once it succeeded. */
  hold(options?: object, done?: () => void): boolean;
  unhold(options?: object, done?: () => void): boolean;
  sendDTMF(
    tones: string,
    options: { transportType: "RFC2833"; duration?: number; interToneGap?: number },
  ): void;
  refer(target: string, options: { eventHandlers: Record<string, (event?: unknown) => void> }): void;
  isEstablished(): boolean;
  isEnded(): boolean;
}

/** The part of a JsSIP Subscriber the phone uses. */
export interface SipSubscriber {
  // biome-ignore lint/suspicious/noExplicitAny: JsSIP's events carry objects of many shapes
  on(event: string, listener: (...args: any[]) => void): unknown;
  subscribe(): void;
  terminate(): void;
}

/** The part of a JsSIP UA the phone uses. */
export interface SipUa {
  // biome-ignore lint/suspicious/noExplicitAny: JsSIP's events carry objects of many shapes
  on(event: string, listener: (...args: any[]) => void): unknown;
  start(): void;
  stop(): void;
  call(target: string, options: object): SipSession;
  subscribe(target: string, eventName: string, accept: string, options: object): SipSubscriber;
}

export interface PhoneDeps {
  createUa(credentials: SoftphoneCredentials): SipUa;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export type RegistrationState = "connecting" | "registered" | "unregistered" | "disconnected" | "failed";

export type CallState =
  /** Incoming, not answered yet. */
  | "ringing"
  /** Outgoing, no answer from the far end yet. */
  | "calling"
  /** Outgoing, the far end rings (180/183). */
  | "progress"
  /** Answered and talking. */
  | "active"
  /** Answered, held by us. */
  | "held";

export interface PhoneCall {
  id: string;
  direction: "incoming" | "outgoing";
  /** The other party's number (its URI's user part), or "" when withheld. */
  number: string;
  name?: string;
  state: CallState;
  answeredAt?: number;
  /** The far end holds us. */
  remoteHold: boolean;
  /** A blind transfer asked for, and how it goes. */
  transfer?: { target: string; state: "pending" | "failed" };
  /** The far end's audio, for an <audio> element. */
  stream?: MediaStream;
}

/** How the last call ended, for one status line. */
export interface EndedCall {
  number: string;
  name?: string;
  /** JsSIP's cause when it failed ("Busy", "Rejected", "User Denied Media Access"...); undefined: ended normally. */
  failed?: string;
}

export interface PhoneSnapshot {
  registration: RegistrationState;
  /** Why registration failed (JsSIP's cause). */
  reason?: string;
  calls: PhoneCall[];
  /** undefined until the first NOTIFY of the lamp. */
  mailbox?: Mailbox;
  lastEnded?: EndedCall;
  /** The microphone was refused by the browser (or there is none). */
  noMicrophone: boolean;
}

/** What a call's media is: audio only, no STUN/TURN (the PBX is ICE-lite, reachable as it is). */
const MEDIA = {
  mediaConstraints: { audio: true, video: false },
  pcConfig: { iceServers: [] },
  rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
};
/** RFC 4733 events as a desk phone sends them: 160 ms each, 80 ms apart. */
const DTMF = { transportType: "RFC2833" as const, duration: 160, interToneGap: 80 };
const MWI_EXPIRES_S = 3600;
/** A lamp subscription that ended is tried again after this long. */
const MWI_RETRY_MS = 60_000;

interface Entry {
  session: SipSession;
  call: PhoneCall;
  /** Our hold or resume re-INVITE is in progress (JsSIP takes no other offer meanwhile). */
  busy: boolean;
  /** What was asked meanwhile: the last wish wins. */
  wanted?: "hold" | "unhold";
}

/** How often, and how long apart, a hold or resume that JsSIP could not start yet is tried again. */
const RENEGOTIATE_TRIES = 20;
const RENEGOTIATE_RETRY_MS = 250;

export class Phone {
  private ua: SipUa | undefined;
  private readonly entries = new Map<string, Entry>();
  private state: PhoneSnapshot = { registration: "connecting", calls: [], noMicrophone: false };
  private readonly listeners = new Set<(s: PhoneSnapshot) => void>();
  private subscriber: SipSubscriber | undefined;
  private mwiTimer: unknown;
  private stopped = false;

  constructor(
    private readonly credentials: SoftphoneCredentials,
    private readonly deps: PhoneDeps,
  ) {}

  get snapshot(): PhoneSnapshot {
    return this.state;
  }

  /** Tells `listener` every new snapshot; returns the function that stops it. */
  subscribe(listener: (s: PhoneSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    const ua = this.deps.createUa(this.credentials);
    this.ua = ua;
    ua.on("connecting", () => this.setRegistration("connecting"));
    ua.on("disconnected", () => this.setRegistration("disconnected"));
    ua.on("registered", () => {
      this.setRegistration("registered");
      this.watchMailbox();
    });
    ua.on("unregistered", () => this.setRegistration("unregistered"));
    ua.on("registrationFailed", (e: { cause?: string }) => this.setRegistration("failed", e?.cause));
    ua.on("newRTCSession", (e: { session: SipSession; originator: string }) => this.adopt(e.session));
    ua.start();
  }

  /** Hangs up every call, ends the lamp's subscription and the registration. */
  stop(): void {
    this.stopped = true;
    if (this.mwiTimer !== undefined) this.deps.clearTimer(this.mwiTimer);
    for (const { session } of this.entries.values()) if (!session.isEnded()) session.terminate();
    this.subscriber?.terminate();
    this.ua?.stop();
    this.listeners.clear();
  }

  /** Calls `number` (already normalised, dial.ts); the talking call is held first. */
  dial(number: string): void {
    if (!this.ua) return;
    this.holdOthers(undefined);
    this.ua.call(number, MEDIA);
  }

  /** Answers a ringing call; the talking one is held first (call waiting). */
  answer(id: string): void {
    const e = this.entries.get(id);
    if (e?.call.state !== "ringing") return;
    this.holdOthers(id);
    e.session.answer(MEDIA);
  }

  /** Hangs up, cancels or declines a call. */
  hangUp(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.session.isEnded()) return;
    // A ringing call declined says busy (486), as a desk phone's reject key.
    e.session.terminate(e.call.state === "ringing" ? { status_code: 486, reason_phrase: "Busy Here" } : {});
  }

  hold(id: string): void {
    const e = this.entries.get(id);
    if (e?.call.state === "active") this.renegotiate(e, "hold");
  }

  /** Takes a held call back; the talking one is held first. */
  resume(id: string): void {
    const e = this.entries.get(id);
    if (e?.call.state !== "held") return;
    this.holdOthers(id);
    this.renegotiate(e, "unhold");
  }

  /** One keypad key into a talking call, as an RFC 4733 event. */
  dtmf(id: string, key: string): void {
    const e = this.entries.get(id);
    if (e?.call.state !== "active" || !/^[0-9*#]$/.test(key)) return;
    e.session.sendDTMF(key, DTMF);
  }

  /** Blind transfer (REFER) of an answered call to `target` (normalised, dial.ts). */
  transfer(id: string, target: string): void {
    const e = this.entries.get(id);
    if (!e || (e.call.state !== "active" && e.call.state !== "held")) return;
    const domain = this.credentials.uri.replace(/^sips?:[^@]*@/, "");
    const to = `sip:${target.replace(/#/g, "%23")}@${domain}`;
    this.update(e, { transfer: { target, state: "pending" } });
    e.session.refer(to, {
      eventHandlers: {
        // NOTIFY 2xx: the PBX put the other party through; our part is over.
        accepted: () => {
          if (!e.session.isEnded()) e.session.terminate();
        },
        failed: () => this.update(e, { transfer: { target, state: "failed" } }),
        requestFailed: () => this.update(e, { transfer: { target, state: "failed" } }),
      },
    });
  }

  // --- sessions ---------------------------------------------------------------

  private adopt(session: SipSession): void {
    const incoming = session.direction === "incoming";
    const call: PhoneCall = {
      id: session.id,
      direction: incoming ? "incoming" : "outgoing",
      number: session.remote_identity?.uri?.user ?? "",
      state: incoming ? "ringing" : "calling",
      remoteHold: false,
    };
    const name = session.remote_identity?.display_name;
    if (name) call.name = name;
    const entry: Entry = { session, call, busy: false };
    this.entries.set(session.id, entry);
    // An outgoing call has its connection already; an incoming one gets it when answered.
    if (session.connection) this.listen(entry, session.connection);
    session.on("peerconnection", (e: { peerconnection: RTCPeerConnection }) =>
      this.listen(entry, e.peerconnection),
    );
    session.on("progress", () => {
      if (entry.call.state === "calling") this.update(entry, { state: "progress" });
    });
    session.on("accepted", () => this.update(entry, { state: "active", answeredAt: this.deps.now() }));
    session.on("hold", (e: { originator: string }) => {
      if (e.originator === "local") this.update(entry, { state: "held" });
      else this.update(entry, { remoteHold: true });
    });
    session.on("unhold", (e: { originator: string }) => {
      if (e.originator === "local") this.update(entry, { state: "active" });
      else this.update(entry, { remoteHold: false });
    });
    session.on("ended", () => this.ended(entry));
    session.on("failed", (e: { cause?: string }) => this.ended(entry, e?.cause ?? "Failed"));
    this.publish();
  }

  private listen(entry: Entry, pc: RTCPeerConnection): void {
    pc.addEventListener("track", (e: RTCTrackEvent) => {
      if (e.track.kind !== "audio") return;
      this.update(entry, { stream: e.streams[0] ?? new MediaStream([e.track]) });
    });
  }

  private ended(entry: Entry, cause?: string): void {
    if (!this.entries.delete(entry.call.id)) return;
    const last: EndedCall = { number: entry.call.number };
    if (entry.call.name) last.name = entry.call.name;
    // A cancelled incoming call (the caller gave up, answered elsewhere) is no failure to report.
    if (cause && cause !== "Canceled" && !(entry.call.direction === "incoming" && cause === "Rejected"))
      last.failed = cause;
    const noMicrophone = cause === "User Denied Media Access" || this.state.noMicrophone;
    this.state = { ...this.state, lastEnded: last, noMicrophone };
    this.publish();
  }

  /** Holds every talking call but `except`. */
  private holdOthers(except: string | undefined): void {
    for (const [id, e] of this.entries)
      if (id !== except && e.call.state === "active") this.renegotiate(e, "hold");
  }

  /**
   * Holds or resumes once no re-INVITE of ours is in progress: a hold's
   * "held" shows at once (JsSIP says so before its re-INVITE is answered),
   * and a resume clicked meanwhile waits for that answer instead of being
   * lost. One that JsSIP cannot start yet (the far end's re-INVITE in
   * progress) is tried again a little later.
   */
  private renegotiate(e: Entry, action: "hold" | "unhold", tries = RENEGOTIATE_TRIES): void {
    if (e.busy) {
      e.wanted = action;
      return;
    }
    if (!this.entries.has(e.call.id) || e.session.isEnded()) return;
    const already = action === "hold" ? e.call.state === "held" : e.call.state === "active";
    if (already) return;
    e.busy = true;
    const done = () => {
      e.busy = false;
      const next = e.wanted;
      e.wanted = undefined;
      if (next) this.renegotiate(e, next);
    };
    const started = action === "hold" ? e.session.hold({}, done) : e.session.unhold({}, done);
    if (started) return;
    e.busy = false;
    if (tries > 0) this.deps.setTimer(() => this.renegotiate(e, action, tries - 1), RENEGOTIATE_RETRY_MS);
  }

  // --- the lamp ---------------------------------------------------------------

  private watchMailbox(): void {
    if (this.subscriber || this.stopped || !this.ua) return;
    const type = "application/simple-message-summary";
    const subscriber = this.ua.subscribe(this.credentials.uri, "message-summary", type, {
      expires: MWI_EXPIRES_S,
      contentType: type,
    });
    this.subscriber = subscriber;
    subscriber.on("notify", (_final: boolean, _request: unknown, body: string | undefined) => {
      const mailbox = readMessageSummary(body);
      if (mailbox) {
        this.state = { ...this.state, mailbox };
        this.publish();
      }
    });
    subscriber.on("terminated", () => {
      if (this.subscriber !== subscriber) return;
      this.subscriber = undefined;
      if (this.stopped) return;
      // The PBX ended it (a restart, a refusal): ask again later, not in a loop.
      this.mwiTimer = this.deps.setTimer(() => {
        this.mwiTimer = undefined;
        if (this.state.registration === "registered") this.watchMailbox();
      }, MWI_RETRY_MS);
    });
    subscriber.subscribe();
  }

  // --- snapshots --------------------------------------------------------------

  private setRegistration(registration: RegistrationState, reason?: string): void {
    const next: PhoneSnapshot = { ...this.state, registration };
    if (reason) next.reason = reason;
    else delete next.reason;
    this.state = next;
    this.publish();
  }

  private update(entry: Entry, change: Partial<PhoneCall>): void {
    if (!this.entries.has(entry.call.id)) return;
    entry.call = { ...entry.call, ...change };
    this.publish();
  }

  private publish(): void {
    if (this.stopped) return;
    this.state = { ...this.state, calls: [...this.entries.values()].map((e) => e.call) };
    for (const l of [...this.listeners]) l(this.state);
  }
}
