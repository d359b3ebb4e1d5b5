import assert from "node:assert/strict";
import { test } from "node:test";
import { parseUri } from "../message/uri.ts";
import { remoteOfUri, transportOfUri } from "./uri-destination.ts";

const transport = (u: string) => transportOfUri(parseUri(u));

test("RFC 3263 §4.1: sips means TLS, else the transport parameter, else UDP", () => {
  assert.equal(transport("sip:101@192.0.2.1"), "UDP");
  assert.equal(transport("sip:101@192.0.2.1;transport=udp"), "UDP");
  assert.equal(transport("sip:101@192.0.2.1;transport=TCP"), "TCP");
  assert.equal(transport("sip:101@192.0.2.1;transport=tls"), "TLS");
  assert.equal(transport("sips:101@192.0.2.1"), "TLS");
  assert.equal(transport("sips:101@192.0.2.1;transport=tcp"), "TLS");
  assert.equal(transport("sip:101@192.0.2.1;transport=ws"), undefined);
  assert.equal(transport("sips:101@192.0.2.1;transport=udp"), undefined);
  assert.equal(transport("tel:+41441234567"), undefined);
});

test("the port defaults to 5061 over TLS, 5060 otherwise; host names need DNS", () => {
  assert.deepEqual(remoteOfUri(parseUri("sips:101@192.0.2.1")), {
    transport: "TLS",
    address: "192.0.2.1",
    port: 5061,
  });
  assert.deepEqual(remoteOfUri(parseUri("sip:101@[2001:db8::1]:5071;transport=tls")), {
    transport: "TLS",
    address: "2001:db8::1",
    port: 5071,
  });
  assert.deepEqual(remoteOfUri(parseUri("sip:101@192.0.2.1;transport=tcp")), {
    transport: "TCP",
    address: "192.0.2.1",
    port: 5060,
  });
  assert.equal(remoteOfUri(parseUri("sips:101@pbx.example.com")), undefined);
  assert.equal(remoteOfUri(parseUri("sip:101@192.0.2.1;transport=sctp")), undefined);
});
