import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { capturingLogger, silentLogger } from "../../util/log.ts";
import { createResponse, getTopVia, parseMessage } from "../message/index.ts";
import type { SipParseError, SipRequest } from "../message/types.ts";
import { responseDestination } from "./response-destination.ts";
import { SIP_UDP_RECV_BUFFER, TransportLayer } from "./transport-layer.ts";
import type { ReceivedMessage, RemoteAddress } from "./types.ts";

function options(sentBy: string, extraVia = ";rport"): string {
  return [
    "OPTIONS sip:pbx@127.0.0.1 SIP/2.0",
    `Via: SIP/2.0/UDP ${sentBy};branch=z9hG4bK-t1${extraVia}`,
    "Max-Forwards: 70",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:pbx@example.com>",
    "Call-ID: c1",
    "CSeq: 1 OPTIONS",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** Resolves with the next message the layer delivers. */
function nextMessage(t: TransportLayer): Promise<ReceivedMessage> {
  return new Promise((resolve) => {
    t.onMessage = (m) => resolve(m);
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

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Flowing, so that the peer's FIN is read and "close" is emitted.
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s.resume()));
    s.once("error", reject);
  });
}

describe("TransportLayer", () => {
  let clock: FakeClock;
  let a: TransportLayer;
  let b: TransportLayer;
  const sockets: net.Socket[] = [];

  beforeEach(async () => {
    clock = new FakeClock();
    const common = { bind: "127.0.0.1", port: 0, publicAddress: "127.0.0.1", log: silentLogger(), clock };
    a = await TransportLayer.listen(common);
    b = await TransportLayer.listen({
      ...common,
      tcpIdleTimeoutMs: 120_000,
      tcpUnauthenticatedTimeoutMs: 30_000,
      tcpHeaderTimeoutMs: 5_000,
    });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all([a.close(), b.close()]);
  });

  it("binds UDP and TCP on the same port", async () => {
    assert.ok(b.port > 0);
    const s = await connect(b.port);
    sockets.push(s);
    const u = dgram.createSocket("udp4");
    const bound = await new Promise<boolean>((resolve) => {
      u.once("error", () => resolve(false));
      u.bind(b.port, "127.0.0.1", () => resolve(true));
    });
    assert.equal(bound, false, "the UDP port is taken by the layer");
    u.close();
  });

  it("exchanges a request and its response over UDP, with received and rport stamped", async () => {
    const req = parseMessage(Buffer.from(options(`127.0.0.1:${a.port}`))) as SipRequest;
    const got = nextMessage(b);
    a.send(req, { transport: "UDP", address: "127.0.0.1", port: b.port });
    const m = await got;
    assert.equal(m.remote.transport, "UDP");
    assert.equal(m.remote.port, a.port);
    const via = getTopVia(m.message);
    assert.equal(via.params.rport, String(a.port));
    assert.equal(via.params.received, "127.0.0.1");
    const back = nextMessage(a);
    const res = createResponse(m.message as SipRequest, 200);
    b.send(res, responseDestination(getTopVia(res), m.remote));
    const r = await back;
    assert.equal(r.message.type, "response");
  });

  it("fills received when sent-by differs from the source, and leaves rport alone when absent", async () => {
    const u = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => u.bind(0, "127.0.0.1", () => resolve()));
    const got = nextMessage(b);
    u.send(Buffer.from(options("10.0.0.1:5070", "")), b.port, "127.0.0.1");
    const m = await got;
    u.close();
    const via = getTopVia(m.message);
    assert.equal(via.params.received, "127.0.0.1");
    assert.equal("rport" in via.params, false);
    assert.equal(via.host, "10.0.0.1");
    assert.deepEqual(responseDestination(via, m.remote), {
      transport: "UDP",
      address: "127.0.0.1",
      port: 5070,
    });
  });

  it("sends UDP garbage to onParseError", async () => {
    const errors: SipParseError[] = [];
    b.onParseError = (e) => errors.push(e);
    const u = dgram.createSocket("udp4");
    u.send(Buffer.from("NOT SIP AT ALL\r\n\r\n"), b.port, "127.0.0.1");
    await until(() => errors.length === 1);
    u.close();
  });

  it("exchanges over TCP and answers on the same connection", async () => {
    const req = parseMessage(Buffer.from(options(`127.0.0.1:${a.port}`).replace("UDP", "TCP"))) as SipRequest;
    const got = nextMessage(b);
    a.send(req, { transport: "TCP", address: "127.0.0.1", port: b.port });
    const m = await got;
    assert.equal(m.remote.transport, "TCP");
    assert.ok(m.remote.connectionId);
    const back = nextMessage(a);
    const res = createResponse(m.message as SipRequest, 200);
    b.send(res, responseDestination(getTopVia(res), m.remote));
    const r = await back;
    assert.equal(r.message.type, "response");
    assert.equal(a.connectionCount, 1);
    assert.equal(b.connectionCount, 1);
  });

  it("reports a failed TCP connect to the sender", async () => {
    const closed = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: silentLogger(),
      clock,
    });
    const port = closed.port;
    await closed.close();
    const req = parseMessage(Buffer.from(options(`127.0.0.1:${a.port}`))) as SipRequest;
    const err = await new Promise<Error>((resolve) =>
      a.send(req, { transport: "TCP", address: "127.0.0.1", port }, resolve),
    );
    assert.ok(err instanceof Error);
  });

  it("frames a message split across chunks, and answers a ping with a pong", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    const received: Buffer[] = [];
    s.on("data", (d: Buffer) => received.push(d));
    const got = nextMessage(b);
    const text = options("127.0.0.1:5099").replace("UDP", "TCP");
    s.write("\r\n\r\n" + text.slice(0, 20));
    await until(() => received.length > 0);
    assert.equal(Buffer.concat(received).toString(), "\r\n");
    s.write(text.slice(20, 90));
    s.write(text.slice(90));
    const m = await got;
    assert.equal((m.message as SipRequest).method, "OPTIONS");
  });

  it("closes a connection on a framing error", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    const closed = new Promise((resolve) => s.on("close", resolve));
    s.write("OPTIONS sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n");
    await closed;
  });

  it("closes an unauthenticated connection that brings no complete message in time; keep-alives do not hold it", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    await until(() => b.connectionCount === 1);
    await clock.advance(20_000);
    s.write("\r\n\r\n");
    await until(() => s.bytesRead > 0);
    await clock.advance(9_000);
    assert.equal(closed, false);
    await clock.advance(1_001);
    await until(() => closed);
    assert.equal(b.connectionCount, 0);
  });

  it("a complete message from an unauthenticated peer pushes the short timeout back", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    await until(() => b.connectionCount === 1);
    await clock.advance(20_000);
    const got = nextMessage(b);
    s.write(options("127.0.0.1:5099").replace("UDP", "TCP"));
    await got;
    await clock.advance(29_000);
    assert.equal(closed, false);
    await clock.advance(1_001);
    await until(() => closed);
  });

  it("once marked authenticated, a connection stays for the long idle timeout, counting keep-alives", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    const got = nextMessage(b);
    s.write(options("127.0.0.1:5099").replace("UDP", "TCP"));
    const m = await got;
    b.markAuthenticated(m.remote);
    // b's long idle timeout is 120 s in this suite.
    await clock.advance(100_000);
    s.write("\r\n\r\n");
    await until(() => s.bytesRead > 0);
    await clock.advance(100_000);
    assert.equal(closed, false, "the keep-alive counted");
    assert.equal(b.connectionCount, 1);
    await clock.advance(20_001);
    await until(() => closed);
    assert.equal(b.connectionCount, 0);
  });

  it("a connection that we opened is kept for the long idle timeout", async () => {
    const req = parseMessage(Buffer.from(options(`127.0.0.1:${a.port}`).replace("UDP", "TCP"))) as SipRequest;
    const got = nextMessage(b);
    a.send(req, { transport: "TCP", address: "127.0.0.1", port: b.port });
    await got;
    // b (the acceptor) sees an unauthenticated peer, a (the opener) its own connection.
    await clock.advance(31_000);
    await until(() => b.connectionCount === 0 && a.connectionCount === 0);
    const again = nextMessage(b);
    a.send(req, { transport: "TCP", address: "127.0.0.1", port: b.port });
    const m = await again;
    b.markAuthenticated(m.remote);
    await clock.advance(100_000);
    assert.equal(a.connectionCount, 1);
    assert.equal(b.connectionCount, 1);
  });

  it("closes a connection whose unfinished message grows past the maximum message size", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    const closed = new Promise((resolve) => s.on("close", resolve));
    s.write("OPTIONS sip:x SIP/2.0\r\nX-Pad: " + "a".repeat(70_000));
    await closed;
    assert.equal(b.connectionCount, 0);
  });

  it("closes a connection that leaves a message unfinished past the header timeout", async () => {
    const s = await connect(b.port);
    sockets.push(s);
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    s.write("INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5099\r\n");
    await until(() => s.bytesWritten > 0);
    await new Promise((r) => setImmediate(r));
    await clock.advance(4_000);
    assert.equal(closed, false);
    await clock.advance(1_001);
    await until(() => closed);
  });

  it("responds on a new connection to the sent-by port when the original one has closed", () => {
    const via = getTopVia(parseMessage(Buffer.from(options("127.0.0.1:5099").replace("UDP", "TCP"))));
    const remote: RemoteAddress = { transport: "TCP", address: "127.0.0.1", port: 40000, connectionId: 99 };
    assert.deepEqual(responseDestination(via, remote), {
      transport: "TCP",
      address: "127.0.0.1",
      port: 5099,
      connectionId: 99,
    });
  });
});

