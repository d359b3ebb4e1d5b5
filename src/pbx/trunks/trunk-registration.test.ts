// The trunk's client side against a carrier: a real UserAgent, transaction
// and transport layer on 127.0.0.1, and the harness phone on 127.0.0.2
// playing the carrier's registrar and edge with digest challenges.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SipPhone } from "../../../test/harness/sip-phone.ts";
import { UserAgent } from "../../sip/dialog/user-agent.ts";
import {
  createResponse,
  formatUri,
  getCSeq,
  getHeader,
  getHeaders,
  parseUri,
} from "../../sip/message/index.ts";
import type { SipRequest, SipResponse } from "../../sip/message/types.ts";
import { TransactionLayer } from "../../sip/transaction/transaction-layer.ts";
import { TransportLayer } from "../../sip/transport/transport-layer.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Trunk } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import type { LivePublisher } from "../live/live-feed.ts";
import { TrunkRegistrations } from "./trunk-registration.ts";

const REALM = "carrier.test";
const PASSWORD = "s3cret";

function until(cond: () => boolean, what = "condition", ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`${what} not met in time`));
      else setImmediate(poll);
    };
    poll();
  });
}

/** Lets sockets and promises run without moving the clock. */
function settle(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("trunks against a carrier (harness on 127.0.0.2)", () => {
  let clock: FakeClock;
  let transport: TransportLayer;
  let transactions: TransactionLayer;
  let ua: UserAgent;
  let carrier: SipPhone;
  let trunks: Trunk[];
  let regs: TrunkRegistrations;
  const logged: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    clock = new FakeClock();
    const log = silentLogger();
    transport = await TransportLayer.listen({
      bind: "127.0.0.1",
      port: 0,
      publicAddress: "127.0.0.1",
      log,
      clock,
    });
    transactions = new TransactionLayer({ transport, clock, log });
    ua = new UserAgent({ transactions, clock, log, contactHost: "127.0.0.1", contactPort: transport.port });
    carrier = await SipPhone.create({
      user: "edge",
      password: "unused",
      domain: REALM,
      server: { host: "127.0.0.1", port: transport.port },
      localAddress: "127.0.0.2",
    });
    carrier.requireAuth = { realm: REALM, password: PASSWORD, status: 401 };
    trunks = [
      {
        name: "carrier1",
        host: "127.0.0.2",
        port: carrier.localPort,
        transport: "udp",
        username: "trunk1",
        password: PASSWORD,
        register: true,
        numberFormat: "e164",
        inboundAddresses: [],
        isDefault: true,
        createdAt: "2026-01-05T08:00:00.000Z",
      },
    ];
    logged.length = 0;
    const regLog = silentLogger();
    // Every line the registrations write, with the bindings of its child logger.
    regLog.child = ((bindings: Record<string, unknown>) => {
      const child = silentLogger();
      for (const level of ["info", "warn", "error"] as const) {
        child[level] = ((obj: unknown, msg?: string) => {
          logged.push({ ...bindings, ...(typeof obj === "object" ? obj : {}), msg: msg ?? obj });
        }) as typeof child.info;
      }
      return child;
    }) as unknown as typeof regLog.child;
    regs = new TrunkRegistrations({
      ua,
      store: { trunks: { list: async () => trunks.map((t) => ({ ...t })) } },
      clock,
      log: regLog,
      contactHost: "127.0.0.1",
      contactPort: transport.port,
    });
  });

  afterEach(async () => {
    await regs.stop();
    ua.close();
    transactions.close();
    await transport.close();
    await carrier.close();
  });

  const registers = () => carrier.requests.filter((r) => r.method === "REGISTER");
  /** REGISTERs that carried a valid digest (the harness challenges the others). */
  const accepted = () => carrier.authenticated.filter((a) => a.method === "REGISTER");

  it("registers with digest: To/From, Request-URI, Contact, Expires 600, the 401 answered", async () => {
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "registered", "registered");
    const [first, second] = registers();
    assert.equal(registers().length, 2);
    assert.equal(first.uri.host, "127.0.0.2");
    assert.equal(first.uri.user, undefined);
    assert.equal(first.uri.port, carrier.localPort);
    assert.equal(getHeader(first, "To"), "<sip:trunk1@127.0.0.2>");
    assert.match(getHeader(first, "From") ?? "", /^<sip:trunk1@127\.0\.0\.2>;tag=/);
    assert.equal(getHeader(first, "Contact"), `<sip:trunk1@127.0.0.1:${transport.port}>`);
    assert.equal(getHeader(first, "Expires"), "600");
    assert.equal(getHeader(first, "Authorization"), undefined);
    // §22.2: the answer to the challenge is the same request, CSeq + 1.
    assert.equal(getHeader(second, "Call-ID"), getHeader(first, "Call-ID"));
    assert.equal(getCSeq(second).seq, getCSeq(first).seq + 1);
    assert.deepEqual(accepted(), [
      { method: "REGISTER", username: "trunk1", uri: `sip:127.0.0.2:${carrier.localPort}` },
    ]);
    const state = regs.state("carrier1")!;
    assert.equal(state.expiresAt, new Date(clock.now() + 600_000).toISOString());
    assert.equal(state.lastStatus, 200);
    assert.equal(state.lastError, undefined);
    assert.equal(regs.state("nope"), undefined);
    assert.ok(logged.length > 0);
    for (const line of logged) assert.equal(line.trunk, "carrier1", JSON.stringify(line));
  });

  it("refreshes at half of what the carrier granted, with the same Call-ID", async () => {
    carrier.onRequest = (req) => {
      if (req.method !== "REGISTER") return undefined;
      const contact = getHeaders(req, "Contact")[0];
      return { status: 200, headers: [["Contact", `${contact};expires=120`]] };
    };
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "registered", "registered");
    assert.equal(regs.state("carrier1")!.expiresAt, new Date(clock.now() + 120_000).toISOString());
    assert.equal(accepted().length, 1);
    await clock.advance(59_000);
    await settle();
    assert.equal(registers().length, 2, "no refresh before half of the grant");
    await clock.advance(1_000);
    await until(() => accepted().length === 2, "refresh");
    const all = registers();
    assert.equal(new Set(all.map((r) => getHeader(r, "Call-ID"))).size, 1);
    const seqs = all.map((r) => getCSeq(r).seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0] + i),
      "CSeq rises by one per REGISTER",
    );
    await until(
      () => regs.state("carrier1")?.expiresAt === new Date(clock.now() + 120_000).toISOString(),
      "new expiry",
    );

    // Without an expires parameter, the Expires header counts.
    carrier.onRequest = (req) =>
      req.method === "REGISTER" ? { status: 200, headers: [["Expires", "300"]] } : undefined;
    await clock.advance(60_000);
    await until(() => accepted().length === 3, "second refresh");
    await until(
      () => regs.state("carrier1")?.expiresAt === new Date(clock.now() + 300_000).toISOString(),
      "300 s",
    );
  });

  it("retries a failure after 30 s, then 60 s, and registers when the carrier is back", async () => {
    let failing = 2;
    carrier.onRequest = (req) => {
      if (req.method !== "REGISTER" || failing === 0) return undefined;
      failing--;
      return { status: 503 };
    };
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "failed", "failed");
    assert.deepEqual(regs.state("carrier1"), {
      state: "failed",
      lastError: "503 Service Unavailable",
      lastStatus: 503,
    });
    const count = registers().length;
    await clock.advance(29_000);
    await settle();
    assert.equal(registers().length, count, "nothing before 30 s");
    await clock.advance(1_000);
    await until(() => accepted().length === 2, "first retry");
    await until(() => regs.state("carrier1")?.state === "failed", "failed again");
    const count2 = registers().length;
    await clock.advance(59_000);
    await settle();
    assert.equal(registers().length, count2, "back-off doubled to 60 s");
    await clock.advance(1_000);
    await until(() => regs.state("carrier1")?.state === "registered", "registered after the back-off");
    assert.equal(regs.state("carrier1")!.lastError, undefined);
    assert.ok(logged.some((l) => l.msg === "trunk registration failed" && l.trunk === "carrier1"));
  });

  it("a carrier that never answers: the timeout is a failure, retried with back-off", async () => {
    carrier.onRequest = (req) => (req.method === "REGISTER" ? "ignore" : undefined);
    await regs.start();
    await until(() => accepted().length === 1, "authenticated REGISTER sent");
    assert.equal(regs.state("carrier1")!.state, "registering");
    // 64·T1 = 32 s of retransmissions, then the transaction layer gives up.
    await clock.advance(32_000);
    await until(() => regs.state("carrier1")?.state === "failed", "timed out");
    assert.equal(regs.state("carrier1")!.lastStatus, 408);
    assert.match(regs.state("carrier1")!.lastError ?? "", /no answer/);
    carrier.onRequest = undefined;
    await clock.advance(30_000);
    await until(() => regs.state("carrier1")?.state === "registered", "registered on retry");
  });

  it("a refused password is reported as the 401, not answered twice", async () => {
    trunks[0].password = "wrong";
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "failed", "failed");
    assert.equal(regs.state("carrier1")!.lastStatus, 401);
    assert.equal(registers().length, 2);
    assert.equal(accepted().length, 0);
  });

  it("de-registers on stop (Expires 0, digest answered), then sends nothing more", async () => {
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "registered", "registered");
    await regs.stop();
    const last = carrier.registrations.at(-1)!;
    assert.equal(last.expires, 0);
    assert.deepEqual(last.contacts, [`<sip:trunk1@127.0.0.1:${transport.port}>`]);
    assert.equal(accepted().length, 2);
    assert.equal(new Set(registers().map((r) => getHeader(r, "Call-ID"))).size, 1);
    assert.equal(regs.state("carrier1")?.state, "disabled");
    const count = registers().length;
    await clock.advance(3_600_000);
    await settle();
    assert.equal(registers().length, count);
  });

  it("reconcile on the clock: a new trunk registers, an un-registered one and a deleted one are removed", async () => {
    trunks[0].register = false;
    await regs.start();
    assert.deepEqual(regs.state("carrier1"), { state: "disabled" });
    assert.equal(registers().length, 0);

    trunks[0].register = true;
    await clock.advance(30_000);
    await until(() => regs.state("carrier1")?.state === "registered", "registered after reconcile");

    trunks[0].register = false;
    await clock.advance(30_000);
    await until(() => carrier.registrations.at(-1)?.expires === 0, "removed");
    await until(() => regs.state("carrier1")?.state === "disabled", "disabled");

    trunks[0].register = true;
    await clock.advance(30_000);
    await until(() => regs.state("carrier1")?.state === "registered", "registered again");
    const callIds = new Set(registers().map((r) => getHeader(r, "Call-ID")));
    assert.equal(callIds.size, 2, "a new registration has a new Call-ID");

    trunks.length = 0;
    await clock.advance(30_000);
    await until(() => regs.state("carrier1") === undefined, "forgotten");
    await until(() => carrier.registrations.at(-1)?.expires === 0, "removed after deletion");
    assert.equal(carrier.registrations.filter((r) => r.expires === 0).length, 2);
  });

  it("a changed trunk is removed at the carrier before it registers afresh", async () => {
    await regs.start();
    await until(() => regs.state("carrier1")?.state === "registered", "registered");
    trunks[0].username = "trunk2";
    await regs.reconcile();
    await until(
      () => regs.state("carrier1")?.state === "registered" && carrier.registrations.length === 3,
      "registered as trunk2",
    );
    const [, removal, fresh] = carrier.registrations;
    assert.equal(removal.expires, 0);
    assert.match(removal.aor, /trunk1@/);
    assert.equal(fresh.expires, 600);
    assert.match(fresh.aor, /trunk2@/);
  });

  it("a trunk without a username fails clearly and is not retried", async () => {
    delete trunks[0].username;
    await regs.start();
    assert.deepEqual(regs.state("carrier1"), {
      state: "failed",
      lastError: "trunk has no username to register with",
    });
    await clock.advance(600_000);
    await settle();
    assert.equal(registers().length, 0);
  });

  it("authenticated INVITE: the carrier's 407 is answered, then CANCEL carries a Reason", async () => {
    carrier.requireAuth = { realm: REALM, password: PASSWORD, status: 407, methods: ["INVITE"] };
    carrier.onIncomingCall = (call) => call.ring();
    const remote = { transport: "UDP" as const, address: "127.0.0.2", port: carrier.localPort };
    const sdp = Buffer.from(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
    );
    const statuses: number[] = [];
    let failure: SipResponse | undefined;
    const out = ua.invite(
      {
        requestUri: parseUri(`sip:+41215550100@127.0.0.2:${carrier.localPort}`),
        from: { uri: parseUri("sip:+41215550199@127.0.0.1"), params: {} },
        to: { uri: parseUri("sip:+41215550100@127.0.0.2"), params: {} },
        remote,
        body: sdp,
        contentType: "application/sdp",
        credentials: { username: "trunk1", password: PASSWORD },
      },
      {
        onProvisional: (r) => statuses.push(r.status),
        onFailure: (r) => {
          failure = r;
        },
      },
    );
    const call = await carrier.waitForCall();
    assert.deepEqual(carrier.authenticated, [
      { method: "INVITE", username: "trunk1", uri: `sip:+41215550100@127.0.0.2:${carrier.localPort}` },
    ]);
    await until(() => statuses.includes(180), "ringing");
    const invites = carrier.requests.filter((r) => r.method === "INVITE");
    assert.equal(invites.length, 2);
    assert.equal(getHeader(invites[0], "Proxy-Authorization"), undefined);
    assert.ok(getHeader(invites[1], "Proxy-Authorization"));
    assert.equal(getCSeq(invites[1]).seq, getCSeq(invites[0]).seq + 1);
    assert.equal(getCSeq(out.request).seq, getCSeq(invites[1]).seq);

    const reason = 'SIP;cause=200;text="Call completed elsewhere"';
    out.cancel([{ name: "Reason", value: reason }]);
    const end = await call.waitFor("ended");
    assert.equal(end.reason, "cancel");
    const cancel = end.message as SipRequest;
    assert.equal(getHeader(cancel, "Reason"), reason);
    assert.equal(getCSeq(cancel).seq, getCSeq(invites[1]).seq);
    await until(() => failure !== undefined, "487");
    assert.equal(failure!.status, 487);
  });
});

