// SIP over UDP and TCP on one port (RFC 3261 §18). The layer frames, parses
// and stamps received requests; it decides nothing about them.
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { formatVia, parseMessage, StreamFramer, serializeMessage } from "../message/index.ts";
import { type SipMessage, SipParseError, type Via } from "../message/types.ts";
import { topVia, unbracket } from "./response-destination.ts";
import { sourceKey } from "./source-key.ts";
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
  /**
   * A connection whose peer has authenticated (markAuthenticated), or one
   * that we opened, is closed after this long without any traffic; RFC 5626
   * §4.4.1 keep-alives count. Default 15 min.
   */
  tcpIdleTimeoutMs?: number;
  /**
   * An accepted connection whose peer has not authenticated yet is closed
   * after this long without a complete SIP message (keep-alives do not
   * count: they would let anyone hold a file handle for free). Default 30 s.
   */
  tcpUnauthenticatedTimeoutMs?: number;
  /** A connection that started a message must complete it within this time. Default 10 s. */
  tcpHeaderTimeoutMs?: number;
  /** Accepted connections beyond this number are closed at once. Default 10 000. */
  maxTcpConnections?: number;
  /**
   * Accepted connections from one source (an IPv4 address, an IPv6 /64)
   * beyond this number are closed at once. Default 50 (an office behind NAT).
   */
  maxTcpConnectionsPerSource?: number;
}

export const TCP_DEFAULTS = {
  idleTimeoutMs: 15 * 60_000,
  unauthenticatedTimeoutMs: 30_000,
  headerTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxConnectionsPerSource: 50,
} as const;

/** One warning per source and per this interval about refused connections, however many there are. */
const REFUSAL_WARNING_INTERVAL_MS = 60_000;

const CRLF = Buffer.from("\r\n");
const PORT_ATTEMPTS = 8;

class Connection {
  readonly framer = new StreamFramer();
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
    readonly socket: net.Socket,
    readonly remote: RemoteAddress,
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
  private readonly unauthenticatedMs: number;
  private readonly headerMs: number;
  private readonly maxConnections: number;
  private readonly maxPerSource: number;
  /** Open accepted connections, in total and by sourceKey. */
  private accepted = 0;
  private readonly acceptedBySource = new Map<string, number>();
  /** Per source: when it was last warned about, and refusals since then. */
  private readonly refusals = new Map<string, { warnedAt: number; since: number }>();
  private refusalsPurgedAt = 0;
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
    this.idleMs = opts.tcpIdleTimeoutMs ?? TCP_DEFAULTS.idleTimeoutMs;
    this.unauthenticatedMs = opts.tcpUnauthenticatedTimeoutMs ?? TCP_DEFAULTS.unauthenticatedTimeoutMs;
    this.headerMs = opts.tcpHeaderTimeoutMs ?? TCP_DEFAULTS.headerTimeoutMs;
    this.maxConnections = opts.maxTcpConnections ?? TCP_DEFAULTS.maxConnections;
    this.maxPerSource = opts.maxTcpConnectionsPerSource ?? TCP_DEFAULTS.maxConnectionsPerSource;
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

  /**
   * The peer of this connection has authenticated (a digest that verified,
   * a trunk recognised by its address): from now on the connection is kept
   * for the long idle timeout, and keep-alives hold it open (RFC 5626 §4.4.1).
   * Without this, an accepted connection that brings no complete message for
   * the short timeout is closed. UDP remotes and unknown connections are ignored.
   */
  markAuthenticated(remote: RemoteAddress): void {
    if (remote.transport === "UDP") return;
    let conn = remote.connectionId !== undefined ? this.byId.get(remote.connectionId) : undefined;
    if (!conn) conn = this.byRemote.get(remoteKey(remote.address, remote.port));
    if (!conn || conn.closed || conn.authenticated) return;
    conn.authenticated = true;
    conn.lastActivity = this.clock.now();
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
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const port = socket.remotePort ?? 0;
    // Every connection holds a file handle, and handles are shared with RTP
    // ports and the API: beyond the caps a connection is closed at once,
    // before a byte is read, with no answer (an attacker learns nothing and
    // costs us nothing more).
    const source = sourceKey(address);
    const fromSource = this.acceptedBySource.get(source) ?? 0;
    if (this.accepted >= this.maxConnections) {
      this.refuse(socket, address, source, "connection limit reached", this.maxConnections);
      return;
    }
    if (fromSource >= this.maxPerSource) {
      this.refuse(socket, address, source, "connection limit per source reached", this.maxPerSource);
      return;
    }
    this.accepted++;
    this.acceptedBySource.set(source, fromSource + 1);
    this.register(socket, address, port, true, source);
  }

