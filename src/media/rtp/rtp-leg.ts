// One call leg's media sockets on our side, with symmetric RTP latching.
//
// Phones behind NAT advertise a private address in SDP; the packets arrive
// from the NAT's public address and port. Symmetric RTP (RFC 4961) lets us
// send back to where the packets come from: after each setRemote() the leg
// locks onto the first valid RTP source and sends there. Once locked, packets
// from any other source are dropped (a stranger spraying our port must not
// steal the stream), unless the locked source has been silent for
// `relatchAfterMs` (the phone's NAT mapping changed) or the SDP changed.
//
// Connected sockets. Once a source is latched, the socket is connect()ed to
// it: a send then needs no address (Node skips its per-send lookup and
// deferral, the kernel its per-packet route lookup), and the kernel itself
// drops every other source. The flip side is that a connected socket cannot
// see a phone that moved, so the leg disconnects when the latched source has
// been silent for `relatchAfterMs` (one timer per leg on the injected clock,
// never per packet) or when setRemote() changes the remote; the next packet
// from anyone then latches and connects again. Before the first packet the
// socket stays unconnected and sends to the SDP address: connecting to an
// address that may be a NAT's private one would shut out the real source.

import type { RemoteInfo, Socket } from "node:dgram";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { SdesAgreement } from "../srtp/index.ts";
import type { MediaLeg } from "./media-leg.ts";
import { looksLikeRtcp, looksLikeRtp } from "./packet.ts";
import type { RtpSocketPair } from "./port-pool.ts";
import { SequenceLoss } from "./sequence-loss.ts";
import { SrtpTransform } from "./srtp-transform.ts";

export type PacketHandler = (buf: Buffer, len: number) => void;

export interface RtpLegOptions {
  clock: Clock;
  log?: Logger;
  /** A latched source silent this long may be replaced by a new one. Default 2000 ms. */
  relatchAfterMs?: number;
  /**
   * connect() the sockets to the latched source (cheaper sends, other
   * sources dropped by the kernel). Default true; false keeps the sockets
   * unconnected and filters sources in the leg alone.
   */
  connectSockets?: boolean;
}

export interface RtpLegCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /**
   * Packets from a source other than the latched one, dropped by the leg.
   * While the socket is connected the kernel drops them before they reach
   * us, and they are not counted.
   */
  foreignDropped: number;
  /** Not RTP (wrong version, too short), dropped. */
  invalidDropped: number;
  /** send() with no known destination yet. */
  unsentNoRemote: number;
  /** connect() calls that took effect (one per latch onto a source). */
  connects: number;
  /** Socket errors (ICMP port unreachable reported on a connected socket, mostly). */
  socketErrors: number;
  /** SRTP/SRTCP packets dropped: failed authentication, replayed, or malformed (RFC 3711 §3.3). */
  srtpDropped: number;
  /** RTP packets that never arrived, from the sequence numbers (sequence-loss.ts, RFC 3550 §6.4.1). */
  packetsLost: number;
}

/** Every counter of a new leg. */
export function zeroLegCounters(): RtpLegCounters {
  return {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    rtcpIn: 0,
    rtcpOut: 0,
    foreignDropped: 0,
    invalidDropped: 0,
    unsentNoRemote: 0,
    connects: 0,
    socketErrors: 0,
    srtpDropped: 0,
    packetsLost: 0,
  };
}

const REJECT = 0;
const ACCEPT = 1;
const LATCHED = 2;
/** RTCP comes every ~5 s (RFC 3550 §6.2), so its source may only move after a longer silence. */
const RTCP_RELATCH_MS = 20_000;

const UNCONNECTED = 0;
const CONNECTING = 1;
const CONNECTED = 2;

/** Where one socket (RTP or RTCP) sends, which source it has locked onto, and its connection. */
class Latch {
  sdpAddress = "";
  sdpPort = 0;
  address = "";
  port = 0;
  latched = false;
  lastAt = 0;
  /** UNCONNECTED, CONNECTING or CONNECTED; when CONNECTED, to `address:port`. */
  conn = UNCONNECTED;
  /** Where a connect() in flight goes, to tell on completion whether it is still wanted. */
  connAddress = "";
  connPort = 0;
  /** A destination connect() failed for: not tried again per packet. */
  failedAddress = "";
  failedPort = 0;

