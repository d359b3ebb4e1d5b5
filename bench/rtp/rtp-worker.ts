// One RTP generator process (forked by rtp-generator.ts): binds a socket per
// call leg, sends 20 ms PCMU packets from every leg to its peer port, and
// measures what arrives. Legs come in pairs (2k, 2k+1) that are the two ends
// of one call, so sender and receiver share this process's clock: the
// transit time of each packet is exact, and the added jitter is the spread
// of consecutive transit times (RFC 3550 §6.4.1 D(i,j)), free of the
// generator's own send lateness, which is measured separately.
// With keys (the SRTP relay figure), each leg protects what it sends under
// its own SRTP key and unprotects what it receives under its peer's (RFC
// 3711), as an encrypting phone does: a packet that fails is counted, not
// measured.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { SRTP_MAX_OVERHEAD, type SrtpProfile, SrtpSession } from "../../src/media/srtp/index.ts";
import { Histogram } from "../lib/histogram.ts";

/** A master key and salt (base64) of one direction, as they cross the IPC channel. */
export interface WireKey {
  profile: SrtpProfile;
  key: string;
  salt: string;
}

/** One leg's SRTP keys: what it sends under, and what its peer sends under. */
export interface LegKeys {
  send: WireKey;
  recv: WireKey;
}

export type WorkerCommand =
  | { cmd: "bind"; legs: number }
  /**
   * `keys[i]`: leg i's SRTP keys, or null (or no `keys`) for plain RTP.
   * Packets sent in the first `warmupMs` of the `durationMs` are measured
   * apart (WorkerStats.warmup).
   */
  | { cmd: "start"; peers: number[]; durationMs: number; warmupMs?: number; keys?: Array<LegKeys | null> }
  | { cmd: "exit" };

/** What was measured of the packets sent in one phase of a stream (the warm-up, or the rest). */
export interface PhaseStats {
  sent: number;
  received: number;
  /** |D(i-1,i)| of consecutive packets per leg, ms. */
  jitter: ReturnType<Histogram["toJSON"]>;
  /** One-way transit (send → receive through the PBX), ms. */
  transit: ReturnType<Histogram["toJSON"]>;
  /** Lateness of each send versus its ideal 20 ms schedule, ms. */
  sendLate: ReturnType<Histogram["toJSON"]>;
  /**
   * `jitter` again, split by the second of the phase in which each packet was
   * sent: whether a p99 comes from the whole stream or from a few seconds.
   */
  jitterBySecond: Array<ReturnType<Histogram["toJSON"]>>;
}

export interface WorkerStats extends PhaseStats {
  /** The packets sent in the first `warmupMs` (none when no warm-up was asked). */
  warmup: PhaseStats;
  /** Mean over legs of the RFC 3550 §6.4.1 interarrival jitter estimate, ms, at the end of the stream. */
  rfc3550JitterMs: number;
  sendErrors: number;
  /** Packets from anywhere but the leg's peer port (another program's RTP on a shared machine), not counted. */
  stray: number;
  /** SRTP packets that failed authentication or replay checks (RFC 3711 §3.3), not counted as received. */
  srtpFailures: number;
}

export type WorkerEvent = { ev: "bound"; ports: number[] } | { ev: "done"; stats: WorkerStats };

const PERIOD_MS = 20;
/** Legs are spread over this many send slots per period, so packets do not leave in one burst. */
const SLOTS = 10;
const PACKET_BYTES = 12 + 160;
/** Time after the last send for packets still in flight. */
const DRAIN_MS = 600;

let sockets: Socket[] = [];
const send = (m: WorkerEvent) => process.send?.(m);

