import assert from "node:assert/strict";
import { test } from "node:test";
import type { MediaLeg } from "../media/rtp/media-leg.ts";
import { zeroLegCounters } from "../media/rtp/rtp-leg.ts";
import { createResponse, parseMessage, type SipMessage, type SipRequest } from "../sip/message/index.ts";
import type { ReceivedMessage, RemoteAddress, SipTransport } from "../sip/transport/types.ts";
import type { AuthBlock } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import type { MediaLegs } from "./call/media-legs.ts";
import { CountingAuthGuard, isSourceSubject, PbxCounters } from "./pbx-metrics.ts";

const REMOTE: RemoteAddress = { transport: "UDP", address: "192.0.2.7", port: 5062 };

const request = parseMessage(
  Buffer.from(
    "INVITE sip:102@acme.test SIP/2.0\r\n" +
      "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1\r\n" +
      "From: <sip:101@acme.test>;tag=a\r\nTo: <sip:102@acme.test>\r\n" +
      "Call-ID: c1@phone\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  ),
) as SipRequest;

/** A transport that keeps what it is asked to send. */
function fakeTransport(): SipTransport & { sent: SipMessage[]; authenticated: RemoteAddress[] } {
  const sent: SipMessage[] = [];
  const authenticated: RemoteAddress[] = [];
  return {
    publicAddress: "203.0.113.1",
    port: 5060,
    onMessage: () => {},
    onParseError: () => {},
    send: (msg) => void sent.push(msg),
    markAuthenticated: (r) => void authenticated.push(r),
    portFor: (t) => (t === "TLS" ? 5061 : 5060),
    sent,
    authenticated,
  };
}

test("responses of 400 and more are counted by status where they go out, each once", () => {
  const counters = new PbxCounters();
  const inner = fakeTransport();
  const transport = counters.countingTransport(inner);
  const busy = createResponse(request, 486);
  transport.send(createResponse(request, 100), REMOTE);
  transport.send(createResponse(request, 180), REMOTE);
  transport.send(createResponse(request, 200), REMOTE);
  transport.send(createResponse(request, 401), REMOTE);
  transport.send(busy, REMOTE);
  transport.send(busy, REMOTE); // Timer G's retransmission: the same response
  transport.send(createResponse(request, 486), REMOTE);
  transport.send(request, REMOTE); // requests are not counted
  assert.equal(inner.sent.length, 8, "everything is sent");
  assert.deepEqual(counters.sipErrorResponses(), [
    { status: 401, count: 1 },
    { status: 486, count: 2 },
  ]);
});

test("the counting transport is the transport for everything else", () => {
  const inner = fakeTransport();
  const transport = new PbxCounters().countingTransport(inner);
  assert.equal(transport.publicAddress, "203.0.113.1");
  assert.equal(transport.port, 5060);
  assert.equal(transport.portFor?.("TLS"), 5061);
  transport.markAuthenticated?.(REMOTE);
  assert.deepEqual(inner.authenticated, [REMOTE]);
  const heard: ReceivedMessage[] = [];
  transport.onMessage = (m) => heard.push(m);
  inner.onMessage({ message: request, remote: REMOTE } as ReceivedMessage);
  assert.equal(heard.length, 1, "what the transaction layer sets is the transport's own handler");
  assert.equal(transport.onMessage, inner.onMessage);
  const bare: SipTransport = { ...fakeTransport(), markAuthenticated: undefined, portFor: undefined };
  const plain = new PbxCounters().countingTransport(bare);
  assert.equal(plain.markAuthenticated, undefined, "optional methods stay absent");
  assert.equal(plain.portFor, undefined);
});

test("calls ended are counted by tenant and outcome", () => {
  const counters = new PbxCounters();
  counters.callEnded({ tenant: "acme", outcome: "answered" });
  counters.callEnded({ tenant: "acme", outcome: "answered" });
  counters.callEnded({ tenant: "acme", outcome: "busy" });
  counters.callEnded({ tenant: "bistro", outcome: "answered" });
  assert.deepEqual(counters.callsEnded(), [
    { tenant: "acme", outcome: "answered", count: 2 },
    { tenant: "acme", outcome: "busy", count: 1 },
    { tenant: "bistro", outcome: "answered", count: 1 },
  ]);
});

test("RTP: the live legs' counters now, and the released ones' kept", async () => {
  const counters = new PbxCounters();
  const released: MediaLeg[] = [];
  const legs: MediaLeg[] = [];
  const inner: MediaLegs = {
    address: "203.0.113.1",
    allocate: async () => {
      const leg = { counters: zeroLegCounters() } as unknown as MediaLeg;
      legs.push(leg);
      return leg;
    },
    allocateWebRtc: async () => {
      throw new Error("no browsers here");
    },
    release: (leg) => void released.push(leg),
  };
  const media = counters.meteredMediaLegs(inner);
  assert.equal(media.address, "203.0.113.1");
  const a = await media.allocate();
  const b = await media.allocate(a);
  const ca = a.counters as ReturnType<typeof zeroLegCounters>;
  const cb = b.counters as ReturnType<typeof zeroLegCounters>;
  Object.assign(ca, { packetsIn: 100, packetsOut: 90, foreignDropped: 2, packetsLost: 3 });
  Object.assign(cb, { packetsIn: 50, packetsOut: 60, invalidDropped: 1, srtpDropped: 4 });
  assert.deepEqual(counters.rtp(), {
    received: 150,
    sent: 150,
    lost: 3,
    dropped: { foreign: 2, invalid: 1, srtp: 4 },
  });
  media.release(a);
  assert.deepEqual(released, [a], "released in the pool");
  ca.packetsIn = 999; // a leg reused by the pool counts for its next call, not for this total
  cb.packetsIn = 70;
  assert.deepEqual(counters.rtp(), {
    received: 170,
    sent: 150,
    lost: 3,
    dropped: { foreign: 2, invalid: 1, srtp: 4 },
  });
  media.release(a);
  media.release(b);
  assert.deepEqual(counters.rtp(), {
    received: 170,
    sent: 150,
    lost: 3,
    dropped: { foreign: 2, invalid: 1, srtp: 4 },
  });
});

test("authentication failures are counted as the guard is told of them; sources and accounts told apart", async () => {
  const counters = new PbxCounters();
  const rows: AuthBlock[] = [];
  const guard = new CountingAuthGuard(
    {
      clock: new FakeClock(),
      log: silentLogger(),
      blocks: {
        get: async () => undefined,
        put: async (b) => void rows.push(b),
        remove: async () => {},
        active: async () => [],
        purge: async () => 0,
      },
    },
    counters,
  );
  await guard.ready();
  await guard.recordFailure("192.0.2.7", "acme/101");
  await guard.recordFailure("192.0.2.7");
  assert.equal(counters.authFailures, 2);
  assert.equal(isSourceSubject("192.0.2.7"), true);
  assert.equal(isSourceSubject("2001:db8:1:2::/64"), true);
  assert.equal(isSourceSubject("acme/101"), false);
  await guard.close();
});
