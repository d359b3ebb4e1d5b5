// The call history and /metrics, end to end on loopback: harness phones and
// a harness carrier (127.0.0.2, the trunk's address) place real calls
// through a whole vpbx (answered, busy, no answer to voicemail, forwarded by
// *72, cancelled, in from the trunk and out through it), and each call is
// read back through the API (JSON, one extension's list, CSV); then
// /metrics is scraped without and with its token, and its counts checked.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { sine } from "../harness/audio.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { addCarrier, CARRIER_CALLER } from "../support/carrier.ts";
import { Phones } from "../support/phones.ts";
import { ADMIN_TOKEN, startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const METRICS_TOKEN = "metrics-token-for-the-history-test";
const DID = "+41215550100";

interface CallJson {
  id: string;
  direction: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string;
  caller: string;
  callerName: string | null;
  dialled: string;
  destination: string | null;
  outcome: string;
  forwardedTo: string | null;
  trunk: string | null;
  extensions: string[];
}

let pbx: TestPbx;
let carrier: SipPhone;
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);
/** The history's size before each test: the call of the test is the one after it. */
let seen = 0;

before(async () => {
  pbx = await startTestPbx({ config: { metricsToken: METRICS_TOKEN } });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104"])
    await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  const ok = (r: { status: number; body: unknown }, what: string) =>
    assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  ok(await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true }), "voicemail on");
  ok(
    await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/104", {
      ringTimeoutSeconds: 5,
      voicemail: { enabled: true, pin: "4826" },
    }),
    "104's mailbox",
  );
  carrier = await addCarrier(pbx);
  ok(
    await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
      number: DID,
      destination: { type: "extension", number: "101" },
    }),
    "number",
  );
});

after(async () => {
  await carrier.close();
  await pbx.stop();
});

afterEach(async () => {
  carrier.onIncomingCall = undefined;
  await phones.cleanup();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function history(query = ""): Promise<CallJson[]> {
  const r = await pbx.api<{ calls: CallJson[]; next: string | null }>(
    "GET",
    `/api/v1/tenants/acme/calls/history${query}`,
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.calls;
}

/** The calls recorded since the last time, oldest first, once `count` of them are written. */
async function newCalls(count = 1): Promise<CallJson[]> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const all = await history("?limit=1000");
    if (all.length >= seen + count) {
      const fresh = all.slice(0, all.length - seen).reverse();
      seen = all.length;
      return fresh;
    }
    if (Date.now() > deadline)
      throw new Error(`${count} new call record(s) expected, ${all.length - seen} written`);
    await pause(50);
  }
}

async function lastCall(): Promise<CallJson> {
  const [call] = await newCalls(1);
  return call!;
}

test("answered: who called, what was dialled, who answered, when", async () => {
  const { call, incoming } = await phones.answeredCall("101", "102");
  await Promise.all([call.playAudio(sine(440, 600)), incoming.playAudio(sine(1200, 600))]);
  // The media thread reports its legs' counters twice a second: /metrics counts what it reported.
  await pause(1100);
  await call.bye();
  await incoming.waitFor("ended");
  const r = await lastCall();
  assert.equal(r.outcome, "answered");
  assert.equal(r.direction, "internal");
  assert.equal(r.caller, "101");
  assert.equal(r.callerName, "Ext 101");
  assert.equal(r.dialled, "102");
  assert.equal(r.destination, "102");
  assert.deepEqual(r.extensions, ["101", "102"]);
  assert.equal(r.trunk, null);
  assert.ok(r.answeredAt !== null && r.startedAt <= r.answeredAt && r.answeredAt <= r.endedAt);
});

test("busy: the callee declines", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  bob.autoAnswer({ status: 486 });
  const call = await alice.call("102");
  assert.equal((await call.waitFor(486)).status, 486);
  const r = await lastCall();
  assert.equal(r.outcome, "busy");
  assert.equal(r.destination, "102");
  assert.equal(r.answeredAt, null);
});

test("no answer: the call goes to voicemail", async () => {
  const alice = await registered("101");
  const dan = await registered("104");
  dan.onIncomingCall = (c) => c.ring();
  const call = await alice.call("104");
  await call.waitFor("ringing");
  await call.waitFor("answered", 15000);
  await pause(500);
  await call.bye();
  const r = await lastCall();
  assert.equal(r.outcome, "voicemail");
  assert.equal(r.destination, "voicemail:104");
  assert.deepEqual(r.extensions, ["101", "104"]);
  assert.ok(r.answeredAt !== null, "the mailbox answered");
  const own = await pbx.api<{ calls: CallJson[] }>(
    "GET",
    "/api/v1/tenants/acme/extensions/104/calls/history",
  );
  assert.equal(own.body.calls[0]?.id, r.id, "104's own list has it");
});

test("forwarded: *72 set first, the call is answered at the target", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  const carol = await registered("103");
  const code = await bob.call("*72103");
  await code.waitFor("answered");
  await code.waitFor("ended", 20000);
  const set = await lastCall();
  assert.equal(set.outcome, "app");
  assert.equal(set.destination, "app:*72103");
  carol.autoAnswer();
  const call = await alice.call("102");
  await call.waitFor("answered");
  assert.equal(bob.incomingCalls.length, 0);
  await call.bye();
  const r = await lastCall();
  assert.equal(r.outcome, "forwarded");
  assert.equal(r.forwardedTo, "103");
  assert.equal(r.destination, "103");
  assert.equal(r.dialled, "102");
  assert.deepEqual(r.extensions, ["101", "102", "103"]);
  await (await bob.call("*73")).waitFor("ended", 20000);
  await lastCall();
});

