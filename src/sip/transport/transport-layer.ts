// SIP over UDP and TCP on one port (RFC 3261 §18), over TLS on a port of
// its own (RFC 3261 §26.2, RFC 5630), and over WebSockets that the HTTP
// server accepted and handed over (RFC 7118). The layer frames, parses and
// stamps received requests; it decides nothing about them. TLS is a stream
// like TCP: the same connections, framing, caps and timeouts, with a TLS
// socket over the TCP one. A WebSocket is a connection too (the same caps,
// timeouts and reuse), whose messages come whole: one SIP message each.
import * as dgram from "node:dgram";
import * as dns from "node:dns";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { formatVia, LIMITS, parseMessage, serializeMessage } from "../message/index.ts";
import { type SipMessage, SipParseError, type Via } from "../message/types.ts";
import { Connection, type ConnectionTransport, remoteKey, socketSink } from "./connection.ts";
import { topVia, unbracket } from "./response-destination.ts";
import { sourceKey } from "./source-key.ts";
import { TLS_VERSIONS } from "./tls-credentials.ts";
import {
  defaultPort,
  isWebSocket,
  type ReceivedMessage,
  type RemoteAddress,
  type SendErrorHandler,
  type SipTransport,
  type TransportName,
} from "./types.ts";
import {
  isCrlfPing,
  messageBytes,
  SIP_WEBSOCKET_PROTOCOL,
  type WebSocketData,
  type WebSocketLike,
  webSocketSink,
} from "./web-socket.ts";

/** The stream transports: the ones we can also open a connection for. */
type StreamTransport = "TCP" | "TLS";

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
  /** Accepted connections (TCP, TLS and WebSocket together) beyond this number are closed at once. Default 10 000. */
  maxTcpConnections?: number;
  /**
   * Accepted connections (TCP, TLS and WebSocket together) from one source
   * (an IPv4 address, an IPv6 /64) beyond this number are closed at once.
   * Default 50 (an office behind NAT).
   */
  maxTcpConnectionsPerSource?: number;
  /**
   * A SIP over TLS listener (RFC 3261 §26.2) on its own port; undefined: none
   * (outgoing TLS connections still work). The timeouts and caps above apply
   * to its connections as to TCP ones: the unauthenticated timeout also
   * bounds a handshake that never ends.
   */
  tls?: {
    /** 0 picks a free port. */
    port: number;
    /** Certificate, key and TLS versions of accepted connections (serverSecureContext); see setSecureContext. */
    secureContext: tls.SecureContext;
  };
  /**
   * Certificates trusted, beside the system's CAs, when an outgoing TLS
   * connection is verified (RemoteAddress.tlsVerifyName): a private CA.
   */
  tlsTrustedCertificates?: string[];
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

/**
 * The SIP UDP socket's receive buffer (SO_RCVBUF; Linux reports twice it).
 * Linux's default, 208 KB, holds about 90 datagrams of 1 KB (each costs
 * about twice its length in the kernel). At 500 calls/s about 4,000
 * datagrams arrive a second; a pause of the signalling thread of 25 ms (a
 * garbage collection) overflowed it: 641 datagrams dropped in one bench
 * run, each a request the phone sent again 500 ms later (RFC 3261
 * §17.1.1.2, T1), which made the call setup's p99 500 ms. 4 MB (8 MB to
 * the kernel) holds about a second of such a load. The kernel caps it at
 * net.core.rmem_max.
 */
export const SIP_UDP_RECV_BUFFER = 4 * 1024 * 1024;

/**
 * Says so when the kernel granted the SIP UDP socket less than
 * SIP_UDP_RECV_BUFFER: what to change, not an error (a small office never
 * sends bursts that large).
 */
