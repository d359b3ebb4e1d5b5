// Interop with baresip, a real softphone: it registers to the PBX with
// digest authentication, calls an extension with audio flowing both ways
// through the PBX, is called (auto-answer), and dials a feature code whose
// spoken confirmation it hears. With CI=true a missing baresip fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { speechFrames } from "../harness/audio.ts";
import { type Baresip, startBaresip } from "../harness/baresip.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import { requireTool } from "../harness/tools.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  pbx = await startTestPbx();
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
    server: `127.0.0.1:${pbx.sip.port}`,
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

test("baresip registers with digest and calls an extension; audio flows both ways through the PBX", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresip101();
  const regs = await pbx.api<Array<{ extension: string; userAgent?: string }>>(
    "GET",
    "/api/v1/tenants/acme/registrations",
  );
  assert.ok(
    regs.body.some((r) => r.extension === "101"),
    "baresip's binding is listed",
  );

  const bob = await phone102();
  bob.autoAnswer();
  await bs.dial("sip:102@acme.test");
  const call = await bob.waitForCall(8000);
  await bs.waitForCallEstablished(8000);
  await call.waitForAck();
  call.startSendingTone(1000);
  await call.rtp.waitForPackets(60, 8000);
  await new Promise((r) => setTimeout(r, 400));
  await bs.hangup();
  const end = await call.waitFor("ended", 8000);
  assert.deepEqual([end.by, end.reason], ["remote", "bye"]);
  await bs.waitForCallClosed(5000);
  assert.ok(speechFrames(call.receivedPcm()) > 30, "baresip's audio reached the phone through the PBX");
  const heard = bs.receivedWav();
  assert.ok(speechFrames(heard.samples) > 10, "the phone's tone reached baresip through the PBX");
});

test("an extension calls baresip, which answers", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  await baresip101();
  const bob = await phone102();
  const call = await bob.call("101");
  await call.waitFor("answered", 8000);
  call.startSendingTone(800);
  await call.rtp.waitForPackets(40, 8000);
  assert.ok(speechFrames(call.receivedPcm()) > 10, "baresip's audio came back");
  assert.equal((await call.bye()).status, 200);
});

test("baresip dials *73 and hears the spoken confirmation", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresip101();
  await bs.dial("sip:*73@acme.test");
  await bs.waitForCallEstablished(8000);
  await bs.waitForCallClosed(20000);
  assert.ok(speechFrames(bs.receivedWav().samples) > 20, "the confirmation prompt reached baresip");
});
