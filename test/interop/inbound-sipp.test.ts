// Interop with SIPp as the carrier calling the company's number, which
// leads to the company's inbound flow: closed, SIPp is answered by the PBX,
// hears the closed announcement (RTP toward it, timed by SIPp's trace) and
// is hung up on; open, the shop's ring group rings phone 102, which answers
// and hears SIPp's PCMA speech. With CI=true a missing sipp fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { speechFrames } from "../harness/audio.ts";
import { freeUdpPort, parseSippMessages, runSipp, type SippResult } from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const CARRIER = "127.0.0.2";
const MAIN = "+41215550100";
const CALLER = "+41449998877";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  const steps: Array<[string, string, unknown]> = [
    [
      "POST",
      "/api/v1/trunks",
      { name: "carrier", host: CARRIER, port: await freeUdpPort(CARRIER), transport: "udp" },
    ],
    ["POST", "/api/v1/tenants/acme/ring-groups", { name: "shop", members: ["102"], timeout: 30 }],
    ["POST", "/api/v1/tenants/acme/numbers", { number: MAIN, destination: { type: "inbound-flow" } }],
  ];
  for (const [method, path, body] of steps) {
    const r = await pbx.api(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
});

after(async () => {
  await pbx.stop();
});

afterEach(() => phones.cleanup());

function explain(r: SippResult): string {
  return `${r.command}\nexit ${r.code}\n${r.messages.slice(-6000)}\n${r.errors.slice(-2000)}\n${r.stderr.slice(-2000)}`;
}

/** The schedule's default mode decides while schedules are off for this company (the provider's switch). */
async function companyIs(mode: "open" | "closed"): Promise<void> {
  const r = await pbx.api("PUT", "/api/v1/tenants/acme/schedule", {
    modes: {
      open: { destination: { type: "ring-group", name: "shop" } },
      closed: { destination: { type: "announcement", announcement: "closed", then: { type: "hangup" } } },
    },
    default: mode,
    weekly: [],
    exceptions: [],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test("closed: SIPp as the carrier is answered, hears the closed announcement and is hung up on", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  await companyIs("closed");
  const r = await runSipp({
    scenario: "carrier-uac-announced.xml",
    server: `127.0.0.1:${pbx.sip.port}`,
    localAddress: CARRIER,
    target: MAIN,
    vars: { caller: CALLER },
    timeoutMs: 40_000,
  });
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual([r.successful, r.failed], [1, 0], explain(r));
  const trace = parseSippMessages(r.messages);
  const answered = trace.find((m) => m.direction === "received" && m.firstLine.startsWith("SIP/2.0 200"));
  const bye = trace.find((m) => m.direction === "received" && m.firstLine.startsWith("BYE "));
  assert.ok(answered && bye, explain(r));
  assert.doesNotMatch(r.messages, /SIP\/2\.0 40[17]/, "a carrier's call is not challenged");
});

test("open: SIPp as the carrier reaches the shop's ring group; phone 102 answers and hears its speech", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  await companyIs("open");
  const bob = await phones.registered("102");
  bob.autoAnswer({ afterMs: 200 });
  const r = await runSipp({
    scenario: "carrier-uac-call.xml",
    server: `127.0.0.1:${pbx.sip.port}`,
    localAddress: CARRIER,
    target: MAIN,
    vars: { caller: CALLER },
    pauseMs: 4000,
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, explain(r));
  const call = await bob.waitForCall();
  assert.equal((await call.waitFor("ended")).reason, "bye");
  assert.ok(speechFrames(call.receivedPcm()) > 20, "SIPp's speech reached the phone through the PBX");
});
