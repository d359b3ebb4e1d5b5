// The forwarding of a relay: every RTP and RTCP packet that arrives on one
// leg leaves through the other, unchanged and without copying (RFC 3550 §7.2
// translator without changes). RtpRelay runs it on this thread; a media
// worker runs the very same bridge between two legs whose sockets it owns.
import type { MediaLeg } from "./media-leg.ts";
import type { RtpRelayStats } from "./relay.ts";
import type { PacketHandler } from "./rtp-leg.ts";

export class PacketBridge {
  readonly counters: RtpRelayStats = {
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

  constructor(
    readonly a: MediaLeg,
    readonly b: MediaLeg,
  ) {
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
  }

  /** Takes the bridge's handlers off the legs, unless someone else has taken them over since. */
  detach(): void {
    if (this.a.onPacket === this.fromA) this.a.onPacket = null;
    if (this.b.onPacket === this.fromB) this.b.onPacket = null;
    if (this.a.onRtcp === this.rtcpFromA) this.a.onRtcp = null;
    if (this.b.onRtcp === this.rtcpFromB) this.b.onRtcp = null;
  }
}
