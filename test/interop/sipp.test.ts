// Interop with SIPp, a SIP implementation that is not ours: it registers
// with digest authentication, places an authenticated call whose RTP the PBX
// relays to a phone, answers calls as a registered phone, and types RFC 4733
// digits into a PBX app. With CI=true a missing sipp fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import type { CallControl } from "../../src/pbx/apps/call-control.ts";
import { speechFrames } from "../harness/audio.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import { runSipp, startSipp } from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones: SipPhone[] = [];
const typed: string[] = [];

async function collectDigits(call: CallControl): Promise<void> {
  const r = await call.collect({ max: 8, terminators: "#", firstTimeoutMs: 10000, interTimeoutMs: 5000 });
  typed.push(r.digits);
  await call.play(["generic.thank-you"]);
  // SIPp's scenario hangs up itself: wait for its BYE (collect ends with Hangup).
  await call.collect({ max: 1, firstTimeoutMs: 20000 });
  await call.hangup();
}

before(async () => {
  pbx = await startTestPbx({ apps: { "voicemail.access": collectDigits } });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true });
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  await Promise.all(
    phones.splice(0).map(async (p) => {
      await p.unregister().catch(() => {});
      await p.close();
    }),
  );
});

const server = () => `127.0.0.1:${pbx.sip.port}`;

test("SIPp registers with digest authentication", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const r = await runSipp({
    scenario: "register-auth.xml",
    server: server(),
    user: "101",
    password: "secret-101-pw",
    authUri: "acme.test",
    vars: { domain: "acme.test", expires: "60" },
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.equal(r.successful, 1);
  const regs = await pbx.api<Array<{ extension: string; source: string }>>(
    "GET",
    "/api/v1/tenants/acme/registrations",
  );
  assert.ok(regs.body.some((b) => b.extension === "101" && b.source.endsWith(`:${r.localPort}`)));
});

test("SIPp calls a phone through the PBX: 407, answer, PCMA speech relayed, BYE", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const bob = await SipPhone.create({
    user: "102",
    password: "secret-102-pw",
    domain: "acme.test",
    server: pbx.sip,
  });
  phones.push(bob);
  assert.equal((await bob.register()).status, 200);
  bob.autoAnswer();
  const r = await runSipp({
    scenario: "uac-call-auth.xml",
    server: server(),
    target: "102",
    user: "101",
    password: "secret-101-pw",
    authUri: "102@acme.test",
    vars: { domain: "acme.test" },
    pauseMs: 3000,
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.deepEqual([r.successful, r.failed], [1, 0]);
  assert.match(r.messages, /SIP\/2.0 407/);
  const call = await bob.waitForCall();
  assert.equal((await call.waitFor("ended")).reason, "bye");
  assert.equal(call.rtp.codec, "PCMA");
  assert.ok(
    speechFrames(call.receivedPcm()) > 20,
    "the speech SIPp played reached the phone through the PBX",
  );
});

test("a registered SIPp phone is called through the PBX and its echo comes back", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const uas = await startSipp({
    scenario: "uas-answer.xml",
    rtpEcho: true,
    register: true,
    server: server(),
    user: "103",
    password: "secret-103-pw",
    authUri: "acme.test",
    vars: { domain: "acme.test", expires: "60" },
    timeoutMs: 25_000,
  });
  const alice = await SipPhone.create({
    user: "101",
    password: "secret-101-pw",
    domain: "acme.test",
    server: pbx.sip,
  });
  phones.push(alice);
  const call = await alice.call("103", { codecs: ["PCMU"] });
  await call.waitFor("answered", 10_000);
  const { sine, correlate } = await import("../harness/audio.ts");
  const tone = sine(700, 800);
  await call.playAudio(tone);
  await call.rtp.waitForPackets(30, 5000);
  assert.ok(correlate(call.receivedPcm(), tone).score > 0.9, "the echo came back through the PBX");
  assert.equal((await call.bye()).status, 200);
  const done = await uas.done;
  assert.equal(done.code, 0, `${done.command}\n${done.messages}\n${done.stderr}`);
});

test("SIPp's RFC 4733 digits reach a PBX app in order", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const r = await runSipp({
    scenario: "uac-dtmf.xml",
    server: server(),
    target: "*97",
    user: "101",
    password: "secret-101-pw",
    authUri: "*97@acme.test",
    vars: { domain: "acme.test", digits: "2468#" },
    pauseMs: 4000,
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.deepEqual(typed, ["2468"]);
});
