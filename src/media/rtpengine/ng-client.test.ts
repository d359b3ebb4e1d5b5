// The ng client against a scripted fake daemon on loopback: retransmission
// on the fake clock, matching by cookie, strays, errors, timeouts. The real
// daemon is exercised by test/integration/rtpengine*.test.ts.
import assert from "node:assert/strict";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { waitFor } from "../rtp/testing.ts";
import { type BencodeDict, decodeDict, encode } from "./bencode.ts";
import { RtpengineClient, RtpengineError, RtpengineTimeoutError } from "./ng-client.ts";
import { NgParamError } from "./ng-params.ts";
import { NgReplyError } from "./ng-reply.ts";

interface Received {
  raw: Buffer;
  cookie: string;
  dict: BencodeDict;
  from: RemoteInfo;
}

class FakeDaemon {
  readonly received: Received[] = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on("message", (raw, from) => {
      const space = raw.indexOf(0x20);
      this.received.push({
        raw: Buffer.from(raw),
        cookie: raw.toString("latin1", 0, space),
        dict: decodeDict(raw.subarray(space + 1)),
        from,
      });
    });
  }

  static async start(): Promise<FakeDaemon> {
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    return new FakeDaemon(s, (s.address() as AddressInfo).port);
  }

  reply(to: Received, dict: object, cookie = to.cookie): void {
    this.raw(to, Buffer.concat([Buffer.from(`${cookie} `), encode(dict as never)]));
  }

  raw(to: Received, data: Buffer): void {
    this.socket.send(data, to.from.port, to.from.address);
  }

  async waitFor(n: number): Promise<Received> {
    await waitFor(() => this.received.length >= n);
    return this.received[n - 1];
  }

  close(): void {
    this.socket.close();
  }
}

let clock: FakeClock;
let daemon: FakeDaemon;
let client: RtpengineClient;

beforeEach(async () => {
  clock = new FakeClock();
  daemon = await FakeDaemon.start();
  client = new RtpengineClient({ host: "127.0.0.1", port: daemon.port, clock });
});

afterEach(() => {
  client.close();
  daemon.close();
});

/** Settles a promise's outcome without letting a rejection go unhandled meanwhile. */
function outcome<T>(p: Promise<T>): { done: () => boolean; value: () => Promise<T> } {
  let settled = false;
  const caught = p.then(
    (v) => {
      settled = true;
      return { ok: true as const, v };
    },
    (e: unknown) => {
      settled = true;
      return { ok: false as const, e };
    },
  );
  return {
    done: () => settled,
    value: async () => {
      const r = await caught;
      if (r.ok) return r.v;
      throw r.e;
    },
  };
}

test("ping: one datagram `<cookie> d7:command4:pinge`, resolved by the pong with its cookie", async () => {
  const p = client.ping();
  const req = await daemon.waitFor(1);
  assert.match(req.cookie, /^[A-Za-z0-9_-]{8,}$/);
  assert.equal(req.raw.toString("latin1"), `${req.cookie} d7:command4:pinge`);
  daemon.reply(req, { result: "pong" });
  await p;
});

test("retransmits the same datagram (same cookie) on the clock, and takes the late reply", async () => {
  const p = outcome(client.ping());
  const first = await daemon.waitFor(1);
  await clock.advance(499);
  assert.equal(daemon.received.length, 1);
  await clock.advance(1);
  const second = await daemon.waitFor(2);
  assert.deepEqual(second.raw, first.raw);
  await clock.advance(500);
  const third = await daemon.waitFor(3);
  assert.deepEqual(third.raw, first.raw);
  daemon.reply(third, { result: "pong" });
  await waitFor(() => p.done());
  await p.value();
  assert.equal(clock.timerCount, 0);
});