describe("TransportLayer's UDP receive buffer", () => {
  const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));

  it("holds a burst of 1,500 requests that arrive while the thread is busy, or says how to let it", async (t) => {
    const { log, lines } = capturingLogger("info");
    const layer = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log,
      clock: new FakeClock(),
    });
    const u = dgram.createSocket("udp4");
    t.after(async () => {
      u.close();
      await layer.close();
    });
    const advice = lines.filter((l) => String(l.msg).includes("sysctl -w net.core.rmem_max="));
    if (rmemMax < SIP_UDP_RECV_BUFFER) {
      // The kernel caps what the socket may have: the operator is told what to change.
      assert.equal(advice.length, 1, JSON.stringify(lines));
      return;
    }
    let received = 0;
    layer.onMessage = () => {
      received++;
    };
    await new Promise<void>((resolve) => u.bind(0, "127.0.0.1", () => resolve()));
    // About 600 bytes, a REGISTER's size: Linux's default buffer (208 KB) holds some 160 of them.
    const request = Buffer.from(
      options("127.0.0.1:5099").replace("Content-Length", `Subject: ${"x".repeat(330)}\r\nContent-Length`),
    );
    // Sent in one go: the layer reads nothing until this turn of the event loop ends.
    for (let i = 0; i < 1500; i++) u.send(request, layer.port, "127.0.0.1");
    await until(() => received === 1500, 5000).catch(() => {
      throw new Error(`${received} of 1500 requests arrived`);
    });
    assert.deepEqual(advice, []);
  });
});