  constructor(
    readonly socket: Socket,
    /** Silence after which another source may take over. */
    readonly relatchAfterMs: number,
  ) {}

  reset(address: string, port: number): void {
    this.sdpAddress = address;
    this.sdpPort = port;
    this.address = address;
    this.port = port;
    this.latched = false;
    this.failedPort = 0;
  }

  /** Returns REJECT, ACCEPT, or LATCHED when the packet (re)locked the destination onto its source. */
  accept(rinfo: RemoteInfo, now: number): number {
    if (this.latched) {
      if (rinfo.port === this.port && rinfo.address === this.address) {
        this.lastAt = now;
        return ACCEPT;
      }
      if (now - this.lastAt < this.relatchAfterMs) return REJECT;
    }
    this.latched = true;
    this.address = rinfo.address;
    this.port = rinfo.port;
    this.lastAt = now;
    return LATCHED;
  }

  /** The socket should be connected to `address:port`: a source latched and heard recently. */
  wantsConnection(now: number): boolean {
    return (
      this.latched &&
      this.port !== 0 &&
      now - this.lastAt < this.relatchAfterMs &&
      !(this.port === this.failedPort && this.address === this.failedAddress)
    );
  }
}

export class RtpLeg implements MediaLeg {
  /** The current consumer of RTP (an endpoint or a relay); swappable at any time. */
  onPacket: PacketHandler | null = null;
  /** The current consumer of RTCP; when null RTCP is only counted. */
  onRtcp: PacketHandler | null = null;
  /** Clock time of the last accepted RTP packet; 0 before the first. */
  lastReceivedAt = 0;
  /** Clock time of the last accepted RTCP packet; 0 before the first. */
  lastRtcpAt = 0;
  readonly counters: RtpLegCounters = zeroLegCounters();
  private readonly loss = new SequenceLoss();

  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly connectSockets: boolean;
  private readonly rtpLatch: Latch;
  private readonly rtcpLatch: Latch;
  private closed = false;
  /** The leg's SRTP (undefined: plain RTP). */
  private srtp: SrtpTransform | undefined;
  /** Disconnects a connected socket whose source went silent; armed only while one is connected. */
  private watchdog: Timer | null = null;
  /** Unconnected RTP sends whose buffer the socket may still read (see sendIdle). */
  private pendingSends = 0;
  private readonly onRtpMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
  private readonly onRtcpMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
  private readonly onSocketError: (err: Error) => void;
  private readonly afterUnconnectedSend = () => {
    this.pendingSends--;
  };
  private readonly onWatchdog = () => this.checkSilence();

  constructor(
    readonly pair: RtpSocketPair,
    opts: RtpLegOptions,
  ) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.connectSockets = opts.connectSockets ?? true;
    const relatchAfterMs = opts.relatchAfterMs ?? 2000;
    this.rtpLatch = new Latch(pair.rtp, relatchAfterMs);
    this.rtcpLatch = new Latch(pair.rtcp, Math.max(relatchAfterMs, RTCP_RELATCH_MS));
    this.onRtpMessage = (msg, rinfo) => this.receiveRtp(msg, rinfo);
    this.onRtcpMessage = (msg, rinfo) => this.receiveRtcp(msg, rinfo);
    // A connected socket reports the peer's ICMP port unreachable as an
    // 'error' event; without a listener that would kill the process.
    this.onSocketError = (err) => {
      this.counters.socketErrors++;
      this.log?.debug({ err }, "rtp socket error");
    };
    pair.rtp.on("message", this.onRtpMessage);
    pair.rtcp.on("message", this.onRtcpMessage);
    pair.rtp.on("error", this.onSocketError);
    pair.rtcp.on("error", this.onSocketError);
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

  /** Whether the RTP and the RTCP socket are connect()ed to their latched source right now. */
  get connected(): { rtp: boolean; rtcp: boolean } {
    return { rtp: this.rtpLatch.conn === CONNECTED, rtcp: this.rtcpLatch.conn === CONNECTED };
  }

