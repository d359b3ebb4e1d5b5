// Helpers for tests that exchange real UDP packets on loopback (port 0, so
// parallel test processes never collide). Not used by production code.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import type { RtpSocketPair } from "./port-pool.ts";

export async function bindLoopback(): Promise<Socket> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      s.off("error", reject);
      resolve();
    });
  });
  return s;
}

export function portOf(s: Socket): number {
  return (s.address() as AddressInfo).port;
}

/**
 * A socket bound to an explicit loopback port, as the port pool binds them:
 * Linux forgets the port of a socket bound to port 0 when it is
 * disconnected (__udp_disconnect), which RtpLeg does on re-latching. The
 * port is found free by a port-0 bind first; a parallel process taking it in
 * between makes us try another.
 */
export async function bindLoopbackFixed(): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    const probeSocket = await bindLoopback();
    const port = portOf(probeSocket);
    await new Promise<void>((r) => probeSocket.close(() => r()));
    const s = createSocket("udp4");
    const err = await new Promise<Error | null>((resolve) => {
      s.once("error", resolve);
      s.bind({ port, address: "127.0.0.1", exclusive: true }, () => {
        s.off("error", resolve);
        resolve(null);
      });
    });
    if (!err) return s;
    s.close();
    if (attempt >= 20) throw err;
  }
}

/** An RtpSocketPair on two loopback ports (not adjacent: the leg does not care). */
export async function loopbackPair(): Promise<RtpSocketPair> {
  const rtp = await bindLoopbackFixed();
  const rtcp = await bindLoopbackFixed();
  return { rtp, rtcp, address: "127.0.0.1", rtpPort: portOf(rtp), rtcpPort: portOf(rtcp) };
}

export function closePair(pair: RtpSocketPair): void {
  pair.rtp.close();
  pair.rtcp.close();
}

/** A socket that records what it receives. */
export interface Probe {
  socket: Socket;
  port: number;
  received: Array<{ data: Buffer; from: RemoteInfo }>;
  send(data: Buffer, port: number): Promise<void>;
  close(): void;
}

export async function probe(): Promise<Probe> {
  const socket = await bindLoopback();
  const received: Probe["received"] = [];
  socket.on("message", (data, from) => received.push({ data: Buffer.from(data), from }));
  return {
    socket,
    port: portOf(socket),
    received,
    send: (data, port) =>
      new Promise<void>((resolve, reject) =>
        socket.send(data, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
      ),
    close: () => socket.close(),
  };
}

/** Polls (in real time, I/O only) until `cond` holds; fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets pending socket callbacks run (real I/O, a few milliseconds). */
export function ioSettle(ms = 15): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
