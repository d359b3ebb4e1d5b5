// The caps on accepted TCP connections: a flood of idle connections from one
// source, or from many, is closed at once beyond the caps (with one warning
// per source and minute), and the others still get in.
import assert from "node:assert/strict";
import * as net from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import { FakeClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { TransportLayer, type TransportOptions } from "./transport-layer.ts";

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
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

/** A client connection that records whether the server closed it. */
interface Client {
  socket: net.Socket;
  closed: boolean;
}

describe("TCP connection caps", () => {
  let clock: FakeClock;
  let layer: TransportLayer;
  let logged: ReturnType<typeof capturingLogger>;
  const clients: Client[] = [];

  async function start(opts: Partial<TransportOptions>): Promise<void> {
    logged = capturingLogger();
    layer = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log: logged.log,
      clock,
      ...opts,
    });
  }

  function open(localAddress = "127.0.0.1"): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port: layer.port, localAddress });
      const client: Client = { socket, closed: false };
      clients.push(client);
      socket.on("close", () => {
        client.closed = true;
      });
      socket.once("error", reject);
      // Flowing, so that the server's FIN is read and "close" is emitted.
      socket.once("connect", () => resolve(client));
      socket.resume();
    });
  }

  /** Opens `n` connections one after the other and waits until the server has taken or closed each. */
  async function openMany(n: number, localAddress?: string): Promise<Client[]> {
    const opened: Client[] = [];
    for (let i = 0; i < n; i++) {
      const before = layer.connectionCount;
      const c = await open(localAddress);
      await until(() => c.closed || layer.connectionCount > before);
      opened.push(c);
    }
    return opened;
  }

  const refusalWarnings = () =>
    logged.lines.filter((l) => l.level === 40 && String(l.msg).startsWith("TCP connection refused"));

  beforeEach(() => {
    clock = new FakeClock();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await layer.close();
  });

  it("closes connections beyond the cap per source at once, and lets other sources in", async () => {
    await start({ maxTcpConnectionsPerSource: 3, maxTcpConnections: 100 });
    const flood = await openMany(8, "127.0.0.1");
    await until(() => flood.filter((c) => c.closed).length === 5);
    assert.equal(layer.connectionCount, 3);
    assert.deepEqual(
      flood.map((c) => c.closed),
      [false, false, false, true, true, true, true, true],
    );
    // Another address is another source.
    const other = await openMany(3, "127.0.0.2");
    assert.equal(layer.connectionCount, 6);
    assert.ok(other.every((c) => !c.closed));
  });

  it("closes connections beyond the global cap, whatever their source", async () => {
    await start({ maxTcpConnectionsPerSource: 3, maxTcpConnections: 5 });
    await openMany(3, "127.0.0.1");
    await openMany(2, "127.0.0.2");
    const late = await openMany(2, "127.0.0.3");
    await until(() => late.every((c) => c.closed));
    assert.equal(layer.connectionCount, 5);
    assert.match(String(refusalWarnings()[0]?.msg), /connection limit reached/);
  });

  it("a closed connection frees its place under both caps", async () => {
    await start({ maxTcpConnectionsPerSource: 2, maxTcpConnections: 2 });
    const [first] = await openMany(2, "127.0.0.1");
    const refused = await openMany(1, "127.0.0.1");
    await until(() => refused[0].closed);
    first.socket.destroy();
    await until(() => layer.connectionCount === 1);
    const again = await openMany(1, "127.0.0.1");
    assert.equal(again[0].closed, false);
    assert.equal(layer.connectionCount, 2);
  });

  it("warns once per source and minute, not once per connection", async () => {
    // The unauthenticated timeout made long: the accepted connections stay while the clock moves.
    await start({
      maxTcpConnectionsPerSource: 1,
      maxTcpConnections: 100,
      tcpUnauthenticatedTimeoutMs: 600_000,
    });
    await openMany(20, "127.0.0.1");
    await openMany(3, "127.0.0.2");
    await until(() => refusalWarnings().length === 2);
    let warnings = refusalWarnings();
    assert.deepEqual(
      warnings.map((w) => w.source),
      ["127.0.0.1", "127.0.0.2"],
    );
    assert.equal(warnings[0].msg, "TCP connection refused: connection limit per source reached");
    assert.equal(warnings[0].limit, 1);
    await clock.advance(59_000);
    await openMany(2, "127.0.0.1");
    assert.equal(refusalWarnings().length, 2);
    await clock.advance(1_000);
    await openMany(1, "127.0.0.1");
    await until(() => refusalWarnings().length === 3);
    warnings = refusalWarnings();
    assert.equal(warnings[2].source, "127.0.0.1");
    // 18 refusals after the first warning, then 2 more in the same minute.
    assert.equal(warnings[2].refusedSinceLastWarning, 20);
  });

  it("an idle flood is cleared by the short timeout while an authenticated connection stays", async () => {
    await start({ maxTcpConnectionsPerSource: 5, maxTcpConnections: 5 });
    const phone = await openMany(1, "127.0.0.9");
    let remote: Parameters<TransportLayer["markAuthenticated"]>[0] | undefined;
    layer.onMessage = (m) => {
      remote = m.remote;
    };
    phone[0].socket.write(
      "REGISTER sip:acme.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.9:5060;branch=z9hG4bK-r1\r\n" +
        "From: <sip:101@acme.test>;tag=1\r\nTo: <sip:101@acme.test>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n" +
        "Content-Length: 0\r\n\r\n",
    );
    await until(() => remote !== undefined);
    if (remote) layer.markAuthenticated(remote);
    const flood = await openMany(10, "127.0.0.1");
    await until(() => flood.filter((c) => c.closed).length === 6);
    const lateComer = await openMany(1, "127.0.0.2");
    await until(() => lateComer[0].closed);
    await clock.advance(30_000);
    await until(() => flood.every((c) => c.closed));
    assert.equal(phone[0].closed, false);
    assert.equal(layer.connectionCount, 1);
    const newPhone = await openMany(1, "127.0.0.2");
    assert.equal(newPhone[0].closed, false);
  });
});
