// A call leg whose sockets live on a media worker thread (sockets cannot move
// between threads): the main thread's stand-in for the worker's RtpLeg.
//
// - Setting onPacket/onRtcp asks the worker to forward what it receives
//   (batched, see protocol.ts); null asks it to stop. send() copies the
//   packet into the batch going to the worker, so the caller's buffer is
//   free again at once (sendIdle is always true).
// - A relay with another leg of the same worker runs in the worker
//   (relayInPlace); nothing crosses this thread per packet.
// - The counters and lastReceivedAt are mirrored from the worker's
//   periodic reports (lastReceivedAt also from each forwarded packet), on
//   this thread's injected clock.

import type { Clock } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import type { SdesAgreement } from "../../srtp/index.ts";
import type { InPlaceRelay, MediaLeg } from "../media-leg.ts";
import { type PacketHandler, type RtpLegCounters, zeroLegCounters } from "../rtp-leg.ts";
import { LEG_COUNTERS, type PacketKind, RTCP, RTP, type ToWorker } from "./protocol.ts";

/** What a RemoteRtpLeg needs of the thread that owns its sockets (MediaThread). */
export interface LegLink {
  readonly log: Logger;
  post(msg: ToWorker): void;
  queuePacket(leg: number, kind: PacketKind, buf: Buffer, offset: number, length: number): void;
  relayInPlace(a: RemoteRtpLeg, b: RemoteRtpLeg): InPlaceRelay;
}

export class RemoteRtpLeg implements MediaLeg {
  lastReceivedAt = 0;
  readonly counters: RtpLegCounters = zeroLegCounters();
  failed: Error | undefined = undefined;
  onFailure: ((err: Error) => void) | null = null;
  private rtpHandler: PacketHandler | null = null;
  private rtcpHandler: PacketHandler | null = null;
  private closed = false;
  private hasRemote = false;
  private hasRtcpRemote = false;

  constructor(
    readonly link: LegLink,
    readonly id: number,
    readonly localAddress: string,
    readonly localPort: number,
    readonly localRtcpPort: number,
    private readonly clock: Clock,
  ) {}

  get onPacket(): PacketHandler | null {
    return this.rtpHandler;
  }

  set onPacket(h: PacketHandler | null) {
    const was = this.rtpHandler !== null;
    this.rtpHandler = h;
    if (!this.closed && was !== (h !== null))
      this.link.post({ t: "forward", leg: this.id, kind: RTP, on: h !== null });
  }

  get onRtcp(): PacketHandler | null {
    return this.rtcpHandler;
  }

  set onRtcp(h: PacketHandler | null) {
    const was = this.rtcpHandler !== null;
    this.rtcpHandler = h;
    if (!this.closed && was !== (h !== null))
      this.link.post({ t: "forward", leg: this.id, kind: RTCP, on: h !== null });
  }

  /** The packet is copied on its way to the worker: the caller's buffer is free at once. */
  get sendIdle(): boolean {
    return true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setSrtp(keys: SdesAgreement | undefined): void {
    if (this.closed) return;
    this.link.post({ t: "srtp", leg: this.id, keys });
  }

  setRemote(address: string, port: number, rtcpPort?: number): void {
    if (this.closed) return;
    this.hasRemote = port !== 0;
    this.hasRtcpRemote = (rtcpPort ?? (port ? port + 1 : 0)) !== 0;
    this.link.post({ t: "remote", leg: this.id, address, port, rtcpPort });
  }

  /**
   * Queues the packet for the worker. True when the worker will have a
   * destination for it (a remote was set); as RtpLeg, a packet without one
   * is counted there as unsent.
   */
  send(buf: Buffer, offset: number, length: number): boolean {
    if (this.closed) return false;
    this.link.queuePacket(this.id, RTP, buf, offset, length);
    return this.hasRemote;
  }

  sendRtcp(buf: Buffer, offset: number, length: number): boolean {
    if (this.closed || !this.hasRtcpRemote) return false;
    this.link.queuePacket(this.id, RTCP, buf, offset, length);
    return true;
  }

  close(): void {
    if (this.detach()) this.link.post({ t: "close", leg: this.id });
  }

  /**
   * Closes this side only, for a release: the worker closes the sockets as it
   * releases the leg, so one message does both. False if already closed.
   */
  detach(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.rtpHandler = null;
    this.rtcpHandler = null;
    return true;
  }

  relayInPlace(other: MediaLeg): InPlaceRelay | undefined {
    if (!(other instanceof RemoteRtpLeg) || other.link !== this.link || other === this) return undefined;
    if (this.closed || other.closed) return undefined;
    // The worker's relay takes over from whatever consumed the legs here (as RtpRelay's handlers would).
    this.rtpHandler = null;
    this.rtcpHandler = null;
    other.rtpHandler = null;
    other.rtcpHandler = null;
    return this.link.relayInPlace(this, other);
  }

  // ---- from the owning thread ---------------------------------------------

  /** A packet the worker forwarded. */
  deliver(kind: PacketKind, packet: Buffer): void {
    const handler = kind === RTP ? this.rtpHandler : this.rtcpHandler;
    if (kind === RTP) this.lastReceivedAt = this.clock.now();
    if (!handler) return;
    try {
      handler(packet, packet.length);
    } catch (err) {
      this.link.log.warn({ err }, kind === RTP ? "rtp packet handler failed" : "rtcp packet handler failed");
    }
  }

  /** The worker's report: `values[at]` is the leg id, then ms since its last packet, then LEG_COUNTERS. */
  report(values: Float64Array, at: number): void {
    const agoMs = values[at + 1];
    const before = this.counters.packetsIn;
    const c = this.counters as Record<keyof RtpLegCounters, number>;
    for (let k = 0; k < LEG_COUNTERS.length; k++) c[LEG_COUNTERS[k]] = values[at + 2 + k];
    if (c.packetsIn > before && agoMs >= 0) {
      this.lastReceivedAt = Math.max(this.lastReceivedAt, this.clock.now() - agoMs);
    }
  }

  /** The worker holding the sockets died: the leg is closed for good and its user is told. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.closed = true;
    this.rtpHandler = null;
    this.rtcpHandler = null;
    const observer = this.onFailure;
    this.onFailure = null;
    if (!observer) return;
    try {
      observer(err);
    } catch (e) {
      this.link.log.error({ err: e }, "media leg failure handler failed");
    }
  }
}
