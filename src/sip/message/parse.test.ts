import assert from "node:assert/strict";
import { test } from "node:test";
import { getCallId, getCSeq, getHeader, getHeaders, getTopVia } from "./headers.ts";
import { parseMessage } from "./parse.ts";
import { serializeMessage } from "./serialize.ts";
import { LIMITS, type SipMessage, SipParseError } from "./types.ts";

const HEAD =
  "OPTIONS sip:b@acme.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@acme.test>;tag=1\r\n" +
  "To: <sip:b@acme.test>\r\nCall-ID: abc\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n";

const parse = (text: string | Buffer): SipMessage =>
  parseMessage(Buffer.isBuffer(text) ? text : Buffer.from(text));

function rejects(text: string | Buffer): SipParseError {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof SipParseError);
    return e;
  }
  assert.fail("expected SipParseError");
}

test("compact and odd-case names are stored canonically, values trimmed", () => {
  const m = parse(
    "INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKa\r\nf: <sip:a@h>;tag=1\r\nt:<sip:b@h>\r\ni:   id1  \r\n" +
      "cseq: 1 INVITE\r\nX-CUSTOM-thing :  v \r\nk: timer, 100rel\r\nl: 0\r\n\r\n",
  );
  assert.deepEqual(
    m.headers.map((h) => `${h.name}=${h.value}`),
    [
      "Via=SIP/2.0/UDP h;branch=z9hG4bKa",
      "From=<sip:a@h>;tag=1",
      "To=<sip:b@h>",
      "Call-ID=id1",
      "CSeq=1 INVITE",
      "X-Custom-Thing=v",
      "Supported=timer, 100rel",
      "Content-Length=0",
    ],
  );
  assert.deepEqual(getHeaders(m, "Supported"), ["timer", "100rel"]);
});

test("bare LF line ends and leading CRLFs are tolerated", () => {
  const m = parse("\r\n\r\n" + (HEAD + "Content-Length: 4\r\n\r\nbody").replaceAll("\r\n", "\n"));
  assert.equal(getCallId(m), "abc");
  assert.equal(m.body.toString(), "body");
  const mixed = parse(HEAD + "Content-Length: 2\r\n\nhi");
  assert.equal(mixed.body.toString(), "hi");
});

test("UDP framing: no Content-Length takes the rest, extra bytes are ignored, short bodies are errors", () => {
  assert.equal(parse(HEAD + "\r\nv=0\r\n").body.toString(), "v=0\r\n");
  assert.equal(parse(HEAD + "Content-Length: 3\r\n\r\nv=0\r\nrest").body.toString(), "v=0");
  assert.equal(parse(HEAD + "Content-Length: 0\r\n\r\n").body.length, 0);
  const e = rejects(HEAD + "Content-Length: 10\r\n\r\nv=0\r\n");
  assert.match(e.message, /Content-Length/);
  assert.ok(e.request, "a 400 can be answered");
  // No empty line at all: the header section ends with the datagram.
  assert.equal(getCallId(parse(HEAD)), "abc");
});

test("folding joins lines with one space", () => {
  const m = parse(HEAD + "Subject: one\r\n   two\r\n\tthree\r\nContent-Length: 0\r\n\r\n");
  assert.equal(getHeader(m, "Subject"), "one two three");
});

test("start line checks", () => {
  rejects("OPTIONS sip:b@h SIP/2.0 \r\n");
  rejects("OPTIONS  sip:b@h SIP/2.0\r\n");
  rejects("OPTIONS sip:b@h\r\n");
  rejects("OPT IONS sip:b@h SIP/2.0\r\n");
  rejects("OPT(ONS sip:b@h SIP/2.0\r\n");
  rejects("SIP/2.0 20 OK\r\n");
  rejects("SIP/2.0 2000 OK\r\n");
  rejects("SIP/2.0 099 Odd\r\n");
  rejects("SIP/2.1 200 OK\r\n");
  rejects("");
  rejects("\r\n\r\n");
  const version = rejects(HEAD.replace("SIP/2.0\r\n", "SIP/3.0\r\n") + "\r\n");
  assert.equal(version.status, 505);
  assert.equal(version.request?.method, "OPTIONS");
  const uri = rejects(HEAD.replace("sip:b@acme.test", "sip:b@acme.test?x=y") + "\r\n");
  assert.ok(uri.request);
  assert.deepEqual(uri.request.uri.headers, { x: "y" });
  const ltgt = rejects(HEAD.replace("sip:b@acme.test", "<sip:b@acme.test>") + "\r\n");
  assert.equal(ltgt.request?.uri.opaque, "<sip:b@acme.test>", "an unreadable URI is kept as text");
});

