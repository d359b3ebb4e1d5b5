// Interop with SIPp as the carrier behind a SIP trunk: SIPp has its own
// loopback address (127.0.0.2, the trunk's host), so the PBX tells it from
// the phones on 127.0.0.1. It plays the carrier's registrar (401 challenge,
// digest checked by SIPp's verifyauth, refresh), delivers a call to a DID
// with PCMA speech, and takes the calls the PBX sends out (a phone dialling
// a mobile number, a forwarded DID call), whose Request-URI, From,
// P-Asserted-Identity and Diversion are read from SIPp's message trace.
// With CI=true a missing sipp fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { correlate, sine, speechFrames } from "../harness/audio.ts";
import {
  freeUdpPort,
  parseSippMessages,
  runSipp,
  type SippResult,
  type SippTracedMessage,
  sippHeader,
  startSipp,
} from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const CARRIER = "127.0.0.2";
/** The company's main number (its first DID), dialled national as 021 555 01 00. */
const MAIN = "+41215550100";
/** Someone on the public network. */
const CALLER = "+41449998877";
const TRUNK_USER = "acme-trunk";
const TRUNK_PASSWORD = "trunk-secret-7781";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
/** The port of the trunk "carrier": every SIPp that takes calls from the PBX listens there. */
let carrierPort: number;

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  carrierPort = await freeUdpPort(CARRIER);
  const trunk = await pbx.api("POST", "/api/v1/trunks", {
    name: "carrier",
    host: CARRIER,
    port: carrierPort,
    transport: "udp",
  });
  assert.equal(trunk.status, 201, JSON.stringify(trunk.body));
  const did = await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
    number: MAIN,
    destination: { type: "extension", number: "101" },
  });
  assert.equal(did.status, 201, JSON.stringify(did.body));
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  await phones.cleanup();
});

const pbxServer = () => `127.0.0.1:${pbx.sip.port}`;

/** What a failed SIPp run said, for assertion messages. */
function explain(r: SippResult): string {
  return `${r.command}\nexit ${r.code}\n${r.messages.slice(-6000)}\n${r.errors.slice(-2000)}\n${r.stderr.slice(-2000)}`;
}

function received(r: SippResult, method: string): SippTracedMessage[] {
  return parseSippMessages(r.messages).filter(
    (m) => m.direction === "received" && m.firstLine.startsWith(`${method} `),
  );
}

/** key="value" or key=value parameters of a Digest credentials header. */
function digestParams(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of value.replace(/^\s*Digest\s+/i, "").matchAll(/([A-Za-z-]+)\s*=\s*("([^"]*)"|[^\s,]+)/g))
    out.set(m[1]!.toLowerCase(), m[3] ?? m[2]!);
  return out;
}

interface TrunkListEntry {
  name: string;
  registration: { state: string; expiresAt?: string; lastStatus?: number } | null;
}

