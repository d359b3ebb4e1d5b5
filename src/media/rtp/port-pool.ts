// UDP port pairs for RTP: an even port for RTP and the next odd one for RTCP
// (RFC 3550 §11), bound on the media address. Ports taken by other programs
// are skipped; released pairs go to the back of the rotation so a late packet
// of a finished call does not land in the next call (RFC 3550 §8.2 style
// collision avoidance, and what every SBC does).
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "../../util/log.ts";

/**
 * Two bound UDP sockets. They must be bound to explicit ports (as
 * RtpPortPool does): RtpLeg connects and disconnects them, and Linux drops
 * the port of a socket bound to port 0 when it is disconnected.
 */
export interface RtpSocketPair {
  readonly rtp: Socket;
  readonly rtcp: Socket;
  readonly address: string;
  readonly rtpPort: number;
  readonly rtcpPort: number;
}

export interface RtpPortPoolOptions {
  min: number;
  max: number;
  bind: string;
  /**
   * SO_RCVBUF for each socket. The default (212 992 bytes on Linux) holds
   * about 1 000 G.711 packets; a larger buffer absorbs event-loop pauses
   * (GC, a burst of SIP) on a busy media node. Capped by net.core.rmem_max.
   */
  recvBufferSize?: number;
  sendBufferSize?: number;
  log?: Logger;
}

const DEFAULT_RECV_BUFFER = 512 * 1024;

export class RtpPortPoolExhaustedError extends Error {
  constructor(min: number, max: number, inUse: number) {
    super(`RTP port pool exhausted: no free even/odd port pair in ${min}-${max} (${inUse} in use by us)`);
    this.name = "RtpPortPoolExhaustedError";
  }
}

export class RtpPortPool {
  readonly capacity: number;
  private readonly first: number;
  private readonly opts: RtpPortPoolOptions;
  private readonly used = new Set<number>();
  /** Index (0…capacity-1) of the next pair to try: a rotating cursor. */
  private cursor = 0;

  constructor(opts: RtpPortPoolOptions) {
    if (!Number.isInteger(opts.min) || !Number.isInteger(opts.max) || opts.min < 1 || opts.max > 65535) {
      throw new RangeError(`invalid RTP port range ${opts.min}-${opts.max}`);
    }
    this.opts = opts;
    this.first = opts.min % 2 === 0 ? opts.min : opts.min + 1;
    this.capacity = Math.max(0, Math.floor((opts.max - this.first + 1) / 2));
    if (this.capacity === 0)
      throw new RangeError(`RTP port range ${opts.min}-${opts.max} holds no even/odd pair`);
  }

  get inUse(): number {
    return this.used.size;
  }

  /**
   * Binds the next free pair. Tries every pair at most once, starting after
   * the last one handed out; throws RtpPortPoolExhaustedError if none binds.
   */
  async allocate(): Promise<RtpSocketPair> {
    for (let attempt = 0; attempt < this.capacity; attempt++) {
      const index = this.cursor;
      this.cursor = (this.cursor + 1) % this.capacity;
      const port = this.first + index * 2;
      if (this.used.has(port)) continue;
      // Reserve before awaiting: two concurrent allocations must not race for one port.
      this.used.add(port);
      const result = await this.tryBind(port);
      if (!(result instanceof Error)) return result;
      this.used.delete(port);
      // Only "taken by someone else" moves on; a bad bind address fails for every port.
      if (result.code !== "EADDRINUSE" && result.code !== "EACCES") {
        throw new Error(`cannot bind RTP port ${port} on ${this.opts.bind}: ${result.message}`);
      }
    }
    throw new RtpPortPoolExhaustedError(this.opts.min, this.opts.max, this.used.size);
  }

  /** Closes both sockets and returns the pair to the pool. Idempotent. */
  release(pair: RtpSocketPair): void {
    if (!this.used.delete(pair.rtpPort)) return;
    closeQuietly(pair.rtp);
    closeQuietly(pair.rtcp);
  }

  private async tryBind(port: number): Promise<RtpSocketPair | NodeJS.ErrnoException> {
    const rtp = this.newSocket();
    const rtpErr = await bindSocket(rtp, port, this.opts.bind);
    if (rtpErr) {
      closeQuietly(rtp);
      return rtpErr;
    }
    const rtcp = this.newSocket();
    const rtcpErr = await bindSocket(rtcp, port + 1, this.opts.bind);
    if (rtcpErr) {
      closeQuietly(rtp);
      closeQuietly(rtcp);
      return rtcpErr;
    }
    for (const s of [rtp, rtcp]) {
      // A socket error (e.g. ICMP feedback on some platforms) must never
      // become an uncaught 'error' event that kills the process.
      s.on("error", (err) => this.opts.log?.debug({ err, port }, "rtp socket error"));
    }
    return { rtp, rtcp, address: this.opts.bind, rtpPort: port, rtcpPort: port + 1 };
  }

  private newSocket(): Socket {
    return createSocket({
      type: isIPv6(this.opts.bind) ? "udp6" : "udp4",
      recvBufferSize: this.opts.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      ...(this.opts.sendBufferSize ? { sendBufferSize: this.opts.sendBufferSize } : {}),
    });
  }
}

/** Resolves undefined once bound, or the bind error (EADDRINUSE when the port is taken). */
function bindSocket(
  socket: Socket,
  port: number,
  address: string,
): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => {
      socket.off("listening", onListening);
      resolve(err);
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve(undefined);
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind({ port, address, exclusive: true });
    } catch (err) {
      socket.off("error", onError);
      socket.off("listening", onListening);
      resolve(err as NodeJS.ErrnoException);
    }
  });
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
