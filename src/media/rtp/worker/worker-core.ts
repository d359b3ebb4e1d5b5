// What a media worker does, apart from the thread plumbing (media-worker.ts):
// it owns a slice of the RTP ports and the legs bound on them, relays two of
// its legs itself when the main thread asks (a PacketBridge, the very
// forwarding of RtpRelay), forwards what a leg receives to the main thread
// while something there consumes it (an endpoint: prompts, recording, DTMF),
// sends what the main thread sends, and reports every leg's and relay's
// counters periodically so that the media timeout (on the main thread's
// clock) and the statistics see the traffic without seeing the packets.
//
// The latching timers of the legs here run on this thread's own SystemClock:
// a worker cannot share the main thread's injected clock.
import { pino } from "pino";
import { type Clock, SystemClock, type Timer } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import { PacketBridge } from "../packet-bridge.ts";
import { RtpPortPool, RtpPortPoolExhaustedError, type RtpSocketPair } from "../port-pool.ts";
import { type PacketHandler, RtpLeg } from "../rtp-leg.ts";
import {
  type FromWorker,
  type InitMessage,
  LEG_COUNTERS,
  PacketBatchWriter,
  RELAY_COUNTERS,
  RTCP,
  RTP,
  readPacketBatch,
  type ToWorker,
} from "./protocol.ts";

export type PostToMain = (msg: FromWorker, transfer?: ArrayBuffer[]) => void;

interface WorkerLeg {
  readonly id: number;
  readonly leg: RtpLeg;
  readonly pair: RtpSocketPair;
  readonly forwardRtp: PacketHandler;
  readonly forwardRtcp: PacketHandler;
  /** Sum of the counters at the last report: every counter only grows, so a change of the sum is a change. */
  reported: number;
}

interface WorkerRelay {
  readonly bridge: PacketBridge;
  readonly a: number;
  readonly b: number;
  reported: number;
}

export class MediaWorkerCore {
  private readonly clock: Clock = new SystemClock();
  private log: Logger = pino({ level: "silent" });
  private pool: RtpPortPool | undefined;
  private readonly legs = new Map<number, WorkerLeg>();
  private readonly relays = new Map<number, WorkerRelay>();
  private readonly out: PacketBatchWriter;
  private reportEveryMs = 500;
  private reportTimer: Timer | undefined;

  constructor(private readonly post: PostToMain) {
    this.out = new PacketBatchWriter((buf, length) => this.post({ t: "packets", buf, length }, [buf]));
  }

  /** One message from the main thread. Nothing it says can throw out of here: a bad message is logged. */
  handle(msg: ToWorker): void {
    try {
      this.dispatch(msg);
    } catch (err) {
      this.log.error({ err, message: (msg as { t?: unknown } | null)?.t }, "media worker: message failed");
    }
  }

  private dispatch(msg: ToWorker): void {
    switch (msg.t) {
      case "init":
        this.init(msg);
        return;
      case "alloc":
        void this.allocate(msg.leg);
        return;
      case "packets":
        readPacketBatch(msg.buf, msg.length, (id, kind, packet) => {
          const w = this.legs.get(id);
          if (!w) return;
          if (kind === RTP) w.leg.send(packet, 0, packet.length);
          else w.leg.sendRtcp(packet, 0, packet.length);
        });
        return;
      case "remote":
        this.legs.get(msg.leg)?.leg.setRemote(msg.address, msg.port, msg.rtcpPort);
        return;
      case "srtp":
        this.legs.get(msg.leg)?.leg.setSrtp(msg.keys);
        return;
      case "forward": {
        const w = this.legs.get(msg.leg);
        if (!w || w.leg.isClosed) return;
        if (msg.kind === RTP) w.leg.onPacket = msg.on ? w.forwardRtp : null;
        else w.leg.onRtcp = msg.on ? w.forwardRtcp : null;
        return;
      }
      case "close":
        this.legs.get(msg.leg)?.leg.close();
        return;
      case "release":
        this.release(msg.leg);
        return;
      case "relay": {
        const a = this.legs.get(msg.a);
        const b = this.legs.get(msg.b);
        // A leg released meanwhile: the main thread's relay sees no traffic and times out as it would.
        if (!a || !b) {
          this.log.debug({ relay: msg.relay }, "media worker: relay of a released leg ignored");
          return;
        }
        this.relays.set(msg.relay, { bridge: new PacketBridge(a.leg, b.leg), a: a.id, b: b.id, reported: 0 });
        this.log.debug(
          { relay: msg.relay, ports: [a.pair.rtpPort, b.pair.rtpPort] },
          "relaying in the worker",
        );
        return;
      }
      case "unrelay": {
        const r = this.relays.get(msg.relay);
        if (!r) return;
        this.relays.delete(msg.relay);
        r.bridge.detach();
        return;
      }
    }
  }