test("no answer after every try is a timeout error naming the command and the daemon", async () => {
  const p = outcome(client.offer({ callId: "c1", fromTag: "t1", sdp: "v=0\r\n" }));
  await daemon.waitFor(1);
  await clock.advance(500);
  await daemon.waitFor(2);
  await clock.advance(500);
  await daemon.waitFor(3);
  assert.equal(p.done(), false);
  await clock.advance(500);
  await waitFor(() => p.done());
  await assert.rejects(p.value(), (err: unknown) => {
    assert.ok(err instanceof RtpengineTimeoutError);
    assert.equal(err.command, "offer");
    assert.match(
      err.message,
      new RegExp(`rtpengine offer: no answer from 127\\.0\\.0\\.1:${daemon.port} after 3 tries`),
    );
    return true;
  });
  assert.equal(daemon.received.length, 3);
  // A reply after the give-up is a stray now, and harmless.
  daemon.reply(daemon.received[0], { result: "ok", sdp: "v=0\r\n" });
  await clock.advance(5000);
  assert.equal(daemon.received.length, 3);
});

test("timeout and tries are options", async () => {
  client.close();
  client = new RtpengineClient({ host: "127.0.0.1", port: daemon.port, clock, timeoutMs: 200, retries: 1 });
  const p = outcome(client.ping());
  await daemon.waitFor(1);
  await clock.advance(200);
  await waitFor(() => p.done());
  await assert.rejects(p.value(), /after 1 tries \(200 ms\)/);
});

test("replies are matched by cookie, in any order; strays and strangers are ignored", async () => {
  const a = outcome(client.query({ callId: "a" }));
  const b = outcome(client.query({ callId: "b" }));
  const ra = (await daemon.waitFor(2)).dict["call-id"] === "a" ? daemon.received[1] : daemon.received[0];
  const rb = ra === daemon.received[0] ? daemon.received[1] : daemon.received[0];
  assert.notEqual(ra.cookie, rb.cookie);

  // A stranger (another port) replying with the right cookie is not the daemon.
  const stranger = createSocket("udp4");
  await new Promise<void>((r) => stranger.bind(0, "127.0.0.1", () => r()));
  stranger.send(
    Buffer.concat([Buffer.from(`${ra.cookie} `), encode({ result: "ok", created: 666 })]),
    ra.from.port,
    "127.0.0.1",
  );
  // From the daemon: an unknown cookie, no cookie at all, an endless prefix.
  daemon.reply(ra, { result: "ok", created: 1 }, "unknown-cookie");
  daemon.raw(ra, Buffer.from("d6:result2:oke"));
  daemon.raw(ra, Buffer.alloc(200, 0x41));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.done(), false);
  assert.equal(b.done(), false);

  daemon.reply(rb, { result: "ok", created: 2 });
  daemon.reply(ra, { result: "ok", created: 1 });
  await waitFor(() => a.done() && b.done());
  assert.equal((await a.value()).created, 1);
  assert.equal((await b.value()).created, 2);
  stranger.close();
});

test("result error rejects with the daemon's reason and the command", async () => {
  const p = outcome(client.answer({ callId: "gone", fromTag: "f", toTag: "t", sdp: "v=0\r\n" }));
  const req = await daemon.waitFor(1);
  daemon.reply(req, { result: "error", "error-reason": "Unknown call-id" });
  await waitFor(() => p.done());
  await assert.rejects(p.value(), (err: unknown) => {
    assert.ok(err instanceof RtpengineError);
    assert.equal(err.command, "answer");
    assert.equal(err.reason, "Unknown call-id");
    assert.equal(err.message, "rtpengine answer (call gone) failed: Unknown call-id");
    return true;
  });
});

test("a reply without the SDP, a malformed reply and an unknown result are clear errors", async () => {
  const noSdp = outcome(client.offer({ callId: "c", fromTag: "f", sdp: "v=0\r\n" }));
  daemon.reply(await daemon.waitFor(1), { result: "ok" });
  await waitFor(() => noSdp.done());
  await assert.rejects(
    noSdp.value(),
    (e: unknown) => e instanceof NgReplyError && /reply carries no SDP/.test(e.message),
  );

  const garbage = outcome(client.ping());
  const req = await daemon.waitFor(2);
  daemon.raw(req, Buffer.from(`${req.cookie} d6:result`));
  await waitFor(() => garbage.done());
  await assert.rejects(garbage.value(), /rtpengine ping: malformed reply: bencode: input ends/);

  const limit = outcome(client.offer({ callId: "c", fromTag: "f", sdp: "v=0\r\n" }));
  daemon.reply(await daemon.waitFor(3), { result: "load limit", message: "too busy" });
  await waitFor(() => limit.done());
  await assert.rejects(limit.value(), /rtpengine offer \(call c\) failed: result "load limit": too busy/);

  const notPong = outcome(client.ping());
  daemon.reply(await daemon.waitFor(4), { result: "ok" });
  await waitFor(() => notPong.done());
  await assert.rejects(notPong.value(), /expected "pong"/);
  assert.equal(clock.timerCount, 0);
});

