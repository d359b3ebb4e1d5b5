// When the RTP port range is used up, a new call is refused with 503 and
// the calls in progress go on; once a call ends its ports serve again.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);

before(async () => {
  // Two port pairs: exactly one bridged call (two legs).
  pbx = await startTestPbx({ rtpPairs: 2 });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  await pbx.stop();
});

afterEach(() => phones.cleanup());

test("no RTP ports left: 503 for the new call, the call in progress is untouched", async () => {
  const alice = await phones.registered("101");
  const bob = await phones.registered("102");
  const carol = await phones.registered("103");
  bob.autoAnswer();
  const first = await alice.call("102");
  await first.waitFor("answered");
  const second = await carol.call("101");
  assert.equal((await second.waitFor(503)).status, 503);
  assert.equal(first.state, "answered");
  await first.bye();
  carol.autoAnswer();
  const again = await alice.call("103");
  await again.waitFor("answered");
  await again.bye();
});
