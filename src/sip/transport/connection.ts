// One connection of the transport layer: a TCP or TLS stream (RFC 3261
// §18.3, RFC 5630) or a WebSocket (RFC 7118). What the layer does with a
// connection (caps, timeouts, reuse by id and by transport|address|port) is
// the same for all of them; only how bytes leave it differs, which is the
// sink's business.
import type * as net from "node:net";
import type { Timer } from "../../util/clock.ts";
import { StreamFramer } from "../message/index.ts";
import type { RemoteAddress, SendErrorHandler, TransportName } from "./types.ts";

/** The transports that run over a connection. */
export type ConnectionTransport = Exclude<TransportName, "UDP">;

/** Where a connection's bytes go, and how it is torn down. */
export interface ConnectionSink {
  /** Sends one SIP message (or a keep-alive pong); `done` hears a write that failed. */
  write(data: Buffer, done?: (err?: Error | null) => void): void;
  /** Closes at once: what is not sent yet is dropped, the peer learns nothing more. */
  destroy(): void;
}

/**
 * A TCP or TLS connection: `socket` is what SIP is read from and written to
 * (the TLS socket over `raw` for TLS), `raw` the TCP socket underneath (the
 * same as `socket` for TCP); both are destroyed on close.
 */
export function socketSink(socket: net.Socket, raw: net.Socket = socket): ConnectionSink {
  return {
    write: (data, done) => {
      socket.write(data, done);
    },
    destroy: () => {
      socket.destroy();
      if (raw !== socket) raw.destroy();
    },
  };
}

export class Connection {
  /** Stream transports only: the Content-Length framing of RFC 3261 §18.3 (WebSocket messages come whole). */
  readonly framer = new StreamFramer();
  /** TLS: the handshake completed (a failure before it is logged as a handshake failure). */
  secure = false;
  /** Last bytes in either direction. */
  lastActivity: number;
  /** Last complete SIP message received. */
  lastMessage: number;
  /** The peer proved who it is (or we opened the connection): the long idle timeout applies. */
  authenticated: boolean;
  partialSince = 0;
  idleTimer: Timer | undefined;
  headerTimer: Timer | undefined;
  connected: boolean;
  closed = false;
  /** Messages waiting for an outgoing connect, with whom to tell if it fails. */
  queue: { data: Buffer; onError?: SendErrorHandler }[] = [];

  constructor(
    readonly id: number,
    readonly sink: ConnectionSink,
    readonly remote: RemoteAddress & { transport: ConnectionTransport },
    /** transport|address|port: how a request to a binding's source finds this connection. */
    readonly key: string,
    /** The sourceKey of an accepted connection, counted against the per-source cap; undefined for ours. */
    readonly source: string | undefined,
    now: number,
    connected: boolean,
  ) {
    this.lastActivity = now;
    this.lastMessage = now;
    this.connected = connected;
    this.authenticated = source === undefined;
  }
}

/** A TCP, a TLS and a WebSocket connection from the same address and port are different connections. */
export function remoteKey(transport: TransportName, address: string, port: number): string {
  return transport + "|" + address + "|" + port;
}