  /** Closes a connection beyond a cap, warning once per source per minute, not once per connection. */
  private refuse(socket: net.Socket, address: string, source: string, why: string, limit: number): void {
    socket.destroy();
    const now = this.clock.now();
    const seen = this.refusals.get(source);
    if (now - this.refusalsPurgedAt >= REFUSAL_WARNING_INTERVAL_MS) {
      // Forget sources quiet for a minute, so that the map holds at most the
      // sources refused within the last two minutes.
      this.refusalsPurgedAt = now;
      for (const [key, r] of this.refusals) {
        if (now - r.warnedAt >= REFUSAL_WARNING_INTERVAL_MS) this.refusals.delete(key);
      }
    }
    if (seen && now - seen.warnedAt < REFUSAL_WARNING_INTERVAL_MS) {
      seen.since++;
      return;
    }
    this.refusals.set(source, { warnedAt: now, since: 0 });
    this.log.warn(
      {
        source: address,
        sourceKey: source,
        limit,
        refusedSinceLastWarning: seen?.since ?? 0,
        open: this.accepted,
        openFromSource: this.acceptedBySource.get(source) ?? 0,
      },
      `TCP connection refused: ${why}`,
    );
  }

  private register(
    socket: net.Socket,
    address: string,
    port: number,
    connected: boolean,
    source?: string,
  ): Connection {
    const id = this.nextConnectionId++;
    const remote: RemoteAddress = { transport: "TCP", address, port, connectionId: id };
    const key = remoteKey(address, port);
    const conn = new Connection(id, socket, remote, key, source, this.clock.now(), connected);
    this.byId.set(id, conn);
    this.byRemote.set(key, conn);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
    socket.on("error", (err) => {
      this.log.debug({ err, connection: id }, "TCP connection error");
      this.failQueue(conn, err);
    });
    socket.on("close", () => this.closeConnection(conn, "closed by peer"));
    this.armIdle(conn, this.idleDeadline(conn) - this.clock.now());
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
      // Also how the buffered bytes of a connection stay bounded: an
      // unfinished message past the size limit ends here. Info, not warn: a
      // peer could open connection after connection to flood the log.
      this.log.info(
        { err, connection: conn.id, source: conn.remote.address },
        "TCP framing error, closing connection",
      );
      this.closeConnection(conn, "framing error");
      return;
    }
    for (const frame of frames) {
      if (frame === "ping") {
        // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a single CRLF pong.
        conn.socket.write(CRLF);
        continue;
      }
      if (this.deliver(frame, conn.remote)) conn.lastMessage = this.clock.now();
      if (conn.closed) return;
    }
    // The header-read clock runs from the first byte of an unfinished
    // message, so a peer cannot hold a connection half-open by trickling.
    if (conn.framer.buffered === 0) return;
    if (!wasPartial || frames.length > 0) conn.partialSince = conn.lastActivity;
    if (!conn.headerTimer) this.armHeader(conn, this.headerMs);
  }

  /**
   * When the connection is due to close: an authenticated one (or ours) after
   * the long idle time without any traffic; an accepted one whose peer has
   * not authenticated after the short time without a complete message.
   */
  private idleDeadline(conn: Connection): number {
    return conn.authenticated ? conn.lastActivity + this.idleMs : conn.lastMessage + this.unauthenticatedMs;
  }

  private armIdle(conn: Connection, ms: number): void {
    conn.idleTimer = this.clock.setTimer(ms, () => {
      conn.idleTimer = undefined;
      if (conn.closed) return;
      // The timer is set once and pushed back lazily: traffic (and
      // markAuthenticated) only moves the deadline, so a busy connection
      // costs no timer churn.
      const left = this.idleDeadline(conn) - this.clock.now();
      if (left > 0) this.armIdle(conn, left);
      else if (conn.authenticated) this.closeConnection(conn, "idle timeout");
      else this.closeConnection(conn, "no complete message from an unauthenticated peer in time");
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
    if (conn.source !== undefined) {
      this.accepted--;
      const left = (this.acceptedBySource.get(conn.source) ?? 1) - 1;
      if (left > 0) this.acceptedBySource.set(conn.source, left);
      else this.acceptedBySource.delete(conn.source);
    }
    conn.socket.destroy();
  }

  // --- both --------------------------------------------------------------

  /** Parses and hands up one message; true when it was a message that went up. */
  private deliver(buf: Buffer, remote: RemoteAddress): boolean {
    let message: SipMessage;
    try {
      message = parseMessage(buf);
    } catch (err) {
      if (err instanceof SipParseError) this.safely(() => this.onParseError(err, remote));
      else this.log.error({ err }, "unexpected parser failure");
      return false;
    }
    if (message.type === "request") {
      if (!stampReceived(message, remote)) {
        this.safely(() => this.onParseError(new SipParseError("Missing or invalid Via"), remote));
        return false;
      }
    } else if (!this.isOurVia(topVia(message))) {
      // RFC 3261 §18.1.2: a response whose top Via is not ours was misrouted.
      this.log.debug({ remote }, "response with a foreign top Via dropped");
      return false;
    }
    this.safely(() => this.onMessage({ message, remote }));
    return true;
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
