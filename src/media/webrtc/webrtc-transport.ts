// One browser leg's media, terminated by us: ICE-lite, DTLS-SRTP and
// SRTP/SRTCP with rtcp-mux over one UDP port. What leaves it upwards is
// plain RTP and RTCP, exactly as from an RtpLeg, so the relay, the media
// endpoint and the recorder need not know the leg is a browser: the class
// is a MediaLeg.
//
// Per datagram (RFC 7983 §7): STUN goes to the ICE-lite responder and is
// answered at once; DTLS goes to the DTLS server; SRTP and SRTCP are
// authenticated and decrypted with the keys that the handshake exported.
// DTLS and SRTP are taken only from addresses that passed an authenticated
// connectivity check (RFC 8445 §7.3: a valid pair), and we send to the pair
// the browser nominated (USE-CANDIDATE, §7.3.1.5), which it may change.
//
// Time: the handshake must complete within handshakeTimeoutMs of the
// remote description, and once connected the browser must keep checking
// (consent freshness, RFC 7675 §5.1: every 5 s or so); silence for
// consentTimeoutMs fails the leg. Both on the injected clock.
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { MediaLeg } from "../rtp/media-leg.ts";
import { type PacketHandler, type RtpLegCounters, zeroLegCounters } from "../rtp/rtp-leg.ts";
import { SequenceLoss } from "../rtp/sequence-loss.ts";
import { type SrtpCounters, SrtpTransform } from "../rtp/srtp-transform.ts";
import type { SrtpProfile } from "../srtp/index.ts";
import type { DatagramPort, RemoteAddress } from "./datagram-port.ts";
import { classifyPacket } from "./demux.ts";
import type { DtlsCertificate, DtlsFingerprint } from "./dtls-certificate.ts";
import {
  DtlsFailure,
  type DtlsFailureReason,
  DtlsServerEndpoint,
  type DtlsSrtpResult,
} from "./dtls-server-endpoint.ts";
import { generateIceCredentials, type IceCredentials, IceLiteResponder } from "./ice-lite.ts";
import type { WebRtcRemoteParameters } from "./webrtc-sdp.ts";

export interface WebRtcTransportOptions {
  /** The leg's UDP port (see DatagramPort). */
  port: DatagramPort;
  /** The address and port our SDP announces as our host candidate. */
  localAddress: string;
  localPort: number;
  /** Our DTLS certificate (processDtlsCertificate() for the process's one). */
  certificate: DtlsCertificate;
  clock: Clock;
  log?: Logger;
  /** Our ICE credentials (default: fresh random ones, RFC 8445 §5.3). */
  ice?: IceCredentials;
  /** SRTP profiles to negotiate, ours first (default AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM). */
  profiles?: readonly SrtpProfile[];
  /** From setRemoteParameters() to DTLS connected (default 15 000 ms). */
  handshakeTimeoutMs?: number;
  /** Connected, no authenticated check from the browser for this long: failed (default 30 000 ms, RFC 7675 §5.1). */
  consentTimeoutMs?: number;
}

export type WebRtcState = "new" | "connecting" | "connected" | "failed" | "closed";

/** Why a leg failed: a DTLS reason, or ICE consent lost after the leg was up. */
export type WebRtcFailureReason = DtlsFailureReason | "consent";

export class WebRtcFailure extends Error {
  constructor(
    readonly reason: WebRtcFailureReason,
    message: string,
  ) {
    super(message);
    this.name = "WebRtcFailure";
  }
}

/** What the leg learnt when it came up. */
export interface WebRtcConnection {
  /** The nominated pair's remote side: where media goes. */
  remote: RemoteAddress;
  profile: SrtpProfile;
  /** The browser's certificate (DER). */
  remoteCertificate: Buffer;
}

export interface WebRtcCounters extends RtpLegCounters {
  stunRequests: number;
  stunAuthenticated: number;
  /** Requests refused (bad credentials, malformed, role conflict): answered with an error or dropped. */
  stunRejected: number;
  dtlsIn: number;
  dtlsOut: number;
  /** DTLS, SRTP or SRTCP from an address that passed no authenticated check: dropped. */
  unvalidatedDropped: number;
  /** SRTP or SRTCP before the keys were agreed: dropped. */
  beforeKeysDropped: number;
  /** Neither STUN, DTLS nor RTP by its first byte (RFC 7983): dropped. */
  unknownDropped: number;
  /** Authentication, replay and malformed counts of SRTP/SRTCP (SrtpTransform). */
  srtp: SrtpCounters;
}