test("offer and answer parameters go out under rtpengine's keys", async () => {
  const p = outcome(
    client.answer({
      callId: "call-1",
      fromTag: "from-1",
      toTag: "to-1",
      viaBranch: "z9hG4bK1",
      sdp: "v=0\r\n",
      flags: ["trust-address", "asymmetric", "port-latching"],
      replace: ["origin", "session-connection"],
      ICE: "remove",
      direction: ["pub", "priv"],
      addressFamily: "IP4",
      label: "phone",
      mediaAddress: "192.0.2.1",
      receivedFrom: ["IP4", "192.0.2.9"],
      transportProtocol: "RTP/AVP",
      endpointLearning: "off",
      rtcpMux: ["demux"],
    }),
  );
  const req = await daemon.waitFor(1);
  assert.deepEqual(req.dict, {
    command: "answer",
    "call-id": "call-1",
    "from-tag": "from-1",
    "to-tag": "to-1",
    "via-branch": "z9hG4bK1",
    sdp: "v=0\r\n",
    flags: ["trust-address", "asymmetric", "port-latching"],
    replace: ["origin", "session-connection"],
    ICE: "remove",
    direction: ["pub", "priv"],
    "address family": "IP4",
    label: "phone",
    "media address": "192.0.2.1",
    "received-from": ["IP4", "192.0.2.9"],
    "transport protocol": "RTP/AVP",
    "endpoint-learning": "off",
    "rtcp-mux": ["demux"],
  });
  daemon.reply(req, { result: "ok", sdp: "v=0\r\nanswer", warning: "odd" });
  await waitFor(() => p.done());
  const r = await p.value();
  assert.equal(r.sdp, "v=0\r\nanswer");
  assert.equal(r.warning, "odd");

  const d = outcome(client.delete({ callId: "call-1", deleteDelay: 0 }));
  const del = await daemon.waitFor(2);
  assert.deepEqual(del.dict, { command: "delete", "call-id": "call-1", "delete-delay": 0, flags: ["fatal"] });
  daemon.reply(del, { result: "ok" });
  await waitFor(() => d.done());
  await d.value();

  const soft = outcome(client.delete({ callId: "call-1", fromTag: "from-1", fatal: false }));
  const del2 = await daemon.waitFor(3);
  assert.deepEqual(del2.dict, { command: "delete", "call-id": "call-1", "from-tag": "from-1" });
  daemon.reply(del2, { result: "ok", warning: "Call-ID not found or tags didn't match" });
  await waitFor(() => soft.done());
  assert.equal((await soft.value()).warning, "Call-ID not found or tags didn't match");
});

