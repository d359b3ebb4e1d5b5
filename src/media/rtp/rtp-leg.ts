// One call leg's media sockets on our side, with symmetric RTP latching.
//
// Phones behind NAT advertise a private address in SDP; the packets arrive
// from the NAT's public address and port. Symmetric RTP (RFC 4961) lets us
// send back to where the packets come from: after each setRemote() the leg
// locks onto the first valid RTP source and sends there. Once locked, packets
// from any other source are dropped (a stranger spraying our port must not
// steal the stream), unless the locked source has been silent for
// `relatchAfterMs` (the phone's NAT mapping changed) or the SDP changed.
import type { RemoteInfo } from "node:dgram";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { looksLikeRtcp, looksLikeRtp } from "./packet.ts";
import type { RtpSocketPair } from "./port-pool.ts";

export type PacketHandler = (buf: Buffer, len: number) => void;

export interface RtpLegOptions {
  clock: Clock;
  log?: Logger;
  /** A latched source silent this long may be replaced by a new one. Default 2000 ms. */
  relatchAfterMs?: number;
}

export interface RtpLegCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /** Packets from a source other than the latched one, dropped. */
  foreignDropped: number;
  /** Not RTP (wrong version, too short), dropped. */
  invalidDropped: number;
  /** send() with no known destination yet. */
  unsentNoRemote: number;
}

const REJECT = 0;
const ACCEPT = 1;
const LATCHED = 2;
/** RTCP comes every ~5 s (RFC 3550 §6.2), so its source may only move after a longer silence. */
const RTCP_RELATCH_MS = 20_000;

/** Where one socket (RTP or RTCP) sends, and which source it has locked onto. */
class Latch {
  sdpAddress = "";
  sdpPort = 0;
  address = "";
  port = 0;
  latched = false;
  lastAt = 0;

  reset(address: string, port: number): void {
    this.sdpAddress = address;
    this.sdpPort = port;
    this.address = address;
    this.port = port;
    this.latched = false;
  }

  /** Returns REJECT, ACCEPT, or LATCHED when the packet (re)locked the destination onto its source. */
  accept(rinfo: RemoteInfo, now: number, relatchAfterMs: number): number {
    if (this.latched) {
      if (rinfo.port === this.port && rinfo.address === this.address) {
        this.lastAt = now;
        return ACCEPT;
      }
      if (now - this.lastAt < relatchAfterMs) return REJECT;
    }
    this.latched = true;
    this.address = rinfo.address;
    this.port = rinfo.port;
    this.lastAt = now;
    return LATCHED;
  }
}

