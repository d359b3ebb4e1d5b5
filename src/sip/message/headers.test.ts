import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addHeader,
  canonicalHeaderName,
  getCallId,
  getContacts,
  getContentType,
  getCSeq,
  getExpires,
  getHeader,
  getHeaders,
  getMaxForwards,
  getRoutes,
  getTopVia,
  getVias,
  prependHeader,
  removeHeader,
  setHeader,
  splitList,
} from "./headers.ts";
import type { HeaderField, SipRequest } from "./types.ts";
import { SipParseError } from "./types.ts";

function msg(headers: Array<[string, string]>): SipRequest {
  return {
    type: "request",
    method: "INVITE",
    uri: { scheme: "sip", host: "h", params: {}, headers: {} },
    headers: headers.map(([name, value]): HeaderField => ({ name: canonicalHeaderName(name), value })),
    body: Buffer.alloc(0),
  };
}

test("canonical names: compact forms, known names, unknown names", () => {
  const cases: Array<[string, string]> = [
    ["i", "Call-ID"],
    ["M", "Contact"],
    ["e", "Content-Encoding"],
    ["l", "Content-Length"],
    ["c", "Content-Type"],
    ["f", "From"],
    ["s", "Subject"],
    ["k", "Supported"],
    ["t", "To"],
    ["v", "Via"],
    ["o", "Event"],
    ["u", "Allow-Events"],
    ["r", "Refer-To"],
    ["b", "Referred-By"],
    ["x", "Session-Expires"],
    ["a", "Accept-Contact"],
    ["j", "Reject-Contact"],
    ["d", "Request-Disposition"],
    ["y", "Identity"],
    ["n", "Identity-Info"],
    ["call-id", "Call-ID"],
    ["CSEQ", "CSeq"],
    ["www-authenticate", "WWW-Authenticate"],
    ["max-forwards", "Max-Forwards"],
    ["x-my-HEADER", "X-My-Header"],
    ["newfangledheader", "Newfangledheader"],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalHeaderName(input), expected, input);
});

test("list values split outside quotes and angle brackets only", () => {
  assert.deepEqual(splitList('"Doe, John" <sip:a@b;x=1,2>;q=1 , <sip:c@d>'), [
    '"Doe, John" <sip:a@b;x=1,2>;q=1',
    "<sip:c@d>",
  ]);
  assert.deepEqual(splitList('a, "b\\", c", d'), ["a", '"b\\", c"', "d"]);
  const m = msg([
    ["Allow", "INVITE, ACK,BYE"],
    ["allow", "OPTIONS"],
    ["WWW-Authenticate", 'Digest realm="a", nonce="b"'],
    ["WWW-Authenticate", 'Digest realm="c", nonce="d"'],
    ["Supported", ""],
  ]);
  assert.deepEqual(getHeaders(m, "ALLOW"), ["INVITE", "ACK", "BYE", "OPTIONS"]);
  assert.deepEqual(getHeaders(m, "www-authenticate"), [
    'Digest realm="a", nonce="b"',
    'Digest realm="c", nonce="d"',
  ]);
  assert.deepEqual(getHeaders(m, "k"), []);
  assert.equal(getHeader(m, "allow"), "INVITE, ACK,BYE");
  assert.equal(getHeader(m, "Require"), undefined);
});

test("set, add, prepend, remove keep positions", () => {
  const m = msg([
    ["Via", "SIP/2.0/UDP a"],
    ["To", "<sip:x@y>"],
    ["Route", "<sip:r1>"],
    ["From", "<sip:f@y>"],
    ["Route", "<sip:r2>"],
  ]);
  setHeader(m, "route", "<sip:only;lr>");
  assert.deepEqual(
    m.headers.map((h) => h.name),
    ["Via", "To", "Route", "From"],
  );
  assert.equal(getHeader(m, "Route"), "<sip:only;lr>");
  prependHeader(m, "v", "SIP/2.0/TCP b");
  assert.deepEqual(
    getVias(m).map((v) => v.host),
    ["b", "a"],
  );
  removeHeader(m, "Via");
  prependHeader(m, "Via", "SIP/2.0/TCP c");
  assert.equal(m.headers[0].value, "SIP/2.0/TCP c");
  prependHeader(m, "Record-Route", "<sip:rr;lr>");
  assert.equal(m.headers.at(-1)!.name, "Record-Route");
  addHeader(m, "x-extra", "1");
  assert.deepEqual(m.headers.at(-1), { name: "X-Extra", value: "1" });
  setHeader(m, "Max-Forwards", "70");
  assert.equal(getMaxForwards(m), 70);
  removeHeader(m, "route");
  assert.deepEqual(getRoutes(m), []);
});

test("parsed getters", () => {
  const m = msg([
    ["v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b:5070"],
    ["Via", "SIP/2.0/TLS c"],
    ["i", "abc@host"],
    ["CSeq", "4711   INVITE"],
    ["m", '"A" <sip:a@h>;expires=30, <sip:b@h>'],
    ["Contact", "sip:c@h;q=0.5"],
    ["Expires", "99999999999999"],
    ["c", "Application/SDP ; charset=utf-8"],
    ["Route", "<sip:p1;lr>, <sip:p2;lr>"],
    ["Max-Forwards", "0"],
  ]);
  assert.deepEqual(
    getVias(m).map((v) => [v.transport, v.host, v.port]),
    [
      ["UDP", "a", undefined],
      ["TCP", "b", 5070],
      ["TLS", "c", undefined],
    ],
  );
  assert.equal(getTopVia(m).params.branch, "z9hG4bK1");
  assert.equal(getCallId(m), "abc@host");
  assert.deepEqual(getCSeq(m), { seq: 4711, method: "INVITE" });
  const contacts = getContacts(m);
  assert.ok(contacts !== "*");
  assert.deepEqual(
    contacts.map((c) => [c.uri.user, c.params.expires ?? c.params.q]),
    [
      ["a", "30"],
      ["b", undefined],
      ["c", "0.5"],
    ],
  );
  assert.equal(getExpires(m), 2 ** 32 - 1);
  assert.equal(getContentType(m), "application/sdp");
  assert.deepEqual(
    getRoutes(m).map((r) => r.uri.host),
    ["p1", "p2"],
  );
  assert.equal(getMaxForwards(m), 0);
  assert.equal(getContacts(msg([["Contact", "*"]])), "*");
  assert.equal(getExpires(msg([])), undefined);
  assert.equal(getContentType(msg([])), undefined);
});

test("getters throw SipParseError on missing or malformed values", () => {
  const cases: Array<[Array<[string, string]>, (m: SipRequest) => unknown]> = [
    [[], getCallId],
    [[], getCSeq],
    [[], getTopVia],
    [[["CSeq", "2147483648 INVITE"]], getCSeq],
    [[["CSeq", "1INVITE"]], getCSeq],
    [[["CSeq", "x INVITE"]], getCSeq],
    [[["Max-Forwards", "256"]], getMaxForwards],
    [[["Max-Forwards", "-1"]], getMaxForwards],
    [[["Expires", "soon"]], getExpires],
    [[["Contact", "*, <sip:a@b>"]], getContacts],
    [[["Contact", "<sip:a@b>,,<sip:c@d>"]], getContacts],
    [[["Via", "SIP/2.0/UDP a, "]], getVias],
    [[["Call-ID", "a b"]], getCallId],
  ];
  for (const [headers, getter] of cases) {
    assert.throws(() => getter(msg(headers)), SipParseError, JSON.stringify(headers));
  }
});
