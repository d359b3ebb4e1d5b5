// Issue 10, "Idle TCP connections are not capped": a flood of idle TCP
// connections from one address and from several is closed at once beyond the
// caps, while the API answers, a UDP phone registers and calls, and, once the
// short timeout has cleared the idle flood, a new TCP phone registers and
// keeps its connection. The PBX runs on the injected clock: the timeouts are
// crossed by moving it, never by sleeping.
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, afterEach, before, test } from "node:test";
import { FakeClock } from "../../src/util/clock.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const PER_SOURCE = 5;
const TOTAL = 20;

let pbx: TestPbx;
const clock = new FakeClock(Date.now());
const phones = new Phones(() => pbx.sip);
const flood: Array<{ socket: net.Socket; closed: boolean }> = [];

before(async () => {
  pbx = await startTestPbx({
    clock,
    config: {
      tcpMaxConnections: TOTAL,
      tcpMaxPerSource: PER_SOURCE,
      tcpUnauthenticatedTimeoutSeconds: 30,
      tcpIdleTimeoutSeconds: 900,
    },
  });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  for (const c of flood.splice(0)) c.socket.destroy();
  await pbx.stop();
});

afterEach(() => phones.cleanup());

function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`timed out waiting until ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** Opens `n` idle connections from `localAddress`; resolves once all are connected. */
async function openIdle(n: number, localAddress: string) {
  const opened = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ socket: net.Socket; closed: boolean }>((resolve, reject) => {
          const socket = net.connect({ host: pbx.sip.host, port: pbx.sip.port, localAddress });
          const c = { socket, closed: false };
          socket.on("close", () => {
            c.closed = true;
          });
          socket.once("error", reject);
          socket.once("connect", () => resolve(c));
          // Flowing, so that the PBX's FIN is read and "close" is emitted.
          socket.resume();
        }),
    ),
  );
  flood.push(...opened);
  return opened;
}

const closedOf = (cs: Array<{ closed: boolean }>) => cs.filter((c) => c.closed).length;

/** Lets real sockets deliver what the PBX sent, between clock moves. */
const io = () => new Promise((r) => setTimeout(r, 30));

/** The harness phone's open TCP connection to the PBX (the harness keeps it private). */
function connectionOf(phone: SipPhone): net.Socket | undefined {
  const conns = (phone as unknown as { conns: Map<string, net.Socket> }).conns;
  return conns.get(`${pbx.sip.host}:${pbx.sip.port}`);
}

test("an idle TCP flood beyond the caps leaves the API, UDP calls and new TCP phones working", async () => {
  // One address opens three times its share: all but PER_SOURCE are closed at once.
  const one = await openIdle(3 * PER_SOURCE, "127.0.0.1");
  await until(() => closedOf(one) === 2 * PER_SOURCE, "the connections beyond the cap per source are closed");
  // Several addresses, each beyond its share, until the global cap is full.
  const several = [];
  for (const address of ["127.0.0.3", "127.0.0.4", "127.0.0.5"]) {
    const cs = await openIdle(3 * PER_SOURCE, address);
    await until(
      () => closedOf(cs) === 2 * PER_SOURCE,
      `the connections from ${address} beyond its cap are closed`,
    );
    several.push(...cs);
  }
  // The global cap (4 sources × PER_SOURCE) is reached: a fresh address gets nothing.
  const late = await openIdle(PER_SOURCE, "127.0.0.6");
  await until(() => closedOf(late) === PER_SOURCE, "connections beyond the global cap are closed");
  await io();
  assert.equal(closedOf(one), 2 * PER_SOURCE, "the accepted ones stay open until their timeout");
  assert.equal(closedOf(several), 3 * 2 * PER_SOURCE);

  // Under the flood: the API answers, a UDP phone registers and completes a call.
  const health = await fetch(`http://127.0.0.1:${pbx.vpbx.httpPort}/health`);
  assert.equal(health.status, 200);
  const { call, incoming } = await phones.answeredCall("101", "102");
  await call.bye();
  assert.equal((await incoming.waitFor("ended")).reason, "bye");

  // The idle connections never brought a message: the short timeout clears them.
  for (let t = 0; t < 30_000; t += 5000) {
    await clock.advance(5000);
    await io();
  }
  await until(() => flood.every((c) => c.closed), "the idle flood is closed after the short timeout");

  // A new TCP phone from another address registers...
  const tcp = await phones.phone("103", { transport: "TCP", localAddress: "127.0.0.7" });
  assert.equal((await tcp.register({ expires: 3600 })).status, 200);
  const conn = connectionOf(tcp);
  assert.ok(conn, "the TCP phone has its connection");
  // ...and, authenticated, keeps its connection past the short timeout (a
  // keep-alive-free minute here; its long timeout is 15 minutes).
  for (let t = 0; t < 60_000; t += 5000) {
    await clock.advance(5000);
    await io();
  }
  assert.equal(conn.destroyed, false, "the authenticated connection is kept");
  assert.equal(connectionOf(tcp), conn);
  assert.equal((await tcp.register({ expires: 3600 })).status, 200);
});
