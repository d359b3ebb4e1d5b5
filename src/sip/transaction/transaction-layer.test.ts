import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import {
  createResponse,
  getCSeq,
  getHeader,
  getTo,
  getTopVia,
  getVias,
  parseMessage,
  serializeMessage,
} from "../message/index.ts";
import { type SipMessage, SipParseError, type SipRequest, type SipResponse } from "../message/types.ts";
import type { ReceivedMessage, RemoteAddress, SendErrorHandler, SipTransport } from "../transport/types.ts";
import { TransactionLayer } from "./transaction-layer.ts";
import { isSynthetic, type ServerTransaction } from "./types.ts";

class FakeTransport implements SipTransport {
  readonly publicAddress = "192.0.2.10";
  readonly port = 5060;
  onMessage: (m: ReceivedMessage) => void = () => {};
  onParseError: (err: SipParseError, remote: RemoteAddress) => void = () => {};
  sent: { msg: SipMessage; remote: RemoteAddress; at: number }[] = [];
  failSends = false;
  constructor(private readonly clock: FakeClock) {}
  send(msg: SipMessage, remote: RemoteAddress, onError?: SendErrorHandler): void {
    this.sent.push({ msg, remote, at: this.clock.now() });
    if (this.failSends) queueMicrotask(() => onError?.(new Error("connection refused")));
  }
  receive(text: string, remote: RemoteAddress = PEER): void {
    this.onMessage({ message: parseMessage(Buffer.from(text.replace(/\n/g, "\r\n"))), remote });
  }
  responses(): SipResponse[] {
    return this.sent.map((s) => s.msg).filter((m): m is SipResponse => m.type === "response");
  }
  requests(method?: string): SipRequest[] {
    return this.sent
      .map((s) => s.msg)
      .filter((m): m is SipRequest => m.type === "request" && (!method || m.method === method));
  }
}

const PEER: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5060 };
const PEER_TCP: RemoteAddress = { transport: "TCP", address: "192.0.2.1", port: 5060, connectionId: 7 };

