// SIP over WebSocket in the transport layer (RFC 7118), with a fake
// WebSocket in place of the one the HTTP server upgrades: one SIP message
// per WebSocket message, responses and requests back on the connection,
// the caps and timeouts of TCP, keep-alives, and what a closed socket leaves.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as net from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { createResponse, getTopVia, LIMITS, parseMessage } from "../message/index.ts";
import type { SipParseError, SipRequest } from "../message/types.ts";
import { responseDestination } from "./response-destination.ts";
import { TransportLayer, type TransportOptions } from "./transport-layer.ts";
import type { ReceivedMessage, RemoteAddress } from "./types.ts";
import { isCrlfPing, messageBytes, type WebSocketLike, webSocketSink } from "./web-socket.ts";

/** What the transport sees of a `ws` WebSocket, recording what is sent on it. */
class FakeWebSocket extends EventEmitter implements WebSocketLike {
  readonly sent: Array<{ text: string; binary: boolean }> = [];
  terminated = false;

  constructor(readonly protocol = "sip") {
    super();
  }

  send(data: Buffer, options: { binary: boolean }, done?: (err?: Error) => void): void {
    if (this.terminated) {
      done?.(new Error("WebSocket is not open"));
      return;
    }
    this.sent.push({ text: data.toString("utf8"), binary: options.binary });
    done?.();
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.emit("close", 1006, Buffer.alloc(0));
  }

  /** A WebSocket message from the browser. */
  receive(data: string | Buffer, binary = false): void {
    this.emit("message", typeof data === "string" ? Buffer.from(data) : data, binary);
  }
}

/** A request as JsSIP writes it over a WebSocket: a made-up Via host, no port, no rport. */
function request(method: string, opts: { branch?: string; body?: string; length?: boolean } = {}): string {
  const body = opts.body ?? "";
  return [
    `${method} sip:acme.test SIP/2.0`,
    `Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK${opts.branch ?? "ws1"}`,
    "Max-Forwards: 69",
    "From: <sip:101@acme.test>;tag=a1",
    "To: <sip:101@acme.test>",
    "Call-ID: ws-call-1",
    `CSeq: 1 ${method}`,
    "Contact: <sip:k7h3@df7jal23ls0d.invalid;transport=ws>",
    // RFC 7118 §5.1: the message boundary is the WebSocket message's.
    ...(opts.length === false ? [] : [`Content-Length: ${Buffer.byteLength(body)}`]),
    "",
    body,
  ].join("\r\n");
}

function connect(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s.resume()));
    s.once("error", reject);
  });
}

function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error("condition not met in time"));
      else setImmediate(poll);
    };
    poll();
  });
}