process.on("message", (m: WorkerCommand) => {
  if (m.cmd === "bind") void bind(m.legs).then((ports) => send({ ev: "bound", ports }));
  else if (m.cmd === "start") stream(m.peers, m.durationMs, m.warmupMs ?? 0, m.keys);
  else if (m.cmd === "exit") {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});

async function bind(legs: number): Promise<number[]> {
  for (const s of sockets) s.close();
  sockets = [];
  const ports: number[] = [];
  for (let i = 0; i < legs; i++) {
    const s = createSocket({ type: "udp4", recvBufferSize: 1 << 20 });
    await new Promise<void>((res, rej) => {
      s.once("error", rej);
      s.bind(0, "127.0.0.1", () => res());
    });
    s.on("error", () => {});
    sockets.push(s);
    ports.push(s.address().port);
  }
  return ports;
}

function session(k: WireKey): SrtpSession {
  return new SrtpSession({
    profile: k.profile,
    masterKey: Buffer.from(k.key, "base64"),
    masterSalt: Buffer.from(k.salt, "base64"),
  });
}

/** The histograms and counters of one phase, filled as packets go and come. */
class Phase {
  sent = 0;
  received = 0;
  readonly jitter = new Histogram();
  readonly transit = new Histogram();
  readonly sendLate = new Histogram();
  private readonly bySecond: Histogram[] = [];

  constructor(private readonly from: number) {}

  /** |D| of a packet sent at `sentAt` (performance.now() of this process). */
  recordJitter(d: number, sentAt: number): void {
    this.jitter.record(d);
    const second = Math.max(0, Math.floor((sentAt - this.from) / 1000));
    let h = this.bySecond[second];
    if (!h) {
      h = new Histogram();
      this.bySecond[second] = h;
    }
    h.record(d);
  }

  toJSON(): PhaseStats {
    return {
      sent: this.sent,
      received: this.received,
      jitter: this.jitter.toJSON(),
      transit: this.transit.toJSON(),
      sendLate: this.sendLate.toJSON(),
      jitterBySecond: Array.from(this.bySecond, (h) => (h ?? new Histogram()).toJSON()),
    };
  }
}

function stream(peers: number[], durationMs: number, warmupMs: number, keys?: Array<LegKeys | null>): void {
  const legs = sockets.length;
  const t0 = performance.now() + 50;
  // A packet belongs to the phase in which it was sent (its send time travels in it).
  const measureFrom = t0 + warmupMs;
  const warmup = new Phase(t0);
  const measured = new Phase(measureFrom);
  const lastTransit = new Float64Array(legs).fill(Number.NaN);
  const rfcJ = new Float64Array(legs);
  const seq = new Uint16Array(legs);
  // Fresh sessions each run: a sender never repeats an index under a key, a receiver's replay window starts empty.
  const senders = sockets.map((_, i) => (keys?.[i] ? session((keys[i] as LegKeys).send) : undefined));
  const receivers = sockets.map((_, i) => (keys?.[i] ? session((keys[i] as LegKeys).recv) : undefined));
  const packets = sockets.map((_, i) => {
    const b = Buffer.alloc(PACKET_BYTES, 0xff);
    b[0] = 0x80;
    b[1] = 0; // PCMU
    b.writeUInt32BE(0x10000 + i, 8); // SSRC: the leg
    return b;
  });
  let sendErrors = 0;
  let stray = 0;
  let srtpFailures = 0;
  const onError = (err: Error | null) => {
    if (err) sendErrors++;
  };
  for (let i = 0; i < legs; i++) {
    sockets[i].removeAllListeners("message");
    sockets[i].on("message", (msg: Buffer, rinfo: RemoteInfo) => {
      // Only the leg's peer (the relay's port for this leg, which sends from the port it
      // advertised, RFC 4961; or the other leg when calibrating) sends our packets: anything
      // else would put a foreign "timestamp" in the histograms.
      if (msg.length < PACKET_BYTES || rinfo.port !== peers[i]) {
        stray++;
        return;
      }
      const receiver = receivers[i];
      if (receiver && typeof receiver.unprotectRtp(msg, msg.length) === "string") {
        srtpFailures++;
        return;
      }
      const now = performance.now();
      const sentAt = msg.readDoubleBE(12);
      const phase = sentAt < measureFrom ? warmup : measured;
      phase.received++;
      const t = now - sentAt;
      phase.transit.record(t);
      const prev = lastTransit[i];
      if (!Number.isNaN(prev)) {
        const d = t - prev;
        phase.recordJitter(d, sentAt);
        // RFC 3550 §6.4.1: J += (|D| - J) / 16
        rfcJ[i] += (Math.abs(d) - rfcJ[i]) / 16;
      }
      lastTransit[i] = t;
    });
  }

  const totalTicks = Math.floor(durationMs / (PERIOD_MS / SLOTS));
  let tick = 0;
  const slotMs = PERIOD_MS / SLOTS;
  const run = () => {
    const now = performance.now();
    // Every slot that fell due runs now (a late timer sends late, and that lateness is measured).
    while (tick < totalTicks && t0 + tick * slotMs <= now) {
      const ideal = t0 + tick * slotMs;
      const slot = tick % SLOTS;
      for (let i = slot; i < legs; i += SLOTS) {
        const b = packets[i];
        const s = seq[i];
        b.writeUInt16BE(s, 2);
        b.writeUInt32BE((s * 160) >>> 0, 4);
        const at = performance.now();
        b.writeDoubleBE(at, 12);
        const phase = at < measureFrom ? warmup : measured;
        phase.sendLate.record(at - ideal);
        const sender = senders[i];
        if (!sender) sockets[i].send(b, 0, PACKET_BYTES, peers[i], "127.0.0.1", onError);
        else {
          // Protected into a buffer of its own: a datagram the kernel cannot take at once
          // (EAGAIN) waits in libuv's queue by reference, and a late timer sends this leg's
          // next packets in the same burst: protecting `b` in place would change it under them.
          const out = Buffer.allocUnsafe(PACKET_BYTES + SRTP_MAX_OVERHEAD);
          const length = sender.protectRtp(b, PACKET_BYTES, out);
          if (typeof length === "string") sendErrors++;
          else sockets[i].send(out, 0, length, peers[i], "127.0.0.1", onError);
        }
        seq[i] = (s + 1) & 0xffff;
        phase.sent++;
      }
      tick++;
    }
    if (tick < totalTicks) {
      setTimeout(run, Math.max(0, t0 + tick * slotMs - performance.now()));
      return;
    }
    setTimeout(() => {
      let sumJ = 0;
      for (let i = 0; i < legs; i++) sumJ += rfcJ[i];
      send({
        ev: "done",
        stats: {
          ...measured.toJSON(),
          warmup: warmup.toJSON(),
          rfc3550JitterMs: legs ? sumJ / legs : 0,
          sendErrors,
          stray,
          srtpFailures,
        },
      });
    }, DRAIN_MS);
  };
  setTimeout(run, Math.max(0, t0 - performance.now()));
}
