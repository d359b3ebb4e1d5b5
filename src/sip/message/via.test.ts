import assert from "node:assert/strict";
import { test } from "node:test";
import { SipParseError } from "./types.ts";
import { formatVia, parseVia } from "./via.ts";

test("Via parts, whitespace and IPv6", () => {
  assert.deepEqual(parseVia("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=192.0.2.9"), {
    transport: "UDP",
    host: "192.0.2.1",
    port: 5060,
    params: { branch: "z9hG4bK776", rport: null, received: "192.0.2.9" },
  });
  assert.deepEqual(parseVia("sip / 2.0 / tcp  [2001:db8::9] : 5070 ; received=2001:db8::9:1"), {
    transport: "TCP",
    host: "[2001:db8::9]",
    port: 5070,
    params: { received: "2001:db8::9:1" },
  });
  assert.equal(parseVia("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx").transport, "WSS");
});

test("malformed Via throws SipParseError", () => {
  for (const bad of [
    "SIP/x.y/UDP h",
    "SIP/2.0 h",
    "SIP/2.0/UDP",
    "SIP/2.0/UDPh",
    "SIP/2.0/UDP h:",
    "SIP/2.0/UDP h:70000",
    "SIP/2.0/UDP h;;",
    "SIP/2.0/UDP h;branch=",
    "SIP/2.0/UDP [::1",
    "HTTP/2.0/UDP h",
    "SIP/2.0/UDP h junk",
  ]) {
    assert.throws(() => parseVia(bad), SipParseError, bad);
  }
});

test("another SIP version is read (so that it can be refused with 505) and kept", () => {
  const via = parseVia("SIP/7.0/UDP h;branch=z9hG4bKv");
  assert.equal(via.version, "7.0");
  assert.equal(formatVia(via), "SIP/7.0/UDP h;branch=z9hG4bKv");
  assert.equal(parseVia("SIP/2.0/UDP h").version, undefined);
});

test("format round-trips", () => {
  const text = "SIP/2.0/TLS [::1]:5061;branch=z9hG4bKa;rport=5061;alias";
  assert.equal(formatVia(parseVia(text)), text);
  assert.equal(formatVia(parseVia("SIP/2.0/UDP h")), "SIP/2.0/UDP h");
});