/** A UA that answers each REGISTER from a script, without sockets. */
class ScriptedUa {
  readonly sent: Array<{ req: SipRequest; remote: RemoteAddress }> = [];
  /** Returns the response for a REGISTER, or undefined to never answer. */
  answer: (req: SipRequest) => SipResponse | undefined = (req) => createResponse(req, 200);
  async sendAuthenticated(req: SipRequest, remote: RemoteAddress) {
    this.sent.push({ req, remote });
    const response = this.answer(req);
    if (!response) return new Promise<never>(() => {});
    return { response, request: req };
  }
  async sendRequest(req: SipRequest, remote: RemoteAddress) {
    return (await this.sendAuthenticated(req, remote)).response;
  }
}

describe("TrunkRegistrations timing (scripted UA, FakeClock)", () => {
  const trunk: Trunk = {
    name: "t1",
    host: "sip.carrier.test",
    port: 5080,
    transport: "tcp",
    username: "acc1",
    password: "pw",
    register: true,
    numberFormat: "national",
    inboundAddresses: [],
    isDefault: true,
    createdAt: "2026-01-05T08:00:00.000Z",
  };

  function setup(
    opts: { lookup?: (t: Trunk) => Promise<RemoteAddress>; contactHost?: string; live?: LivePublisher } = {},
  ) {
    const clock = new FakeClock();
    const ua = new ScriptedUa();
    const trunks = [{ ...trunk }];
    const regs = new TrunkRegistrations({
      ua: ua as unknown as UserAgent,
      store: { trunks: { list: async () => trunks.map((t) => ({ ...t })) } },
      clock,
      log: silentLogger(),
      contactHost: opts.contactHost ?? "2001:db8::5",
      contactPort: 5070,
      remoteOf: opts.lookup ?? (async () => ({ transport: "TCP", address: "192.0.2.80", port: 5080 })),
      live: opts.live,
    });
    return { clock, ua, trunks, regs };
  }

  it("backs off 30 s, 60 s, 120 s ... up to 10 min", async () => {
    const { clock, ua, regs } = setup();
    ua.answer = (req) => createResponse(req, 503);
    await regs.start();
    await settle(1);
    const gaps: number[] = [];
    let last = clock.now();
    for (let i = 0; i < 7; i++) {
      const before = ua.sent.length;
      while (ua.sent.length === before) await clock.advance(1_000);
      gaps.push(clock.now() - last);
      last = clock.now();
    }
    assert.deepEqual(gaps, [30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    await regs.stop();
  });

  it("writes the REGISTER for a TCP trunk and an IPv6 contact, and honours a 423 Min-Expires", async () => {
    const { ua, regs } = setup();
    ua.answer = (req) =>
      getHeader(req, "Expires") === "600"
        ? createResponse(req, 423, undefined, { headers: [{ name: "Min-Expires", value: "1800" }] })
        : createResponse(req, 200);
    await regs.start();
    await until(() => regs.state("t1")?.state === "registered", "registered");
    const [first, second] = ua.sent;
    assert.equal(formatUri(first.req.uri), "sip:sip.carrier.test:5080");
    assert.equal(getHeader(first.req, "Contact"), "<sip:acc1@[2001:db8::5]:5070;transport=tcp>");
    assert.deepEqual(first.remote, { transport: "TCP", address: "192.0.2.80", port: 5080 });
    assert.equal(getHeader(second.req, "Expires"), "1800");
    assert.equal(getCSeq(second.req).seq, getCSeq(first.req).seq + 1);
    // No expiry in the 2xx: what we asked for.
    assert.ok(regs.state("t1")!.expiresAt);
    await regs.stop();
  });

  it("a host that does not resolve is a failure naming it, retried later", async () => {
    let resolvable = false;
    const { clock, regs } = setup({
      lookup: async (t) => {
        if (!resolvable) throw new Error(`trunk ${t.name}: host ${t.host} does not resolve`);
        return { transport: "TCP", address: "192.0.2.80", port: 5080 };
      },
    });
    await regs.start();
    await until(() => regs.state("t1")?.state === "failed", "failed");
    assert.match(regs.state("t1")!.lastError ?? "", /sip\.carrier\.test does not resolve/);
    resolvable = true;
    await clock.advance(30_000);
    await until(() => regs.state("t1")?.state === "registered", "registered");
    await regs.stop();
  });

  it("the console hears of a new state or error (a trunks notice), not of each refresh", async () => {
    const notices: string[] = [];
    const { clock, ua, trunks, regs } = setup({ live: { publish: (n) => notices.push(n.type) } });
    await regs.start();
    await until(() => regs.state("t1")?.state === "registered", "registered");
    assert.deepEqual(notices, ["trunks", "trunks"], "registering, registered");
    // Refreshed at half the 600 s granted: the same state, nothing said.
    const sent = ua.sent.length;
    await clock.advance(300_000);
    await until(() => ua.sent.length > sent, "refreshed");
    await settle(5);
    assert.equal(notices.length, 2);
    ua.answer = (req) => createResponse(req, 403);
    await clock.advance(300_000);
    await until(() => regs.state("t1")?.state === "failed", "failed");
    assert.equal(notices.length, 3);
    // The trunk no longer registers: disabled, after its binding is removed.
    trunks[0]!.register = false;
    await regs.reconcile();
    assert.equal(regs.state("t1")?.state, "disabled");
    assert.ok(notices.length >= 4);
    await regs.stop();
  });

  it("stop() is bounded when the carrier does not answer the removal", async () => {
    const { clock, ua, regs } = setup();
    await regs.start();
    await until(() => regs.state("t1")?.state === "registered", "registered");
    ua.answer = () => undefined;
    let stopped = false;
    const stopping = regs.stop().then(() => {
      stopped = true;
    });
    await settle(5);
    assert.equal(stopped, false);
    assert.equal(getHeader(ua.sent.at(-1)!.req, "Expires"), "0");
    await clock.advance(5_000);
    await stopping;
    assert.equal(stopped, true);
  });
});
