// The PBX's voice, end to end: a phone dials a star code, the PBX answers,
// the caller hears the real spoken prompt (decoded from the RTP it received
// and compared with the prompt's audio), and digits typed by RFC 4733, by
// SIP INFO and in-band reach the app in order.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { CallControl } from "../../src/pbx/apps/call-control.ts";
import { PromptLibrary } from "../../src/prompts/index.ts";
import { silentLogger } from "../../src/util/log.ts";
import { correlate, sine, speechFrames } from "../harness/audio.ts";
import { Phones } from "../support/phones.ts";
import { SHARED_PROMPT_CACHE, startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
let prompts: PromptLibrary;
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);

/** What the test app heard, per call. */
const collected: string[] = [];

/** A stand-in app on *97 that collects digits the way the voicemail PIN prompt will. */
async function digitApp(call: CallControl): Promise<void> {
  await call.play(["voicemail.pin.enter"], { bargeIn: true });
  const result = await call.collect({ max: 8, terminators: "#", firstTimeoutMs: 8000, interTimeoutMs: 8000 });
  collected.push(result.digits);
  await call.play(["generic.thank-you"]);
  await call.hangup();
}

/** A stand-in app on *30 that says a word, then hands the caller on to extension 102. */
async function handOnApp(call: CallControl): Promise<void> {
  await call.play(["generic.please-wait"]);
  await call.bridge({ kind: "extension", number: "102" });
}

before(async () => {
  pbx = await startTestPbx({ apps: { "voicemail.access": digitApp, "announcement.welcome": handOnApp } });
  await pbx.addTenant("acme", "acme.test");
  await pbx.addExtension("acme", "101", "secret-101-pw");
  await pbx.addExtension("acme", "102", "secret-102-pw");
  prompts = new PromptLibrary({ dataDir: SHARED_PROMPT_CACHE, log: silentLogger() });
});

after(async () => {
  await prompts.close();
  await pbx.stop();
});

afterEach(() => phones.cleanup());

describe("spoken answers to feature codes", () => {
  test("an unknown code is answered with the spoken 'code not valid' prompt, then the PBX hangs up", async () => {
    const alice = await registered("101");
    const call = await alice.call("*99");
    await call.waitFor("answered");
    const end = await call.waitFor("ended", 20000);
    assert.equal(end.by, "remote", "the PBX hangs up after the prompt");
    const heard = call.receivedPcm();
    const reference = await prompts.get("error.code-invalid", "fr");
    const match = correlate(heard, reference);
    assert.ok(match.score > 0.8, `the received audio is the prompt (score ${match.score.toFixed(3)})`);
    // The packets are paced and continuous: one every 20 ms, sequence numbers without gaps.
    const seqs = call.received.filter((p) => p.pt === 0 || p.pt === 8).map((p) => p.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i]! - seqs[i - 1]! + 65536) % 65536, 1);
  });

  test("a feature not enabled for the company says so, in the company's language", async () => {
    await pbx.api("PATCH", "/api/v1/tenants/acme", { language: "de" });
    try {
      const alice = await registered("101");
      const call = await alice.call("*97");
      await call.waitFor("ended", 20000);
      const reference = await prompts.get("feature.not-enabled", "de");
      assert.ok(correlate(call.receivedPcm(), reference).score > 0.8);
      assert.equal(collected.length, 0, "the app did not run");
    } finally {
      await pbx.api("PATCH", "/api/v1/tenants/acme", { language: "fr" });
    }
  });
});

describe("digits typed during an app", () => {
  test("in-band tones, SIP INFO and RFC 4733 events arrive as one ordered stream", async () => {
    const res = await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true });
    assert.equal(res.status, 200);
    const alice = await registered("101");
    const call = await alice.call("*97");
    await call.waitFor("answered");
    // In-band first: the endpoint listens for tones until the phone shows it sends RFC 4733.
    await call.sendInband("56", { durationMs: 100, gapMs: 100 });
    await call.sendInfoDigit("3", "dtmf-relay");
    await call.sendInfoDigit("4", "dtmf");
    await call.sendRfc4733("12#", { durationMs: 80, gapMs: 60 });
    await call.waitFor("ended", 20000);
    assert.deepEqual(collected, ["563412"]);
    assert.ok(speechFrames(call.receivedPcm()) > 10, "the prompts were heard");
  });
});

describe("an app hands the call on", () => {
  test("after its prompt, the caller is bridged to an extension with audio both ways", async () => {
    await pbx.api("PATCH", "/api/v1/tenants/acme/features", { announcements: true });
    const alice = await registered("101");
    const bob = await registered("102");
    bob.autoAnswer();
    const call = await alice.call("*30");
    await call.waitFor("answered");
    const incoming = await bob.waitForCall(20000);
    await incoming.waitForAck();
    // Bob was offered the codec Alice already talks with the PBX.
    assert.equal(incoming.rtp.codec, call.rtp.codec);
    const toBob = sine(500, 600);
    const toAlice = sine(1500, 600);
    const before = call.receivedPcm().length;
    await Promise.all([call.playAudio(toBob), incoming.playAudio(toAlice)]);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(correlate(incoming.receivedPcm(), toBob).score > 0.9, "bob hears alice");
    assert.ok(correlate(call.receivedPcm().subarray(before), toAlice).score > 0.9, "alice hears bob");
    const views = await pbx.api<Array<{ from: string; to: string; state: string }>>("GET", "/api/v1/calls");
    assert.deepEqual(
      views.body.map((v) => [v.from, v.to, v.state]),
      [["101", "102", "answered"]],
    );
    await incoming.bye();
    assert.equal((await call.waitFor("ended")).reason, "bye");
  });
});
