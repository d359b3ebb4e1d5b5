// Overload control (issue 11): while the signalling thread lags, a new call
// is refused at once with 503 and Retry-After, sent once, before any digest
// check; the calls already up go on (BYE, re-INVITE), phones still register,
// and new calls are taken again once the lag is gone.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import type { LoadProbe } from "../../src/pbx/security/overload-guard.ts";
import { getHeader } from "../../src/sip/message/index.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

/** The load the PBX reads: set by the test instead of a real saturated loop. */
const load = { delayMs: 0 };
const probe: LoadProbe = { sample: () => ({ delayMs: load.delayMs, utilization: 0.5 }), stop: () => {} };

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);

before(async () => {
  pbx = await startTestPbx({ loadProbe: probe, config: { overloadDelayMs: 200 } });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103", "104"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  load.delayMs = 0;
  await phones.cleanup();
});

/** The guard samples every 250 ms of the PBX's (real) clock, and acts on two windows in a row. */
const nextSample = () => new Promise((r) => setTimeout(r, 700));

test("overloaded: a new call gets 503 with Retry-After at once, the call in progress goes on", async () => {
  const up = await phones.answeredCall("101", "102");
  const caller = await phones.registered("103");
  const callee = await phones.registered("104");
  callee.autoAnswer();

  load.delayMs = 500;
  await nextSample();
  const refused = await (await caller.call("104")).waitFor(503);
  assert.equal(refused.reason, "Overloaded");
  const retryAfter = Number(getHeader(refused, "Retry-After"));
  assert.ok(retryAfter >= 5 && retryAfter <= 10, `Retry-After ${retryAfter}`);
  // Refused before the digest check: no challenge was asked for.
  assert.equal(getHeader(refused, "Proxy-Authenticate"), undefined);

  // Phones keep registering, and the call that was up is still served.
  await phones.registered("103");
  await up.call.bye();
  await up.incoming.waitFor("ended");

  // Under half the limit the PBX takes calls again.
  load.delayMs = 90;
  await nextSample();
  const again = await caller.call("104");
  await again.waitFor("answered");
  await again.bye();
});

test("between half the limit and the limit, an overloaded PBX stays overloaded (no flapping)", async () => {
  const caller = await phones.registered("103");
  load.delayMs = 400;
  await nextSample();
  load.delayMs = 150;
  await nextSample();
  const refused = await (await caller.call("104")).waitFor(503);
  assert.equal(refused.reason, "Overloaded");
});
