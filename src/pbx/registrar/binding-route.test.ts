import assert from "node:assert/strict";
import { test } from "node:test";
import { bindingRoute } from "./binding-route.ts";

const source = { transport: "UDP" as const, address: "192.0.2.1", port: 5070 };

test("without a Path: the source of the REGISTER, no Route", () => {
  assert.deepEqual(bindingRoute({ source }), { remote: source, routes: [] });
  assert.deepEqual(bindingRoute({ source, path: [] }), { remote: source, routes: [] });
});

test("with a Path: one Route per value in order, to the first entry's address (RFC 3327 §5.4)", () => {
  const path = ["<sip:192.0.2.5:5080;lr;received=sip:198.51.100.7:40000>", "<sip:edge.example;lr>"];
  const r = bindingRoute({ source, path });
  assert.deepEqual(r.routes, [
    { name: "Route", value: path[0] },
    { name: "Route", value: path[1] },
  ]);
  assert.deepEqual(r.remote, { transport: "UDP", address: "192.0.2.5", port: 5080 });
});

test("the first hop's transport and default port; a host name or an unreadable entry goes to the source", () => {
  const hop = (value: string) => bindingRoute({ source, path: [value] }).remote;
  assert.deepEqual(hop("<sip:192.0.2.5;transport=tcp;lr>"), {
    transport: "TCP",
    address: "192.0.2.5",
    port: 5060,
  });
  assert.deepEqual(hop("<sips:192.0.2.5;lr>"), { transport: "TLS", address: "192.0.2.5", port: 5061 });
  assert.deepEqual(hop("<sip:[2001:db8::5]:5090;lr>"), {
    transport: "UDP",
    address: "2001:db8::5",
    port: 5090,
  });
  assert.deepEqual(hop("<sip:edge.example;lr>"), source);
  assert.deepEqual(hop("<sip:192.0.2.5;lr"), source);
});
