// A separate process that swallows the playback bench's RTP, so the packets
// have a real destination (no ICMP unreachable) and their receipt costs the
// process under test nothing. Reports how many arrived.
import { createSocket, type Socket } from "node:dgram";

export type SinkCommand = { cmd: "bind"; sockets: number } | { cmd: "count" } | { cmd: "exit" };
export type SinkEvent = { ev: "bound"; ports: number[] } | { ev: "count"; packets: number };

const sockets: Socket[] = [];
let packets = 0;

process.on("message", async (m: SinkCommand) => {
  if (m.cmd === "bind") {
    const ports: number[] = [];
    for (let i = 0; i < m.sockets; i++) {
      const s = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
      await new Promise<void>((res) => s.bind(0, "127.0.0.1", () => res()));
      s.on("message", () => {
        packets++;
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
