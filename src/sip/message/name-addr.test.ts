import assert from "node:assert/strict";
import { test } from "node:test";
import { formatNameAddr, parseNameAddr } from "./name-addr.ts";
import { SipParseError } from "./types.ts";

test("name-addr forms", () => {
  assert.deepEqual(parseNameAddr('"Alice \\"A\\" Smith" <sip:alice@acme.test>;tag=1928301774'), {
    displayName: 'Alice "A" Smith',
    uri: { scheme: "sip", user: "alice", host: "acme.test", params: {}, headers: {} },
    params: { tag: "1928301774" },
  });
  const tokens = parseNameAddr("Bob  Smith <sip:bob@acme.test;transport=tcp> ; expires = 60 ;Q=0.5");
  assert.equal(tokens.displayName, "Bob  Smith");
  assert.deepEqual(tokens.uri.params, { transport: "tcp" });
  assert.deepEqual(tokens.params, { expires: "60", q: "0.5" });
  assert.equal(parseNameAddr("Zoë Müller <sip:z@h>").displayName, "Zoë Müller");
  const bare = parseNameAddr("<sip:[2001:db8::5]:5060>");
  assert.equal(bare.displayName, undefined);
  assert.equal(bare.uri.host, "[2001:db8::5]");
});

test("addr-spec: parameters belong to the header", () => {
  const n = parseNameAddr("sip:+41441234567@gw.example;user=phone;tag=x");
  assert.deepEqual(n.uri.params, {});
  assert.deepEqual(n.params, { user: "phone", tag: "x" });
});

test("quoted parameter values keep their quotes; a quoted < does not make a name-addr", () => {
  const n = parseNameAddr('<sip:a@b>;+sip.instance="<urn:uuid:1234>";reg-id=1');
  assert.equal(n.params["+sip.instance"], '"<urn:uuid:1234>"');
  const spec = parseNameAddr('sip:a@b;+sip.instance="<urn:uuid:1>"');
  assert.equal(spec.uri.host, "b");
  assert.equal(spec.params["+sip.instance"], '"<urn:uuid:1>"');
});

test("malformed name-addr throws SipParseError", () => {
  for (const bad of [
    '"unterminated <sip:a@b>',
    "Bell, Alexander <sip:a@b>",
    "< sip:a@b >",
    "<sip:a@b",
    "sip:a@b?x=y",
    "<sip:a@b>;;",
    "<sip:a@b>;tag=",
    "<sip:a@b> junk",
    '"x" sip:a@b',
    "",
    '<sip:a@b>;a="open',
  ]) {
    assert.throws(() => parseNameAddr(bad), SipParseError, bad);
  }
});

test("format writes <uri> and quotes display names only when needed", () => {
  const plain = parseNameAddr("sip:alice@acme.test;tag=9");
  assert.equal(formatNameAddr(plain), "<sip:alice@acme.test>;tag=9");
  assert.equal(
    formatNameAddr({ displayName: "Müller, Hans", uri: plain.uri, params: {} }),
    '"Müller, Hans" <sip:alice@acme.test>',
  );
  assert.equal(
    formatNameAddr({ displayName: "Zoë", uri: plain.uri, params: {} }),
    '"Zoë" <sip:alice@acme.test>',
  );
  assert.equal(
    formatNameAddr({ displayName: "Reception", uri: plain.uri, params: {} }),
    "Reception <sip:alice@acme.test>",
  );
  const tricky = { displayName: 'say "hi" \\', uri: plain.uri, params: { q: "0.1" } };
  assert.deepEqual(parseNameAddr(formatNameAddr(tricky)), tricky);
});

test("a sips Contact, or one with transport=tls, is kept as the phone wrote it", () => {
  for (const text of [
    "<sips:101@192.0.2.7:5071>;expires=600",
    '<sip:101@192.0.2.7:5071;transport=tls>;+sip.instance="<urn:uuid:0001>"',
  ]) {
    assert.equal(formatNameAddr(parseNameAddr(text)), text);
  }
  assert.equal(parseNameAddr("sips:101@192.0.2.7").uri.scheme, "sips");
});
