import assert from "node:assert/strict";
import { test } from "node:test";
import { createResponse, newBranch, newCallId, newTag, reasonPhrase } from "./build.ts";
import { getHeader, getHeaders, getTo } from "./headers.ts";
import { parseMessage } from "./parse.ts";
import { serializeMessage } from "./serialize.ts";
import type { SipRequest } from "./types.ts";

const request = (to = "<sip:b@acme.test>") =>
  parseMessage(
    Buffer.from(
      "INVITE sip:b@acme.test SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1\r\nRecord-Route: <sip:p1;lr>\r\n" +
        'Via: SIP/2.0/UDP p2;branch=z9hG4bK2, SIP/2.0/UDP ua;branch=z9hG4bK3\r\nFrom: "A" <sip:a@acme.test>;tag=9\r\n' +
        `To: ${to}\r\nCall-ID: cid\r\nCSeq: 5 INVITE\r\nTimestamp: 54\r\nContact: <sip:a@ua>\r\nContent-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest;

test("responses copy Via (in order), From, To, Call-ID, CSeq (§8.2.6.2)", () => {
  const res = createResponse(request(), 180, undefined, { toTag: "xyz" });
  assert.equal(res.reason, "Ringing");
  assert.deepEqual(
    res.headers.map((h) => h.name),
    ["Via", "Via", "From", "To", "Call-ID", "CSeq"],
  );
  assert.deepEqual(getHeaders(res, "Via").length, 3);
  assert.equal(getTo(res).params.tag, "xyz");
  assert.equal(getHeader(res, "From"), '"A" <sip:a@acme.test>;tag=9');
});

test("an existing To tag is kept; 100 echoes Timestamp; extra headers and body", () => {
  const res = createResponse(request("<sip:b@acme.test>;tag=old"), 200, "Fine", {
    toTag: "new",
    headers: [{ name: "Contact", value: "<sip:b@pbx>" }],
    body: Buffer.from("v=0\r\n"),
    contentType: "application/sdp",
  });
  assert.equal(getTo(res).params.tag, "old");
  assert.equal(res.reason, "Fine");
  assert.equal(getHeader(res, "Contact"), "<sip:b@pbx>");
  assert.equal(getHeader(res, "Timestamp"), undefined);
  const wire = parseMessage(serializeMessage(res));
  assert.equal(getHeader(wire, "Content-Type"), "application/sdp");
  assert.equal(wire.body.toString(), "v=0\r\n");
  assert.equal(getHeader(createResponse(request(), 100), "Timestamp"), "54");
});

test("reason phrases", () => {
  assert.equal(reasonPhrase(200), "OK");
  assert.equal(reasonPhrase(423), "Interval Too Brief");
  assert.equal(reasonPhrase(489), "Bad Event");
  assert.equal(reasonPhrase(494), "Security Agreement Required");
  assert.equal(reasonPhrase(580), "Precondition Failure");
  assert.equal(reasonPhrase(481), "Call/Transaction Does Not Exist");
  assert.equal(reasonPhrase(499), "Client Error");
});

test("identifiers are random, well formed and distinct", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const b = newBranch();
    assert.match(b, /^z9hG4bK[0-9a-f]{24}$/);
    seen.add(b);
    seen.add(newTag());
    seen.add(newCallId());
  }
  assert.equal(seen.size, 6000);
  assert.match(newTag(), /^[0-9a-f]{16}$/);
  assert.match(newCallId(), /^[0-9a-f]{32}$/);
});