test("bad parameters are refused before anything is sent", async () => {
  await assert.rejects(client.offer({ callId: "", fromTag: "f", sdp: "v=0" }), NgParamError);
  await assert.rejects(
    client.offer({ callId: "c", fromTag: "f", sdp: "" }),
    /sdp must be a non-empty string/,
  );
  await assert.rejects(client.answer({ callId: "c", fromTag: "f", sdp: "v=0" } as never), /toTag must be/);
  await assert.rejects(
    client.offer({ callId: "c", fromTag: "f", sdp: "v=0", direction: ["one"] as never }),
    /direction must name two interfaces/,
  );
  await assert.rejects(
    client.offer({ callId: "c", fromTag: "f", sdp: "v=0", flags: [42] as never }),
    /flags must be a list of non-empty strings/,
  );
  await assert.rejects(client.delete({ callId: "c", deleteDelay: -1 }), /deleteDelay/);
  await assert.rejects(client.query({ callId: 7 as never }), /callId must be a non-empty string/);
  await assert.rejects(
    client.offer({ callId: "c", fromTag: "f", sdp: "x".repeat(70_000) }),
    /does not fit a UDP datagram/,
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(daemon.received.length, 0);
  assert.equal(clock.timerCount, 0);
});

test("query replies are read into typed results, tolerating missing members", async () => {
  const p = outcome(client.query({ callId: "q", fromTag: "a" }));
  const req = await daemon.waitFor(1);
  assert.deepEqual(req.dict, { command: "query", "call-id": "q", "from-tag": "a" });
  daemon.reply(req, {
    result: "ok",
    created: 1700000000,
    "last signal": 1700000005,
    totals: { RTP: { packets: 10, bytes: 1720, errors: 0 }, RTCP: { packets: 1, bytes: 80, errors: 0 } },
    tags: {
      a: {
        tag: "a",
        label: "phone",
        created: 1700000000,
        "in dialogue with": "b",
        medias: [
          {
            index: 1,
            type: "audio",
            protocol: "RTP/AVP",
            flags: ["initialized"],
            streams: [
              {
                "local port": 30000,
                endpoint: { family: "IPv4", address: "192.0.2.1", port: 4000 },
                "advertised endpoint": { family: "IPv4", address: "192.0.2.1", port: 4000 },
                "last packet": 1700000004,
                flags: ["RTP", "filled"],
                stats: { packets: 10, bytes: 1720, errors: 0 },
              },
              "not a stream",
            ],
          },
        ],
      },
      b: { medias: "nonsense" },
      c: 12,
    },
  });
  await waitFor(() => p.done());
  const q = await p.value();
  assert.equal(q.created, 1700000000);
  assert.equal(q.lastSignal, 1700000005);
  assert.deepEqual(q.totals?.RTP, { packets: 10, bytes: 1720, errors: 0 });
  assert.deepEqual(Object.keys(q.tags), ["a", "b"]);
  assert.equal(q.tags.a.label, "phone");
  assert.equal(q.tags.a.inDialogueWith, "b");
  assert.equal(q.tags.a.medias[0].streams.length, 1);
  assert.equal(q.tags.a.medias[0].streams[0].localPort, 30000);
  assert.deepEqual(q.tags.a.medias[0].streams[0].endpoint, {
    family: "IPv4",
    address: "192.0.2.1",
    port: 4000,
  });
  assert.deepEqual(q.tags.b, {
    tag: "b",
    label: undefined,
    created: undefined,
    inDialogueWith: undefined,
    subscriptions: [],
    subscribers: [],
    medias: [],
  });
});

test("close() fails what is waiting and refuses new requests", async () => {
  const p = outcome(client.ping());
  await daemon.waitFor(1);
  client.close();
  await waitFor(() => p.done());
  await assert.rejects(p.value(), /rtpengine ping: the client was closed/);
  await assert.rejects(client.ping(), /rtpengine ping: the client is closed/);
  assert.equal(clock.timerCount, 0);
  client.close();
});

test("the host must be an IP address and the options sane", () => {
  assert.throws(
    () => new RtpengineClient({ host: "localhost", port: 2223, clock }),
    /host must be an IP address/,
  );
  assert.throws(() => new RtpengineClient({ host: "127.0.0.1", port: 0, clock }), /not a UDP port/);
  assert.throws(() => new RtpengineClient({ host: "127.0.0.1", port: 2223, clock, retries: 0 }), /retries/);
  assert.throws(
    () => new RtpengineClient({ host: "127.0.0.1", port: 2223, clock, timeoutMs: 0 }),
    /timeoutMs/,
  );
  // Never used: closing sends nothing and does not throw.
  new RtpengineClient({ host: "::1", port: 2223, clock }).close();
});

test("an IPv6 daemon is recognised whichever way its address is written", async () => {
  const s = createSocket("udp6");
  await new Promise<void>((r) => s.bind(0, "::1", () => r()));
  const port = (s.address() as AddressInfo).port;
  s.on("message", (msg, from) => {
    const cookie = msg.toString("latin1", 0, msg.indexOf(0x20));
    s.send(Buffer.concat([Buffer.from(`${cookie} `), encode({ result: "pong" })]), from.port, from.address);
  });
  const v6 = new RtpengineClient({ host: "0:0:0:0:0:0:0:1", port, clock });
  try {
    await v6.ping();
  } finally {
    v6.close();
    s.close();
  }
});
