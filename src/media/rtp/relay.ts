// Media anchoring for a bridged call: every RTP and RTCP packet that arrives
// on one leg leaves through the other, unchanged. The B2BUA does not
// re-originate the stream, so SSRC, sequence numbers and timestamps pass
// through transparently (RFC 3550 §7.2 translator without changes: no
// header rewrite is needed), and the received buffer is sent as is, without
// copying.
import type { Clock, Timer } from "../../util/clock.ts";
import type { PacketHandler, RtpLeg } from "./rtp-leg.ts";

export interface RtpRelayOptions {
  clock: Clock;
  /** No RTP in either direction for this long ends the call (the far ends are gone). */
  mediaTimeoutMs: number;
  onTimeout: () => void;
}

export interface RtpRelayStats {
  aToBPackets: number;
  aToBBytes: number;
  bToAPackets: number;
  bToABytes: number;
  rtcpAToB: number;
  rtcpBToA: number;
}

export class RtpRelay {
  private readonly counters: RtpRelayStats = {
    aToBPackets: 0,
    aToBBytes: 0,
    bToAPackets: 0,
    bToABytes: 0,
    rtcpAToB: 0,
    rtcpBToA: 0,
  };
  private readonly fromA: PacketHandler;
  private readonly fromB: PacketHandler;
  private readonly rtcpFromA: PacketHandler;
  private readonly rtcpFromB: PacketHandler;
  private readonly clock: Clock;
  private readonly mediaTimeoutMs: number;
  private readonly checkEveryMs: number;
  private readonly onTimeout: () => void;
  private timer: Timer | null = null;
  /** Media older than this instant does not count: start of the relay or end of a hold. */
  private since: number;
  private held = false;
  private stopped = false;

  constructor(
    readonly a: RtpLeg,
    readonly b: RtpLeg,
    opts: RtpRelayOptions,
  ) {
    this.clock = opts.clock;
    this.mediaTimeoutMs = opts.mediaTimeoutMs;
    this.onTimeout = opts.onTimeout;
    // Checked by a coarse timer, never per packet: a few checks per timeout period.
    this.checkEveryMs = Math.max(100, Math.min(5000, Math.floor(opts.mediaTimeoutMs / 4)));
    const c = this.counters;
    this.fromA = (buf, len) => {
      c.aToBPackets++;
      c.aToBBytes += len;
      b.send(buf, 0, len);
    };
    this.fromB = (buf, len) => {
      c.bToAPackets++;
      c.bToABytes += len;
      a.send(buf, 0, len);
    };
    this.rtcpFromA = (buf, len) => {
      c.rtcpAToB++;
      b.sendRtcp(buf, 0, len);
    };
    this.rtcpFromB = (buf, len) => {
      c.rtcpBToA++;
      a.sendRtcp(buf, 0, len);
    };
    a.onPacket = this.fromA;
    b.onPacket = this.fromB;
    a.onRtcp = this.rtcpFromA;
    b.onRtcp = this.rtcpFromB;
    this.since = this.clock.now();
    this.arm();
  }

  /** While on hold a phone may legitimately send nothing (RFC 3264 §8.4 sendonly/inactive). */
  setHold(on: boolean): void {
    if (this.stopped || on === this.held) return;
    this.held = on;
    if (on) {
      this.timer?.cancel();
      this.timer = null;
    } else {
      this.since = this.clock.now();
      this.arm();
    }
  }

  /** Detaches from both legs and stops the timer; the legs stay open for their next user. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    if (this.a.onPacket === this.fromA) this.a.onPacket = null;
    if (this.b.onPacket === this.fromB) this.b.onPacket = null;
    if (this.a.onRtcp === this.rtcpFromA) this.a.onRtcp = null;
    if (this.b.onRtcp === this.rtcpFromB) this.b.onRtcp = null;
  }

  stats(): RtpRelayStats & { held: boolean; stopped: boolean; idleMs: number } {
    return {
      ...this.counters,
      held: this.held,
      stopped: this.stopped,
      idleMs: this.clock.now() - this.lastActivity(),
    };
  }

  private lastActivity(): number {
    return Math.max(this.since, this.a.lastReceivedAt, this.b.lastReceivedAt);
  }

  private arm(): void {
    this.timer = this.clock.setTimer(this.checkEveryMs, () => this.check());
  }

  private check(): void {
    this.timer = null;
    if (this.stopped || this.held) return;
    if (this.clock.now() - this.lastActivity() >= this.mediaTimeoutMs) {
      // Fire once; the owner decides (hang up, stop the relay).
      this.onTimeout();
      return;
    }
    this.arm();
  }
}