  /**
   * True when no packet handed to send() can still be read by the socket, so
   * a sender may rewrite its buffers (see send-ring.ts). A connected send
   * goes to the kernel at once unless the socket's buffer is full, when
   * libuv queues it; an unconnected one waits for Node's address lookup.
   */
  get sendIdle(): boolean {
    if (this.pendingSends > 0) return false;
    try {
      return this.pair.rtp.getSendQueueCount() === 0;
    } catch {
      return true; // closed socket: it will read nothing more
    }
  }

  /**
   * Sets the destination announced in SDP (c= and m= lines; RTCP on
   * rtcpPort, else port + 1 per RFC 3550 §11). A new SDP opens the latch
   * again: the far end may really have moved, so the sockets are
   * disconnected until its first packet.
   */
  setSrtp(keys: SdesAgreement | undefined): void {
    if (!keys) this.srtp = undefined;
    else if (!this.srtp?.uses(keys)) this.srtp = new SrtpTransform(keys);
  }

  setRemote(address: string, port: number, rtcpPort?: number): void {
    this.rtpLatch.reset(address, port);
    this.rtcpLatch.reset(address, rtcpPort ?? (port ? port + 1 : 0));
    this.reconcile(this.rtpLatch);
    this.reconcile(this.rtcpLatch);
  }

