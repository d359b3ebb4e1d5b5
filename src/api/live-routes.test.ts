// GET /api/v1/events over a real HTTP connection: the guard of the API
// (admin token, console sessions), the route, and a live feed on a
// FakeClock; and the stream's own rules (ping, slow clients) on a fake sink.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { SseClient } from "../../test/support/sse-client.ts";
import { LiveFeed, type LiveNotice } from "../pbx/live/live-feed.ts";
import { makeCredentials } from "../store/credentials.ts";
import { openStore } from "../store/sql/open-store.ts";
import type { Store } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import { addGuard } from "./auth/guard.ts";
import type { Principal } from "./auth/principal.ts";
import { SESSION_COOKIE, SessionManager } from "./auth/sessions.ts";
import { ApiError, errorBody } from "./errors.ts";
import {
  DEFAULT_LIVE_LIMITS,
  EVENTS_URL,
  type EventSink,
  EventStream,
  formatEvent,
  hears,
  type LiveLimits,
  liveRoutes,
  scopeOf,
} from "./live-routes.ts";
import { TokenGuard } from "./token-guard.ts";

const ADMIN_TOKEN = "admin-token-for-live-tests-0123456789";
const provider: Principal = { role: "provider", via: "admin-token", actor: { kind: "api", id: "admin" } };
const acmeAdmin: Principal = {
  role: "admin",
  tenant: "acme",
  via: "session",
  actor: { kind: "user", id: "boss" },
};
const user101: Principal = {
  role: "user",
  tenant: "acme",
  extension: "101",
  via: "session",
  actor: { kind: "user", id: "alice" },
};

describe("who hears what", () => {
  const notices: LiveNotice[] = [
    { type: "trunks" },
    { type: "registrations", tenant: "acme", extension: "101" },
    { type: "registrations", tenant: "acme", extension: "102" },
    { type: "calls", tenant: "acme", extensions: ["101", "102"] },
    { type: "calls", tenant: "acme", extensions: ["102"] },
    { type: "calls", tenant: "acme" },
    { type: "schedule", tenant: "acme" },
    { type: "voicemail", tenant: "acme", extension: "101" },
    { type: "forwarding", tenant: "acme", extension: "102" },
    { type: "registrations", tenant: "globex", extension: "101" },
  ];
  const heard = (p: Principal, tenant?: string) =>
    notices
      .map((n, i) => (hears(scopeOf(p, tenant), n) ? i : -1))
      .filter((i) => i >= 0)
      .join(",");

  it("the provider: trunks always, a tenant's notices when it names it, every tenant's with *", () => {
    assert.equal(heard(provider), "0");
    assert.equal(heard(provider, "acme"), "0,1,2,3,4,5,6,7,8");
    assert.equal(heard(provider, "globex"), "0,9");
    assert.equal(heard(provider, "*"), "0,1,2,3,4,5,6,7,8,9");
  });

  it("an administrator: its own tenant's, never trunks; another tenant named is a 403", () => {
    assert.equal(heard(acmeAdmin), "1,2,3,4,5,6,7,8");
    assert.equal(heard(acmeAdmin, "acme"), "1,2,3,4,5,6,7,8");
    assert.throws(
      () => scopeOf(acmeAdmin, "globex"),
      (e: ApiError) => e.statusCode === 403,
    );
    assert.throws(
      () => scopeOf(acmeAdmin, "*"),
      (e: ApiError) => e.statusCode === 403,
    );
  });

  it("a user: its own extension's registrations, voicemail and forwarding, and the calls that concern it", () => {
    assert.equal(heard(user101), "1,3,5,7");
  });

  it("an event is its type and the contract's data only", () => {
    assert.equal(
      formatEvent({ type: "calls", tenant: "acme", extensions: ["101"] }),
      'event: calls\ndata: {"tenant":"acme"}\n\n',
    );
    assert.equal(
      formatEvent({ type: "voicemail", tenant: "acme", extension: "101" }),
      'event: voicemail\ndata: {"tenant":"acme","extension":"101"}\n\n',
    );
    assert.equal(formatEvent({ type: "trunks" }), "event: trunks\ndata: {}\n\n");
    assert.equal(
      formatEvent({ type: "schedule", tenant: "acme" }),
      'event: schedule\ndata: {"tenant":"acme"}\n\n',
    );
  });
});

