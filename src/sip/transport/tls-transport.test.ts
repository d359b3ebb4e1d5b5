// SIP over TLS (RFC 3261 §26.2, RFC 5630) in the transport layer: the
// handshake, the same framing, caps and timeouts as TCP, connection reuse,
// old TLS versions and plain TCP refused, and a certificate swapped for new
// connections while old ones keep going.
import assert from "node:assert/strict";
import type { X509Certificate } from "node:crypto";
import * as net from "node:net";
import { afterEach, before, beforeEach, describe, it } from "node:test";
import * as tls from "node:tls";
import { pino } from "pino";
import { FakeClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { silentLogger } from "../../util/log.ts";
import { createSelfSignedCertificate, type PemPair } from "../../util/tls-certificate.ts";
import { createResponse, getTopVia, parseMessage, StreamFramer } from "../message/index.ts";
import type { SipRequest } from "../message/types.ts";
import { responseDestination } from "./response-destination.ts";
import { serverSecureContext } from "./tls-credentials.ts";
import { TransportLayer, type TransportOptions } from "./transport-layer.ts";
import type { ReceivedMessage } from "./types.ts";

function request(method: string, sentBy: string, transport = "TLS", branch = "z9hG4bK-tls1"): string {
  return [
    `${method} sip:pbx@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/${transport} ${sentBy};branch=${branch};rport`,
    "Max-Forwards: 70",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:pbx@example.com>",
    "Call-ID: tls-c1",
    `CSeq: 1 ${method}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

function until(cond: () => boolean, ms = 3000): Promise<void> {
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

function nextMessage(t: TransportLayer): Promise<ReceivedMessage> {
  return new Promise((resolve) => {
    t.onMessage = (m) => resolve(m);
  });
}

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A TLS client (a phone) that frames what it receives and records whether it was closed. */
interface Client {
  socket: tls.TLSSocket;
  frames: Array<Buffer | "ping">;
  closed: boolean;
  error?: Error;
}

function tlsClient(port: number, opts: tls.ConnectionOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...opts });
    const client: Client = { socket, frames: [], closed: false };
    const framer = new StreamFramer();
    socket.on("data", (d: Buffer) => client.frames.push(...framer.push(d)));
    socket.on("close", () => {
      client.closed = true;
    });
    socket.once("error", (err) => {
      client.error = err;
      reject(err);
    });
    socket.once("secureConnect", () => resolve(client));
  });
}

describe("SIP over TLS", () => {
  let pairA: PemPair;
  let pairB: PemPair;
  let clock: FakeClock;
  let layer: TransportLayer;
  let logged: ReturnType<typeof capturingLogger>;
  const closers: Array<() => unknown> = [];

  before(async () => {
    const now = Date.now();
    [pairA, pairB] = await Promise.all([
      createSelfSignedCertificate({ addresses: ["127.0.0.1"], hostnames: ["pbx-a.test"], now }),
      createSelfSignedCertificate({ addresses: ["127.0.0.1"], hostnames: ["pbx-b.test"], now }),
    ]);
  });

  async function start(opts: Partial<TransportOptions> = {}): Promise<TransportLayer> {
    const t = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: logged.log,
      clock,
      tls: { port: 0, secureContext: serverSecureContext(pairA) },
      tcpUnauthenticatedTimeoutMs: 30_000,
      ...opts,
    });
    closers.push(() => t.close());
    return t;
  }

  async function client(port: number, opts?: tls.ConnectionOptions): Promise<Client> {
    const c = await tlsClient(port, opts);
    closers.push(() => c.socket.destroy());
    return c;
  }

  beforeEach(async () => {
    clock = new FakeClock(Date.now());
    logged = capturingLogger();
    layer = await start();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it("listens on its own port, says so through portFor, and takes a handshake with TLS 1.3", async () => {
    assert.ok(layer.tlsPort && layer.tlsPort !== layer.port);
    assert.equal(layer.portFor("TLS"), layer.tlsPort);
    assert.equal(layer.portFor("TCP"), layer.port);
    assert.equal(layer.portFor("UDP"), layer.port);
    const c = await client(layer.tlsPort);
    assert.equal(c.socket.getProtocol(), "TLSv1.3");
    const cert = c.socket.getPeerX509Certificate();
    assert.ok(cert?.checkHost("pbx-a.test"));
    assert.equal(c.socket.alpnProtocol, false);
  });

  it("also negotiates TLS 1.2", async () => {
    const c = await client(layer.tlsPort!, { maxVersion: "TLSv1.2" });
    assert.equal(c.socket.getProtocol(), "TLSv1.2");
    // A forward-secret AEAD suite.
    assert.match(c.socket.getCipher().name, /^ECDHE-.*GCM|CHACHA20/);
  });

  it("delivers a request with the transport TLS and answers on the same connection", async () => {
    const c = await client(layer.tlsPort!);
    const got = nextMessage(layer);
    c.socket.write(request("OPTIONS", "127.0.0.1:5999"));
    const m = await got;
    assert.equal(m.remote.transport, "TLS");
    assert.equal(m.remote.address, "127.0.0.1");
    assert.equal(m.remote.port, c.socket.localPort);
    assert.ok(m.remote.connectionId);
    const via = getTopVia(m.message);
    assert.equal(via.transport, "TLS");
    assert.equal(via.params.rport, String(c.socket.localPort));
    const res = createResponse(m.message as SipRequest, 200);
    const to = responseDestination(getTopVia(res), m.remote);
    assert.equal(to.transport, "TLS");
    layer.send(res, to);
    await until(() => c.frames.length === 1);
    const back = parseMessage(c.frames[0] as Buffer);
    assert.equal(back.type === "response" && back.status, 200);
    assert.equal(layer.connectionCount, 1);
  });

  it("frames messages split across TLS records, and answers a keep-alive ping with a pong", async () => {
    const c = await client(layer.tlsPort!);
    const text = request("OPTIONS", "127.0.0.1:5999");
    const got = nextMessage(layer);
    c.socket.write("\r\n\r\n" + text.slice(0, 25));
    await new Promise((r) => setTimeout(r, 20));
    c.socket.write(text.slice(25));
    const m = await got;
    assert.equal((m.message as SipRequest).method, "OPTIONS");
    // The pong is a single CRLF: not a frame for the client's framer, but bytes on the wire.
    await until(() => c.socket.bytesRead > 0);
  });

  it("closes a connection on a framing error", async () => {
    const c = await client(layer.tlsPort!);
    c.socket.write("OPTIONS sip:x SIP/2.0\r\nContent-Length: nope\r\n\r\n");
    await until(() => c.closed);
    await until(() => layer.connectionCount === 0);
  });

  it("requests to a phone go on the connection it opened (its source address and port), not a new one", async () => {
    const c = await client(layer.tlsPort!);
    const got = nextMessage(layer);
    c.socket.write(request("REGISTER", "127.0.0.1:5999"));
    const m = await got;
    // What a registrar keeps: transport, address and port, without the connection id.
    const binding = { transport: m.remote.transport, address: m.remote.address, port: m.remote.port };
    const invite = parseMessage(
      Buffer.from(request("INVITE", `127.0.0.1:${layer.tlsPort}`, "TLS", "z9hG4bK-i1")),
    );
    layer.send(invite, binding);
    await until(() => c.frames.length === 1);
    assert.equal((parseMessage(c.frames[0] as Buffer) as SipRequest).method, "INVITE");
    assert.equal(layer.connectionCount, 1, "no new connection");
    // A TCP remote at the same address and port is another connection: never the TLS one.
    const errors: Error[] = [];
    layer.send(invite, { ...binding, transport: "TCP" }, (e) => errors.push(e));
    await until(() => errors.length === 1);
    assert.equal(c.frames.length, 1);
  });

  it("opens a TLS connection of its own when none is open, without verifying a phone's certificate", async () => {
    const other = await start({ tls: { port: 0, secureContext: serverSecureContext(pairB) } });
    const got = nextMessage(other);
    const req = parseMessage(Buffer.from(request("OPTIONS", `127.0.0.1:${layer.tlsPort}`)));
    const failures: Error[] = [];
    layer.send(req, { transport: "TLS", address: "127.0.0.1", port: other.tlsPort! }, (e) =>
      failures.push(e),
    );
    const m = await got;
    assert.equal(m.remote.transport, "TLS");
    assert.deepEqual(failures, []);
    // The response comes back on that connection, and its Via (our TLS port) is ours.
    const back = nextMessage(layer);
    const res = createResponse(m.message as SipRequest, 200);
    other.send(res, responseDestination(getTopVia(res), m.remote));
    const r = await back;
    assert.equal(r.message.type, "response");
    assert.equal(r.remote.transport, "TLS");
    assert.equal(other.connectionCount, 1);
    assert.equal(layer.connectionCount, 1);
  });

  it("verifies the certificate when asked to (a trunk): a self-signed one is refused, a trusted one taken", async () => {
    const other = await start({ tls: { port: 0, secureContext: serverSecureContext(pairB) } });
    const req = parseMessage(Buffer.from(request("OPTIONS", `127.0.0.1:${layer.tlsPort}`)));
    const refused = await new Promise<Error>((resolve) =>
      layer.send(
        req,
        { transport: "TLS", address: "127.0.0.1", port: other.tlsPort!, tlsVerifyName: "pbx-b.test" },
        resolve,
      ),
    );
    assert.match(
      String((refused as NodeJS.ErrnoException).code ?? refused.message),
      /SELF_SIGNED|self.signed/i,
    );
    await until(() => layer.connectionCount === 0);

    const trusting = await start({ tlsTrustedCertificates: [pairB.cert] });
    const got = nextMessage(other);
    const failures: Error[] = [];
    trusting.send(
      req,
      { transport: "TLS", address: "127.0.0.1", port: other.tlsPort!, tlsVerifyName: "pbx-b.test" },
      (e) => failures.push(e),
    );
    await got;
    assert.deepEqual(failures, []);
    // A trusted certificate for another name is refused all the same.
    const fresh = await start({ tlsTrustedCertificates: [pairB.cert] });
    const mismatch = await new Promise<Error>((resolve) =>
      fresh.send(
        req,
        { transport: "TLS", address: "127.0.0.1", port: other.tlsPort!, tlsVerifyName: "other.test" },
        resolve,
      ),
    );
    assert.match(
      String((mismatch as NodeJS.ErrnoException).code ?? mismatch.message),
      /ALTNAME|altname|not in the cert/i,
    );
  });

  it("refuses TLS 1.0 and 1.1, saying so once per source", async () => {
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
      await assert.rejects(
        tlsClient(layer.tlsPort!, {
          minVersion: version,
          maxVersion: version,
          // The client could do it (OpenSSL 3 refuses old versions at its default level).
          ciphers: "DEFAULT@SECLEVEL=0",
        }),
        /protocol|version/i,
      );
    }
    await until(() => layer.connectionCount === 0);
    const reports = logged.lines.filter((l) => l.msg === "TLS handshake failed");
    assert.equal(reports.filter((l) => l.level === 30).length, 1, "one info per source and minute");
    assert.equal(reports.length, 2);
  });

  it("plain SIP over TCP to the TLS port gets no SIP back, and the layer goes on", async () => {
    const delivered: ReceivedMessage[] = [];
    layer.onMessage = (m) => delivered.push(m);
    const socket = net.connect({ host: "127.0.0.1", port: layer.tlsPort! });
    closers.push(() => socket.destroy());
    const received: Buffer[] = [];
    let closed = false;
    socket.on("data", (d: Buffer) => received.push(d));
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", () => {});
    socket.write(request("REGISTER", "127.0.0.1:5999", "TCP"));
    await until(() => closed);
    assert.equal(delivered.length, 0);
    assert.ok(!Buffer.concat(received).toString("latin1").includes("SIP/2.0"), "no SIP response");
    await until(() => layer.connectionCount === 0);
    // Still serving TLS.
    const c = await client(layer.tlsPort!);
    const got = nextMessage(layer);
    c.socket.write(request("OPTIONS", "127.0.0.1:5999"));
    await got;
  });

  it("closes a connection that never completes its handshake after the unauthenticated timeout", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: layer.tlsPort! });
    closers.push(() => socket.destroy());
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", () => {});
    socket.resume();
    await until(() => layer.connectionCount === 1);
    await clock.advance(29_000);
    assert.equal(layer.connectionCount, 1);
    await clock.advance(1_000);
    await until(() => layer.connectionCount === 0);
    await until(() => closed);
  });

  it("counts TLS and TCP connections together against the cap per source, before any handshake", async () => {
    const capped = await start({ maxTcpConnectionsPerSource: 2, maxTcpConnections: 100 });
    const tcp = net.connect({ host: "127.0.0.1", port: capped.port });
    closers.push(() => tcp.destroy());
    tcp.on("error", () => {});
    await until(() => capped.connectionCount === 1);
    await client(capped.tlsPort!);
    await until(() => capped.connectionCount === 2);
    // The third is closed at once: the handshake never happens.
    await assert.rejects(tlsClient(capped.tlsPort!), /socket disconnected|ECONNRESET|closed/i);
    assert.equal(capped.connectionCount, 2);
    const refusal = logged.lines.find((l) => String(l.msg).startsWith("TLS connection refused"));
    assert.ok(refusal, "the refusal is logged");
  });

  it("a new certificate applies to new connections; one already open keeps working", async () => {
    const old = await client(layer.tlsPort!);
    layer.setSecureContext(serverSecureContext(pairB));
    const fresh = await client(layer.tlsPort!);
    assert.ok(fresh.socket.getPeerX509Certificate()?.checkHost("pbx-b.test"));
    assert.equal(fresh.socket.getPeerX509Certificate()?.checkHost("pbx-a.test"), undefined);
    const oldCert = old.socket.getPeerX509Certificate() as X509Certificate;
    assert.ok(oldCert.checkHost("pbx-a.test"));
    const got = nextMessage(layer);
    old.socket.write(request("OPTIONS", "127.0.0.1:5999"));
    const m = await got;
    layer.send(createResponse(m.message as SipRequest, 200), m.remote);
    await until(() => old.frames.length === 1);
  });

  it("without a TLS listener there is no TLS port, yet outgoing TLS works", async () => {
    const plain = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: silentLogger(),
      clock,
    });
    closers.push(() => plain.close());
    assert.equal(plain.tlsPort, undefined);
    assert.equal(plain.portFor("TLS"), undefined);
    const got = nextMessage(layer);
    plain.send(parseMessage(Buffer.from(request("OPTIONS", `127.0.0.1:${plain.port}`))), {
      transport: "TLS",
      address: "127.0.0.1",
      port: layer.tlsPort!,
    });
    await got;
  });

  it("fails to start, leaving nothing bound, when the TLS port is taken", async () => {
    await assert.rejects(
      TransportLayer.listen({
        bind: "127.0.0.1",
        port: 0,
        publicAddress: "127.0.0.1",
        log: silentLogger(),
        clock,
        tls: { port: layer.tlsPort!, secureContext: serverSecureContext(pairA) },
      }),
      /EADDRINUSE/,
    );
  });
});