test("cancelled: the caller gives up while it rings", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  bob.onIncomingCall = (c) => c.ring();
  const call = await alice.call("102");
  await call.waitFor("ringing");
  await call.cancel();
  const r = await lastCall();
  assert.equal(r.outcome, "cancelled");
  assert.equal(r.destination, "102");
  assert.equal(r.answeredAt, null);
});

test("through the trunk: a call in to the company's number, and one out to a mobile", async () => {
  const alice = await registered("101");
  alice.autoAnswer();
  const inbound = await carrier.call(`${DID}@127.0.0.1`);
  await inbound.waitFor("answered");
  await inbound.bye();
  const r = await lastCall();
  assert.equal(r.direction, "inbound");
  assert.equal(r.trunk, "carrier");
  assert.equal(r.caller, CARRIER_CALLER);
  assert.equal(r.dialled, DID);
  assert.equal(r.destination, "101");
  assert.equal(r.outcome, "answered");

  carrier.autoAnswer();
  const out = await alice.call("0791234567");
  await out.waitFor("answered");
  await out.bye();
  const o = await lastCall();
  assert.equal(o.direction, "outbound");
  assert.equal(o.trunk, "carrier");
  assert.equal(o.dialled, "0791234567");
  assert.equal(o.destination, "+41791234567");
  assert.equal(o.outcome, "answered");
  assert.deepEqual(o.extensions, ["101"]);
});

test("transferred: 102 hands its caller on to 103 (blind transfer)", async () => {
  const { call, incoming } = await phones.answeredCall("101", "102");
  const carol = await registered("103");
  carol.autoAnswer();
  const refer = await incoming.sendRequest("REFER", { headers: { "Refer-To": "<sip:103@acme.test>" } });
  assert.equal(refer.status, 202);
  const atCarol = await carol.waitForCall();
  await atCarol.waitForAck();
  await incoming.bye().catch(() => undefined);
  await call.bye();
  await atCarol.waitFor("ended");
  const r = await lastCall();
  assert.equal(r.outcome, "transferred");
  assert.equal(r.dialled, "102");
  assert.equal(r.destination, "103");
  assert.deepEqual(r.extensions, ["101", "102", "103"]);
});

test("read back: filters, one extension's list, the CSV export", async () => {
  const all = await history();
  assert.equal(all.length, seen);
  assert.deepEqual(
    (await history("?direction=inbound")).map((c) => c.caller),
    [CARRIER_CALLER],
  );
  assert.deepEqual(
    (await history("?outcome=forwarded")).map((c) => c.forwardedTo),
    ["103"],
  );
  const for103 = await pbx.api<{ calls: CallJson[] }>(
    "GET",
    "/api/v1/tenants/acme/extensions/103/calls/history",
  );
  assert.deepEqual(
    for103.body.calls.map((c) => c.outcome),
    ["transferred", "forwarded"],
  );
  const bad = await pbx.api<{ error: { message: string } }>(
    "GET",
    "/api/v1/tenants/acme/calls/history?from=last-week",
  );
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^from "last-week" is not a time/);

  const res = await fetch(`http://127.0.0.1:${pbx.vpbx.httpPort}/api/v1/tenants/acme/calls/history.csv`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename="calls-acme\.csv"$/);
  const lines = (await res.text()).trimEnd().split("\r\n");
  assert.equal(lines.length, 1 + seen, "a header row and one row per call");
  assert.match(lines[0]!, /^started_at,answered_at,ended_at,/);
  const inboundRow = lines.find((l) => l.includes(",inbound,"));
  assert.ok(inboundRow?.includes(`,'${CARRIER_CALLER},`), "a number starting with + cannot be a formula");
});

test("/metrics: off to the API's token, and the calls counted with its own", async () => {
  const url = `http://127.0.0.1:${pbx.vpbx.httpPort}/metrics`;
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 401);
  // One phone registered while the metrics are read.
  await registered("103");
  const res = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  const value = (series: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, `no ${series} in:\n${text.slice(0, 3000)}`);
    return Number(line.slice(series.length + 1));
  };
  const outcomes: Record<string, number> = {};
  for (const c of await history("?limit=1000")) outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
  assert.deepEqual(outcomes, {
    answered: 3,
    busy: 1,
    voicemail: 1,
    app: 2,
    forwarded: 1,
    cancelled: 1,
    transferred: 1,
  });
  for (const [outcome, count] of Object.entries(outcomes)) {
    assert.equal(value(`vpbx_calls_total{tenant="acme",outcome="${outcome}"}`), count, outcome);
  }
  assert.equal(value('vpbx_registrations{tenant="acme"}'), 1);
  assert.equal(value('vpbx_calls_in_progress{tenant="acme"}'), 0);
  assert.ok(value('vpbx_sip_error_responses_total{status="486"}') >= 1, "the busy callee's 486, relayed");
  assert.ok(value('vpbx_sip_error_responses_total{status="401"}') >= 1, "REGISTER challenges");
  assert.ok(value('vpbx_sip_error_responses_total{status="487"}') >= 1, "the cancelled INVITE");
  assert.ok(value("vpbx_rtp_packets_received_total") > 0);
  assert.ok(value("vpbx_rtp_packets_sent_total") > 0);
  assert.equal(value("vpbx_sip_auth_failures_total"), 0);
  assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
});
