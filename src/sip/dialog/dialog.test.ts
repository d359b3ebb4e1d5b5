import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatUri, getCSeq, getHeader, getHeaders, parseMessage, parseNameAddr } from "../message/index.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import type { RemoteAddress } from "../transport/types.ts";
import { Dialog } from "./dialog.ts";

const REMOTE: RemoteAddress = { transport: "UDP", address: "192.0.2.1", port: 5060 };

function parse(lines: string[]): SipRequest | SipResponse {
  return parseMessage(Buffer.from([...lines, "Content-Length: 0", "", ""].join("\r\n"))) as
    | SipRequest
    | SipResponse;
}

const invite = parse([
  "INVITE sip:bob@pbx.example.com SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1",
  "Record-Route: <sip:p2.example.com;lr>",
  "Record-Route: <sip:p1.example.com;lr>",
  "Max-Forwards: 70",
  'From: "Alice" <sip:alice@example.com>;tag=a1',
  "To: <sip:bob@example.com>",
  "Call-ID: dlg-1",
  "CSeq: 10 INVITE",
  "Contact: <sip:alice@192.0.2.1:5062>",
]) as SipRequest;

const ok = parse([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1",
  "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
  'From: "Alice" <sip:alice@example.com>;tag=a1',
  "To: <sip:bob@example.com>;tag=b1",
  "Call-ID: dlg-1",
  "CSeq: 10 INVITE",
  "Contact: <sip:bob@192.0.2.9:5064>",
]) as SipResponse;

describe("Dialog", () => {
  it("takes the route set from Record-Route in order on the UAS side", () => {
    const d = Dialog.asUas(invite, "b1", parseNameAddr("<sip:pbx@192.0.2.10>"), REMOTE);
    assert.deepEqual(
      d.routeSet.map((r) => r.uri.host),
      ["p2.example.com", "p1.example.com"],
    );
    assert.equal(d.remoteSeq, 10);
    assert.equal(d.remoteTag, "a1");
    assert.equal(d.localTag, "b1");
    assert.equal(formatUri(d.remoteTarget), "sip:alice@192.0.2.1:5062");
    const bye = d.createRequest("BYE");
    assert.equal(formatUri(bye.uri), "sip:alice@192.0.2.1:5062");
    assert.deepEqual(getHeaders(bye, "Route"), ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
    assert.match(getHeader(bye, "From")!, /tag=b1/);
    assert.match(getHeader(bye, "To")!, /tag=a1/);
    assert.equal(getHeader(bye, "Contact"), undefined);
    assert.equal(getHeader(bye, "Max-Forwards"), "70");
  });

  it("reverses the route set on the UAC side and counts CSeq up except for ACK", () => {
    const d = Dialog.asUac(invite, ok, REMOTE);
    assert.deepEqual(
      d.routeSet.map((r) => r.uri.host),
      ["p1.example.com", "p2.example.com"],
    );
    assert.equal(d.localTag, "a1");
    assert.equal(d.remoteTag, "b1");
    assert.equal(d.remoteSeq, undefined);
    const ack = d.createRequest("ACK", { cseq: 10 });
    assert.deepEqual(getCSeq(ack), { seq: 10, method: "ACK" });
    const reinvite = d.createRequest("INVITE");
    assert.deepEqual(getCSeq(reinvite), { seq: 11, method: "INVITE" });
    assert.equal(getHeader(reinvite, "Contact"), "<sip:alice@192.0.2.1:5062>");
    assert.equal(formatUri(reinvite.uri), "sip:bob@192.0.2.9:5064");
  });

  it("puts a strict router in the Request-URI and the remote target last (§12.2.1.1)", () => {
    const strict = { ...ok, headers: ok.headers.map((h) => ({ ...h })) };
    for (const h of strict.headers)
      if (h.name === "Record-Route") h.value = "<sip:p2.example.com>, <sip:p1.example.com>";
    const d = Dialog.asUac(invite, strict, REMOTE);
    const bye = d.createRequest("BYE");
    assert.equal(formatUri(bye.uri), "sip:p1.example.com");
    assert.deepEqual(getHeaders(bye, "Route"), ["<sip:p2.example.com>", "<sip:bob@192.0.2.9:5064>"]);
  });

  it("rejects a lower CSeq and refreshes the target on re-INVITE", () => {
    const d = Dialog.asUas(invite, "b1", parseNameAddr("<sip:pbx@192.0.2.10>"), REMOTE);
    const reinvite = {
      ...invite,
      headers: invite.headers.map((h) =>
        h.name === "CSeq"
          ? { name: "CSeq", value: "11 INVITE" }
          : h.name === "Contact"
            ? { name: "Contact", value: "<sip:alice@198.51.100.7:6000>" }
            : h,
      ),
    };
    assert.equal(d.acceptRequest(reinvite), "ok");
    assert.equal(formatUri(d.remoteTarget), "sip:alice@198.51.100.7:6000");
    const old = { ...invite, method: "INFO" };
    assert.equal(d.acceptRequest(old), "out-of-order");
    assert.equal(d.remoteSeq, 11);
  });

  it("matches requests from the peer and responses to our requests", () => {
    const d = Dialog.asUac(invite, ok, REMOTE);
    assert.equal(d.matches(ok), true);
    const fromPeer = d.createRequest("BYE");
    assert.equal(d.matches(fromPeer), false, "our own request has the tags the other way round");
  });
});
