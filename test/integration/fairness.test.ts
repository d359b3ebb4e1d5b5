// Fair shares between companies (issue 10): one company at its cap of
// simultaneous calls cannot take more of the PBX, and the others call on as
// usual. A phone over its company's cap hears 503 "Too Many Calls" with
// Retry-After, a call from the trunk to the company's number hears busy
// (486), an emergency call still goes through; a phone at its own cap
// (the extension's maxCalls) hears 486 when it calls out.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { getHeader } from "../../src/sip/message/index.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { addCarrier } from "../support/carrier.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const ACME_MAIN = "+41215550100";

let pbx: TestPbx;
let carrier: SipPhone;
const phones = new Phones(() => pbx.sip);

const ok = (r: { status: number; body: unknown }, what: string) =>
  assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104", "105", "106"])
    await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  await pbx.addTenant("globex", "globex.test");
  for (const n of ["101", "102"]) await pbx.addExtension("globex", n, `secret-g${n}-pw`);
  carrier = await addCarrier(pbx);
  ok(
    await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
      number: ACME_MAIN,
      destination: { type: "extension", number: "105" },
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

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const callsOf = async (tenant: string) =>
  (await pbx.api<Array<{ tenant: string }>>("GET", "/api/v1/calls")).body.filter((c) => c.tenant === tenant)
    .length;

describe("a company at its cap of simultaneous calls", () => {
  test("acme at maxCalls 2 with two calls up: a third gets 503, globex calls normally, the trunk's call gets 486", async () => {
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme", { maxCalls: 2 }), "cap");
    const first = await phones.answeredCall("101", "102");
    const second = await phones.answeredCall("103", "104");
    await waitUntil(async () => (await callsOf("acme")) === 2);

    // The attack: acme tries to take more. A third call from one of its phones is refused...
    const acme105 = await phones.registered("105");
    // 106 is free and would answer: without the cap, acme would have a third call.
    const frank = await phones.registered("106");
    frank.autoAnswer();
    const third = await acme105.call("106");
    const refused = await third.waitFor(503);
    assert.equal(refused.reason, "Too Many Calls");
    assert.match(getHeader(refused, "Retry-After") ?? "", /^\d+$/);
    // ...and so is a call from the public network to its number (busy toward the carrier).
    const inbound = await carrier.call(`${ACME_MAIN}@127.0.0.1`);
    assert.equal((await inbound.waitFor(486)).status, 486);
    assert.equal(await callsOf("acme"), 2, "acme never had more than its cap");

    // Another company is not concerned: globex calls as usual, while acme is full.
    const globex101 = await phones.registered("101", { domain: "globex.test", password: "secret-g101-pw" });
    const globex102 = await phones.registered("102", { domain: "globex.test", password: "secret-g102-pw" });
    globex102.autoAnswer();
    const other = await globex101.call("102");
    await other.waitFor("answered");
    const otherIn = await globex102.waitForCall();
    await otherIn.waitForAck();
    assert.equal(await callsOf("globex"), 1);

    // An emergency call is never refused by the cap: it leaves through the trunk.
    carrier.autoAnswer();
    const emergency = await acme105.call("112");
    await emergency.waitFor("answered");
    const atCarrier = await carrier.waitForCall();
    assert.equal(atCarrier.request.uri.user, "112");
    await emergency.bye();
    await atCarrier.waitFor("ended");
    carrier.onIncomingCall = undefined;

    // When one call ends, acme has room again.
    await first.call.bye();
    await first.incoming.waitFor("ended");
    await waitUntil(async () => (await callsOf("acme")) === 1);
    const phone101 = first.from;
    acme105.autoAnswer();
    const again = await phone101.call("105");
    await again.waitFor("answered");
    await again.bye();
    await second.call.bye();
    await other.bye();
  });

  test("the cap is changed through the API and shown; with the default (20) the same calls pass", async () => {
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme", { maxCalls: 20 }), "cap");
    const shown = await pbx.api<{ maxCalls: number }>("GET", "/api/v1/tenants/acme");
    assert.equal(shown.body.maxCalls, 20);
    const first = await phones.answeredCall("101", "102");
    const second = await phones.answeredCall("103", "104");
    const acme105 = await phones.registered("105");
    const frank = await phones.registered("106");
    frank.autoAnswer();
    const third = await acme105.call("106");
    await third.waitFor("answered");
    assert.equal(await callsOf("acme"), 3);
    await third.bye();
    await first.call.bye();
    await second.call.bye();
  });
});

describe("a phone at its own cap", () => {
  test("an extension with maxCalls 1 in a call gets 486 when it calls out again; others are not concerned", async () => {
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme", { maxCalls: 20 }), "cap");
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/101", { maxCalls: 1 }), "extension cap");
    try {
      const { from: alice, call } = await phones.answeredCall("101", "102");
      const carol = await phones.registered("103");
      carol.autoAnswer();
      const second = await alice.call("103");
      assert.equal((await second.waitFor(486)).status, 486);
      // 102 is in the same call but has its own cap (2): it may call out.
      const bob = await phones.registered("102");
      const fromBob = await bob.call("103");
      await fromBob.waitFor("answered");
      await fromBob.bye();
      await call.bye();
    } finally {
      ok(
        await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/101", { maxCalls: 2 }),
        "extension cap back",
      );
    }
  });
});
