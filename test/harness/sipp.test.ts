import assert from "node:assert/strict";
import { after, test } from "node:test";
import { correlate, speechFrames, speechLike } from "./audio.ts";
import { SipPhone } from "./sip-phone.ts";
import { parseStatCsv, runSipp, startSipp } from "./sipp.ts";
import { requireTool } from "./tools.ts";

const phones: SipPhone[] = [];
after(async () => {
  for (const p of phones) await p.close();
});

async function harnessServer(): Promise<SipPhone> {
  const p = await SipPhone.create({
    user: "102",
    password: "",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: 9 },
  });
  phones.push(p);
  return p;
}

test("parseStatCsv reads the cumulative columns of the last line", () => {
  const csv = "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\nx;1;3;0;1;\n";
  assert.deepEqual(parseStatCsv(csv), { successful: 3, failed: 1 });
  assert.deepEqual(parseStatCsv(""), { successful: 0, failed: 0 });
});

test("SIPp register-auth.xml: REGISTER, 401, digest, 200 against the harness registrar", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const reg = await harnessServer();
  reg.requireAuth = { realm: "acme.test", password: "s3cret" };
  const r = await runSipp({
    scenario: "register-auth.xml",
    server: `127.0.0.1:${reg.localPort}`,
    user: "103",
    password: "s3cret",
    authUri: "acme.test",
    vars: { domain: "acme.test" },
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.equal(r.successful, 1);
  assert.deepEqual(
    reg.authenticated.map((a) => [a.method, a.username, a.uri]),
    [["REGISTER", "103", "sip:acme.test"]],
  );
  assert.match(reg.registrations[0].contacts[0], new RegExp(`:${r.localPort};`));
});

test("SIPp uac-call-auth.xml: challenged INVITE, call, PCMA audio, BYE to a harness phone", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const callee = await harnessServer();
  callee.requireAuth = { realm: "acme.test", password: "pw", methods: ["INVITE"] };
  callee.autoAnswer();
  const r = await runSipp({
    scenario: "uac-call-auth.xml",
    server: `127.0.0.1:${callee.localPort}`,
    target: "102",
    user: "101",
    password: "pw",
    authUri: "102@acme.test",
    vars: { domain: "acme.test" },
    pauseMs: 2500,
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.deepEqual([r.successful, r.failed], [1, 0]);
  assert.match(r.messages, /SIP\/2.0 407/);
  const call = await callee.waitForCall();
  assert.equal(call.rtp.codec, "PCMA", "the answer keeps SIPp's first codec");
  assert.equal((await call.waitFor("ended")).reason, "bye");
  assert.ok(speechFrames(call.receivedPcm()) > 20, "the pcap speech arrived");
  assert.deepEqual(
    callee.authenticated.map((a) => a.uri),
    ["sip:102@acme.test"],
  );
});

test("SIPp uac-dtmf.xml: RFC 4733 digits (payload type 96) reach a harness phone", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const callee = await harnessServer();
  callee.autoAnswer();
  const r = await runSipp({
    scenario: "uac-dtmf.xml",
    server: `127.0.0.1:${callee.localPort}`,
    target: "102",
    vars: { domain: "acme.test", digits: "2468#" },
    pauseMs: 3000,
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  const call = await callee.waitForCall();
  await call.waitFor("ended");
  assert.equal(call.rtp.receiveDtmfPt, 96);
  assert.equal(call.receivedDigits(), "2468#");
});

test("SIPp uas-answer.xml answers a harness call and echoes its RTP", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const uas = await startSipp({ scenario: "uas-answer.xml", rtpEcho: true, user: "sipp", timeoutMs: 20_000 });
  const caller = await SipPhone.create({
    user: "101",
    password: "",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: uas.localPort },
  });
  phones.push(caller);
  const call = await caller.call(`sip:sipp@127.0.0.1:${uas.localPort}`, { codecs: ["PCMU"] });
  await call.waitFor(180);
  await call.waitFor("answered");
  assert.equal(call.remoteMedia?.port, uas.mediaPort);
  const speech = speechLike(600);
  await call.playAudio(speech);
  await call.rtp.waitForPackets(25);
  assert.ok(correlate(call.receivedPcm(), speech).score > 0.9, "echo of what was sent");
  assert.equal((await call.bye()).status, 200);
  const r = await uas.done;
  assert.equal(r.code, 0, `${r.command}\n${r.messages}\n${r.stderr}`);
  assert.equal(r.successful, 1);
});

test("SIPp uac-call-load.xml: several challenged calls in a row all succeed", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const callee = await harnessServer();
  callee.requireAuth = { realm: "acme.test", password: "pw", methods: ["INVITE"] };
  callee.autoAnswer();
  const r = await runSipp({
    scenario: "uac-call-load.xml",
    server: `127.0.0.1:${callee.localPort}`,
    target: "102",
    user: "101",
    password: "pw",
    authUri: "102@acme.test",
    vars: { domain: "acme.test" },
    calls: 6,
    rate: 30,
    pauseMs: 100,
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `${r.command}\n${r.messages.slice(-3000)}\n${r.stderr}`);
  assert.deepEqual([r.successful, r.failed], [6, 0]);
  assert.equal(callee.incomingCalls.length, 6);
});
