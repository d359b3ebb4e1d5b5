import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Company } from "../pbx/company/company.ts";
import { DEFAULT_DIALLING_POLICY, DEFAULT_FEATURES, type Store } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import { buildApi } from "./server.ts";

const TOKEN = "right-admin-token-0123456789";

/** Waits (on I/O, not on time) until `ready` holds. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000 && !ready(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(ready(), what);
}

/** A raw client: what it has received, and whether the server has closed it. */
function rawClient(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let data = "";
    let closed = false;
    const socket = connect(port, "127.0.0.1", () =>
      resolve({ socket, received: () => data, closed: () => closed }),
    );
    socket.on("data", (d) => {
      data += d.toString("latin1");
    });
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", reject);
  });
}

describe("slow request bodies", () => {
  const clock = new FakeClock();
  let app: FastifyInstance;
  let port: number;
  const created: unknown[] = [];

  before(async () => {
    // Only POST /api/v1/tenants is used: its store is one function.
    const store = {
      tenants: {
        create: async (t: { name: string; domain: string }) => {
          created.push(t);
          return {
            ...t,
            language: "fr",
            timezone: "Europe/Zurich",
            country: "CH",
            features: DEFAULT_FEATURES,
            policy: DEFAULT_DIALLING_POLICY,
            waitingSeconds: 30,
            companyCodes: {},
            maxCalls: 20,
            requireEncryption: false,
            createdAt: new Date(clock.now()).toISOString(),
          };
        },
      },
    } as unknown as Store;
    app = buildApi({
      store,
      company: {} as Company,
      pbx: { registrations: async () => [], calls: () => [] },
      verifyToken: (t) => t === TOKEN,
      log: silentLogger(),
      isReady: () => true,
      clock,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    port = typeof address === "object" && address ? address.port : 0;
  });
  after(async () => {
    await app.close();
  });

  const body = JSON.stringify({ name: "acme", domain: "acme.test" });
  const head = (length: number) =>
    `POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  test("a body dribbled after the headers is cut with 408 after 10 s, and nothing is created", async () => {
    const c = await rawClient(port);
    c.socket.write(head(body.length) + body.slice(0, 5));
    await until(() => clock.timerCount === 1, "the deadline is armed when the headers are in");
    // The attack: a byte now and then keeps the request open for as long as the client likes.
    for (let i = 5; i < 15; i++) {
      c.socket.write(body[i]);
      await clock.advance(990);
    }
    assert.equal(c.received(), "", "under 10 s: still waiting for the body");
    assert.equal(c.closed(), false);
    await clock.advance(200);
    await until(() => c.closed(), "the connection is closed");
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    assert.match(c.received(), /connection: close/i);
    assert.match(c.received(), /"code":"request_timeout"/);
    assert.deepEqual(created, [], "nothing was created from half a body");
    assert.equal(clock.timerCount, 0);
  });

  test("a body that arrives in time is served, and its deadline is dropped", async () => {
    const c = await rawClient(port);
    c.socket.write(head(body.length) + body.slice(0, 5));
    await until(() => clock.timerCount === 1, "armed");
    await clock.advance(9_000);
    c.socket.write(body.slice(5));
    await until(() => c.received().includes("\r\n\r\n{"), "answered");
    assert.match(c.received(), /^HTTP\/1\.1 201 /);
    assert.equal(created.length, 1);
    assert.equal(clock.timerCount, 0, "no timer left behind");
    await clock.advance(60_000);
    assert.equal(c.closed(), false, "a kept-alive connection is not cut afterwards");
    c.socket.destroy();
  });

  test("a large upload gets time in proportion to its declared size", async () => {
    const c = await rawClient(port);
    // 1 MiB declared: 10 s plus 4 s at 256 KiB/s. (Too large for JSON: only the deadline matters here.)
    c.socket.write(
      `PUT /api/v1/tenants/acme/extensions/101/voicemail/greetings/name HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${TOKEN}\r\nContent-Type: audio/wav\r\nContent-Length: ${1024 * 1024}\r\n\r\nRIFF`,
    );
    await until(() => clock.timerCount === 1, "armed");
    await clock.advance(13_000);
    assert.equal(c.closed(), false, "still within 14 s");
    await clock.advance(1_500);
    await until(() => c.closed(), "cut after 14 s");
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  });

  test("a client gone mid-body leaves no timer behind", async () => {
    const c = await rawClient(port);
    c.socket.write(head(body.length) + body.slice(0, 5));
    await until(() => clock.timerCount === 1, "armed");
    c.socket.destroy();
    await until(() => clock.timerCount === 0, "the deadline is dropped with the connection");
  });

  test("Node's own limits back it up: headers within 10 s, a whole request within 2 minutes", () => {
    assert.equal(app.server.headersTimeout, 10_000);
    assert.equal(app.server.requestTimeout, 120_000);
  });
});