  /**
   * Sends an RTP packet to the current destination. Returns false when it
   * was not handed to the socket (no destination known yet, leg or socket
   * closed). dgram does not copy `buf`: keep it unchanged until `sendIdle`.
   */
  send(buf: Buffer, offset: number, length: number): boolean {
    const l = this.rtpLatch;
    if (this.closed) return false;
    if (!l.port) {
      this.counters.unsentNoRemote++;
      return false;
    }
    if (this.srtp) {
      const wire = this.srtp.protectRtp(buf, offset, length);
      if (!wire) return false;
      buf = wire;
      offset = 0;
      length = wire.length;
    }
    try {
      if (l.conn === CONNECTED) {
        // The whole buffer: Node then makes no subarray of it.
        if (offset === 0 && length === buf.length) l.socket.send(buf);
        else l.socket.send(buf, offset, length);
      } else {
        l.socket.send(buf, offset, length, l.port, l.address, this.afterUnconnectedSend);
        this.pendingSends++;
      }
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
  sendRtcp(buf: Buffer, offset: number, length: number): boolean {
    const l = this.rtcpLatch;
    if (this.closed || !l.port) return false;
    if (this.srtp) {
      const wire = this.srtp.protectRtcp(buf, offset, length);
      if (!wire) return false;
      buf = wire;
      offset = 0;
      length = wire.length;
    }
    try {
      if (l.conn === CONNECTED) l.socket.send(buf, offset, length);
      else l.socket.send(buf, offset, length, l.port, l.address);
    } catch (err) {
      this.log?.debug({ err }, "rtcp send failed");
      return false;
    }
    this.counters.rtcpOut++;
    return true;
  }

  /**
   * Stops listening and disconnects the sockets; the sockets themselves
   * belong to the port pool (release them there).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onPacket = null;
    this.onRtcp = null;
    this.watchdog?.cancel();
    this.watchdog = null;
    this.reconcile(this.rtpLatch);
    this.reconcile(this.rtcpLatch);
    this.pair.rtp.off("message", this.onRtpMessage);
    this.pair.rtcp.off("message", this.onRtcpMessage);
    this.pair.rtp.off("error", this.onSocketError);
    this.pair.rtcp.off("error", this.onSocketError);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private receiveRtp(msg: Buffer, rinfo: RemoteInfo): void {
    let len = msg.length;
    if (!looksLikeRtp(msg, len)) {
      this.counters.invalidDropped++;
      return;
    }
    if (this.srtp) {
      // Authenticated before anything else, the latch included: a forged
      // packet must not move where the call's media goes (RFC 3711 §3.3).
      const plain = this.srtp.unprotectRtp(msg, len);
      if (plain === undefined) {
        this.counters.srtpDropped++;
        return;
      }
      len = plain;
    }
    const now = this.clock.now();
    const l = this.rtpLatch;
    const verdict = l.accept(rinfo, now);
    if (verdict === REJECT) {
      this.counters.foreignDropped++;
      return;
    }
    if (verdict === LATCHED) {
      this.log?.debug({ address: rinfo.address, port: rinfo.port }, "rtp latched");
      this.reconcile(l);
    } else if (l.conn !== CONNECTED) this.reconcile(l);
    this.counters.packetsIn++;
    this.counters.bytesIn += len;
    this.loss.packet(msg.readUInt32BE(8), msg.readUInt16BE(2));
    this.counters.packetsLost = this.loss.lost;
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
    let len = msg.length;
    if (!looksLikeRtcp(msg, len)) {
      this.counters.invalidDropped++;
      return;
    }
    if (this.srtp) {
      const plain = this.srtp.unprotectRtcp(msg, len);
      if (plain === undefined) {
        this.counters.srtpDropped++;
        return;
      }
      len = plain;
    }
    const now = this.clock.now();
    const l = this.rtcpLatch;
    const verdict = l.accept(rinfo, now);
    if (verdict === REJECT) {
      this.counters.foreignDropped++;
      return;
    }
    if (verdict === LATCHED || l.conn !== CONNECTED) this.reconcile(l);
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

  /**
   * Brings the socket's connection in line with the latch: connected to the
   * latched source while it is heard, unconnected otherwise. A connect() in
   * flight is left to finish; its callback reconciles again.
   */
  private reconcile(l: Latch): void {
    if (l.conn === CONNECTING) return;
    const want = this.connectSockets && !this.closed && l.wantsConnection(this.clock.now());
    if (l.conn === CONNECTED) {
      if (want && l.connAddress === l.address && l.connPort === l.port) return;
      this.disconnect(l);
    }
    if (want) this.connect(l);
  }

  private connect(l: Latch): void {
    const address = l.address;
    const port = l.port;
    l.conn = CONNECTING;
    l.connAddress = address;
    l.connPort = port;
    try {
      // Connecting an IP literal completes on the next tick (Node looks the
      // address up first); until then sends still carry the address.
      l.socket.connect(port, address, (err?: Error) => this.onConnectDone(l, err));
    } catch (err) {
      l.conn = UNCONNECTED;
      l.failedAddress = address;
      l.failedPort = port;
      this.log?.debug({ err, address, port }, "rtp connect failed");
    }
  }

  private onConnectDone(l: Latch, err?: Error): void {
    if (err) {
      l.conn = UNCONNECTED;
      l.failedAddress = l.connAddress;
      l.failedPort = l.connPort;
      this.log?.debug({ err, address: l.connAddress, port: l.connPort }, "rtp connect failed");
      return;
    }
    l.conn = CONNECTED;
    this.counters.connects++;
    // The latch may have moved on (setRemote, close, silence) while connecting.
    this.reconcile(l);
    if (l.conn !== UNCONNECTED) this.armWatchdog();
  }

  private disconnect(l: Latch): void {
    l.conn = UNCONNECTED;
    try {
      l.socket.disconnect();
    } catch (err) {
      // Socket already closed by the pool: nothing to undo.
      this.log?.debug({ err }, "rtp disconnect failed");
      return;
    }
    // A socket bound to port 0 has just lost its port (see RtpSocketPair): say so loudly.
    const local = l.socket.address();
    if (local.port === 0)
      this.log?.error({ local }, "rtp socket lost its port on disconnect: bind it to a fixed port");
  }

  private armWatchdog(): void {
    if (this.watchdog || this.closed) return;
    // Due when the first connected source will have been silent long enough.
    const a = this.rtpLatch;
    const b = this.rtcpLatch;
    let due = Number.POSITIVE_INFINITY;
    if (a.conn !== UNCONNECTED) due = a.lastAt + a.relatchAfterMs;
    if (b.conn !== UNCONNECTED) due = Math.min(due, b.lastAt + b.relatchAfterMs);
    if (due === Number.POSITIVE_INFINITY) return;
    this.watchdog = this.clock.setTimer(Math.max(1, due - this.clock.now()), this.onWatchdog);
  }

  private checkSilence(): void {
    this.watchdog = null;
    this.reconcile(this.rtpLatch);
    this.reconcile(this.rtcpLatch);
    this.armWatchdog();
  }
}
