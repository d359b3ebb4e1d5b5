// One RTP generator process (forked by rtp-generator.ts): binds a socket per
// call leg, sends 20 ms PCMU packets from every leg to its peer port, and
// measures what arrives. Legs come in pairs (2k, 2k+1) that are the two ends
// of one call, so sender and receiver share this process's clock: the
// transit time of each packet is exact, and the added jitter is the spread
// of consecutive transit times (RFC 3550 §6.4.1 D(i,j)), free of the
// generator's own send lateness, which is measured separately.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { Histogram } from "../lib/histogram.ts";

export type WorkerCommand =
  | { cmd: "bind"; legs: number }
  | { cmd: "start"; peers: number[]; durationMs: number }
  | { cmd: "exit" };

export interface WorkerStats {
  sent: number;
  received: number;
  /** |D(i-1,i)| of consecutive packets per leg, ms. */
  jitter: ReturnType<Histogram["toJSON"]>;
  /** One-way transit (send → receive through the PBX), ms. */
  transit: ReturnType<Histogram["toJSON"]>;
  /** Lateness of each send versus its ideal 20 ms schedule, ms. */
  sendLate: ReturnType<Histogram["toJSON"]>;
  /** Mean over legs of the RFC 3550 §6.4.1 interarrival jitter estimate, ms. */
  rfc3550JitterMs: number;
  sendErrors: number;
  /** Packets from anywhere but the leg's peer port (another program's RTP on a shared machine), not counted. */
  stray: number;
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
  else if (m.cmd === "start") stream(m.peers, m.durationMs);
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

function stream(peers: number[], durationMs: number): void {
  const legs = sockets.length;
  const jitter = new Histogram();
  const transit = new Histogram();
  const sendLate = new Histogram();
  const lastTransit = new Float64Array(legs).fill(Number.NaN);
  const rfcJ = new Float64Array(legs);
  const seq = new Uint16Array(legs);
  const packets = sockets.map((_, i) => {
    const b = Buffer.alloc(PACKET_BYTES, 0xff);
    b[0] = 0x80;
    b[1] = 0; // PCMU
    b.writeUInt32BE(0x10000 + i, 8); // SSRC: the leg
    return b;
  });
  let sent = 0;
  let received = 0;
  let sendErrors = 0;
  let stray = 0;
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
      const now = performance.now();
      received++;
      const t = now - msg.readDoubleBE(12);
      transit.record(t);
      const prev = lastTransit[i];
      if (!Number.isNaN(prev)) {
        const d = t - prev;
        jitter.record(d);
        // RFC 3550 §6.4.1: J += (|D| - J) / 16
        rfcJ[i] += (Math.abs(d) - rfcJ[i]) / 16;
      }
      lastTransit[i] = t;
    });
  }

  const t0 = performance.now() + 50;
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
        sendLate.record(at - ideal);
        sockets[i].send(b, 0, PACKET_BYTES, peers[i], "127.0.0.1", onError);
        seq[i] = (s + 1) & 0xffff;
        sent++;
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
          sent,
          received,
          jitter: jitter.toJSON(),
          transit: transit.toJSON(),
          sendLate: sendLate.toJSON(),
          rfc3550JitterMs: legs ? sumJ / legs : 0,
          sendErrors,
          stray,
        },
      });
    }, DRAIN_MS);
  };
  setTimeout(run, Math.max(0, t0 - performance.now()));
}