test("registering trunk: SIPp as the carrier's registrar challenges, checks our digest and grants; the PBX refreshes", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const registrarPort = await freeUdpPort(CARRIER);
  const registrar = await startSipp({
    scenario: "carrier-registrar.xml",
    localAddress: CARRIER,
    localPort: registrarPort,
    // Granted 2 s first, so that the refresh (at half of it) comes within the test; then 60 s.
    vars: {
      realm: "carrier.test",
      username: TRUNK_USER,
      password: TRUNK_PASSWORD,
      expires: "2",
      expires2: "60",
    },
    // The API has the PBX read its trunks at once; the periodic re-read (30 s) would still pass.
    timeoutMs: 45_000,
  });
  const created = await pbx.api("POST", "/api/v1/trunks", {
    name: "carrier-reg",
    host: CARRIER,
    port: registrarPort,
    transport: "udp",
    register: true,
    username: TRUNK_USER,
    password: TRUNK_PASSWORD,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  try {
    const r = await registrar.done;
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual([r.successful, r.failed], [1, 0], explain(r));

    const registers = received(r, "REGISTER");
    assert.ok(
      registers.length >= 4,
      `REGISTER, retry, refresh, retry; got ${registers.length}\n${explain(r)}`,
    );
    // RFC 3261 §10.2: the Request-URI is the registrar's domain (no user), one Call-ID, rising CSeq.
    assert.equal(registers[0]!.firstLine, `REGISTER sip:${CARRIER}:${registrarPort} SIP/2.0`);
    assert.equal(
      new Set(registers.map((m) => sippHeader(m, "Call-ID"))).size,
      1,
      "one Call-ID for the binding",
    );
    const cseqs = registers.map((m) => Number.parseInt(sippHeader(m, "CSeq") ?? "", 10));
    assert.deepEqual(
      cseqs,
      [...cseqs].sort((a, b) => a - b),
      `CSeq rises: ${cseqs.join(", ")}`,
    );
    assert.equal(new Set(cseqs).size, cseqs.length, `CSeq rises: ${cseqs.join(", ")}`);
    assert.match(sippHeader(registers[0]!, "To") ?? "", new RegExp(`<sip:${TRUNK_USER}@${CARRIER}>`));
    assert.match(
      sippHeader(registers[0]!, "Contact") ?? "",
      new RegExp(`<sip:${TRUNK_USER}@127\\.0\\.0\\.1:${pbx.sip.port}`),
    );
    assert.equal(
      sippHeader(registers[0]!, "Authorization"),
      undefined,
      "the first REGISTER goes without credentials",
    );

    // RFC 2617 §3.2.2 / RFC 3261 §22.4: our answer to the challenge (SIPp's verifyauth checked the response).
    const authorization = sippHeader(registers[1]!, "Authorization");
    assert.ok(authorization, `the retry carries Authorization\n${registers[1]!.text}`);
    const p = digestParams(authorization);
    const challenge = parseSippMessages(r.messages).find((m) => m.firstLine.startsWith("SIP/2.0 401"));
    const nonce = digestParams(sippHeader(challenge!, "WWW-Authenticate") ?? "").get("nonce");
    assert.equal(p.get("username"), TRUNK_USER);
    assert.equal(p.get("realm"), "carrier.test");
    assert.equal(p.get("nonce"), nonce);
    assert.equal(p.get("uri"), `sip:${CARRIER}:${registrarPort}`, "digest uri = Request-URI");
    assert.equal(p.get("qop"), "auth");
    assert.match(p.get("nc") ?? "", /^[0-9a-f]{8}$/);
    assert.ok(p.get("cnonce"), "cnonce with qop=auth");
    assert.match(p.get("response") ?? "", /^[0-9a-f]{32}$/);
    assert.ok((p.get("algorithm") ?? "MD5").toUpperCase() === "MD5");

    const list = await pbx.api<TrunkListEntry[]>("GET", "/api/v1/trunks");
    const reg = list.body.find((x) => x.name === "carrier-reg")?.registration;
    assert.equal(reg?.state, "registered", JSON.stringify(list.body));
    // The refresh was granted 60 s.
    const left = Date.parse(reg?.expiresAt ?? "") - Date.now();
    assert.ok(left > 40_000 && left <= 61_000, `expiresAt ${reg?.expiresAt}: ${left} ms from now`);
    assert.equal(reg?.lastStatus, 200);
    const carrier = list.body.find((x) => x.name === "carrier")?.registration;
    assert.equal(carrier?.state, "disabled", "a trunk without register: true does not register");
  } finally {
    await registrar.stop();
    const gone = await pbx.api("DELETE", "/api/v1/trunks/carrier-reg");
    assert.equal(gone.status, 204, JSON.stringify(gone.body));
  }
});

test("inbound: SIPp calls the DID from the carrier's address; phone 101 answers and hears the PCMA speech", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const alice = await phones.registered("101");
  alice.autoAnswer();
  const r = await runSipp({
    scenario: "carrier-uac-call.xml",
    server: pbxServer(),
    localAddress: CARRIER,
    target: MAIN,
    vars: { caller: CALLER },
    // The first second of g711a.pcap is silence (docs/INTEROP.md).
    pauseMs: 3000,
    timeoutMs: 20_000,
  });
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual([r.successful, r.failed], [1, 0], explain(r));
  assert.doesNotMatch(r.messages, /SIP\/2\.0 40[17]/, "a carrier's call is not challenged");
  const call = await alice.waitForCall();
  assert.equal((await call.waitFor("ended")).reason, "bye");
  assert.match(call.from, new RegExp(`sip:\\${CALLER}@`), "the phone sees the carrier's caller");
  assert.equal(call.rtp.codec, "PCMA");
  assert.ok(speechFrames(call.receivedPcm()) > 20, "SIPp's speech reached the phone through the PBX");
});

