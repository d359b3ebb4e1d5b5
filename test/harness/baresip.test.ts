import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { after, test } from "node:test";
import { correlate, speechFrames } from "./audio.ts";
import { type Baresip, startBaresip } from "./baresip.ts";
import { SipPhone } from "./sip-phone.ts";
import { requireTool } from "./tools.ts";

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

test("baresip registers with digest auth to a harness registrar, calls a harness phone, hangs up", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  // One harness phone plays both registrar (challenging REGISTER) and callee.
  const server = await SipPhone.create({
    user: "102",
    password: "",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: 9 },
  });
  cleanups.push(() => server.close());
  server.requireAuth = { realm: "acme.test", password: "s3cret", methods: ["REGISTER"] };
  server.autoAnswer();
  const bs: Baresip = await startBaresip({
    user: "101",
    password: "s3cret",
    domain: "acme.test",
    server: `127.0.0.1:${server.localPort}`,
  });
  cleanups.push(() => bs.stop());

  await bs.waitForRegistration(5000);
  assert.deepEqual(
    server.authenticated.map((a) => [a.method, a.username]),
    [["REGISTER", "101"]],
    "baresip answered the 401 with a digest the harness verified",
  );
  assert.match(server.registrations[0].contacts[0], new RegExp(`127\\.0\\.0\\.1:${bs.sipPort}`));

  await bs.dial("sip:102@acme.test");
  const call = await server.waitForCall();
  await bs.waitForCallEstablished(5000);
  await call.waitForAck();
  call.startSendingTone(1000);
  await call.rtp.waitForPackets(60, 5000);
  await new Promise((r) => setTimeout(r, 300));
  await bs.hangup();
  const end = await call.waitFor("ended");
  assert.deepEqual([end.by, end.reason], ["remote", "bye"]);
  await bs.waitForCallClosed(3000);
  assert.ok(speechFrames(call.receivedPcm()) > 30, "baresip's aufile source reached the harness");
  assert.ok(call.received.every((p) => p.pt === 0 || p.pt === 8 || p.pt === call.rtp.receiveDtmfPt));

  const heard = bs.receivedWav();
  assert.equal(heard.rate, 8000);
  assert.ok(speechFrames(heard.samples) > 20, `baresip received our tone (${heard.samples.length} samples)`);
  const sent = bs.sentWav();
  assert.ok(
    correlate(call.receivedPcm(), sent.samples).score > 0.9,
    "what baresip sent is what the harness got",
  );
  await bs.stop();
});

test("a control port someone else listens on is refused, not connected to in baresip's stead", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const squatter = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => squatter.close(() => resolve())));
  const port = (squatter.address() as AddressInfo).port;
  await assert.rejects(
    startBaresip({
      user: "101",
      password: "s3cret",
      domain: "acme.test",
      server: "127.0.0.1:9",
      regint: 0,
      ctrlPort: port,
    }),
    new RegExp(`ctrl_tcp: failed to listen on TCP 127\\.0\\.0\\.1:${port}`),
  );
});