  private init(msg: InitMessage): void {
    this.log = pino(
      { level: msg.logLevel, base: undefined },
      { write: (line: string) => this.post({ t: "log", line }) },
    );
    try {
      this.pool = new RtpPortPool({ min: msg.min, max: msg.max, bind: msg.bind, log: this.log });
    } catch (err) {
      this.post({ t: "init-failed", error: (err as Error).message });
      return;
    }
    this.reportEveryMs = msg.reportEveryMs;
    this.armReport();
    this.post({ t: "ready" });
  }

  private async allocate(id: number): Promise<void> {
    const pool = this.pool;
    if (!pool) {
      this.post({ t: "alloc-failed", leg: id, error: "media worker not initialised", exhausted: false });
      return;
    }
    let pair: RtpSocketPair;
    try {
      pair = await pool.allocate();
    } catch (err) {
      this.post({
        t: "alloc-failed",
        leg: id,
        error: (err as Error).message,
        exhausted: err instanceof RtpPortPoolExhaustedError,
      });
      return;
    }
    const leg = new RtpLeg(pair, { clock: this.clock, log: this.log });
    const out = this.out;
    this.legs.set(id, {
      id,
      leg,
      pair,
      forwardRtp: (buf, len) => out.add(id, RTP, buf, 0, len),
      forwardRtcp: (buf, len) => out.add(id, RTCP, buf, 0, len),
      reported: 0,
    });
    this.post({
      t: "allocated",
      leg: id,
      address: pair.address,
      rtpPort: pair.rtpPort,
      rtcpPort: pair.rtcpPort,
    });
  }

  private release(id: number): void {
    const w = this.legs.get(id);
    if (!w) return;
    this.legs.delete(id);
    // Relays of the leg are of no use any more; the main thread's stop() finds them gone.
    for (const [rid, r] of this.relays) {
      if (r.a === id || r.b === id) {
        r.bridge.detach();
        this.relays.delete(rid);
      }
    }
    w.leg.close();
    this.pool?.release(w.pair);
  }

  private armReport(): void {
    this.reportTimer = this.clock.setTimer(this.reportEveryMs, () => {
      this.report();
      this.armReport();
    });
  }

  /** Sends the counters of every leg and relay that changed since the last report (one message). */
  private report(): void {
    // Packets queued for the main thread go first: the report then never overtakes them.
    this.out.flush();
    const now = this.clock.now();
    const legs: number[] = [];
    for (const w of this.legs.values()) {
      const c = w.leg.counters;
      let sum = 0;
      for (const k of LEG_COUNTERS) sum += c[k];
      if (sum === w.reported) continue;
      w.reported = sum;
      legs.push(w.id, w.leg.lastReceivedAt > 0 ? now - w.leg.lastReceivedAt : -1);
      for (const k of LEG_COUNTERS) legs.push(c[k]);
    }
    const relays: number[] = [];
    for (const [id, r] of this.relays) {
      const c = r.bridge.counters;
      let sum = 0;
      for (const k of RELAY_COUNTERS) sum += c[k];
      if (sum === r.reported) continue;
      r.reported = sum;
      relays.push(id);
      for (const k of RELAY_COUNTERS) relays.push(c[k]);
    }
    if (legs.length === 0 && relays.length === 0) return;
    const legArray = Float64Array.from(legs);
    const relayArray = Float64Array.from(relays);
    this.post({ t: "activity", legs: legArray, relays: relayArray }, [
      legArray.buffer as ArrayBuffer,
      relayArray.buffer as ArrayBuffer,
    ]);
  }

  /** How many legs and relays the worker holds (tests, diagnosis). */
  get size(): { legs: number; relays: number } {
    return { legs: this.legs.size, relays: this.relays.size };
  }

  close(): void {
    this.reportTimer?.cancel();
    for (const id of [...this.legs.keys()]) this.release(id);
  }
}