test("inbound in the national form: the DID dialled as 0215550100 reaches the same phone", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const alice = await phones.registered("101");
  alice.autoAnswer();
  const r = await runSipp({
    scenario: "carrier-uac-call.xml",
    server: pbxServer(),
    localAddress: CARRIER,
    target: "0215550100",
    vars: { caller: "0449998877" },
    pauseMs: 500,
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, explain(r));
  const call = await alice.waitForCall();
  await call.waitFor("ended");
  // The carrier's national caller number is shown in E.164 (the company is in CH).
  assert.match(call.from, new RegExp(`sip:\\${CALLER}@`), call.from);
});

/**
 * Phone 101 dials `number`; SIPp (the carrier, echoing RTP) answers; the
 * phone hears itself back. Returns the carrier's last INVITE and its run.
 */
async function outgoingCall(
  number: string,
  carrierScenario = "carrier-uas-answer.xml",
  vars: Record<string, string> = {},
): Promise<{ invite: SippTracedMessage; result: SippResult }> {
  const carrier = await startSipp({
    scenario: carrierScenario,
    localAddress: CARRIER,
    localPort: carrierPort,
    rtpEcho: true,
    vars,
    timeoutMs: 30_000,
  });
  let result: SippResult | undefined;
  try {
    const alice = await phones.registered("101");
    const call = await alice.call(number, { codecs: ["PCMA"] });
    await call.waitFor("answered", 10_000);
    const tone = sine(700, 800);
    await call.playAudio(tone);
    await call.rtp.waitForPackets(30, 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      correlate(call.receivedPcm(), tone).score > 0.9,
      "the carrier's echo came back through the PBX",
    );
    assert.equal((await call.bye()).status, 200);
    result = await carrier.done;
  } finally {
    if (!result) result = await carrier.stop();
  }
  assert.equal(result.code, 0, explain(result));
  const invite = received(result, "INVITE").at(-1);
  assert.ok(invite, `the carrier got an INVITE\n${explain(result)}`);
  return { invite, result };
}

test("outgoing: 101 dials 0791231212; SIPp as the carrier gets +41791231212 with the main number as caller", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const { invite, result } = await outgoingCall("0791231212");
  assert.equal(invite.firstLine, `INVITE sip:+41791231212@${CARRIER}:${carrierPort} SIP/2.0`);
  assert.match(sippHeader(invite, "From") ?? "", new RegExp(`<sip:\\${MAIN}@${CARRIER}>`), invite.text);
  assert.match(sippHeader(invite, "P-Asserted-Identity") ?? "", new RegExp(`sip:\\${MAIN}@`), invite.text);
  assert.match(sippHeader(invite, "To") ?? "", /sip:\+41791231212@/);
  assert.equal(sippHeader(invite, "Diversion"), undefined, "not forwarded");
  assert.equal(received(result, "BYE").length, 1, "the PBX hung up toward the carrier");
});

