// Media anchoring for a bridged call: every RTP and RTCP packet that arrives
// on one leg leaves through the other, unchanged. The B2BUA does not
// re-originate the stream, so SSRC, sequence numbers and timestamps pass
// through transparently (RFC 3550 §7.2 translator without changes: no
// header rewrite is needed), and the received buffer is sent as is, without
// copying.
import type { Clock, Timer } from "../../util/clock.ts";
import type { InPlaceRelay, MediaLeg } from "./media-leg.ts";
import { PacketBridge } from "./packet-bridge.ts";

export interface RtpRelayOptions {
  clock: Clock;
  /** No RTP in either direction for this long ends the call (the far ends are gone). */
  mediaTimeoutMs: number;
  /** Also called (once) when a leg fails: its media thread died, the call has no media any more. */
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

/**
 * Relays two legs and watches that media flows. When both legs live on the
 * same media worker the worker relays them itself (MediaLeg.relayInPlace):
 * no packet crosses this thread, the counters and the legs' lastReceivedAt
 * come from the worker's periodic reports. Otherwise the packets go through
 * a PacketBridge here.
 */
export class RtpRelay {
  private readonly bridge: PacketBridge | undefined;
  private readonly inPlace: InPlaceRelay | undefined;
  private readonly clock: Clock;
  private readonly mediaTimeoutMs: number;
  private readonly checkEveryMs: number;
  private readonly onTimeout: () => void;
  private readonly onLegFailure = () => this.fail();
  private timer: Timer | null = null;
  /** Media older than this instant does not count: start of the relay or end of a hold. */
  private since: number;
  private held = false;
  private stopped = false;
  private failReported = false;

  constructor(
    readonly a: MediaLeg,
    readonly b: MediaLeg,
    opts: RtpRelayOptions,
  ) {
    this.clock = opts.clock;
    this.mediaTimeoutMs = opts.mediaTimeoutMs;
    this.onTimeout = opts.onTimeout;
    // Checked by a coarse timer, never per packet: a few checks per timeout period.
    this.checkEveryMs = Math.max(100, Math.min(5000, Math.floor(opts.mediaTimeoutMs / 4)));
    this.inPlace = a.relayInPlace?.(b);
    if (!this.inPlace) this.bridge = new PacketBridge(a, b);
    this.since = this.clock.now();
    if (a.failed || b.failed) {
      // A leg lost with its media thread before the relay began: tell the owner, but not from inside its own call.
      this.timer = this.clock.setTimer(0, () => this.fail());
      return;
    }
    if ("onFailure" in a) a.onFailure = this.onLegFailure;
    if ("onFailure" in b) b.onFailure = this.onLegFailure;
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
    this.inPlace?.stop();
    this.bridge?.detach();
    if (this.a.onFailure === this.onLegFailure) this.a.onFailure = null;
    if (this.b.onFailure === this.onLegFailure) this.b.onFailure = null;
  }

  /** Counters: counted here, or as last reported by the worker that relays in place. */
  stats(): RtpRelayStats & { held: boolean; stopped: boolean; idleMs: number } {
    const counters = this.inPlace ? this.inPlace.stats() : this.bridge!.counters;
    return {
      ...counters,
      held: this.held,
      stopped: this.stopped,
      idleMs: this.clock.now() - this.lastActivity(),
    };
  }

  /** True when the worker of both legs relays them (no packet crosses this thread). */
  get relaysInPlace(): boolean {
    return this.inPlace !== undefined;
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

  /** A leg failed: no media will flow again, whatever the hold; the owner ends the call as on a timeout. */
  private fail(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.stopped || this.failReported) return;
    this.failReported = true;
    this.onTimeout();
  }
}