function checkRecvBuffer(udp: dgram.Socket, log: Logger): void {
  // Linux reports twice what it granted (the other half is its bookkeeping).
  const granted = udp.getRecvBufferSize() / 2;
  if (granted >= SIP_UDP_RECV_BUFFER) return;
  log.info(
    { grantedBytes: granted, wantedBytes: SIP_UDP_RECV_BUFFER },
    `the SIP UDP receive buffer is ${Math.round(granted / 1024)} KB, not ${SIP_UDP_RECV_BUFFER / 1024}: under load a burst of SIP beyond it is dropped and phones resend it 500 ms later; raise the kernel's cap: sysctl -w net.core.rmem_max=${SIP_UDP_RECV_BUFFER}`,
  );
}

/** "::ffff:192.0.2.1" → "192.0.2.1": a dual-stack socket reports IPv4 peers in mapped form. */
function normaliseAddress(address: string): string {
  return address.startsWith("::ffff:") && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
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
  /** The same for failed TLS handshakes (a phone with TLS 1.0 only, plain SIP sent to the TLS port). */
  private readonly handshakeFailures = new Map<string, { warnedAt: number; since: number }>();
  private handshakeFailuresPurgedAt = 0;
  private secureContext: tls.SecureContext | undefined;
  private readonly trusted: string[] | undefined;
  /** Where the HTTP server accepts SIP over WebSocket (setWebSocketPort); undefined: not yet, or never. */
  private webSocket: { port: number; secure: boolean } | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly udpIsV6: boolean;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    /** The TLS listener (a plain TCP server: the TLS socket is put over each connection it accepts). */
    private readonly tlsServer: net.Server | undefined,
    readonly port: number,
    /** The port of the TLS listener; undefined without one. */
    readonly tlsPort: number | undefined,
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
    tcp.on("connection", (socket) => this.onAccept(socket, "TCP"));
    tcp.on("error", (err) => this.log.warn({ err }, "TCP server error"));
    this.secureContext = opts.tls?.secureContext;
    // `ca` replaces the system's CAs: extra ones are added to them.
    this.trusted = opts.tlsTrustedCertificates && [...tls.rootCertificates, ...opts.tlsTrustedCertificates];
    tlsServer?.on("connection", (socket) => this.onAccept(socket, "TLS"));
    tlsServer?.on("error", (err) => this.log.warn({ err }, "TLS server error"));
  }

  static async listen(opts: TransportOptions): Promise<TransportLayer> {
    const family = net.isIPv6(opts.bind) ? "udp6" : "udp4";
    let lastError: unknown;
    for (let attempt = 0; attempt < (opts.port === 0 ? PORT_ATTEMPTS : 1); attempt++) {
      const udp = dgram.createSocket({
        type: family,
        ipv6Only: false,
        lookup: literalLookup,
        recvBufferSize: SIP_UDP_RECV_BUFFER,
      });
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
      if (attempt === 0) checkRecvBuffer(udp, opts.log);
      const tcp = net.createServer({ noDelay: true });
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("error", reject);
          tcp.listen({ port, host: opts.bind, exclusive: true }, () => {
            tcp.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        // The UDP port was free but its TCP twin is taken: try another pair.
        lastError = err;
        udp.close();
        tcp.close();
        continue;
      }
      if (!opts.tls)
        return new TransportLayer(udp, tcp, undefined, port, undefined, opts.publicAddress, opts);
      const tlsServer = net.createServer({ noDelay: true });
      try {
        await new Promise<void>((resolve, reject) => {
          tlsServer.once("error", reject);
          tlsServer.listen({ port: opts.tls?.port, host: opts.bind, exclusive: true }, () => {
            tlsServer.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        tcp.close();
        tlsServer.close();
        throw err;
      }
      const address = tlsServer.address();
      const tlsPort = typeof address === "object" && address ? address.port : opts.tls.port;
      return new TransportLayer(udp, tcp, tlsServer, port, tlsPort, opts.publicAddress, opts);
    }
    throw lastError instanceof Error ? lastError : new Error("could not bind UDP and TCP on one port");
  }

  /**
   * The certificate (and settings) for TLS connections accepted from now on;
   * those already open keep theirs (a renewed certificate, RFC 5630 leaves
   * the rest to TLS). Ignored without a TLS listener.
   */
  setSecureContext(context: tls.SecureContext): void {
    if (this.tlsServer) this.secureContext = context;
  }

  /** The port we listen on for `transport` (written in Via and Contact); undefined when we do not. */
  portFor(transport: TransportName): number | undefined {
    if (transport === "TLS") return this.tlsPort;
    if (isWebSocket(transport)) {
      const ws = this.webSocket;
      return ws && ws.secure === (transport === "WSS") ? ws.port : undefined;
    }
    return this.port;
  }

  /**
   * SIP over WebSocket (RFC 7118) is accepted on the HTTP server's `port`:
   * WSS when that server is HTTPS, else WS. Our Via and Contact over a
   * WebSocket name this port; until it is set, acceptWebSocket refuses.
   */
  setWebSocketPort(port: number, secure: boolean): void {
    this.webSocket = { port, secure };
  }

  /**
   * Sends one message. UDP: one datagram. TCP, TLS and WebSocket: on
   * `remote.connectionId` while it is open, else on an open connection of
   * that transport to address:port (the one a phone registered on: its
   * source port), else, for TCP and TLS, on a new connection (the message
   * waits for the connect, and for TLS the handshake); a WebSocket peer
   * without an open connection cannot be reached (onError). Failures are
   * logged and reported through `onError`, never thrown.
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
      new Promise<void>((resolve) => (this.tlsServer ? this.tlsServer.close(() => resolve()) : resolve())),
    ]);
  }

  /** Number of open TCP, TLS and WebSocket connections (for tests and metrics). */
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
    if (conn && conn.remote.transport !== remote.transport) conn = undefined;
    if (!conn) conn = this.byRemote.get(remoteKey(remote.transport, remote.address, remote.port));
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

  // --- TCP and TLS ---------------------------------------------------------

  private onAccept(socket: net.Socket, transport: StreamTransport): void {
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const port = socket.remotePort ?? 0;
    if (transport === "TLS" && !this.secureContext) {
      // Cannot happen: a TLS listener is made with a context, and keeps one.
      socket.destroy();
      return;
    }
    const source = this.admit(transport, address, () => socket.destroy());
    if (source === undefined) return;
    if (transport === "TCP" || !this.secureContext) {
      this.register(socket, socket, "TCP", address, port, true, source);
      return;
    }
    // No client certificate is asked for: phones authenticate by digest.
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: this.secureContext,
      requestCert: false,
    });
    const conn = this.register(secure, socket, "TLS", address, port, true, source);
    secure.once("secure", () => {
      conn.secure = true;
    });
  }

  /**
   * Counts a connection that a peer opened against the caps; its sourceKey,
   * or undefined when it is beyond one (it was dropped). Every connection
   * holds a file handle, and handles are shared with RTP ports and the API:
   * beyond the caps a connection is closed at once, before a byte is read,
   * with no answer (an attacker learns nothing and costs us nothing more).
   * TCP, TLS and WebSocket connections count together (a TLS handshake costs
   * more than a TCP accept, so it is refused before it starts).
   */
  private admit(transport: ConnectionTransport, address: string, drop: () => void): string | undefined {
    if (this.closing) {
      drop();
      return undefined;
    }
    const source = sourceKey(address);
    const fromSource = this.acceptedBySource.get(source) ?? 0;
    if (this.accepted >= this.maxConnections) {
      this.refuse(drop, transport, address, source, "connection limit reached", this.maxConnections);
      return undefined;
    }
    if (fromSource >= this.maxPerSource) {
      this.refuse(drop, transport, address, source, "connection limit per source reached", this.maxPerSource);
      return undefined;
    }
    this.accepted++;
    this.acceptedBySource.set(source, fromSource + 1);
    return source;
  }

  /**
   * True once per source per minute: whether to log about this source now.
   * The map keeps per source when it was last logged and what was not logged since.
   */
  private rateLimited(
    map: Map<string, { warnedAt: number; since: number }>,
    purgedAt: number,
    source: string,
  ): { log: boolean; since: number; purgedAt: number } {
    const now = this.clock.now();
    const seen = map.get(source);
    if (now - purgedAt >= REFUSAL_WARNING_INTERVAL_MS) {
      // Forget sources quiet for a minute, so that the map holds at most the
      // sources logged within the last two minutes.
      purgedAt = now;
      for (const [key, r] of map) {
        if (now - r.warnedAt >= REFUSAL_WARNING_INTERVAL_MS) map.delete(key);
      }
    }
    if (seen && now - seen.warnedAt < REFUSAL_WARNING_INTERVAL_MS) {
      seen.since++;
      return { log: false, since: 0, purgedAt };
    }
    map.set(source, { warnedAt: now, since: 0 });
    return { log: true, since: seen?.since ?? 0, purgedAt };
  }

  /** Closes a connection beyond a cap, warning once per source per minute, not once per connection. */
  private refuse(
    drop: () => void,
    transport: ConnectionTransport,
    address: string,
    source: string,
    why: string,
    limit: number,
  ): void {
    drop();
    const r = this.rateLimited(this.refusals, this.refusalsPurgedAt, source);
    this.refusalsPurgedAt = r.purgedAt;
    if (!r.log) return;
    this.log.warn(
      {
        source: address,
        sourceKey: source,
        limit,
        refusedSinceLastWarning: r.since,
        open: this.accepted,
        openFromSource: this.acceptedBySource.get(source) ?? 0,
      },
      `${transport} connection refused: ${why}`,
    );
  }

  /**
   * A TLS handshake that failed: said once per source per minute at info
   * (what an operator needs when a phone cannot connect: its TLS version,
   * plain SIP sent to the TLS port), the rest at debug.
   */
  private handshakeFailed(conn: Connection, err: Error): void {
    const r = this.rateLimited(
      this.handshakeFailures,
      this.handshakeFailuresPurgedAt,
      conn.source ?? conn.remote.address,
    );
    this.handshakeFailuresPurgedAt = r.purgedAt;
    const fields = {
      err,
      connection: conn.id,
      source: conn.remote.address,
      port: conn.remote.port,
      failedSinceLastReport: r.since,
    };
    if (r.log) this.log.info(fields, "TLS handshake failed");
    else this.log.debug(fields, "TLS handshake failed");
  }

  private register(
    socket: net.Socket,
    raw: net.Socket,
    transport: StreamTransport,
    address: string,
    port: number,
    connected: boolean,
    source?: string,
  ): Connection {
    const conn = this.add(socketSink(socket, raw), transport, address, port, connected, source);
    const id = conn.id;
    raw.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
    socket.on("error", (err) => {
      // A handshake that an accepted peer failed is worth telling an
      // operator; our own connects are reported to the sender instead.
      if (transport === "TLS" && !conn.secure && source !== undefined) this.handshakeFailed(conn, err);
      else this.log.debug({ err, connection: id }, `${transport} connection error`);
      this.failQueue(conn, err);
    });
    if (raw !== socket) {
      // Errors of the TCP socket under TLS also come out of the TLS socket;
      // this listener only keeps them from being unhandled.
      raw.on("error", (err) => this.log.debug({ err, connection: id }, "TCP connection under TLS error"));
      raw.on("close", () => this.closeConnection(conn, "closed by peer"));
    }
    socket.on("close", () => this.closeConnection(conn, "closed by peer"));
    return conn;
  }

  /** A new open connection, found by its id and its transport|address|port, its idle timer running. */
  private add(
    sink: Connection["sink"],
    transport: ConnectionTransport,
    address: string,
    port: number,
    connected: boolean,
    source: string | undefined,
  ): Connection {
    const id = this.nextConnectionId++;
    const remote = { transport, address, port, connectionId: id };
    const key = remoteKey(transport, address, port);
    const conn = new Connection(id, sink, remote, key, source, this.clock.now(), connected);
    this.byId.set(id, conn);
    this.byRemote.set(key, conn);
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
        `${conn.remote.transport} framing error, closing connection`,
      );
      this.closeConnection(conn, "framing error");
      return;
    }
    for (const frame of frames) {
      if (frame === "ping") {
        // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a single CRLF pong.
        conn.sink.write(CRLF);
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
    const transport = remote.transport as ConnectionTransport;
    let conn = remote.connectionId !== undefined ? this.byId.get(remote.connectionId) : undefined;
    if (conn && conn.remote.transport !== transport) conn = undefined;
    if (!conn || conn.closed) conn = this.byRemote.get(remoteKey(transport, remote.address, remote.port));
    if (!conn || conn.closed) {
      if (isWebSocket(transport)) {
        // RFC 7118 §5: only the client opens a WebSocket. A browser whose
        // connection is gone is unreachable until it connects again (never a
        // DNS lookup of the `.invalid` host of its Contact): said to the
        // sender, as a connect that failed would be, and not synchronously.
        const err = new Error(`no open ${transport} connection to ${remote.address}:${remote.port}`);
        this.log.debug({ err, address: remote.address, port: remote.port }, `${transport} peer unreachable`);
        if (onError) queueMicrotask(() => onError(err));
        return;
      }
      conn = this.connect(transport as StreamTransport, remote.address, remote.port, remote.tlsVerifyName);
    }
    if (!conn.connected) {
      conn.queue.push({ data, onError });
      return;
    }
    conn.lastActivity = this.clock.now();
    conn.sink.write(data, (err) => {
      if (!err) return;
      this.log.warn({ err, connection: conn.id }, `${transport} write failed`);
      onError?.(err);
    });
  }

  /**
   * Opens a connection of ours. TLS (RFC 5630 §3): TLS 1.2 or 1.3, no client
   * certificate; the server's certificate is verified only when the caller
   * names what it must be (`verifyName`: a trunk's host), since a phone that
   * is called back on a new connection rarely has a certificate that any CA
   * signed, and the call is then better made than refused.
   */
  private connect(
    transport: StreamTransport,
    address: string,
    port: number,
    verifyName?: string,
  ): Connection {
    let socket: net.Socket;
    if (transport === "TLS") {
      const verify = verifyName !== undefined;
      socket = tls.connect({
        host: address,
        port,
        ...TLS_VERSIONS,
        rejectUnauthorized: verify,
        // SNI is a host name, never an address (RFC 6066 §3).
        ...(verify && net.isIP(verifyName) === 0 ? { servername: verifyName } : {}),
        ...(verify
          ? {
              checkServerIdentity: (_: string, cert: tls.PeerCertificate) =>
                tls.checkServerIdentity(verifyName, cert),
            }
          : {}),
        ...(this.trusted ? { ca: this.trusted } : {}),
      });
    } else {
      socket = net.connect({ host: address, port, noDelay: true });
    }
    const conn = this.register(socket, socket, transport, address, port, false);
    socket.once(transport === "TLS" ? "secureConnect" : "connect", () => {
      conn.connected = true;
      conn.secure = true;
      conn.lastActivity = this.clock.now();
      const queued = conn.queue;
      conn.queue = [];
      for (const q of queued) {
        conn.sink.write(q.data, (err) => {
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
    this.log.debug({ connection: conn.id, why }, `${conn.remote.transport} connection closed`);
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
    conn.sink.destroy();
  }

  // --- WebSocket (RFC 7118) ----------------------------------------------

  /**
   * Takes over a WebSocket that the HTTP server upgraded for SIP (`GET /sip`
   * with the `sip` subprotocol; the server refused the others): WSS when
   * that server is HTTPS (setWebSocketPort). From here it is a connection
   * like a TCP one: counted against the same caps (dropped at once beyond
   * them), closed after the short idle time until its peer authenticates,
   * found by its id and by WS|address|port for responses and for requests
   * to a phone that registered over it. `peer` is the TCP peer of the HTTP
   * request.
   */
  acceptWebSocket(socket: WebSocketLike, peer: { address: string; port: number }): void {
    const ws = this.webSocket;
    if (!ws || socket.protocol !== SIP_WEBSOCKET_PROTOCOL) {
      // The HTTP server checks the subprotocol; this is the transport's own guard.
      this.log.debug({ source: peer.address, protocol: socket.protocol }, "WebSocket not taken for SIP");
      socket.terminate();
      return;
    }
    const transport = ws.secure ? "WSS" : "WS";
    const address = normaliseAddress(peer.address);
    // Until the listeners below are on, errors of a dropped socket must not go unhandled.
    socket.on("error", (err) => this.log.debug({ err, source: address }, `${transport} socket error`));
    const source = this.admit(transport, address, () => socket.terminate());
    if (source === undefined) return;
    const conn = this.add(webSocketSink(socket), transport, address, peer.port, true, source);
    socket.on("message", (data) => this.onWebSocketMessage(conn, data));
    // RFC 6455 §5.5.2: `ws` answers a ping with a pong itself. Pings and pongs
    // are traffic (an authenticated peer's keep-alive), not messages: they
    // do not hold an unauthenticated connection open, as for TCP.
    const alive = () => {
      conn.lastActivity = this.clock.now();
    };
    socket.on("ping", alive);
    socket.on("pong", alive);
    socket.on("close", () => this.closeConnection(conn, "closed by peer"));
  }

  /** RFC 7118 §5.1: each WebSocket message is exactly one SIP message (no Content-Length framing). */
  private onWebSocketMessage(conn: Connection, data: WebSocketData): void {
    if (conn.closed) return;
    const now = this.clock.now();
    conn.lastActivity = now;
    const buf = messageBytes(data);
    if (buf.length > LIMITS.maxMessageBytes) {
      // The HTTP server's WebSocket limit normally closes such a message
      // before it is whole; the transport's bound holds without it. Info,
      // not warn, as for a framing error: a peer could repeat it at will.
      this.log.info(
        { connection: conn.id, source: conn.remote.address, bytes: buf.length },
        `${conn.remote.transport} message too large, closing connection`,
      );
      this.closeConnection(conn, "message too large");
      return;
    }
    if (isOnlyWhitespace(buf)) {
      // RFC 5626 §4.4.1 keep-alive: a double CRLF is answered with one CRLF.
      if (isCrlfPing(buf)) conn.sink.write(CRLF);
      return;
    }
    if (this.deliver(buf, conn.remote)) conn.lastMessage = now;
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

  /**
   * Our sent-by: our address, and the port of the UDP/TCP listener, of the
   * TLS one (a Via over TLS without a port means 5061, RFC 3261 §19.1.2) or
   * of the HTTP server that takes WebSockets.
   */
  private isOurVia(via: Via | undefined): boolean {
    if (!via) return false;
    if (unbracket(via.host) !== unbracket(this.publicAddress)) return false;
    const port = via.port ?? defaultPort(via.transport);
    return (
      port === this.port ||
      (this.tlsPort !== undefined && port === this.tlsPort) ||
      (this.webSocket !== undefined && port === this.webSocket.port)
    );
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

/**
 * The UDP socket's lookup: datagrams go to addresses (a source, a Via's
 * received=, a binding), answered at once, where dns.lookup defers every
 * send to the next tick even for an address; a name still goes to DNS.
 */
function literalLookup(
  hostname: string,
  options: dns.LookupOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = net.isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else
    dns.lookup(hostname, { family: typeof options === "number" ? options : (options.family ?? 0) }, callback);
}
