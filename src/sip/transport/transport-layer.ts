// SIP over UDP and TCP on one port (RFC 3261 §18). The layer frames, parses
// and stamps received requests; it decides nothing about them.
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { formatVia, parseMessage, StreamFramer, serializeMessage } from "../message/index.ts";
import { type SipMessage, SipParseError, type Via } from "../message/types.ts";
import { topVia, unbracket } from "./response-destination.ts";
import type { ReceivedMessage, RemoteAddress, SendErrorHandler, SipTransport } from "./types.ts";

export interface TransportOptions {
  /** IPv4 or IPv6 literal to bind ("0.0.0.0", "::", "127.0.0.1"). */
  bind: string;
  /** 0 picks a port that is free for both UDP and TCP. */
  port: number;
  /** The address written in our Via and Contact headers. */
  publicAddress: string;
  log: Logger;
  clock: Clock;
  /** A connection without any traffic (keep-alives count) for this long is closed. Default 120 s. */
  tcpIdleTimeoutMs?: number;
  /** A connection that started a message must complete it within this time. Default 10 s. */
  tcpHeaderTimeoutMs?: number;
  /** Incoming connections beyond this number are refused. Default unlimited. */
  maxTcpConnections?: number;
}

const CRLF = Buffer.from("\r\n");
const PORT_ATTEMPTS = 8;

class Connection {
  readonly framer = new StreamFramer();
  lastActivity: number;
  partialSince = 0;
  idleTimer: Timer | undefined;
  headerTimer: Timer | undefined;
  connected: boolean;
  closed = false;
  /** Messages waiting for an outgoing connect, with whom to tell if it fails. */
  queue: { data: Buffer; onError?: SendErrorHandler }[] = [];

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly remote: RemoteAddress,
    readonly key: string,
    now: number,
    connected: boolean,
  ) {
    this.lastActivity = now;
    this.connected = connected;
  }
}

/** "::ffff:192.0.2.1" → "192.0.2.1": a dual-stack socket reports IPv4 peers in mapped form. */
function normaliseAddress(address: string): string {
  return address.startsWith("::ffff:") && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function remoteKey(address: string, port: number): string {
  return address + "|" + port;
}

function isOnlyWhitespace(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 13 && c !== 10 && c !== 32 && c !== 9) return false;
  }
  return true;
}

export class TransportLayer implements SipTransport {
  onMessage: (m: ReceivedMessage) => void = () => {};
  onParseError: (err: SipParseError, remote: RemoteAddress) => void = () => {};