describe("SIP over WebSocket in the transport layer", () => {
  let clock: FakeClock;
  let t: TransportLayer;
  let received: ReceivedMessage[];
  let parseErrors: Array<{ err: SipParseError; remote: RemoteAddress }>;
  const sockets: net.Socket[] = [];
  const browser = { address: "192.0.2.7", port: 50123 };

  async function start(extra: Partial<TransportOptions> = {}): Promise<void> {
    await t?.close();
    t = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: silentLogger(),
      clock,
      tcpIdleTimeoutMs: 120_000,
      tcpUnauthenticatedTimeoutMs: 30_000,
      ...extra,
    });
    t.setWebSocketPort(8080, false);
    received = [];
    parseErrors = [];
    t.onMessage = (m) => received.push(m);
    t.onParseError = (err, remote) => parseErrors.push({ err, remote });
  }

  beforeEach(async () => {
    clock = new FakeClock();
    await start();
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t.close();
  });

  it("delivers each message as one SIP message, stamped with where it came from whatever the Via says", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    assert.equal(t.connectionCount, 1);
    ws.receive(request("REGISTER"));
    assert.equal(received.length, 1);
    const { message, remote } = received[0];
    assert.equal(remote.transport, "WS");
    assert.equal(remote.address, browser.address);
    assert.equal(remote.port, browser.port);
    assert.ok(remote.connectionId !== undefined);
    const via = getTopVia(message);
    assert.equal(via.host, "df7jal23ls0d.invalid");
    assert.equal(via.params.received, browser.address, "RFC 3261 §18.2.1: the Via host is not the source");

    // RFC 7118 §5.1: no Content-Length needed, the WebSocket message is the boundary.
    ws.receive(request("MESSAGE", { body: "hello", length: false }));
    assert.equal(received.length, 2);
    assert.equal(received[1].message.body.toString(), "hello");
  });

  it("sends the response back on the same WebSocket, as a text frame", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("OPTIONS"));
    const req = received[0].message as SipRequest;
    const res = createResponse(req, 200, "OK");
    t.send(res, responseDestination(getTopVia(res), received[0].remote));
    assert.equal(ws.sent.length, 1);
    assert.equal(ws.sent[0].binary, false, "SIP is UTF-8: a text frame, as browsers read best");
    assert.match(ws.sent[0].text, /^SIP\/2\.0 200 OK\r\n/);
    assert.match(
      ws.sent[0].text,
      /Via: SIP\/2\.0\/WS df7jal23ls0d\.invalid;branch=z9hG4bKws1;received=192\.0\.2\.7/,
    );
  });

  it("a body that is not UTF-8 goes in a binary frame (RFC 7118 §5.1)", () => {
    const ws = new FakeWebSocket();
    const s = webSocketSink(ws);
    s.write(Buffer.from([0x4d, 0x45, 0xff, 0xfe]));
    s.write(Buffer.from("ACK sip:x SIP/2.0\r\n\r\n"));
    assert.deepEqual(
      ws.sent.map((m) => m.binary),
      [true, false],
    );
    // A write on a socket that went away is reported, not thrown.
    const closed = new FakeWebSocket();
    closed.send = () => {
      throw new Error("WebSocket is not open: readyState 3 (CLOSED)");
    };
    let error: Error | null | undefined;
    webSocketSink(closed).write(Buffer.from("x"), (err) => {
      error = err;
    });
    assert.match(String(error), /not open/);
  });

  it("finds the connection by transport|address|port: a phone registered over it is called on it", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("REGISTER"));
    const invite = parseMessage(Buffer.from(request("INVITE", { branch: "out1" })));
    // What the registrar kept: the source of the REGISTER, without a connection id.
    t.send(invite, { transport: "WS", address: browser.address, port: browser.port });
    assert.equal(ws.sent.length, 1);
    assert.match(ws.sent[0].text, /^INVITE /);
    // Another transport at that address and port is another connection.
    let failed: Error | undefined;
    t.send(invite, { transport: "WSS", address: browser.address, port: browser.port }, (err) => {
      failed = err;
    });
    assert.equal(ws.sent.length, 1);
    return until(() => failed !== undefined);
  });

  it("a closed WebSocket is forgotten: a request to it fails at once (no connect, no DNS), never throws", async () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("REGISTER"));
    ws.emit("close", 1001, Buffer.from("going away"));
    assert.equal(t.connectionCount, 0);
    const invite = parseMessage(Buffer.from(request("INVITE", { branch: "out2" })));
    let failed: Error | undefined;
    let sync = true;
    t.send(invite, { transport: "WS", address: browser.address, port: browser.port }, (err) => {
      assert.equal(sync, false, "reported asynchronously, as a failed connect is");
      failed = err;
    });
    sync = false;
    await until(() => failed !== undefined);
    assert.match(failed?.message ?? "", /no open WS connection to 192\.0\.2\.7:50123/);
    assert.equal(ws.sent.length, 0);
    assert.equal(t.connectionCount, 0, "no connection was opened to the browser");
  });

  it("WSS when the HTTP server is HTTPS: the transport, portFor and our Via", async () => {
    assert.equal(t.portFor("WS"), 8080);
    assert.equal(t.portFor("WSS"), undefined);
    t.setWebSocketPort(8443, true);
    assert.equal(t.portFor("WSS"), 8443);
    assert.equal(t.portFor("WS"), undefined);
    assert.equal(t.portFor("UDP"), t.port);
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("OPTIONS"));
    assert.equal(received[0].remote.transport, "WSS");
    // A response whose top Via is ours over WSS (the HTTPS port) is ours.
    const ours = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bKours",
      "From: <sip:pbx@acme.test>;tag=p",
      "To: <sip:101@acme.test>;tag=b",
      "Call-ID: c-ours",
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    ws.receive(ours);
    assert.equal(received.length, 2);
    assert.equal(received[1].message.type, "response");
  });

  it("refuses a socket before the HTTP port is known, and one without the sip subprotocol", async () => {
    await t.close();
    t = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: silentLogger(),
      clock,
    });
    const early = new FakeWebSocket();
    t.acceptWebSocket(early, browser);
    assert.equal(early.terminated, true);
    t.setWebSocketPort(8080, false);
    const chat = new FakeWebSocket("chat");
    t.acceptWebSocket(chat, browser);
    assert.equal(chat.terminated, true);
    assert.equal(t.connectionCount, 0);
  });

  it("answers a double-CRLF keep-alive with one CRLF; white space alone is no message", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive("\r\n\r\n");
    ws.receive("\r\n");
    ws.receive("   ");
    assert.deepEqual(ws.sent, [{ text: "\r\n", binary: false }]);
    assert.equal(received.length, 0);
    assert.equal(parseErrors.length, 0);
    assert.equal(isCrlfPing(Buffer.from("\r\n\r\n")), true);
    assert.equal(isCrlfPing(Buffer.from("\r\n")), false);
  });

  it("garbage goes to the parse-error handling (a 400 when it names a request), and the connection stays", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00]), true);
    ws.receive("hello there\r\n\r\n");
    ws.receive(request("OPTIONS").replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS"));
    assert.equal(parseErrors.length, 3);
    assert.ok(parseErrors.every((e) => e.remote.transport === "WS" && e.remote.connectionId !== undefined));
    assert.ok(parseErrors[2].err.request, "a request the transaction layer can answer with 400");
    assert.equal(ws.terminated, false);
    ws.receive(request("OPTIONS", { branch: "after" }));
    assert.equal(received.length, 1);
  });

  it("a message over the size limit closes the connection", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("MESSAGE", { body: "x".repeat(LIMITS.maxMessageBytes) }));
    assert.equal(ws.terminated, true);
    assert.equal(received.length, 0);
    assert.equal(t.connectionCount, 0);
  });

  it("takes the fragments or ArrayBuffer that ws may give as one message", () => {
    assert.equal(messageBytes([Buffer.from("ab"), Buffer.from("c")]).toString(), "abc");
    assert.equal(messageBytes(new Uint8Array([0x61, 0x62]).buffer).toString(), "ab");
  });

  it("an unauthenticated WebSocket is closed after the short idle time; keep-alives do not hold it", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    clock.tick(20_000);
    ws.emit("ping", Buffer.alloc(0));
    ws.receive("\r\n\r\n");
    clock.tick(10_001);
    assert.equal(ws.terminated, true, "no complete message for 30 s");
    assert.equal(t.connectionCount, 0);

    // A message holds it for another 30 s.
    const other = new FakeWebSocket();
    t.acceptWebSocket(other, browser);
    clock.tick(20_000);
    other.receive(request("OPTIONS"));
    clock.tick(20_000);
    assert.equal(other.terminated, false);
    clock.tick(10_001);
    assert.equal(other.terminated, true);
  });

  it("an authenticated one stays for the long idle time, held by pings, pongs and CRLF keep-alives", () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    ws.receive(request("REGISTER"));
    t.markAuthenticated(received[0].remote);
    clock.tick(100_000);
    ws.emit("ping", Buffer.alloc(0));
    clock.tick(100_000);
    ws.emit("pong", Buffer.alloc(0));
    clock.tick(100_000);
    ws.receive("\r\n\r\n");
    clock.tick(100_000);
    assert.equal(ws.terminated, false);
    clock.tick(20_001);
    assert.equal(ws.terminated, true, "120 s without any traffic");
  });

  it("WebSockets count against the connection caps with TCP: per source and in all", async () => {
    await start({ maxTcpConnectionsPerSource: 2, maxTcpConnections: 3 });
    // One TCP connection and one WebSocket from 127.0.0.1: the source's cap.
    sockets.push(await connect(t.port));
    await until(() => t.connectionCount === 1);
    const first = new FakeWebSocket();
    t.acceptWebSocket(first, { address: "127.0.0.1", port: 40001 });
    const beyond = new FakeWebSocket();
    t.acceptWebSocket(beyond, { address: "::ffff:127.0.0.1", port: 40002 });
    assert.equal(first.terminated, false);
    assert.equal(beyond.terminated, true, "a third connection from one source is dropped");
    // Another source gets one more, then the global cap.
    const other = new FakeWebSocket();
    t.acceptWebSocket(other, { address: "192.0.2.9", port: 40003 });
    const fourth = new FakeWebSocket();
    t.acceptWebSocket(fourth, { address: "198.51.100.4", port: 40004 });
    assert.equal(other.terminated, false);
    assert.equal(fourth.terminated, true, "beyond the global cap");
    // A closed WebSocket frees its place.
    first.emit("close", 1000, Buffer.alloc(0));
    const again = new FakeWebSocket();
    t.acceptWebSocket(again, { address: "127.0.0.1", port: 40005 });
    assert.equal(again.terminated, false);
    assert.equal(t.connectionCount, 3);
  });

  it("a closing transport terminates its WebSockets and takes no more", async () => {
    const ws = new FakeWebSocket();
    t.acceptWebSocket(ws, browser);
    await t.close();
    assert.equal(ws.terminated, true);
    const late = new FakeWebSocket();
    t.acceptWebSocket(late, browser);
    assert.equal(late.terminated, true);
  });
});
