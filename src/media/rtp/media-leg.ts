// What the rest of the PBX sees of one call leg's media sockets: where they
// are, where they send, who consumes what they receive, and their counters.
// An RtpLeg holds the sockets itself (on this thread); a RemoteRtpLeg
// (worker/remote-rtp-leg.ts) stands for an RtpLeg that lives on a media
// worker thread, so that a relay between two legs of the same worker never
// touches this thread per packet.

import type { SdesAgreement } from "../srtp/index.ts";
import type { RtpRelayStats } from "./relay.ts";
import type { PacketHandler, RtpLegCounters } from "./rtp-leg.ts";

export interface MediaLeg {
  /** Our address and RTP port, as the sockets are bound (SDP writes the public address). */
  readonly localAddress: string;
  readonly localPort: number;
  /** The current consumer of RTP (an endpoint or a relay); swappable at any time. */
  onPacket: PacketHandler | null;
  /** The current consumer of RTCP; when null RTCP is only counted. */
  onRtcp: PacketHandler | null;
  /** Clock time of the last accepted RTP packet; 0 before the first. */
  readonly lastReceivedAt: number;
  readonly counters: Readonly<RtpLegCounters>;
  /**
   * True when no packet handed to send() can still be read by the socket,
   * so a sender may rewrite its buffers (see send-ring.ts).
   */
  readonly sendIdle: boolean;
  readonly isClosed: boolean;
  /** The destination announced in SDP (RTCP on rtcpPort, else port + 1, RFC 3550 §11). */
  setRemote(address: string, port: number, rtcpPort?: number): void;
  /**
   * The leg's SRTP keys (RFC 3711, agreed in SDP: SdpSession.srtp), or
   * undefined for plain RTP: what arrives is authenticated and decrypted
   * before anyone above sees it, what is sent is encrypted. Keys equal to
   * the current ones keep the current contexts (their rollover counters).
   */
  setSrtp(keys: SdesAgreement | undefined): void;
  /** Sends an RTP packet; false when it could not be (no destination yet, closed). */
  send(buf: Buffer, offset: number, length: number): boolean;
  sendRtcp(buf: Buffer, offset: number, length: number): boolean;
  /** Stops listening; the sockets go back to their pool on release. */
  close(): void;
  /**
   * Set when the leg lost its sockets (its media thread died): the leg is
   * closed and will carry no media again. Legs that cannot fail leave it out.
   */
  readonly failed?: Error;
  /** Told once when the leg fails; swappable like onPacket. */
  onFailure?: ((err: Error) => void) | null;
  /**
   * Relays this leg with `other` where both legs' sockets are, without any
   * per-packet work on this thread; undefined when they are not in one place
   * (then the relay forwards through the handlers here). Both legs' onPacket
   * and onRtcp become null here: the relay is their consumer now.
   */
  relayInPlace?(other: MediaLeg): InPlaceRelay | undefined;
}

/** A relay that runs where the sockets are (a media worker). */
export interface InPlaceRelay {
  /** The relay's counters as last reported (at most a report interval old). */
  stats(): RtpRelayStats;
  /** Detaches the relay from both legs; the legs stay open for their next user. */
  stop(): void;
}
