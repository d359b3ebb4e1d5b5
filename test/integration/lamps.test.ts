// The lamps of desk phones through a whole vpbx: a receptionist's BLF key
// (dialog package) follows a colleague's calls, idle → ringing → talking →
// idle, and picks the ringing call up; presence follows registrations;
// the voicemail lamp and the feature-code lamps answer; nothing crosses
// companies. Harness phones subscribe over real UDP.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { getHeader } from "../../src/sip/message/index.ts";
import { Subscriber } from "../harness/subscriber.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);
const subscribers: Subscriber[] = [];

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  await pbx.addTenant("globex", "globex.test");
  await pbx.addExtension("globex", "103", "secret-g103-pw");
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  for (const s of subscribers.splice(0)) await s.subscribe(0).catch(() => undefined);
  await phones.cleanup();
});

async function subscribe(phone: Awaited<ReturnType<typeof registered>>, resource: string, event: string) {
  const s = new Subscriber(phone, resource, event);
  const res = await s.subscribe(600);
  subscribers.push(s);
  return { s, res };
}

/** The states of the dialogs in a dialog-info body ("" when idle). */
function states(body: string): string {
  return [...body.matchAll(/<state>([a-z]+)<\/state>/g)]
    .map((m) => m[1])
    .filter((s) => s !== "terminated")
    .join(",");
}

test("a BLF key follows a colleague's call: idle, ringing (with the caller), talking, idle; and picks it up", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  const reception = await registered("103");
  const { s, res } = await subscribe(reception, "102", "dialog");
  assert.ok(res.status === 200 || res.status === 202, `SUBSCRIBE answered ${res.status}`);
  await s.waitForNotifies(1);
  assert.match(getHeader(s.notifies[0]!, "Content-Type") ?? "", /application\/dialog-info\+xml/);
  assert.equal(states(s.lastBody), "", "idle at first");

  bob.onIncomingCall = (c) => c.ring();
  const call = await alice.call("102");
  await call.waitFor(180);
  await s.waitForNotifies(2);
  assert.equal(states(s.lastBody), "early");
  assert.match(s.lastBody, /direction="recipient"/);
  assert.match(s.lastBody, /sip:101@acme\.test/);

  // The blinking key dials **102: the receptionist takes the call.
  const pick = await reception.call("**102");
  await pick.waitFor("answered");
  await call.waitFor("answered");
  await s.waitForNotifies(3);
  assert.equal(states(s.lastBody), "", "102 no longer rings once the call is picked up");
  await call.bye();
});

test("answered and hung up: confirmed, then idle", async () => {
  const alice = await registered("101");
  const bob = await registered("102");
  const reception = await registered("103");
  const { s } = await subscribe(reception, "102", "dialog");
  await s.waitForNotifies(1);
  bob.autoAnswer({ afterMs: 100 });
  const call = await alice.call("102");
  await call.waitFor("answered");
  await waitFor(() => states(s.lastBody) === "confirmed");
  await call.bye();
  await waitFor(() => states(s.lastBody) === "");
});

test("presence follows registration; the voicemail lamp is off; *11 and *20 answer as lamps", async () => {
  const alice = await registered("101");
  const { s: presence } = await subscribe(alice, "102", "presence");
  await presence.waitForNotifies(1);
  assert.match(presence.lastBody, /<basic>closed<\/basic>/);
  const bob = await registered("102");
  await waitFor(() => /<basic>open<\/basic>/.test(presence.lastBody));
  await bob.unregister();
  await waitFor(() => /<basic>closed<\/basic>/.test(presence.lastBody));

  const { s: mwi } = await subscribe(alice, "101", "message-summary");
  await mwi.waitForNotifies(1);
  assert.match(mwi.lastBody, /Messages-Waiting: no/);

  for (const code of ["*11", "*20"]) {
    const { s: lamp, res } = await subscribe(alice, code, "dialog");
    assert.ok(res.status < 300, `${code}: ${res.status}`);
    await lamp.waitForNotifies(1);
    assert.equal(states(lamp.lastBody), "", `${code} is off`);
  }
  const listed = await pbx.api<Array<{ package: string; resource: string }>>(
    "GET",
    "/api/v1/tenants/acme/subscriptions",
  );
  assert.deepEqual(listed.body.map((l) => `${l.package}:${l.resource}`).sort(), [
    "dialog:*11",
    "dialog:*20",
    "message-summary:101",
    "presence:102",
  ]);
});

test("no lamp across companies, no unknown package", async () => {
  const stranger = await phones.registered("103", { domain: "globex.test", password: "secret-g103-pw" });
  const across = new Subscriber(stranger, "sip:102@acme.test", "dialog");
  const refused = await across.subscribe(600);
  assert.ok(refused.status === 403 || refused.status === 404, `got ${refused.status}`);
  const alice = await registered("101");
  const unknown = new Subscriber(alice, "102", "conference");
  assert.equal((await unknown.subscribe(600)).status, 489);
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