/** Valid pairs remembered: a browser checks a handful of its candidates against our one. */
const MAX_VALIDATED = 16;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
const DEFAULT_CONSENT_TIMEOUT_MS = 30_000;

export class WebRtcTransport implements MediaLeg {
  /** Plain RTP from the browser (after SRTP); swappable at any time. */
  onPacket: PacketHandler | null = null;
  /** Plain RTCP from the browser (after SRTCP). */
  onRtcp: PacketHandler | null = null;
  /** ICE and DTLS are up, keys agreed: media can flow. Told once. */
  onConnected: ((connection: WebRtcConnection) => void) | null = null;
  /** The leg failed (DTLS alert or refusal, fingerprint mismatch, timeout, consent lost). Told once. */
  onFailed: ((failure: WebRtcFailure) => void) | null = null;
  /** The browser closed the DTLS association (an alert after it was up). Told once. */
  onClosed: (() => void) | null = null;
  /** MediaLeg: told once when the leg fails, like onFailed (the relay takes this one). */
  onFailure: ((err: Error) => void) | null = null;

  readonly ice: IceCredentials;
  readonly localAddress: string;
  readonly localPort: number;
  lastReceivedAt = 0;
  readonly counters: WebRtcCounters;
  private readonly loss = new SequenceLoss();

  private readonly opts: WebRtcTransportOptions;
  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly responder: IceLiteResponder;
  private readonly dtls: DtlsServerEndpoint;
  private readonly detach: () => void;
  private stateValue: WebRtcState = "new";
  private failure: WebRtcFailure | undefined;
  private srtp: SrtpTransform | undefined;
  private connection: WebRtcConnection | undefined;
  private remoteParameters: WebRtcRemoteParameters | undefined;
  /** Sources of authenticated checks ("address|port" → address), oldest first. */
  private readonly validated = new Map<string, RemoteAddress>();
  /** The nominated pair's remote side. */
  private selected: RemoteAddress | undefined;
  /** Where DTLS goes before a nomination: the last validated source that spoke DTLS. */
  private dtlsPeer: RemoteAddress | undefined;
  private lastConsentAt = 0;
  private handshakeTimer: Timer | null = null;
  private consentTimer: Timer | null = null;

  constructor(opts: WebRtcTransportOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.log = opts.log;
    this.localAddress = opts.localAddress;
    this.localPort = opts.localPort;
    this.ice = opts.ice ?? generateIceCredentials();
    this.responder = new IceLiteResponder(this.ice);
    this.counters = {
      ...zeroLegCounters(),
      stunRequests: 0,
      stunAuthenticated: 0,
      stunRejected: 0,
      dtlsIn: 0,
      dtlsOut: 0,
      unvalidatedDropped: 0,
      beforeKeysDropped: 0,
      unknownDropped: 0,
      srtp: { authFailed: 0, replayed: 0, malformed: 0, protectFailed: 0 },
    };
    this.dtls = new DtlsServerEndpoint({
      certificate: opts.certificate,
      profiles: opts.profiles,
      send: (datagram) => this.sendDtls(datagram),
      log: opts.log,
    });
    this.dtls.onConnected = (result) => this.dtlsConnected(result);
    this.dtls.onFailed = (failure) => this.fail(new WebRtcFailure(failure.reason, failure.message));
    this.dtls.onClosed = () => this.peerClosed();
    this.detach = opts.port.onMessage((msg, from) => this.receive(msg, from));
  }

  /** Our a=fingerprint. */
  get fingerprint(): DtlsFingerprint {
    return this.opts.certificate.fingerprint;
  }

  get state(): WebRtcState {
    return this.stateValue;
  }

  /** Set once the leg is up. */
  get connected(): WebRtcConnection | undefined {
    return this.connection;
  }

  /** MediaLeg: why the leg failed, once it has. */
  get failed(): Error | undefined {
    return this.failure;
  }

  get isClosed(): boolean {
    return this.stateValue === "closed" || this.stateValue === "failed";
  }

  /** MediaLeg: our sends are copies (protectRtp), so the caller's buffer is free at once. */
  get sendIdle(): boolean {
    return true;
  }