test("mandatory headers", () => {
  for (const name of ["Via", "From", "To", "Call-ID", "CSeq"]) {
    const text = HEAD.split("\r\n")
      .filter((l) => !l.startsWith(name + ":"))
      .join("\r\n");
    const e = rejects(text + "\r\n");
    assert.match(e.message, new RegExp(`missing ${name}`));
    assert.equal(Boolean(e.request), name !== "Via", name);
  }
  // Max-Forwards is only a SHOULD: tolerated.
  assert.ok(parse(HEAD.replace("Max-Forwards: 70\r\n", "") + "\r\n"));
  rejects("SIP/2.0 200 OK\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n");
  const response = parse(
    "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
  );
  assert.equal(response.type === "response" && response.reason, "Ringing");
});

test("scalar fields", () => {
  rejects(HEAD.replace("Max-Forwards: 70", "Max-Forwards: 256") + "\r\n");
  rejects(HEAD.replace("CSeq: 1 OPTIONS", "CSeq: 2147483648 OPTIONS") + "\r\n");
  assert.equal(
    getCSeq(parse(HEAD.replace("CSeq: 1 OPTIONS", "CSeq: 2147483647 OPTIONS") + "\r\n")).seq,
    2 ** 31 - 1,
  );
  rejects(HEAD + "Expires: -1\r\n\r\n");
  rejects(HEAD + "Content-Length: 1e3\r\n\r\n");
  assert.ok(
    parse(HEAD + "Expires: 99999999999999999999\r\n\r\n"),
    "large Expires means 2**32-1, not an error",
  );
  assert.ok(parse(HEAD + "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\r\n"));
});

test("bad header lines are errors, and the rest of the request stays answerable", () => {
  const e = rejects(HEAD + "this line has no colon\r\n\r\n");
  assert.match(e.message, /colon/);
  assert.equal(getTopVia(e.request!).params.branch, "z9hG4bKx");
  rejects(HEAD + "Bad Name: x\r\n\r\n");
  rejects(HEAD.replace("\r\nVia", "\r\n continuation\r\nVia") + "\r\n");
  rejects(HEAD.replace(/^(OPTIONS[^\r]*\r\n)/, "$1 folded start line\r\n") + "\r\n");
});

test("limits", () => {
  const big = rejects(HEAD + "X: " + "a".repeat(LIMITS.maxMessageBytes) + "\r\n\r\n");
  assert.equal(big.status, 513);
  rejects(HEAD + "X: " + "a".repeat(LIMITS.maxLineLength + 1) + "\r\n\r\n");
  rejects(HEAD + "X: a\r\n".repeat(LIMITS.maxHeaderCount) + "\r\n");
  assert.ok(parse(HEAD + "X: a\r\n".repeat(LIMITS.maxHeaderCount - 10) + "\r\n"));
});

test("IPv6 everywhere", () => {
  const m = parse(
    "INVITE sip:b@[2001:db8::2]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;received=2001:db8::9\r\n" +
      "From: <sip:a@[2001:db8::1]>;tag=1\r\nTo: <sip:b@[2001:db8::2]>\r\nCall-ID: x@[2001:db8::1]\r\nCSeq: 1 INVITE\r\n" +
      "Contact: <sip:a@[2001:db8::1]:5060;transport=udp>\r\n\r\n",
  );
  assert.equal(m.type === "request" && m.uri.host, "[2001:db8::2]");
  assert.equal(getTopVia(m).host, "[2001:db8::1]");
  assert.equal(getTopVia(m).params.received, "2001:db8::9");
});

test("serialise: canonical names, one Content-Length matching the body, no injected lines", () => {
  const m = parse(HEAD + "l: 99\r\nContent-Length: 98\r\n\r\n" + "x".repeat(99));
  m.body = Buffer.from("héllo");
  m.headers.push({ name: "subject", value: "a\r\nInjected: yes" });
  const text = serializeMessage(m).toString();
  assert.ok(
    text.startsWith("OPTIONS sip:b@acme.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"),
  );
  assert.equal(text.match(/Content-Length/g)?.length, 1);
  assert.ok(text.endsWith("Subject: a  Injected: yes\r\nContent-Length: 6\r\n\r\nhéllo"));
  const again = parse(Buffer.from(text));
  assert.equal(again.body.toString(), "héllo");
});