  private readonly byId = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  private nextConnectionId = 1;
  private closing = false;
  private readonly idleMs: number;
  private readonly headerMs: number;
  private readonly maxConnections: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly udpIsV6: boolean;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    readonly port: number,
    readonly publicAddress: string,
    opts: TransportOptions,
  ) {
    this.log = opts.log;
    this.clock = opts.clock;
    this.idleMs = opts.tcpIdleTimeoutMs ?? 120_000;
    this.headerMs = opts.tcpHeaderTimeoutMs ?? 10_000;
    this.maxConnections = opts.maxTcpConnections ?? Number.POSITIVE_INFINITY;
    this.udpIsV6 = net.isIPv6(opts.bind);
    udp.on("message", (buf, rinfo) => this.onDatagram(buf, rinfo));
    udp.on("error", (err) => this.log.warn({ err }, "UDP socket error"));
    tcp.on("connection", (socket) => this.onAccept(socket));
    tcp.on("error", (err) => this.log.warn({ err }, "TCP server error"));
  }

  static async listen(opts: TransportOptions): Promise<TransportLayer> {
    const family = net.isIPv6(opts.bind) ? "udp6" : "udp4";
    let lastError: unknown;
    for (let attempt = 0; attempt < (opts.port === 0 ? PORT_ATTEMPTS : 1); attempt++) {
      const udp = dgram.createSocket({ type: family, ipv6Only: false });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once("error", reject);
          udp.bind(opts.port, opts.bind, () => {
            udp.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        throw err;
      }
      const port = udp.address().port;
      const tcp = net.createServer({ noDelay: true });
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen({ port, host: opts.bind, exclusive: true }, () => {
            tcp.off("error", reject);
            resolve();
          });
        });
        return new TransportLayer(udp, tcp, port, opts.publicAddress, opts);
      } catch (err) {
        // The UDP port was free but its TCP twin is taken: try another pair.
        lastError = err;
        udp.close();
        tcp.close();
      }
    }
    throw lastError instanceof Error ? lastError : new Error("could not bind UDP and TCP on one port");
  }

  /**
   * Sends one message. UDP: one datagram. TCP: on `remote.connectionId` while
   * it is open, else on an open connection to address:port, else on a new
   * connection (the message waits for the connect). Failures are logged and
   * reported through `onError`, never thrown.
   */
  send(msg: SipMessage, remote: RemoteAddress, onError?: SendErrorHandler): void {
    let data: Buffer;
    try {
      data = serializeMessage(msg);
    } catch (err) {
      this.log.error({ err }, "cannot serialise outgoing SIP message");
      onError?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.closing) {
      onError?.(new Error("transport closed"));
      return;
    }
    if (remote.transport === "UDP") this.sendDatagram(data, remote, onError);
    else this.sendStream(data, remote, onError);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const conn of [...this.byId.values()]) this.closeConnection(conn, "transport closing");
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  /** Number of open TCP connections (for tests and metrics). */
  get connectionCount(): number {
    return this.byId.size;
  }

  // --- UDP ---------------------------------------------------------------

  private onDatagram(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    // RFC 5626 §4.4.1 keep-alives and stray CRLFs carry no message.
    if (isOnlyWhitespace(buf)) return;
    this.deliver(buf, { transport: "UDP", address: normaliseAddress(rinfo.address), port: rinfo.port });
  }

  private sendDatagram(data: Buffer, remote: RemoteAddress, onError?: SendErrorHandler): void {
    const address = this.udpIsV6 && net.isIPv4(remote.address) ? "::ffff:" + remote.address : remote.address;
    try {
      this.udp.send(data, remote.port, address, (err) => {
        if (!err) return;
        this.log.warn({ err, address: remote.address, port: remote.port }, "UDP send failed");
        onError?.(err);
      });
    } catch (err) {
      // Synchronous throws: a port out of range, a socket already closed.
      this.log.warn({ err, address: remote.address, port: remote.port }, "UDP send failed");
      onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  // --- TCP ---------------------------------------------------------------

  private onAccept(socket: net.Socket): void {
    if (this.closing || this.byId.size >= this.maxConnections) {
      this.log.warn({ remote: socket.remoteAddress }, "TCP connection refused: limit reached");
      socket.destroy();
      return;
    }
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const port = socket.remotePort ?? 0;
    this.register(socket, address, port, true);
  }

  private register(socket: net.Socket, address: string, port: number, connected: boolean): Connection {
    const id = this.nextConnectionId++;
    const remote: RemoteAddress = { transport: "TCP", address, port, connectionId: id };
    const key = remoteKey(address, port);
    const conn = new Connection(id, socket, remote, key, this.clock.now(), connected);
    this.byId.set(id, conn);
    this.byRemote.set(key, conn);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
    socket.on("error", (err) => {
      this.log.debug({ err, connection: id }, "TCP connection error");
      this.failQueue(conn, err);
    });
    socket.on("close", () => this.closeConnection(conn, "closed by peer"));
    this.armIdle(conn, this.idleMs);
    return conn;
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    conn.lastActivity = this.clock.now();
    const wasPartial = conn.framer.buffered > 0;
    let frames: Array<Buffer | "ping">;
    try {
      frames = conn.framer.push(chunk);
    } catch (err) {
      // A broken Content-Length or an oversized message: the stream has lost
      // its framing and nothing after it can be trusted (RFC 3261 §18.3).
      this.log.info({ err, connection: conn.id }, "TCP framing error, closing connection");
      this.closeConnection(conn, "framing error");
      return;
    }
    for (const frame of frames) {
      if (frame === "ping") {
        // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a single CRLF pong.
        conn.socket.write(CRLF);
        continue;
      }
      this.deliver(frame, conn.remote);
      if (conn.closed) return;
    }
    // The header-read clock runs from the first byte of an unfinished
    // message, so a peer cannot hold a connection half-open by trickling.
    if (conn.framer.buffered === 0) return;
    if (!wasPartial || frames.length > 0) conn.partialSince = conn.lastActivity;
    if (!conn.headerTimer) this.armHeader(conn, this.headerMs);
  }

  private armIdle(conn: Connection, ms: number): void {
    conn.idleTimer = this.clock.setTimer(ms, () => {
      conn.idleTimer = undefined;
      if (conn.closed) return;
      // The timer is set once and pushed back lazily: traffic only moves
      // lastActivity, so a busy connection costs no timer churn.
      const idle = this.clock.now() - conn.lastActivity;
      if (idle >= this.idleMs) this.closeConnection(conn, "idle timeout");
      else this.armIdle(conn, this.idleMs - idle);
    });
  }

  private armHeader(conn: Connection, ms: number): void {
    conn.headerTimer = this.clock.setTimer(ms, () => {
      conn.headerTimer = undefined;
      if (conn.closed || conn.framer.buffered === 0) return;
      const waited = this.clock.now() - conn.partialSince;
      if (waited >= this.headerMs) this.closeConnection(conn, "message not completed in time");
      else this.armHeader(conn, this.headerMs - waited);
    });
  }

  private sendStream(data: Buffer, remote: RemoteAddress, onError?: SendErrorHandler): void {
    let conn = remote.connectionId !== undefined ? this.byId.get(remote.connectionId) : undefined;
    if (!conn || conn.closed) conn = this.byRemote.get(remoteKey(remote.address, remote.port));
    if (!conn || conn.closed) conn = this.connect(remote.address, remote.port);
    if (!conn.connected) {
      conn.queue.push({ data, onError });
      return;
    }
    conn.lastActivity = this.clock.now();
    conn.socket.write(data, (err) => {
      if (!err) return;
      this.log.warn({ err, connection: conn.id }, "TCP write failed");
      onError?.(err);
    });
  }

  private connect(address: string, port: number): Connection {
    const socket = net.connect({ host: address, port, noDelay: true });
    const conn = this.register(socket, address, port, false);
    socket.once("connect", () => {
      conn.connected = true;
      conn.lastActivity = this.clock.now();
      const queued = conn.queue;
      conn.queue = [];
      for (const q of queued) {
        socket.write(q.data, (err) => {
          if (err) q.onError?.(err);
        });
      }
    });
    return conn;
  }

  private failQueue(conn: Connection, err: Error): void {
    const queued = conn.queue;
    conn.queue = [];
    for (const q of queued) q.onError?.(err);
  }

  private closeConnection(conn: Connection, why: string): void {
    if (conn.closed) return;
    conn.closed = true;
    this.log.debug({ connection: conn.id, why }, "TCP connection closed");
    conn.idleTimer?.cancel();
    conn.headerTimer?.cancel();
    this.failQueue(conn, new Error("connection closed: " + why));
    this.byId.delete(conn.id);
    if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
    conn.socket.destroy();
  }

  // --- both --------------------------------------------------------------

  private deliver(buf: Buffer, remote: RemoteAddress): void {
    let message: SipMessage;
    try {
      message = parseMessage(buf);
    } catch (err) {
      if (err instanceof SipParseError) this.safely(() => this.onParseError(err, remote));
      else this.log.error({ err }, "unexpected parser failure");
      return;
    }
    if (message.type === "request") {
      if (!stampReceived(message, remote)) {
        this.safely(() => this.onParseError(new SipParseError("Missing or invalid Via"), remote));
        return;
      }
    } else if (!this.isOurVia(topVia(message))) {
      // RFC 3261 §18.1.2: a response whose top Via is not ours was misrouted.
      this.log.debug({ remote }, "response with a foreign top Via dropped");
      return;
    }
    this.safely(() => this.onMessage({ message, remote }));
  }

  private isOurVia(via: Via | undefined): boolean {
    if (!via) return false;
    return unbracket(via.host) === unbracket(this.publicAddress) && (via.port ?? 5060) === this.port;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, "SIP message handler threw");
    }
  }
}

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: records in the top Via where the request
 * really came from, so that the response can find its way back through NAT.
 * Returns false when the request has no usable Via.
 */
export function stampReceived(req: SipMessage, remote: RemoteAddress): boolean {
  const via = topVia(req);
  if (!via) return false;
  let changed = false;
  const rportRequested = "rport" in via.params && via.params.rport === null;
  if (rportRequested) {
    via.params.rport = String(remote.port);
    changed = true;
  }
  // RFC 3581 §4: with rport, received is added even when it equals sent-by.
  if (rportRequested || unbracket(via.host) !== remote.address) {
    via.params.received = remote.address;
    changed = true;
  }
  if (changed) replaceTopVia(req, via);
  return true;
}

/** Rewrites the first element of the first Via header field, leaving the others as they were. */
function replaceTopVia(msg: SipMessage, via: Via): void {
  const index = msg.headers.findIndex((h) => h.name === "Via");
  if (index < 0) return;
  const field = msg.headers[index];
  const comma = firstListComma(field.value);
  const formatted = formatVia(via);
  field.value = comma < 0 ? formatted : formatted + ", " + field.value.slice(comma + 1).trimStart();
}

/** Index of the first comma separating list elements (outside quoted strings), or -1. */
function firstListComma(value: string): number {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++;
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 44) return i;
  }
  return -1;
}