  /**
   * The browser's transport parameters, from its offer or its answer
   * (readWebRtcOffer / readWebRtcAnswer). Starts the handshake deadline.
   * Given again (a re-INVITE) with the same credentials and fingerprints it
   * changes nothing; an ICE restart or a new certificate is refused with a
   * RangeError (not supported: the leg would need new keys).
   */
  setRemoteParameters(remote: WebRtcRemoteParameters): void {
    if (this.isClosed) return;
    const known = this.remoteParameters;
    if (known) {
      const same =
        known.ice.ufrag === remote.ice.ufrag &&
        known.ice.pwd === remote.ice.pwd &&
        sameFingerprints(known.fingerprints, remote.fingerprints);
      if (!same) throw new RangeError("ICE restart or new DTLS certificate on a WebRTC leg is not supported");
      return;
    }
    this.remoteParameters = remote;
    this.responder.remoteUfrag = remote.ice.ufrag;
    this.dtls.setRemoteFingerprints(remote.fingerprints);
    if (this.stateValue === "new") this.stateValue = "connecting";
    if (this.stateValue === "connecting") {
      this.handshakeTimer = this.clock.setTimer(
        this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
        () => this.handshakeExpired(),
      );
    }
  }

  /** MediaLeg: where to send comes from ICE, not from SDP; the c=/m= address of a browser is a placeholder. */
  setRemote(_address: string, _port: number, _rtcpPort?: number): void {}

  /** MediaLeg: the keys of a browser leg come from its DTLS handshake (RFC 5764), never from SDP. */
  setSrtp(): void {}

  /** Protects and sends plain RTP to the nominated pair; false when not possible yet (no keys, no pair). */
  send(buf: Buffer, offset: number, length: number): boolean {
    const out = this.protect(buf, offset, length, false);
    if (!out) return false;
    this.counters.packetsOut++;
    this.counters.bytesOut += length;
    return true;
  }

  /** Protects and sends plain RTCP (SRTCP, same port: rtcp-mux). */
  sendRtcp(buf: Buffer, offset: number, length: number): boolean {
    const out = this.protect(buf, offset, length, true);
    if (!out) return false;
    this.counters.rtcpOut++;
    return true;
  }

  /** Stops the leg: no more answers, packets or events. The port stays its owner's. */
  close(): void {
    if (this.isClosed) return;
    this.stateValue = "closed";
    this.stop();
    this.dtls.close();
  }

  private stop(): void {
    this.onPacket = null;
    this.onRtcp = null;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.consentTimer?.cancel();
    this.consentTimer = null;
    this.detach();
  }

  private protect(buf: Buffer, offset: number, length: number, rtcp: boolean): Buffer | undefined {
    const to = this.selected;
    if (this.stateValue !== "connected" || !this.srtp || !to) {
      this.counters.unsentNoRemote++;
      return undefined;
    }
    const out = rtcp ? this.srtp.protectRtcp(buf, offset, length) : this.srtp.protectRtp(buf, offset, length);
    if (!out) return undefined;
    this.opts.port.send(out, to.port, to.address);
    return out;
  }

  private receive(msg: Buffer, from: RemoteAddress): void {
    if (this.isClosed) return;
    try {
      switch (classifyPacket(msg)) {
        case "stun":
          this.receiveStun(msg, from);
          return;
        case "dtls":
          this.receiveDtls(msg, from);
          return;
        case "rtp":
          this.receiveSrtp(msg, from, false);
          return;
        case "rtcp":
          this.receiveSrtp(msg, from, true);
          return;
        default:
          this.counters.unknownDropped++;
      }
    } catch (err) {
      // Nothing a datagram holds may take the process down (the handlers above are ours and werift's).
      this.log?.warn({ err }, "webrtc: datagram handling failed");
    }
  }

  private receiveStun(msg: Buffer, from: RemoteAddress): void {
    this.counters.stunRequests++;
    const outcome = this.responder.handle(msg, from);
    if (outcome.kind === "ignored") return;
    if (outcome.kind === "rejected") {
      this.counters.stunRejected++;
      this.log?.debug({ reason: outcome.reason, from }, "webrtc: STUN request refused");
      if (outcome.response) this.opts.port.send(outcome.response, from.port, from.address);
      return;
    }
    this.counters.stunAuthenticated++;
    this.opts.port.send(outcome.response, from.port, from.address);
    const key = `${from.address}|${from.port}`;
    this.validated.delete(key);
    this.validated.set(key, { address: from.address, port: from.port });
    if (this.validated.size > MAX_VALIDATED) {
      const oldest = this.validated.keys().next().value;
      if (oldest !== undefined && oldest !== key) this.validated.delete(oldest);
    }
    const now = this.clock.now();
    this.lastConsentAt = now;
    if (outcome.useCandidate) {
      const moved =
        !this.selected || this.selected.address !== from.address || this.selected.port !== from.port;
      if (moved) {
        this.selected = { address: from.address, port: from.port };
        this.counters.connects++;
        if (this.connection) this.connection.remote = this.selected;
        this.log?.debug({ remote: this.selected }, "webrtc: pair nominated");
      }
    }
  }

