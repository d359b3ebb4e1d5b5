// Call legs whose media rtpengine carries (VPBX_RTPENGINE; docs/RTPENGINE.md).
//
// Each leg is one of our own legs (the "inner" socket, where apps play,
// record and collect digits, and where SRTP is terminated) behind one
// rtpengine call: the phone only ever sees rtpengine's ports. We make the
// offer of that call when the leg is allocated (our socket's SDP), so that
// rtpengine's port for the phone is known before any SDP of ours is written;
// whatever the phone then describes (its offer or its answer) is given to
// rtpengine as the answer. When the relay joins two such legs, each inner
// side is pointed at the other's (the hairpin that the splice test proves):
// the call's packets then never reach vpbx, and the relay is rtpengine's.
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { InPlaceRelay, MediaLeg } from "../rtp/media-leg.ts";
import type { RtpRelayStats } from "../rtp/relay.ts";
import type { PacketHandler, RtpLegCounters } from "../rtp/rtp-leg.ts";
import type { SdesAgreement } from "../srtp/index.ts";
import { audioTarget, type RtpTarget } from "./inner-sdp.ts";
import type { RtpengineClient } from "./ng-client.ts";
import { RtpengineLeg } from "./rtpengine-leg.ts";

/** What this module needs of the PBX's own legs (MediaLegs, structurally). */
export interface InnerLegs {
  readonly address: string;
  allocate(near?: MediaLeg): Promise<MediaLeg>;
  release(leg: MediaLeg): void;
}

export interface RtpengineMediaLegsOptions {
  client: Pick<RtpengineClient, "offer" | "answer" | "delete" | "query">;
  inner: InnerLegs;
  clock: Clock;
  log: Logger;
  /** rtpengine's address as it writes it in SDP (learned by `rtpengineAddress`). */
  address: string;
  /** While spliced, how often rtpengine is asked when the phones last sent (media timeout). Default 5 s. */
  pollMs?: number;
}

