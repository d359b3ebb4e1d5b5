// Interop of SIP over TLS (RFC 3261 §26.2, RFC 5630) with baresip, a real
// softphone: it registers on the PBX's TLS port (outbound proxy
// ;transport=tls), trusting the PBX's self-signed certificate (sip_cafile:
// baresip 1.0 does not verify it at all, later versions do by default),
// places a call to a harness phone with audio both ways, hangs up, and is
// called back on its TLS connection. With CI=true a missing baresip fails
// these tests.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { speechFrames } from "../harness/audio.ts";
import { type Baresip, startBaresip } from "../harness/baresip.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import { requireTool } from "../harness/tools.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
let tlsPort: number;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  pbx = await startTestPbx({ config: { sipTlsPort: 0 } });
  assert.ok(pbx.vpbx.sipTlsPort);
  tlsPort = pbx.vpbx.sipTlsPort;
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function baresip101(): Promise<Baresip> {
  const bs = await startBaresip({
    user: "101",
    password: "secret-101-pw",
    domain: "acme.test",
    server: `127.0.0.1:${tlsPort}`,
    transport: "tls",
    caFile: join(pbx.dataDir, "tls", "cert.pem"),
    sipTrace: true,
  });
  cleanups.push(() => bs.stop());
  await bs.waitForRegistration(8000);
  return bs;
}

async function phone102(): Promise<SipPhone> {
  const bob = await SipPhone.create({
    user: "102",
    password: "secret-102-pw",
    domain: "acme.test",
    server: pbx.sip,
  });
  cleanups.push(async () => {
    await bob.unregister().catch(() => {});
    await bob.close();
  });
  assert.equal((await bob.register()).status, 200);
  return bob;
}

/** The Contact URI of the PBX's 2xx to an INVITE in baresip's trace. */
async function contactOfAnswer(bs: Baresip): Promise<string | undefined> {
  const answer = await bs.waitForSipMessage(
    (m) => m.firstLine.startsWith("SIP/2.0 200") && /\r\nCSeq: \d+ INVITE/i.test(m.text),
  );
  return /\r\nContact: *<([^>]+)>/i.exec(answer.text)?.[1];
}

test("baresip registers over TLS and calls a phone; audio both ways; its BYE ends the call", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresip101();
  const regs = await pbx.api<Array<{ extension: string; contact: string; source: string }>>(
    "GET",
    "/api/v1/tenants/acme/registrations",
  );
  const binding = regs.body.find((r) => r.extension === "101");
  assert.match(binding?.source ?? "", /^tls:127\.0\.0\.1:\d+$/, "registered over TLS");
  assert.match(binding?.contact ?? "", /;transport=tls/);
  assert.ok(
    bs.sipMessages().some((m) => m.firstLine.startsWith("REGISTER ")),
    "the trace is read",
  );

  const bob = await phone102();
  bob.autoAnswer();
  await bs.dial("sip:102@acme.test");
  const call = await bob.waitForCall(8000);
  // A call left up by a failure here would make 101 busy for the next test.
  cleanups.push(async () => {
    if (call.state !== "ended") await call.bye();
  });
  await bs.waitForCallEstablished(8000);
  await call.waitForAck();
  // baresip sends its ACK and BYE to the Contact of our 2xx: over TLS, that
  // must be the TLS port (RFC 3261 §26.2), or they land on the TCP listener.
  assert.equal(
    await contactOfAnswer(bs),
    `sip:127.0.0.1:${tlsPort};transport=tls`,
    "the PBX's Contact toward a TLS phone names its TLS port",
  );
  call.startSendingTone(1000);
  await call.rtp.waitForPackets(60, 8000);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(speechFrames(call.receivedPcm()) > 10, "the phone hears baresip's audio");
  await bs.hangup();
  const end = await call.waitFor("ended", 8000);
  assert.deepEqual([end.by, end.reason], ["remote", "bye"]);
  await bs.waitForCallClosed(8000);
  const heard = bs.receivedWav();
  assert.ok(speechFrames(heard.samples) > 10, "baresip hears the phone's tone");
});

test("baresip registered over TLS is called on its connection and answers", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresip101();
  const bob = await phone102();
  const call = await bob.call("101");
  await call.waitFor("answered", 8000);
  await bs.waitForCallEstablished(8000);
  const invite = await bs.waitForSipMessage((m) => m.firstLine.startsWith("INVITE sip:101"));
  assert.match(invite.text, /\r\nVia: SIP\/2\.0\/TLS /);
  call.startSendingTone(1000);
  await call.rtp.waitForPackets(60, 8000);
  await new Promise((r) => setTimeout(r, 400));
  await call.bye();
  await bs.waitForCallClosed(8000);
  assert.ok(speechFrames(bs.receivedWav().samples) > 10, "baresip hears the caller");
});

test("baresip with SRTP over TLS (mediaenc=srtp-mand) calls a plain phone; audio both ways through the PBX's decryption", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await startBaresip({
    user: "101",
    password: "secret-101-pw",
    domain: "acme.test",
    server: `127.0.0.1:${tlsPort}`,
    transport: "tls",
    caFile: join(pbx.dataDir, "tls", "cert.pem"),
    mediaEncryption: "srtp-mand",
    sipTrace: true,
  });
  cleanups.push(() => bs.stop());
  await bs.waitForRegistration(8000);
  const bob = await phone102();
  bob.autoAnswer();
  await bs.dial("sip:102@acme.test");
  const call = await bob.waitForCall(8000);
  cleanups.push(async () => {
    if (call.state !== "ended") await call.bye();
  });
  await bs.waitForCallEstablished(8000);
  await call.waitForAck();
  const invite = bs.sipMessages().find((m) => m.firstLine.startsWith("INVITE sip:102"));
  assert.match(invite?.text ?? "", /RTP\/SAVP/, "baresip offered SRTP");
  const answer = await bs.waitForSipMessage(
    (m) => m.firstLine.startsWith("SIP/2.0 200") && /\r\nCSeq: \d+ INVITE/i.test(m.text),
  );
  assert.match(answer.text, /m=audio \d+ RTP\/SAVP /, "the PBX answered SRTP");
  assert.match(answer.text, /a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:/);
  assert.doesNotMatch(call.request.body.toString("utf8"), /a=crypto/, "the plain phone's leg has no key");
  call.startSendingTone(1000);
  await call.rtp.waitForPackets(60, 8000);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(speechFrames(call.receivedPcm()) > 10, "the plain phone hears baresip's decrypted audio");
  await bs.hangup();
  await call.waitFor("ended", 8000);
  await bs.waitForCallClosed(8000);
  assert.ok(speechFrames(bs.receivedWav().samples) > 10, "baresip hears the phone's tone, encrypted to it");
});