/** A response that records what is written; `buffered` stands for the socket's unsent bytes. */
class FakeSink implements EventSink {
  written = "";
  buffered = 0;
  destroyed = false;
  writableEnded = false;
  write(chunk: string): boolean {
    this.written += chunk;
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  get writableLength(): number {
    return this.buffered;
  }
}

describe("EventStream", () => {
  const make = (stillValid?: () => Promise<boolean>) => {
    const clock = new FakeClock();
    const sink = new FakeSink();
    let ended = 0;
    const stream = new EventStream(sink, {
      clock,
      limits: DEFAULT_LIVE_LIMITS,
      log: silentLogger(),
      stillValid,
      onEnd: () => ended++,
    });
    stream.start();
    return { clock, sink, stream, ended: () => ended };
  };

  it("says retry: 3000 first, then a ping every 25 s of the clock", () => {
    const { clock, sink, stream } = make();
    assert.equal(sink.written, "retry: 3000\n\n");
    clock.tick(24_999);
    assert.equal(sink.written, "retry: 3000\n\n");
    clock.tick(1);
    clock.tick(25_000);
    assert.equal(sink.written, "retry: 3000\n\n: ping\n\n: ping\n\n");
    stream.closed();
    assert.equal(clock.timerCount, 0);
  });

  it("drops a client whose unsent bytes pass 64 KB, once", () => {
    const { clock, sink, stream, ended } = make();
    stream.notice({ type: "trunks" });
    assert.equal(sink.destroyed, false);
    sink.buffered = 64 * 1024 + 1;
    stream.notice({ type: "trunks" });
    assert.equal(sink.destroyed, true);
    assert.equal(ended(), 1);
    const before = sink.written;
    stream.notice({ type: "trunks" });
    stream.closed();
    assert.equal(sink.written, before);
    assert.equal(ended(), 1);
    assert.equal(clock.timerCount, 0);
  });

  it("ends at a ping when the session is no longer valid; keeps going while it is, or when the check fails", async () => {
    let valid: boolean | Error = true;
    const { clock, sink, ended } = make(async () => {
      if (valid instanceof Error) throw valid;
      return valid;
    });
    await clock.advance(25_000);
    assert.equal(sink.writableEnded, false);
    valid = new Error("store down");
    await clock.advance(25_000);
    assert.equal(sink.writableEnded, false);
    valid = false;
    await clock.advance(25_000);
    assert.equal(sink.writableEnded, true);
    assert.equal(ended(), 1);
    assert.equal(clock.timerCount, 0);
  });
});

describe("GET /api/v1/events over HTTP", () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let sessions: SessionManager;
  let feed: LiveFeed | undefined;
  let app: FastifyInstance;
  let base: string;
  const clients: SseClient[] = [];
  const cookies = new Map<string, string>();
  const limits: Partial<LiveLimits> = { perPrincipal: 3, total: 5 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vpbx-live-routes-"));
    clock = new FakeClock(Date.now());
    store = await openStore({ dataDir: dir, clock });
    for (const [tenant, domain] of [
      ["acme", "acme.test"],
      ["globex", "globex.test"],
    ]) {
      await store.tenants.create({ name: tenant, domain });
      await store.extensions.create({
        tenant,
        number: "101",
        displayName: "",
        credentials: makeCredentials("101", domain, "secret-101-pw-xyz"),
      });
    }
    await store.users.create({ username: "boss", passwordHash: "x", role: "admin", tenant: "acme" });
    await store.users.create({
      username: "alice",
      passwordHash: "x",
      role: "user",
      tenant: "acme",
      extension: "101",
    });
    sessions = new SessionManager(store, clock, false);
    for (const username of ["boss", "alice"]) {
      cookies.set(username, `${SESSION_COOKIE}=${(await sessions.start(username)).token}`);
    }
    feed = new LiveFeed({ clock, log: silentLogger() });
    // As server.ts has it: unknown query fields are refused, not dropped.
    app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
    addGuard(app, {
      store,
      clock,
      sessions,
      tokenGuard: new TokenGuard(clock),
      verifyAdminToken: (t) => t === ADMIN_TOKEN,
    });
    app.setErrorHandler((err: Error & { validation?: unknown }, _req, reply) => {
      if (err instanceof ApiError) return reply.code(err.statusCode).send(errorBody(err.code, err.message));
      if (err.validation) return reply.code(400).send(errorBody("bad_request", err.message));
      return reply.code(500).send(errorBody("internal", err.message));
    });
    for (const r of liveRoutes({ pbx: { live: () => feed }, store, clock, limits })) {
      app.route({
        method: r.method,
        url: r.url,
        schema: r.schema,
        config: { access: r.access },
        handler: r.handler as (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
      });
    }
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === "object");
    base = `http://127.0.0.1:${address.port}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    // The server hears of each close before the next test counts streams.
    await until(() => feed === undefined || feed.subscriberCount === 0);
  });

  after(async () => {
    feed?.close();
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (as: "provider" | "boss" | "alice" | "nobody", query = "") => {
    const headers: Record<string, string> =
      as === "provider"
        ? { authorization: `Bearer ${ADMIN_TOKEN}` }
        : as === "nobody"
          ? {}
          : { cookie: cookies.get(as)! };
    const c = await SseClient.open(`${base}${EVENTS_URL}${query}`, headers);
    clients.push(c);
    return c;
  };

  /** Publishes, then lets the feed's 250 ms window close. */
  const publish = async (...notices: LiveNotice[]) => {
    for (const n of notices) feed!.publish(n);
    await clock.advance(250);
  };

  it("the provider's stream: event-stream headers, retry first, trunks; a tenant's notices only when named", async () => {
    const all = await open("provider");
    const acme = await open("provider", "?tenant=acme");
    assert.equal(all.status, 200);
    assert.match(String(all.headers["content-type"]), /^text\/event-stream/);
    assert.equal(all.headers["cache-control"], "no-cache, no-transform");
    await until(() => all.retry !== undefined && acme.retry !== undefined);
    assert.equal(all.retry, 3000);
    await publish(
      { type: "registrations", tenant: "acme", extension: "101" },
      { type: "registrations", tenant: "globex", extension: "101" },
      { type: "trunks" },
    );
    await all.waitFor((e) => e.event === "trunks");
    await acme.waitFor((e) => e.event === "trunks");
    assert.deepEqual(all.of("registrations"), []);
    assert.deepEqual(acme.of("registrations"), [{ tenant: "acme", extension: "101" }]);
  });

  it("the provider must name a tenant that exists (400), in the form of a name (400)", async () => {
    const unknown = await open("provider", "?tenant=nope");
    assert.equal(unknown.status, 400);
    assert.match(unknown.json().error.message, /tenant nope does not exist/);
    assert.equal((await open("provider", "?tenant=Not%20A%20Name")).status, 400);
    assert.equal((await open("provider", "?other=1")).status, 400);
  });

  it("a company's administrator hears its tenant only; another tenant named is a 403; nobody logged in a 401", async () => {
    const boss = await open("boss");
    assert.equal(boss.status, 200);
    assert.equal((await open("boss", "?tenant=globex")).status, 403);
    assert.equal((await open("nobody")).status, 401);
    await publish(
      { type: "trunks" },
      { type: "registrations", tenant: "globex", extension: "101" },
      { type: "schedule", tenant: "acme" },
    );
    await boss.waitFor((e) => e.event === "schedule");
    assert.deepEqual(
      boss.events.map((e) => e.event),
      ["schedule"],
    );
  });

  it("an extension's user hears its own extension and its own calls", async () => {
    const alice = await open("alice");
    await publish(
      { type: "registrations", tenant: "acme", extension: "102" },
      { type: "calls", tenant: "acme", extensions: ["102", "103"] },
      { type: "schedule", tenant: "acme" },
      { type: "forwarding", tenant: "acme", extension: "101" },
    );
    await alice.waitFor((e) => e.event === "forwarding");
    await publish({ type: "calls", tenant: "acme", extensions: ["101", "102"] });
    await alice.waitFor((e) => e.event === "calls");
    assert.deepEqual(
      alice.events.map((e) => `${e.event} ${e.data}`),
      ['forwarding {"tenant":"acme","extension":"101"}', 'calls {"tenant":"acme"}'],
    );
  });

  it("a ping every 25 s of the clock", async () => {
    const boss = await open("boss");
    await until(() => boss.retry !== undefined);
    await clock.advance(25_000);
    await until(() => boss.comments.includes("ping"));
  });

  it("at most 3 streams per principal here (429), 5 in all (503); a closed one frees its place", async () => {
    const mine = [await open("boss"), await open("boss"), await open("boss")];
    assert.ok(mine.every((c) => c.status === 200));
    const fourth = await open("boss");
    assert.equal(fourth.status, 429);
    assert.ok(fourth.headers["retry-after"]);
    assert.equal((await open("alice")).status, 200);
    assert.equal((await open("provider")).status, 200);
    const over = await open("provider");
    assert.equal(over.status, 503);
    mine[0]!.close();
    await until(() => feed!.subscriberCount === 4);
    assert.equal((await open("boss")).status, 200);
  });

  it("a console session's stream ends at the ping after logout", async () => {
    const { token } = await sessions.start("alice");
    const cookie = `${SESSION_COOKIE}=${token}`;
    const c = await SseClient.open(`${base}${EVENTS_URL}`, { cookie });
    clients.push(c);
    assert.equal(c.status, 200);
    await until(() => c.retry !== undefined);
    await sessions.end(token);
    await clock.advance(25_000);
    await c.waitForEnd();
    const again = await SseClient.open(`${base}${EVENTS_URL}`, { cookie });
    assert.equal(again.status, 401);
  });

  it("HEAD answers the stream's headers and nothing more", async () => {
    const res = await new Promise<{ status: number; type: string }>((resolve, reject) => {
      const req = request(
        `${base}${EVENTS_URL}`,
        { method: "HEAD", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
        (r) => {
          r.resume();
          r.on("end", () => resolve({ status: r.statusCode ?? 0, type: String(r.headers["content-type"]) }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(res, { status: 200, type: "text/event-stream; charset=utf-8" });
    assert.equal(feed!.subscriberCount, 0);
  });

  it("the PBX stopping (its feed closed) ends every stream; without a feed, 503", async () => {
    const a = await open("boss");
    const b = await open("provider");
    await until(() => feed!.subscriberCount === 2);
    feed!.close();
    await a.waitForEnd();
    await b.waitForEnd();
    feed = undefined;
    const none = await open("provider");
    assert.equal(none.status, 503);
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