test("outgoing through a trunk set to the national format: 0791231212 from 0215550100", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const patched = await pbx.api("PATCH", "/api/v1/trunks/carrier", { numberFormat: "national" });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  try {
    const { invite } = await outgoingCall("+41791231212");
    assert.equal(invite.firstLine, `INVITE sip:0791231212@${CARRIER}:${carrierPort} SIP/2.0`);
    assert.match(sippHeader(invite, "From") ?? "", new RegExp(`<sip:0215550100@${CARRIER}>`), invite.text);
  } finally {
    await pbx.api("PATCH", "/api/v1/trunks/carrier", { numberFormat: "e164" });
  }
});

test("forwarded DID call: carrier to 101, forwarded unconditionally to a mobile, back out with the caller and Diversion", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const set = await pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
    unconditional: "0791231212",
  });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  try {
    const outbound = await startSipp({
      scenario: "carrier-uas-answer.xml",
      localAddress: CARRIER,
      localPort: carrierPort,
      rtpEcho: true,
      timeoutMs: 30_000,
    });
    let leg: SippResult | undefined;
    let inbound: SippResult;
    try {
      inbound = await runSipp({
        scenario: "carrier-uac-call.xml",
        server: pbxServer(),
        localAddress: CARRIER,
        target: MAIN,
        vars: { caller: CALLER },
        pauseMs: 1000,
        timeoutMs: 20_000,
      });
      leg = await outbound.done;
    } finally {
      if (!leg) leg = await outbound.stop();
    }
    assert.equal(inbound.code, 0, explain(inbound));
    assert.equal(leg.code, 0, explain(leg));
    const invite = received(leg, "INVITE")[0];
    assert.ok(invite, explain(leg));
    assert.equal(invite.firstLine, `INVITE sip:+41791231212@${CARRIER}:${carrierPort} SIP/2.0`);
    // The original caller is presented (RFC 5806: the carrier accepts it thanks to Diversion).
    assert.match(sippHeader(invite, "From") ?? "", new RegExp(`sip:\\${CALLER}@`), invite.text);
    const diversion = sippHeader(invite, "Diversion") ?? "";
    assert.match(diversion, new RegExp(`<sip:\\${MAIN}@${CARRIER}>`), invite.text);
    assert.match(diversion, /;\s*reason=unconditional/);
    assert.match(diversion, /;\s*counter=1/);
  } finally {
    await pbx.api("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", { unconditional: null });
  }
});

test("outgoing to a carrier that challenges the INVITE: the trunk's credentials answer it (SIPp verifyauth)", async (t) => {
  if (!requireTool("sipp")) return t.skip("sipp not installed");
  const patched = await pbx.api("PATCH", "/api/v1/trunks/carrier", {
    username: TRUNK_USER,
    password: TRUNK_PASSWORD,
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  try {
    const { invite, result } = await outgoingCall("0791231212", "carrier-uas-auth.xml", {
      realm: "carrier.test",
      username: TRUNK_USER,
      password: TRUNK_PASSWORD,
    });
    const invites = received(result, "INVITE");
    assert.equal(invites.length, 2, "INVITE, then INVITE with credentials");
    assert.equal(received(result, "ACK").length, 2, "the 401 and the 200 were both ACKed");
    const p = digestParams(sippHeader(invite, "Authorization") ?? "");
    assert.equal(p.get("username"), TRUNK_USER);
    assert.equal(p.get("realm"), "carrier.test");
    assert.equal(p.get("uri"), `sip:+41791231212@${CARRIER}:${carrierPort}`, "digest uri = Request-URI");
    assert.equal(sippHeader(invite, "Call-ID"), sippHeader(invites[0]!, "Call-ID"), "same call, §22.2");
    const [first, second] = invites.map((m) => Number.parseInt(sippHeader(m, "CSeq") ?? "", 10));
    assert.ok(second! > first!, `CSeq rises: ${first} then ${second}`);
  } finally {
    await pbx.api("PATCH", "/api/v1/trunks/carrier", { username: null, password: null });
  }
});
