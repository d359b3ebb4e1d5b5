import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamFramer } from "./framer.ts";
import { parseMessage } from "./parse.ts";
import { SipParseError } from "./types.ts";

const invite = (n: number, body = "v=0\r\n") =>
  `INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK${n}\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n` +
  `Call-ID: c${n}\r\nCSeq: ${n} INVITE\r\nl : ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const frames = (items: Array<Buffer | "ping">) => items.map((i) => (i === "ping" ? i : i.toString()));

test("two messages in one chunk", () => {
  const framer = new StreamFramer();
  const out = framer.push(Buffer.from(invite(1) + invite(2, "")));
  assert.deepEqual(frames(out), [invite(1), invite(2, "")]);
  assert.equal(framer.buffered, 0);
});

test("split across chunk boundaries byte by byte, with keep-alives between messages", () => {
  const stream = Buffer.from(
    "\r\n\r\n" + invite(1, "é body with\r\n\r\ninside") + "\r\n" + invite(2) + "\r\n\r\n",
  );
  const framer = new StreamFramer();
  const out: Array<Buffer | "ping"> = [];
  for (let i = 0; i < stream.length; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
  assert.deepEqual(frames(out), ["ping", invite(1, "é body with\r\n\r\ninside"), invite(2), "ping"]);
  for (const item of out) if (item !== "ping") assert.equal(parseMessage(item).type, "request");
});

test("a lone CRLF is skipped and a CRLFCRLF ping can arrive in pieces", () => {
  const framer = new StreamFramer();
  assert.deepEqual(framer.push(Buffer.from("\r\n")), []);
  assert.deepEqual(framer.push(Buffer.from("\r")), []);
  assert.deepEqual(framer.push(Buffer.from("\n")), ["ping"]);
  assert.deepEqual(framer.push(Buffer.from("\r\nINVI")), []);
  assert.deepEqual(frames(framer.push(Buffer.from(invite(3).slice(4)))), [invite(3)]);
});

test("folded Content-Length and the compact form are understood", () => {
  const msg = "OPTIONS sip:h SIP/2.0\r\nContent-Length:\r\n  3\r\n\r\nabc";
  assert.deepEqual(frames(new StreamFramer().push(Buffer.from(msg + msg))), [msg, msg]);
});

test("oversize header section, missing or bad Content-Length close the stream", () => {
  const small = new StreamFramer({ maxHeaderBytes: 100 });
  assert.throws(
    () => small.push(Buffer.from("OPTIONS sip:h SIP/2.0\r\nX: " + "a".repeat(200))),
    SipParseError,
  );
  const growing = new StreamFramer({ maxHeaderBytes: 100 });
  assert.throws(() => {
    for (let i = 0; i < 50; i++) growing.push(Buffer.from("X: aaaa\r\n"));
  }, SipParseError);
  assert.throws(
    () => new StreamFramer().push(Buffer.from("OPTIONS sip:h SIP/2.0\r\nVia: x\r\n\r\n")),
    SipParseError,
  );
  assert.throws(
    () => new StreamFramer().push(Buffer.from("OPTIONS sip:h SIP/2.0\r\nl: -1\r\n\r\n")),
    SipParseError,
  );
  assert.throws(
    () => new StreamFramer().push(Buffer.from("OPTIONS sip:h SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n")),
    SipParseError,
  );
  assert.throws(
    () =>
      new StreamFramer({ maxMessageBytes: 1000 }).push(
        Buffer.from("OPTIONS sip:h SIP/2.0\r\nl: 5000\r\n\r\n"),
      ),
    SipParseError,
  );
});

test("waits for the whole body", () => {
  const framer = new StreamFramer();
  const text = invite(7, "0123456789");
  assert.deepEqual(framer.push(Buffer.from(text.slice(0, -4))), []);
  assert.deepEqual(frames(framer.push(Buffer.from(text.slice(-4)))), [text]);
});

test("a 65 KB message in 1-byte pieces costs linear copying, not quadratic", () => {
  const body = "x".repeat(65_000);
  const text = `MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const stream = Buffer.from(text);
  const framer = new StreamFramer({ maxMessageBytes: 70_000 });
  const out: Array<Buffer | "ping"> = [];
  for (let i = 0; i < stream.length; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
  assert.deepEqual(frames(out), [text]);
  // Concatenating the whole buffer on every chunk copied n²/2 ≈ 2.1e9 bytes.
  assert.ok(
    framer.bytesCopied < 3 * stream.length,
    `copied ${framer.bytesCopied} bytes for ${stream.length}`,
  );
  assert.equal(framer.buffered, 0);
});

test("whole messages in one chunk are handed out without copying", () => {
  const framer = new StreamFramer();
  const out = framer.push(Buffer.from(invite(1) + "\r\n\r\n" + invite(2)));
  assert.deepEqual(frames(out), [invite(1), "ping", invite(2)]);
  assert.equal(framer.bytesCopied, 0);
});

test("a message handed out is not overwritten by the bytes that follow it", () => {
  const framer = new StreamFramer();
  const first = invite(1, "first body");
  const second = invite(2, "second body");
  const stream = Buffer.from(first + second + invite(3));
  const out: Array<Buffer | "ping"> = [];
  // Pieces of 7 bytes: the first message is assembled in the framer's own
  // storage, and the start of the second lands in the same storage.
  for (let i = 0; i < stream.length; i += 7) {
    out.push(...framer.push(stream.subarray(i, i + 7)));
    if (out.length === 1) assert.equal(frames(out)[0], first);
  }
  assert.deepEqual(frames(out), [first, second, invite(3)]);
});

test("an unfinished message may not grow past the limits: the buffered bytes stay bounded", () => {
  const framer = new StreamFramer({ maxMessageBytes: 1000 });
  assert.throws(() => {
    for (let i = 0; i < 200; i++) framer.push(Buffer.from("X-Pad: 0123456789\r\n"));
  }, SipParseError);
  assert.ok(framer.buffered <= 1000 + 20);
});