/** A plain audio SDP naming one RTP target: what rtpengine is told of our socket or a phone. */
export function plainAudioSdp(target: RtpTarget, sessionId = "1"): string {
  const ip = target.address.includes(":") ? "IP6" : "IP4";
  return [
    "v=0",
    `o=vpbx ${sessionId} 1 IN ${ip} ${target.address}`,
    "s=vpbx",
    `c=IN ${ip} ${target.address}`,
    "t=0 0",
    `m=audio ${target.rtpPort} RTP/AVP 0 8 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    `a=rtcp:${target.rtcpPort}`,
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/**
 * rtpengine's own address as it writes it in SDP, by a probe call offered
 * and deleted at start; also proves that the daemon answers before the first
 * call needs it.
 */
export async function rtpengineAddress(
  client: Pick<RtpengineClient, "offer" | "delete">,
  probeTarget: RtpTarget,
): Promise<string> {
  const callId = `vpbx-probe-${randomBytes(6).toString("hex")}`;
  const r = await client.offer({ callId, fromTag: "probe", sdp: plainAudioSdp(probeTarget) });
  await client.delete({ callId, fatal: false });
  return audioTarget(r.sdp).address;
}

export class RtpengineMediaLegs implements InnerLegs {
  readonly address: string;

  constructor(private readonly opts: RtpengineMediaLegsOptions) {
    this.address = opts.address;
  }

  async allocate(near?: MediaLeg): Promise<MediaLeg> {
    const innerNear = near instanceof RtpengineMediaLeg ? near.inner : near;
    const inner = await this.opts.inner.allocate(innerNear);
    const id = randomBytes(8).toString("hex");
    const engine = new RtpengineLeg({
      client: this.opts.client,
      callId: `vpbx-${id}`,
      phoneTag: `p${id}`,
      innerTag: `v${id}`,
      log: this.opts.log,
    });
    const own: RtpTarget = {
      address: this.opts.inner.address,
      rtpPort: inner.localPort,
      rtcpPort: inner.localPort + 1,
    };
    try {
      const toPhone = audioTarget(await engine.innerOffer(plainAudioSdp(own)));
      return new RtpengineMediaLeg(inner, engine, toPhone, own, this.opts);
    } catch (err) {
      this.opts.inner.release(inner);
      throw err;
    }
  }

  release(leg: MediaLeg): void {
    if (!(leg instanceof RtpengineMediaLeg)) {
      this.opts.inner.release(leg);
      return;
    }
    leg.close();
    this.opts.inner.release(leg.inner);
  }
}

/**
 * One leg: rtpengine's port toward the phone as our local port, everything
 * else (packets, counters, handlers) our inner leg's.
 */
export class RtpengineMediaLeg implements MediaLeg {
  private work: Promise<void> = Promise.resolve();
  private spliced: RtpengineMediaLeg | undefined;
  private poll: Timer | undefined;
  /** While spliced: the last packet rtpengine saw from the phone, on our clock. */
  private splicedLastAt = 0;
  private closed = false;
  private encrypted = false;
  private readonly log: Logger;

  constructor(
    readonly inner: MediaLeg,
    readonly engine: RtpengineLeg,
    private readonly toPhone: RtpTarget,
    private readonly own: RtpTarget,
    private readonly opts: RtpengineMediaLegsOptions,
  ) {
    this.log = opts.log.child({ rtpengineCall: engine.callId });
  }

  get localAddress(): string {
    return this.toPhone.address;
  }

  get localPort(): number {
    return this.toPhone.rtpPort;
  }

  get onPacket(): PacketHandler | null {
    return this.inner.onPacket;
  }

  set onPacket(h: PacketHandler | null) {
    this.inner.onPacket = h;
  }

  get onRtcp(): PacketHandler | null {
    return this.inner.onRtcp;
  }

  set onRtcp(h: PacketHandler | null) {
    this.inner.onRtcp = h;
  }

  get lastReceivedAt(): number {
    return Math.max(this.inner.lastReceivedAt, this.splicedLastAt);
  }

  get counters(): Readonly<RtpLegCounters> {
    return this.inner.counters;
  }

  get sendIdle(): boolean {
    return this.inner.sendIdle;
  }

  get isClosed(): boolean {
    return this.closed || this.inner.isClosed;
  }

  get failed(): Error | undefined {
    return this.inner.failed;
  }

  get onFailure(): ((err: Error) => void) | null | undefined {
    return this.inner.onFailure;
  }

  set onFailure(h: ((err: Error) => void) | null | undefined) {
    this.inner.onFailure = h;
  }

  /**
   * The phone's media address, from its SDP: given to rtpengine as the
   * answer to our offer, whose reply says where our socket must send.
   */
  setRemote(address: string, port: number, rtcpPort?: number): void {
    const phone: RtpTarget = { address, rtpPort: port, rtcpPort: rtcpPort ?? port + 1 };
    this.serially("phone address", async () => {
      const inward = audioTarget(await this.engine.phoneAnswer(plainAudioSdp(phone)));
      this.inner.setRemote(inward.address, inward.rtpPort, inward.rtcpPort);
    });
  }

  /**
   * SRTP is ours on the inner socket (rtpengine, told of plain RTP, passes
   * the phone's packets as they are); an encrypted leg is therefore never
   * spliced: its packets must reach the socket that holds its keys.
   */
  setSrtp(keys: SdesAgreement | undefined): void {
    this.encrypted = keys !== undefined;
    this.inner.setSrtp(keys);
  }

  send(buf: Buffer, offset: number, length: number): boolean {
    return this.inner.send(buf, offset, length);
  }

  sendRtcp(buf: Buffer, offset: number, length: number): boolean {
    return this.inner.sendRtcp(buf, offset, length);
  }

  /**
   * Joins this leg with another rtpengine leg inside rtpengine: each inner
   * side is pointed at the other's inner port. Legs of other kinds are
   * relayed by the caller (undefined).
   */
  relayInPlace(other: MediaLeg): InPlaceRelay | undefined {
    if (!(other instanceof RtpengineMediaLeg) || this.closed || other.closed) return undefined;
    if (this.encrypted || other.encrypted) return undefined;
    this.inner.onPacket = null;
    this.inner.onRtcp = null;
    other.inner.onPacket = null;
    other.inner.onRtcp = null;
    this.splice(other);
    other.splice(this);
    return {
      stats: (): RtpRelayStats => ({
        aToBPackets: 0,
        aToBBytes: 0,
        bToAPackets: 0,
        bToABytes: 0,
        rtcpAToB: 0,
        rtcpBToA: 0,
      }),
      stop: () => {
        this.unsplice(other);
        other.unsplice(this);
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.cancel();
    this.serially("delete", () => this.engine.delete());
    this.inner.close();
  }

  private splice(other: RtpengineMediaLeg): void {
    this.spliced = other;
    // The other leg's inner port is known once its pending commands are done
    // (taken now: waiting for its later ones would wait for this splice).
    const otherReady = other.work;
    this.serially("splice", async () => {
      await otherReady;
      if (this.spliced !== other) return;
      await this.engine.pointInnerAt(other.engine.innerPort());
    });
    this.watch();
  }

  private unsplice(other: RtpengineMediaLeg): void {
    if (this.spliced !== other) return;
    this.spliced = undefined;
    this.poll?.cancel();
    this.poll = undefined;
    if (this.closed) return;
    this.serially("unsplice", async () => {
      await this.engine.pointInnerAt(null);
    });
  }

  /** While spliced, when the phone last sent is rtpengine's to tell (the media timeout reads it). */
  private watch(): void {
    const every = this.opts.pollMs ?? 5000;
    this.splicedLastAt = this.opts.clock.now();
    const tick = async () => {
      if (!this.spliced || this.closed) return;
      try {
        const q = await this.opts.client.query({ callId: this.engine.callId });
        let last = 0;
        for (const tag of Object.values(q.tags)) {
          for (const m of tag.medias) for (const s of m.streams) last = Math.max(last, s.lastPacket ?? 0);
        }
        // rtpengine counts in Unix seconds; our clock may be another (tests).
        if (last > 0) {
          const age = Math.max(0, Date.now() - last * 1000);
          this.splicedLastAt = Math.max(this.splicedLastAt, this.opts.clock.now() - age);
        }
      } catch (err) {
        this.log.warn({ err }, "rtpengine query failed");
      }
      if (this.spliced && !this.closed) this.poll = this.opts.clock.setTimer(every, () => void tick());
    };
    this.poll = this.opts.clock.setTimer(every, () => void tick());
  }

  /** rtpengine's commands for one leg go one after the other, in order; a failure is logged with the leg. */
  private serially(what: string, step: () => Promise<void>): void {
    this.work = this.work
      .then(step)
      .catch((err: unknown) => this.log.error({ err, own: this.own }, `rtpengine ${what} failed`));
  }
}
