// A separate process that swallows the playback bench's RTP, so the packets
// have a real destination (no ICMP unreachable) and their receipt costs the
// process under test nothing. Reports how many arrived.
//
// Like a phone, it also sends RTP back to each source: two packets a second
// (a fiftieth of a real phone's rate, so the figure stays about sending),
// enough for the PBX's leg to latch onto it and connect its socket as it
// does for a real caller, and to keep that latch alive.
import { createSocket, type Socket } from "node:dgram";

export type SinkCommand = { cmd: "bind"; sockets: number } | { cmd: "count" } | { cmd: "exit" };
export type SinkEvent = { ev: "bound"; ports: number[] } | { ev: "count"; packets: number };

/** Each source gets a packet back at most this often. */
const REPLY_EVERY_MS = 500;

const sockets: Socket[] = [];
let packets = 0;
/** Last reply per source port (all sources are on 127.0.0.1). */
const lastReply = new Map<number, number>();
/** One 20 ms PCMU silence packet (RTP version 2, payload type 0); its sequence number is bumped per reply. */
const reply = Buffer.alloc(12 + 160, 0xff);
reply[0] = 0x80;
reply[1] = 0;
reply.writeUInt32BE(0x51c0, 8);
let seq = 0;

process.on("message", async (m: SinkCommand) => {
  if (m.cmd === "bind") {
    const ports: number[] = [];
    for (let i = 0; i < m.sockets; i++) {
      const s = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
      await new Promise<void>((res) => s.bind(0, "127.0.0.1", () => res()));
      s.on("error", () => {});
      s.on("message", (_msg, rinfo) => {
        packets++;
        const now = performance.now();
        const last = lastReply.get(rinfo.port);
        if (last !== undefined && now - last < REPLY_EVERY_MS) return;
        lastReply.set(rinfo.port, now);
        seq = (seq + 1) & 0xffff;
        reply.writeUInt16BE(seq, 2);
        reply.writeUInt32BE((seq * 160) >>> 0, 4);
        s.send(reply, rinfo.port, rinfo.address);
      });
      sockets.push(s);
      ports.push(s.address().port);
    }
    process.send?.({ ev: "bound", ports } satisfies SinkEvent);
  } else if (m.cmd === "count") {
    process.send?.({ ev: "count", packets } satisfies SinkEvent);
  } else {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
