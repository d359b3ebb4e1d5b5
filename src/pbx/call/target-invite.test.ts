import assert from "node:assert/strict";
import { test } from "node:test";
import { formatUri } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding, Tenant } from "../../store/types.ts";
import type { RingStep, Target } from "./steps.ts";
import { targetInvite } from "./target-invite.ts";

const tenant = { name: "acme", domain: "acme.test", country: "CH" } as Tenant;
const step: RingStep = {
  kind: "ring",
  callee: { number: "102" },
  targets: [],
  timeoutMs: 30_000,
  from: { number: "101", displayName: "Alice" },
  diversions: [{ from: "103", reason: "unconditional" }],
};
const binding: Binding = {
  tenant: "acme",
  extension: "102",
  contact: "sip:102@10.0.0.7:5062;transport=udp",
  callId: "reg",
  cseq: 1,
  expiresAt: 0,
  source: { transport: "UDP", address: "192.0.2.1", port: 5060 },
};
const fromRemoteOf: RemoteAddress = { transport: "UDP", address: "192.0.2.99", port: 5999 };
const ctx = { tenant, offer: "v=0\r\n", remoteOf: async () => fromRemoteOf };

test("a device that registered straight: its source, no Route, Request-URI its contact", async () => {
  const target: Target = { kind: "device", extension: "102", binding };
  const invite = await targetInvite(target, step, ctx);
  assert.deepEqual(invite.remote, fromRemoteOf);
  assert.equal(formatUri(invite.requestUri), binding.contact);
  assert.deepEqual(
    invite.headers?.map((h) => h.name),
    ["History-Info"],
  );
});

test("a device behind a proxy (RFC 3327): the Path as Route set, sent to its first hop, Request-URI its contact", async () => {
  const path = ["<sip:192.0.2.1:5070;lr;received=sip:198.51.100.7:40000>", "<sip:192.0.2.2;lr>"];
  const target: Target = { kind: "device", extension: "102", binding: { ...binding, path } };
  const invite = await targetInvite(target, step, ctx);
  assert.deepEqual(invite.remote, { transport: "UDP", address: "192.0.2.1", port: 5070 });
  assert.equal(formatUri(invite.requestUri), binding.contact);
  assert.deepEqual(
    invite.headers?.filter((h) => h.name === "Route").map((h) => h.value),
    path,
  );
  assert.ok(invite.headers?.some((h) => h.name === "History-Info"));
});
