import assert from "node:assert/strict";
import { test } from "node:test";
import { SipParseError } from "./types.ts";
import { formatUri, parseUri, uriEquals } from "./uri.ts";

test("sip URI parts", () => {
  assert.deepEqual(
    parseUri("sip:alice:secret@Example.COM:5070;transport=tcp;lr?subject=hi%20there&priority=urgent"),
    {
      scheme: "sip",
      user: "alice",
      password: "secret",
      host: "Example.COM",
      port: 5070,
      params: { transport: "tcp", lr: null },
      headers: { subject: "hi there", priority: "urgent" },
    },
  );
  assert.deepEqual(parseUri("SIPS:[2001:db8::1]:5061"), {
    scheme: "sips",
    host: "[2001:db8::1]",
    port: 5061,
    params: {},
    headers: {},
  });
  assert.equal(parseUri("sip:*21*0791234567%23@acme.test").user, "*21*0791234567#");
  assert.equal(parseUri("sip:192.0.2.1").host, "192.0.2.1");
});

test("tel and other schemes", () => {
  assert.deepEqual(parseUri("tel:+41-44-123-45-67;phone-context=+41"), {
    scheme: "tel",
    user: "+41-44-123-45-67",
    host: "",
    params: { "phone-context": "+41" },
    headers: {},
  });
  assert.equal(parseUri("urn:service:sos").opaque, "service:sos");
  assert.equal(formatUri(parseUri("urn:service:sos")), "urn:service:sos");
});

test("malformed URIs throw SipParseError", () => {
  for (const bad of [
    "",
    "sip:",
    "sip:user@",
    "sip:@host",
    "sip:host:",
    "sip:host:99999",
    "sip:host;",
    "sip:host;=x",
    "sip:[::1",
    "sip:[zz]",
    "sip:ho st",
    "<sip:host>",
    "sip:host?x",
    "sip:a@b@c",
    "nocolon",
    "1abc:x",
    "tel:",
    "sip:h;__proto__=1",
  ]) {
    assert.throws(() => parseUri(bad), SipParseError, bad);
  }
});

test("format escapes what needs it and round-trips", () => {
  const uri = parseUri("sip:I%20have%20spaces@example.net;n%61me=v%61lue%25%34%31");
  assert.equal(uri.user, "I have spaces");
  assert.equal(formatUri(uri), "sip:I%20have%20spaces@example.net;name=value%2541");
  const odd = { scheme: "sip", user: "a@b#c", host: "h", params: { "x y": "1;2" }, headers: { h: "a&b" } };
  const text = formatUri(odd);
  assert.equal(text, "sip:a%40b%23c@h;x%20y=1%3B2?h=a%26b");
  assert.deepEqual(parseUri(text), odd);
  assert.equal(
    formatUri(parseUri("sip:+41441234567@acme.test;user=phone")),
    "sip:+41441234567@acme.test;user=phone",
  );
  assert.equal(formatUri(parseUri("sip:caf%C3%A9@h")), "sip:caf%C3%A9@h");
  assert.equal(parseUri("sip:caf%C3%A9@h").user, "café");
});

test("RFC 3261 §19.1.4 equivalent URIs", () => {
  const eq = (a: string, b: string) => uriEquals(parseUri(a), parseUri(b));
  assert.ok(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  assert.ok(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  assert.ok(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
  assert.ok(
    eq(
      "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
      "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
  );
  assert.ok(
    eq(
      "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
      "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
  );
  // and the RFC's non-equivalent pairs
  assert.ok(!eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  assert.ok(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  assert.ok(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  assert.ok(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  assert.ok(!eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  assert.ok(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  assert.ok(!eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  assert.ok(!eq("sip:a@h", "sips:a@h"));
});

test("sips URIs (RFC 3261 §19.1, §26.2.2) parse, format and compare as themselves", () => {
  const text = "sips:101@acme.test:5061;transport=tls;lr";
  const uri = parseUri(text);
  assert.equal(uri.scheme, "sips");
  assert.equal(uri.port, 5061);
  assert.equal(uri.params.transport, "tls");
  assert.equal(formatUri(uri), text);
  assert.equal(formatUri(parseUri("SIPS:101@[2001:db8::1]")), "sips:101@[2001:db8::1]");
  // A sips URI and the sip URI of the same resource are different URIs (§19.1.4).
  assert.ok(uriEquals(parseUri("sips:101@acme.test"), parseUri("SIPS:101@ACME.test")));
  assert.ok(!uriEquals(parseUri("sips:101@acme.test"), parseUri("sip:101@acme.test;transport=tls")));
});
