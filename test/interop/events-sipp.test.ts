// Interop with SIPp as a desk phone's BLF key (RFC 4235 over RFC 6665):
// SIPp subscribes to `Event: dialog` for 102 with digest authentication,
// and its scenario (test/sipp/blf-dialog.xml) checks with <ereg> on each
// NOTIFY body that the lamp goes idle → early → confirmed → idle while a
// harness phone calls 102, which rings, answers and hangs up; then it
// unsubscribes and takes the final NOTIFY. With CI=true a missing sipp
// fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { parseSippMessages, type SippTracedMessage, sippHeader, startSipp } from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
const stops: Array<() => Promise<unknown>> = [];

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
  await phones.cleanup();
});

/** The company's subscriptions as the API lists them ("dialog:102"). */
async function subscriptions(): Promise<string[]> {
  const res = await pbx.api<Array<{ package: string; resource: string }>>(
    "GET",
    "/api/v1/tenants/acme/subscriptions",
  );
  return res.body.map((s) => `${s.package}:${s.resource}`);
}

async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 8000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The <state>s of a dialog-info body, in order. */
function states(msg: SippTracedMessage): string[] {
  return [...msg.text.matchAll(/<state>([a-z]+)<\/state>/g)].map((m) => m[1] ?? "");
}

test("SIPp as a BLF key: digest SUBSCRIBE to dialog, NOTIFYs idle, early, confirmed, idle; unsubscribe", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const blf = await startSipp({
    scenario: "blf-dialog.xml",
    server: `127.0.0.1:${pbx.sip.port}`,
    target: "102",
    user: "103",
    password: "secret-103-pw",
    authUri: "102@acme.test",
    vars: { domain: "acme.test", expires: "600" },
    timeoutMs: 40_000,
  });
  stops.push(() => blf.stop());
  await waitFor(async () => (await subscriptions()).includes("dialog:102"), "SIPp's subscription to 102");

  const alice = await phones.registered("101");
  const bob = await phones.registered("102");
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  bob.onIncomingCall = (c) => {
    c.ring();
    // Answers when the test says so: the lamp must have blinked first.
    void answered.then(() => c.answer());
  };
  const call = await alice.call("102");
  await call.waitFor(180);
  // Ringing long enough for the early NOTIFY to be on its way before the answer.
  await new Promise((r) => setTimeout(r, 300));
  answer();
  await call.waitFor("answered");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await call.bye()).status, 200);

  const r = await blf.done;
  assert.equal(r.code, 0, `${r.command}\n${r.messages.slice(-6000)}\n${r.stderr}`);
  assert.deepEqual([r.successful, r.failed], [1, 0]);
  const messages = parseSippMessages(r.messages);
  const sent = messages.filter((m) => m.direction === "sent" && m.firstLine.startsWith("SUBSCRIBE"));
  assert.equal(sent.length, 3, "SUBSCRIBE, the retry with credentials, the unsubscribe");
  assert.match(sippHeader(sent[1]!, "Authorization") ?? "", /^Digest .*username="103"/);
  assert.equal(sippHeader(sent[2]!, "Expires"), "0");
  const notifies = messages.filter((m) => m.direction === "received" && m.firstLine.startsWith("NOTIFY"));
  // The lamp as SIPp saw it, repeats folded: what a key would show.
  const lamp = notifies
    .map((n) => states(n).find((s) => s !== "terminated") ?? "idle")
    .filter((s, i, all) => i === 0 || s !== all[i - 1]);
  assert.deepEqual(lamp, ["idle", "early", "confirmed", "idle"]);
  assert.match(notifies.find((n) => /<state>early</.test(n.text))!.text, /sip:101@acme\.test/);
  assert.match(sippHeader(notifies.at(-1)!, "Subscription-State") ?? "", /^terminated/);
  // RFC 4235 §4.1: the version rises by one with each document of the subscription.
  const versions = notifies.map((n) => Number(/<dialog-info[^>]*\sversion="(\d+)"/.exec(n.text)?.[1]));
  assert.deepEqual(
    versions,
    versions.map((_, i) => versions[0]! + i),
  );
  await waitFor(async () => !(await subscriptions()).includes("dialog:102"), "the subscription gone");
});