  private receiveDtls(msg: Buffer, from: RemoteAddress): void {
    if (!this.isValidated(from)) {
      this.counters.unvalidatedDropped++;
      return;
    }
    this.counters.dtlsIn++;
    this.dtlsPeer = { address: from.address, port: from.port };
    this.dtls.receive(msg);
  }

  private receiveSrtp(msg: Buffer, from: RemoteAddress, rtcp: boolean): void {
    if (!this.isValidated(from)) {
      this.counters.unvalidatedDropped++;
      return;
    }
    const srtp = this.srtp;
    if (!srtp) {
      this.counters.beforeKeysDropped++;
      return;
    }
    const n = rtcp ? srtp.unprotectRtcp(msg, msg.length) : srtp.unprotectRtp(msg, msg.length);
    if (n === undefined) return;
    if (rtcp) {
      this.counters.rtcpIn++;
      this.onRtcp?.(msg, n);
      return;
    }
    this.counters.packetsIn++;
    this.counters.bytesIn += n;
    this.loss.packet(msg.readUInt32BE(8), msg.readUInt16BE(2));
    this.counters.packetsLost = this.loss.lost;
    this.lastReceivedAt = this.clock.now();
    this.onPacket?.(msg, n);
  }

  private isValidated(from: RemoteAddress): boolean {
    return this.validated.has(`${from.address}|${from.port}`);
  }

  private sendDtls(datagram: Buffer): void {
    const to = this.selected ?? this.dtlsPeer;
    if (!to || this.isClosed) return;
    this.counters.dtlsOut++;
    this.opts.port.send(datagram, to.port, to.address);
  }

  private dtlsConnected(result: DtlsSrtpResult): void {
    if (this.isClosed) return;
    const remote = this.selected ?? this.dtlsPeer;
    if (!remote) {
      this.fail(new WebRtcFailure("handshake", "DTLS completed without a validated pair"));
      return;
    }
    // A lite agent sends where the browser nominated; until it does, to where the handshake came from.
    this.selected ??= remote;
    this.srtp = new SrtpTransform(result.keys);
    this.counters.srtp = this.srtp.counters;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.stateValue = "connected";
    this.connection = {
      remote: this.selected,
      profile: result.profile,
      remoteCertificate: result.remoteCertificate,
    };
    this.armConsent();
    this.log?.info({ remote: this.selected, profile: result.profile }, "webrtc leg connected");
    this.onConnected?.(this.connection);
  }

  private handshakeExpired(): void {
    this.handshakeTimer = null;
    if (this.stateValue !== "connecting") return;
    const reason = this.validated.size === 0 ? "no authenticated ICE check" : "DTLS did not complete";
    this.dtls.fail(new DtlsFailure("timeout", `WebRTC leg not up in time: ${reason}`));
    // dtls.fail reports through onFailed, unless werift had already finished: make sure the leg fails.
    this.fail(new WebRtcFailure("timeout", `WebRTC leg not up in time: ${reason}`));
  }

  /** RFC 7675 §5.1: consent expires 30 s after the last authenticated check. */
  private armConsent(): void {
    const limit = this.opts.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS;
    const due = this.lastConsentAt + limit - this.clock.now();
    this.consentTimer = this.clock.setTimer(Math.max(1, due), () => {
      this.consentTimer = null;
      if (this.stateValue !== "connected") return;
      if (this.clock.now() - this.lastConsentAt >= limit) {
        this.fail(new WebRtcFailure("consent", "ICE consent lost: no check from the browser (RFC 7675)"));
      } else this.armConsent();
    });
  }

  private fail(failure: WebRtcFailure): void {
    if (this.isClosed) return;
    this.stateValue = "failed";
    this.failure = failure;
    this.stop();
    this.dtls.close();
    this.log?.info({ reason: failure.reason, err: failure.message }, "webrtc leg failed");
    const a = this.onFailed;
    const b = this.onFailure;
    this.onFailed = null;
    this.onFailure = null;
    a?.(failure);
    b?.(failure);
  }

  private peerClosed(): void {
    if (this.isClosed) return;
    this.stateValue = "closed";
    this.stop();
    this.log?.info("webrtc leg closed by the browser");
    const handler = this.onClosed;
    this.onClosed = null;
    handler?.();
  }
}

function sameFingerprints(a: readonly DtlsFingerprint[], b: readonly DtlsFingerprint[]): boolean {
  const key = (f: DtlsFingerprint) => `${f.algorithm} ${f.value.toUpperCase()}`;
  const x = new Set(a.map(key));
  return b.length === a.length && b.every((f) => x.has(key(f)));
}