function request(
  method: string,
  opts: { branch?: string; cseq?: number; toTag?: string; cseqMethod?: string } = {},
) {
  const branch = opts.branch ?? "z9hG4bK-peer-1";
  const via = branch === "" ? "SIP/2.0/UDP 192.0.2.1:5060" : `SIP/2.0/UDP 192.0.2.1:5060;branch=${branch}`;
  return [
    `${method} sip:bob@192.0.2.10 SIP/2.0`,
    `Via: ${via}`,
    "Max-Forwards: 70",
    "From: <sip:alice@example.com>;tag=a1",
    `To: <sip:bob@example.com>${opts.toTag ? ";tag=" + opts.toTag : ""}`,
    "Call-ID: call-1@192.0.2.1",
    `CSeq: ${opts.cseq ?? 1} ${opts.cseqMethod ?? method}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\n");
}

/** A response to our request `req`, as the peer would send it. */
function answer(req: SipRequest, status: number, toTag?: string): string {
  const res = createResponse(req, status, undefined, { toTag });
  const lines = [`SIP/2.0 ${status} ${res.reason}`];
  for (const h of res.headers) lines.push(`${h.name}: ${h.value}`);
  lines.push("Content-Length: 0", "", "");
  return lines.join("\n");
}

function outgoing(method: string): SipRequest {
  return {
    type: "request",
    method,
    uri: { scheme: "sip", user: "bob", host: "192.0.2.1", params: {}, headers: {} },
    headers: [
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: "<sip:alice@192.0.2.10>;tag=ours" },
      { name: "To", value: "<sip:bob@192.0.2.1>" },
      { name: "Call-ID", value: "out-1@192.0.2.10" },
      { name: "CSeq", value: `5 ${method}` },
      { name: "Route", value: "<sip:proxy.example.com;lr>" },
    ],
    body: Buffer.alloc(0),
  };
}

describe("TransactionLayer", () => {
  let clock: FakeClock;
  let transport: FakeTransport;
  let layer: TransactionLayer;
  let t0: number;
  beforeEach(() => {
    clock = new FakeClock();
    t0 = clock.now();
    transport = new FakeTransport(clock);
    layer = new TransactionLayer({ transport, clock, log: silentLogger() });
  });

  describe("client", () => {
    it("retransmits an INVITE over UDP with Timer A doubling, then 408 at 64·T1", () => {
      const got: SipResponse[] = [];
      layer.sendRequest(outgoing("INVITE"), PEER, (r) => got.push(r));
      clock.tick(31_999);
      assert.deepEqual(
        transport.sent.map((s) => s.at - t0),
        [0, 500, 1500, 3500, 7500, 15500, 31500],
      );
      assert.equal(got.length, 0);
      clock.tick(1);
      assert.equal(got.length, 1);
      assert.equal(got[0].status, 408);
      assert.ok(isSynthetic(got[0]));
      clock.tick(60_000);
      assert.equal(transport.sent.length, 7);
      assert.deepEqual(layer.size, { server: 0, client: 0 });
    });

    it("pushes our Via with a fresh branch and rport", () => {
      const req = outgoing("OPTIONS");
      layer.sendRequest(req, PEER, () => {});
      const via = getTopVia(req);
      assert.equal(via.host, "192.0.2.10");
      assert.equal(via.port, 5060);
      assert.equal(via.transport, "UDP");
      assert.ok(via.params.branch?.startsWith("z9hG4bK"));
      assert.ok("rport" in via.params);
    });

    it("caps Timer E at T2 for non-INVITE and keeps T2 once proceeding", () => {
      const got: SipResponse[] = [];
      layer.sendRequest(outgoing("OPTIONS"), PEER, (r) => got.push(r));
      clock.tick(16_000);
      assert.deepEqual(
        transport.sent.map((s) => s.at - t0),
        [0, 500, 1500, 3500, 7500, 11500, 15500],
      );
      clock.tick(16_000);
      assert.equal(got.at(-1)?.status, 408);
      assert.ok(isSynthetic(got[0]));
    });

    it("does not retransmit over TCP, and still times out", () => {
      const got: SipResponse[] = [];
      layer.sendRequest(outgoing("INVITE"), PEER_TCP, (r) => got.push(r));
      clock.tick(31_000);
      assert.equal(transport.sent.length, 1);
      assert.equal(getTopVia(transport.sent[0].msg).transport, "TCP");
      clock.tick(1_000);
      assert.equal(got[0]?.status, 408);
    });

    it("stops retransmitting on a provisional, passes every response, ACKs a non-2xx with the same branch", () => {
      const got: SipResponse[] = [];
      const req = outgoing("INVITE");
      layer.sendRequest(req, PEER, (r) => got.push(r));
      transport.receive(answer(req, 180, "b1"));
      clock.tick(10_000);
      assert.equal(transport.requests("INVITE").length, 1);
      transport.receive(answer(req, 486, "b1"));
      assert.deepEqual(
        got.map((r) => r.status),
        [180, 486],
      );
      const acks = transport.requests("ACK");
      assert.equal(acks.length, 1);
      assert.equal(getTopVia(acks[0]).params.branch, getTopVia(req).params.branch);
      assert.equal(getTo(acks[0]).params.tag, "b1");
      assert.deepEqual(getCSeq(acks[0]), { seq: 5, method: "ACK" });
      assert.equal(getHeader(acks[0], "Route"), "<sip:proxy.example.com;lr>");
      assert.equal(getVias(acks[0]).length, 1);
      // A retransmitted final response is answered with the same ACK, not passed up again.
      transport.receive(answer(req, 486, "b1"));
      assert.equal(transport.requests("ACK").length, 2);
      assert.equal(got.length, 2);
      clock.tick(32_000);
      assert.deepEqual(layer.size, { server: 0, client: 0 });
    });

    it("passes the 2xx of several forks to the handler and ACKs none of them", () => {
      const got: SipResponse[] = [];
      const req = outgoing("INVITE");
      layer.sendRequest(req, PEER, (r) => got.push(r));
      transport.receive(answer(req, 200, "fork1"));
      transport.receive(answer(req, 200, "fork2"));
      assert.deepEqual(
        got.map((r) => getTo(r).params.tag),
        ["fork1", "fork2"],
      );
      assert.equal(transport.requests("ACK").length, 0);
      clock.tick(32_000);
      assert.equal(layer.size.client, 0);
      const stray: SipResponse[] = [];
      layer.onStrayResponse = (r) => stray.push(r);
      transport.receive(answer(req, 200, "fork1"));
      assert.equal(stray.length, 1);
    });

    it("reports a transport failure as a synthetic 503", async () => {
      transport.failSends = true;
      const got: SipResponse[] = [];
      layer.sendRequest(outgoing("OPTIONS"), PEER_TCP, (r) => got.push(r));
      await Promise.resolve();
      assert.equal(got[0]?.status, 503);
      assert.ok(isSynthetic(got[0]));
    });

    it("defers CANCEL until a provisional arrives and builds it per §9.1", () => {
      const req = outgoing("INVITE");
      const tx = layer.sendRequest(req, PEER, () => {});
      tx.cancel();
      assert.equal(transport.requests("CANCEL").length, 0);
      transport.receive(answer(req, 180, "b1"));
      const cancels = transport.requests("CANCEL");
      assert.equal(cancels.length, 1);
      const cancel = cancels[0];
      assert.equal(getTopVia(cancel).params.branch, getTopVia(req).params.branch);
      assert.deepEqual(getCSeq(cancel), { seq: 5, method: "CANCEL" });
      assert.equal(getTo(cancel).params.tag, undefined);
      assert.equal(getHeader(cancel, "Route"), "<sip:proxy.example.com;lr>");
      // The CANCEL is its own transaction: its 200 does not end the INVITE.
      transport.receive(answer(cancel, 200, "b1"));
      const got: number[] = [];
      layer.onStrayResponse = (r) => got.push(r.status);
      transport.receive(answer(req, 487, "b1"));
      assert.deepEqual(got, []);
      assert.equal(transport.requests("ACK").length, 1);
    });

    it("adds the TU's headers to the CANCEL (RFC 3326 Reason) but keeps the §9.1 fields", () => {
      const req = outgoing("INVITE");
      const tx = layer.sendRequest(req, PEER, () => {});
      transport.receive(answer(req, 183, "b1"));
      const reason = 'SIP;cause=200;text="Call completed elsewhere"';
      tx.cancel([
        { name: "Reason", value: reason },
        { name: "CSeq", value: "99 CANCEL" },
        { name: "Call-ID", value: "forged" },
      ]);
      const cancels = transport.requests("CANCEL");
      assert.equal(cancels.length, 1);
      assert.equal(getHeader(cancels[0], "Reason"), reason);
      assert.deepEqual(getCSeq(cancels[0]), { seq: 5, method: "CANCEL" });
      assert.equal(getHeader(cancels[0], "Call-ID"), getHeader(req, "Call-ID"));
      assert.equal(cancels[0].headers.filter((h) => h.name === "CSeq").length, 1);
      // A second cancel() sends nothing more.
      tx.cancel([{ name: "Reason", value: "SIP;cause=487" }]);
      assert.equal(transport.requests("CANCEL").length, 1);
    });

    it("sends no CANCEL after a final response", () => {
      const req = outgoing("INVITE");
      const tx = layer.sendRequest(req, PEER, () => {});
      transport.receive(answer(req, 603, "b1"));
      tx.cancel();
      assert.equal(transport.requests("CANCEL").length, 0);
    });
  });

  describe("server", () => {
    let requests: { req: SipRequest; tx: ServerTransaction }[];
    beforeEach(() => {
      requests = [];
      layer.onRequest = (req, tx) => requests.push({ req, tx });
    });

    it("absorbs a retransmitted request and re-sends the last response", () => {
      transport.receive(request("OPTIONS"));
      assert.equal(requests.length, 1);
      requests[0].tx.respond(createResponse(requests[0].req, 200));
      transport.receive(request("OPTIONS"));
      assert.equal(requests.length, 1);
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [200, 200],
      );
      // Timer J ends the transaction after 64·T1; then it is a new request.
      clock.tick(32_000);
      assert.equal(layer.size.server, 0);
      transport.receive(request("OPTIONS"));
      assert.equal(requests.length, 2);
    });

    it("sends 100 Trying after 200 ms when the TU is silent", () => {
      transport.receive(request("INVITE"));
      clock.tick(199);
      assert.equal(transport.sent.length, 0);
      clock.tick(1);
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [100],
      );
      assert.equal(getTo(transport.responses()[0]).params.tag, undefined);
    });

    it("sends no 100 Trying when the TU answered first", () => {
      transport.receive(request("INVITE"));
      clock.tick(100);
      requests[0].tx.respond(createResponse(requests[0].req, 180, undefined, { toTag: "t1" }));
      clock.tick(1_000);
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [180],
      );
    });

    it("retransmits a non-2xx final response (Timer G) until the ACK, then absorbs ACKs (Timer I)", () => {
      const acks: SipRequest[] = [];
      layer.onAck = (a) => acks.push(a);
      transport.receive(request("INVITE"));
      requests[0].tx.respond(createResponse(requests[0].req, 486, undefined, { toTag: "t1" }));
      clock.tick(12_000);
      assert.deepEqual(
        transport.sent.map((s) => s.at - t0),
        [0, 500, 1500, 3500, 7500, 11500],
      );
      transport.receive(request("ACK", { toTag: "t1", cseqMethod: "ACK" }));
      clock.tick(4_999);
      transport.receive(request("ACK", { toTag: "t1", cseqMethod: "ACK" }));
      assert.equal(acks.length, 0, "ACK retransmissions are absorbed while Timer I runs");
      assert.equal(layer.size.server, 1);
      clock.tick(1);
      assert.equal(layer.size.server, 0);
      assert.equal(transport.sent.length, 6);
    });

    it("gives up on a missing ACK at 64·T1 (Timer H)", () => {
      transport.receive(request("INVITE"));
      requests[0].tx.respond(createResponse(requests[0].req, 480, undefined, { toTag: "t1" }));
      clock.tick(32_000);
      assert.equal(layer.size.server, 0);
      const count = transport.sent.length;
      clock.tick(10_000);
      assert.equal(transport.sent.length, count);
    });

    it("re-sends the provisional when the INVITE is retransmitted, and absorbs it after a 2xx", () => {
      transport.receive(request("INVITE"));
      const { req, tx } = requests[0];
      tx.respond(createResponse(req, 180, undefined, { toTag: "t1" }));
      transport.receive(request("INVITE"));
      tx.respond(createResponse(req, 200, undefined, { toTag: "t1" }));
      transport.receive(request("INVITE"));
      assert.equal(requests.length, 1);
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [180, 180, 200],
      );
    });

    it("passes the ACK of a 2xx to onAck", () => {
      const acks: SipRequest[] = [];
      layer.onAck = (a) => acks.push(a);
      transport.receive(request("INVITE"));
      requests[0].tx.respond(createResponse(requests[0].req, 200, undefined, { toTag: "t1" }));
      transport.receive(request("ACK", { branch: "z9hG4bK-peer-ack", toTag: "t1" }));
      assert.equal(acks.length, 1);
      assert.equal(requests.length, 1);
    });

    it("answers 200 to a matching CANCEL and lets the TU answer 487", () => {
      let cancelled = 0;
      transport.receive(request("INVITE"));
      const { req, tx } = requests[0];
      tx.onCancel = () => {
        cancelled++;
        tx.respond(createResponse(req, 487, undefined, { toTag: "t1" }));
      };
      tx.respond(createResponse(req, 180, undefined, { toTag: "t1" }));
      transport.receive(request("CANCEL"));
      assert.equal(cancelled, 1);
      assert.equal(requests.length, 1);
      const statuses = transport.responses().map((r) => `${r.status} ${getCSeq(r).method}`);
      assert.deepEqual(statuses, ["180 INVITE", "200 CANCEL", "487 INVITE"]);
      assert.equal(getTo(transport.responses()[1]).params.tag, "t1");
      // A retransmitted CANCEL gets the same 200 and no second onCancel.
      transport.receive(request("CANCEL"));
      assert.equal(cancelled, 1);
      assert.equal(transport.responses().at(-1)?.status, 200);
    });

    it("answers 481 to a CANCEL that matches nothing", () => {
      transport.receive(request("CANCEL", { branch: "z9hG4bK-nothing" }));
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [481],
      );
      assert.equal(requests.length, 0);
    });

    it("answers 200 to a CANCEL after the final response, without onCancel", () => {
      let cancelled = 0;
      transport.receive(request("INVITE"));
      const { req, tx } = requests[0];
      tx.onCancel = () => cancelled++;
      tx.respond(createResponse(req, 200, undefined, { toTag: "t1" }));
      transport.receive(request("CANCEL"));
      assert.equal(cancelled, 0);
      assert.equal(transport.responses().at(-1)?.status, 200);
    });

    it("matches RFC 2543 requests without a magic-cookie branch", () => {
      const acks: SipRequest[] = [];
      layer.onAck = (a) => acks.push(a);
      transport.receive(request("INVITE", { branch: "" }));
      transport.receive(request("INVITE", { branch: "" }));
      assert.equal(requests.length, 1);
      requests[0].tx.respond(createResponse(requests[0].req, 486, undefined, { toTag: "t1" }));
      transport.receive(request("ACK", { branch: "", toTag: "t1", cseqMethod: "ACK" }));
      assert.equal(acks.length, 0, "the ACK of the 486 belongs to the transaction");
      clock.tick(10_000);
      assert.equal(transport.responses().length, 1, "no Timer G retransmission after the ACK");
      // A different CSeq is a different transaction.
      transport.receive(request("INVITE", { branch: "", cseq: 2 }));
      assert.equal(requests.length, 2);
    });

    it("answers 400 to a request that failed to parse but could be read far enough", () => {
      const partial = parseMessage(Buffer.from(request("INVITE").replace(/\n/g, "\r\n")));
      transport.onParseError(new SipParseError("Bad Contact header", partial as SipRequest), PEER);
      const [res] = transport.responses();
      assert.equal(res.status, 400);
      assert.equal(res.reason, "Bad Contact header");
      assert.equal(requests.length, 0);
      transport.onParseError(new SipParseError("garbage"), PEER);
      assert.equal(transport.sent.length, 1);
    });

    it("answers a parse error with the parser's status and a To tag, never an ACK", () => {
      const partial = () =>
        parseMessage(Buffer.from(request("OPTIONS").replace(/\n/g, "\r\n"))) as SipRequest;
      transport.onParseError(new SipParseError("SIP version not supported", partial(), 505), PEER);
      const [res] = transport.responses();
      assert.equal(res.status, 505);
      assert.ok(getTo(res).params.tag, "§8.2.6.2 To tag");
      const ack = parseMessage(Buffer.from(request("ACK").replace(/\n/g, "\r\n"))) as SipRequest;
      transport.onParseError(new SipParseError("bad", ack), PEER);
      assert.equal(transport.sent.length, 1);
    });

    it("sends a final INVITE response once when told not to retransmit it (a challenge), and again on request", () => {
      const acks: SipRequest[] = [];
      layer.onAck = (a) => acks.push(a);
      transport.receive(request("INVITE"));
      const { req, tx } = requests[0];
      tx.respond(createResponse(req, 407, undefined, { toTag: "t1" }), { retransmit: false });
      clock.tick(32_000 - 1);
      assert.deepEqual(
        transport.sent.map((s) => s.at - t0),
        [0],
        "no Timer G: one datagram, not eleven",
      );
      // A real client whose 407 was lost retransmits its INVITE: it is answered again.
      transport.receive(request("INVITE"));
      assert.equal(requests.length, 1);
      assert.deepEqual(
        transport.responses().map((r) => r.status),
        [407, 407],
      );
      // The ACK still belongs to the transaction.
      transport.receive(request("ACK", { toTag: "t1", cseqMethod: "ACK" }));
      assert.equal(acks.length, 0);
      clock.tick(10_000);
      assert.equal(layer.size.server, 0);
      assert.equal(transport.sent.length, 2);
    });

    it("without the option the same 407 goes out 11 times over 32 s (Timer G), the amplification avoided above", () => {
      transport.receive(request("INVITE"));
      requests[0].tx.respond(createResponse(requests[0].req, 407, undefined, { toTag: "t1" }));
      clock.tick(32_000);
      assert.equal(transport.responses().filter((r) => r.status === 407).length, 11);
    });

    it("a challenge is not kept: a retransmission of its request is challenged again by the TU", () => {
      transport.receive(request("REGISTER"));
      const { req, tx } = requests[0];
      tx.respond(
        createResponse(req, 401, undefined, {
          toTag: "t1",
          headers: [{ name: "WWW-Authenticate", value: 'Digest realm="example.com", nonce="abc"' }],
        }),
      );
      assert.equal(layer.completedStats.count, 0);
      assert.equal(layer.size.server, 0);
      transport.receive(request("REGISTER"));
      assert.equal(requests.length, 2, "the TU sees it again");
    });

    it("keeps a completed non-INVITE transaction as response bytes: a retransmission gets the same bytes", () => {
      transport.receive(request("REGISTER"));
      const { req, tx } = requests[0];
      const res = createResponse(req, 200, undefined, {
        toTag: "t1",
        headers: [{ name: "Contact", value: "<sip:alice@192.0.2.1>;expires=3600" }],
      });
      tx.respond(res);
      assert.deepEqual(layer.completedStats.count, 1);
      assert.equal(layer.size.server, 1);
      // The TU's late second answer changes nothing.
      tx.respond(createResponse(req, 500, undefined, { toTag: "t1" }));
      transport.receive(request("REGISTER"));
      transport.receive(request("REGISTER"));
      assert.equal(requests.length, 1, "retransmissions are absorbed");
      const [first, ...again] = transport.sent;
      assert.equal(again.length, 2);
      for (const a of again) {
        assert.deepEqual(serializeMessage(a.msg), serializeMessage(first.msg));
        assert.deepEqual(a.remote, first.remote);
      }
      clock.tick(32_000);
      assert.equal(layer.size.server, 0);
      transport.receive(request("REGISTER"));
      assert.equal(requests.length, 2, "after Timer J the same request is new");
    });

    it("runs Timer J of every completed non-INVITE transaction on one timer", () => {
      for (let i = 0; i < 100; i++) {
        transport.receive(request("OPTIONS", { branch: `z9hG4bK-many-${i}` }));
        requests[i].tx.respond(createResponse(requests[i].req, 200, undefined, { toTag: "t" }));
        clock.tick(100);
      }
      assert.equal(layer.completedStats.count, 100);
      assert.equal(clock.timerCount, 1);
      // Each expires 32 s after its own completion (the i-th at i·100 ms): 0 to 49 by 32 s + 4.95 s.
      clock.tick(32_000 + 4_950 - 100 * 100);
      assert.equal(layer.completedStats.count, 50);
      transport.receive(request("OPTIONS", { branch: "z9hG4bK-many-49" }));
      transport.receive(request("OPTIONS", { branch: "z9hG4bK-many-50" }));
      assert.equal(requests.length, 101, "49 is gone and new, 50 is still absorbed");
      clock.tick(32_000);
      assert.equal(layer.size.server, 1, "only the new 49, still waiting for its answer");
      assert.equal(clock.timerCount, 0);
    });

    it("bounds the completed transactions kept, in count and in bytes, forgetting the oldest first", () => {
      layer = new TransactionLayer({
        transport,
        clock,
        log: silentLogger(),
        completedLimits: { maxCount: 3 },
      });
      layer.onRequest = (req, tx) => requests.push({ req, tx });
      const complete = (i: number) => {
        transport.receive(request("REGISTER", { branch: `z9hG4bK-bound-${i}` }));
        const { req, tx } = requests[requests.length - 1];
        tx.respond(createResponse(req, 200, undefined, { toTag: "t" }));
      };
      for (let i = 1; i <= 5; i++) complete(i);
      assert.equal(layer.completedStats.count, 3);
      assert.equal(layer.completedStats.evicted, 2);
      const before = requests.length;
      transport.receive(request("REGISTER", { branch: "z9hG4bK-bound-5" }));
      assert.equal(requests.length, before, "a recent one is still absorbed");
      transport.receive(request("REGISTER", { branch: "z9hG4bK-bound-1" }));
      assert.equal(requests.length, before + 1, "the oldest was forgotten: its retransmission is new");

      const perEntry = layer.completedStats.bytes / layer.completedStats.count;
      layer = new TransactionLayer({
        transport,
        clock,
        log: silentLogger(),
        completedLimits: { maxBytes: Math.floor(perEntry * 2.5) },
      });
      layer.onRequest = (req, tx) => requests.push({ req, tx });
      for (let i = 1; i <= 5; i++) complete(i);
      assert.equal(layer.completedStats.count, 2);
      assert.ok(layer.completedStats.bytes <= perEntry * 2.5);
    });

    it("ends a completed non-INVITE transaction at once over TCP (Timer J is zero)", () => {
      transport.receive(request("REGISTER"), PEER_TCP);
      requests[0].tx.respond(createResponse(requests[0].req, 200, undefined, { toTag: "t" }));
      assert.deepEqual(layer.size, { server: 0, client: 0 });
      assert.equal(layer.completedStats.count, 0);
    });

    it("answers 500 when the TU throws", () => {
      layer.onRequest = () => {
        throw new Error("boom");
      };
      transport.receive(request("OPTIONS"));
      assert.equal(transport.responses()[0]?.status, 500);
    });
  });

  it("close() cancels every timer", () => {
    layer.sendRequest(outgoing("INVITE"), PEER, () => {});
    transport.receive(request("OPTIONS", { branch: "z9hG4bK-x" }));
    layer.close();
    const count = transport.sent.length;
    clock.tick(100_000);
    assert.equal(transport.sent.length, count);
    assert.equal(clock.timerCount, 0);
  });
});

describe("TransactionLayer under a flood", () => {
  it("bounds the backlog: beyond it a new request gets a stateless 503 with Retry-After; dialogs keep room", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport(clock);
    const layer = new TransactionLayer({ transport, clock, log: silentLogger(), maxServerTransactions: 2 });
    const taken: ServerTransaction[] = [];
    layer.onRequest = (_req, tx) => taken.push(tx);
    // A TU slower than the senders: nothing is answered yet.
    transport.receive(request("REGISTER", { branch: "z9hG4bK-f1" }));
    transport.receive(request("REGISTER", { branch: "z9hG4bK-f2" }));
    transport.receive(request("REGISTER", { branch: "z9hG4bK-f3" }));
    assert.equal(taken.length, 2, "the third is not taken");
    const [shed] = transport.responses();
    assert.equal(shed.status, 503);
    assert.equal(getHeader(shed, "Retry-After"), "5");
    assert.match(getHeader(shed, "To") ?? "", /;tag=/);
    // A request inside a dialog (a BYE) still finds room, up to twice the bound.
    transport.receive(request("BYE", { branch: "z9hG4bK-b1", toTag: "x1" }));
    assert.equal(taken.length, 3);
    // Once answered, the backlog shrinks and new requests are taken again.
    for (const tx of taken.slice(0, 2))
      tx.respond(createResponse(tx.request, 200, undefined, { toTag: "t" }));
    transport.receive(request("REGISTER", { branch: "z9hG4bK-f4" }));
    assert.equal(taken.length, 4);
  });

  it("answered INVITEs (kept for retransmissions) do not count as backlog, up to four times the bound", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport(clock);
    const layer = new TransactionLayer({ transport, clock, log: silentLogger(), maxServerTransactions: 2 });
    const taken: ServerTransaction[] = [];
    layer.onRequest = (_req, tx) => taken.push(tx);
    // Calls answered at once: each INVITE transaction stays (Timer L) but waits for nobody.
    for (let i = 1; i <= 6; i++) {
      transport.receive(request("INVITE", { branch: `z9hG4bK-i${i}` }));
      const tx = taken.at(-1)!;
      tx.respond(createResponse(tx.request, 200, undefined, { toTag: `t${i}` }));
    }
    assert.equal(taken.length, 6, "far past the bound of 2, every call taken");
    assert.equal(transport.responses().filter((r) => r.status === 503).length, 0);
    // All kinds together stop at four times the bound: memory stays bounded.
    transport.receive(request("INVITE", { branch: "z9hG4bK-i7" }));
    transport.receive(request("INVITE", { branch: "z9hG4bK-i8" }));
    assert.equal(taken.length, 8);
    transport.receive(request("INVITE", { branch: "z9hG4bK-i9" }));
    assert.equal(taken.length, 8, "8 held (4 × 2): the ninth is shed");
    assert.equal(transport.responses().filter((r) => r.status === 503).length, 1);
    // Timer L ends the accepted ones: room again.
    for (const tx of taken.slice(6)) tx.respond(createResponse(tx.request, 200, undefined, { toTag: "t" }));
    clock.tick(64 * 500 + 1);
    transport.receive(request("INVITE", { branch: "z9hG4bK-i10" }));
    assert.equal(taken.length, 9);
  });
});