export class RtpLeg {
  /** The current consumer of RTP (an endpoint or a relay); swappable at any time. */
  onPacket: PacketHandler | null = null;
  /** The current consumer of RTCP; when null RTCP is only counted. */
  onRtcp: PacketHandler | null = null;
  /** Clock time of the last accepted RTP packet; 0 before the first. */
  lastReceivedAt = 0;
  /** Clock time of the last accepted RTCP packet; 0 before the first. */
  lastRtcpAt = 0;
  readonly counters: RtpLegCounters = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    rtcpIn: 0,
    rtcpOut: 0,
    foreignDropped: 0,
    invalidDropped: 0,
    unsentNoRemote: 0,
  };

  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly relatchAfterMs: number;
  private readonly rtpLatch = new Latch();
  private readonly rtcpLatch = new Latch();
  private closed = false;
  private readonly onRtpMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
  private readonly onRtcpMessage: (msg: Buffer, rinfo: RemoteInfo) => void;

  constructor(
    readonly pair: RtpSocketPair,
    opts: RtpLegOptions,
  ) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.relatchAfterMs = opts.relatchAfterMs ?? 2000;
    this.onRtpMessage = (msg, rinfo) => this.receiveRtp(msg, rinfo);
    this.onRtcpMessage = (msg, rinfo) => this.receiveRtcp(msg, rinfo);
    pair.rtp.on("message", this.onRtpMessage);
    pair.rtcp.on("message", this.onRtcpMessage);
  }

  get localAddress(): string {
    return this.pair.address;
  }

  get localPort(): number {
    return this.pair.rtpPort;
  }

  get localRtcpPort(): number {
    return this.pair.rtcpPort;
  }

  get packetsIn(): number {
    return this.counters.packetsIn;
  }

  get packetsOut(): number {
    return this.counters.packetsOut;
  }

  get bytesIn(): number {
    return this.counters.bytesIn;
  }

  get bytesOut(): number {
    return this.counters.bytesOut;
  }

  /** Where RTP currently goes (the latched source, else the SDP address), or null. */
  get remote(): { address: string; port: number; latched: boolean } | null {
    const l = this.rtpLatch;
    return l.port ? { address: l.address, port: l.port, latched: l.latched } : null;
  }

  /**
   * Sets the destination announced in SDP (c= and m= lines; RTCP on
   * rtcpPort, else port + 1 per RFC 3550 §11). A new SDP opens the latch
   * again: the far end may really have moved.
   */
  setRemote(address: string, port: number, rtcpPort?: number): void {
    this.rtpLatch.reset(address, port);
    this.rtcpLatch.reset(address, rtcpPort ?? (port ? port + 1 : 0));
  }

  /**
   * Sends an RTP packet to the current destination. Returns false when it
   * was not handed to the socket (no destination known yet, leg or socket
   * closed); `onSent` is then not called. dgram does not copy `buf`: keep it
   * unchanged until `onSent` (see send-ring.ts).
   */
  send(buf: Buffer, offset: number, length: number, onSent?: (err?: Error | null) => void): boolean {
    const l = this.rtpLatch;
    if (this.closed) return false;
    if (!l.port) {
      this.counters.unsentNoRemote++;
      return false;
    }
    try {
      this.pair.rtp.send(buf, offset, length, l.port, l.address, onSent);
    } catch (err) {
      // The socket was closed under us (pair released while still in use).
      this.log?.debug({ err }, "rtp send failed");
      return false;
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += length;
    return true;
  }

  /** Sends an RTCP packet to the far end's RTCP destination; same contract as send(). */
  sendRtcp(buf: Buffer, offset: number, length: number, onSent?: (err?: Error | null) => void): boolean {
    const l = this.rtcpLatch;
    if (this.closed || !l.port) return false;
    try {
      this.pair.rtcp.send(buf, offset, length, l.port, l.address, onSent);
    } catch (err) {
      this.log?.debug({ err }, "rtcp send failed");
      return false;
    }
    this.counters.rtcpOut++;
    return true;
  }

  /** Stops listening; the sockets themselves belong to the port pool (release them there). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onPacket = null;
    this.onRtcp = null;
    this.pair.rtp.off("message", this.onRtpMessage);
    this.pair.rtcp.off("message", this.onRtcpMessage);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private receiveRtp(msg: Buffer, rinfo: RemoteInfo): void {
    const len = msg.length;
    if (!looksLikeRtp(msg, len)) {
      this.counters.invalidDropped++;
      return;
    }
    const now = this.clock.now();
    const verdict = this.rtpLatch.accept(rinfo, now, this.relatchAfterMs);
    if (verdict === REJECT) {
      this.counters.foreignDropped++;
      return;
    }
    if (verdict === LATCHED) this.log?.debug({ address: rinfo.address, port: rinfo.port }, "rtp latched");
    this.counters.packetsIn++;
    this.counters.bytesIn += len;
    this.lastReceivedAt = now;
    const handler = this.onPacket;
    if (handler) {
      try {
        handler(msg, len);
      } catch (err) {
        this.log?.warn({ err }, "rtp packet handler failed");
      }
    }
  }

  private receiveRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    const len = msg.length;
    if (!looksLikeRtcp(msg, len)) {
      this.counters.invalidDropped++;
      return;
    }
    const now = this.clock.now();
    if (this.rtcpLatch.accept(rinfo, now, Math.max(this.relatchAfterMs, RTCP_RELATCH_MS)) === REJECT) {
      this.counters.foreignDropped++;
      return;
    }
    this.counters.rtcpIn++;
    this.lastRtcpAt = now;
    const handler = this.onRtcp;
    if (handler) {
      try {
        handler(msg, len);
      } catch (err) {
        this.log?.warn({ err }, "rtcp packet handler failed");
      }
    }
  }
}
