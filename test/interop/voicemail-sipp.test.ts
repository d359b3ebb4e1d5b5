// Interop with SIPp as the carrier reaching a mailbox from outside: SIPp
// (127.0.0.2, the trunk's host) calls a DID whose destination is mailbox
// 102 and types, with the RFC 4733 captures that come with SIPp
// (/usr/share/sip-tester/dtmf_2833_*.pcap, payload type 101), `*` during the
// greeting, then the PIN and `#`. The right PIN opens the mailbox and `1`
// plays the message (which is then no longer new); a wrong PIN three times
// ends the call and leaves the message new. The message is left beforehand
// by a harness phone on the carrier's address.
// Each scenario runs twice: with the captures as shipped, whose RTP numbers
// jump backwards from key to key (the PBX takes such a jump as a restarted
// stream, RFC 3550 §A.1), and with copies renumbered into one rising
// stream, as a phone sends its keys.
// With CI=true a missing sipp fails these tests.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { TelephoneEventReceiver } from "../../src/media/dtmf/index.ts";
import { speechLike } from "../harness/audio.ts";
import { SipPhone } from "../harness/sip-phone.ts";
import {
  freeUdpPort,
  parseSippMessages,
  renumberDtmfPcaps,
  runSipp,
  type SippResult,
  scenarioPath,
} from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const CARRIER = "127.0.0.2";
/** The number whose destination is mailbox 102. */
const DID = "+41215550102";
/** Someone on the public network (the owner of mailbox 102, away from the office). */
const CALLER = "+41449998877";
const PIN = "4826";
const MESSAGES = "/api/v1/tenants/acme/extensions/102/voicemail/messages";

interface MessageView {
  id: string;
  folder: string;
  callerNumber: string;
  durationMs: number;
}

let pbx: TestPbx;
/** A harness phone on the carrier's address: it leaves the message that SIPp then listens to. */
let carrier: SipPhone;

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  const features = await pbx.api("PATCH", "/api/v1/tenants/acme/features", {
    voicemail: true,
    voicemailRemoteAccess: true,
  });
  assert.equal(features.status, 200, JSON.stringify(features.body));
  const mailbox = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", {
    voicemail: { enabled: true, pin: PIN, remoteAccess: true },
  });
  assert.equal(mailbox.status, 200, JSON.stringify(mailbox.body));
  const trunk = await pbx.api("POST", "/api/v1/trunks", {
    name: "carrier",
    host: CARRIER,
    port: await freeUdpPort(CARRIER),
    transport: "udp",
  });
  assert.equal(trunk.status, 201, JSON.stringify(trunk.body));
  const did = await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
    number: DID,
    destination: { type: "voicemail", number: "102" },
  });
  assert.equal(did.status, 201, JSON.stringify(did.body));
  carrier = await SipPhone.create({
    user: CALLER,
    password: "unused-by-trunks",
    domain: "carrier.test",
    server: pbx.sip,
    localAddress: CARRIER,
  });
});

after(async () => {
  await carrier?.close();
  await pbx?.stop();
});

afterEach(async () => {
  for (const m of await messages()) await pbx.api("DELETE", `${MESSAGES}/${m.id}`);
  // Wrong PINs count across calls (five in an hour lock the mailbox): each test starts from none.
  const unlocked = await pbx.api("POST", "/api/v1/tenants/acme/extensions/102/voicemail/unlock");
  assert.equal(unlocked.status, 200, JSON.stringify(unlocked.body));
});

const pbxServer = () => `127.0.0.1:${pbx.sip.port}`;

async function messages(): Promise<MessageView[]> {
  const res = await pbx.api<MessageView[]>("GET", MESSAGES);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

function received(r: SippResult, method: string) {
  return parseSippMessages(r.messages).filter(
    (m) => m.direction === "received" && m.firstLine.startsWith(`${method} `),
  );
}

/** What a SIPp run said, for assertion messages. */
function explain(r: SippResult): string {
  return `${r.command}\nexit ${r.code}\n${r.messages.slice(-6000)}\n${r.errors.slice(-2000)}\n${r.stderr.slice(-2000)}`;
}

/** A caller from outside leaves one message in mailbox 102 (after the greeting and the beep). */
async function leaveMessage(): Promise<MessageView> {
  const call = await carrier.call(`${DID}@127.0.0.1`);
  await call.waitFor("answered", 10_000);
  await untilQuietAfterSound(call);
  await call.playAudio(speechLike(2500));
  await call.bye();
  await waitUntil(async () => (await messages()).length === 1);
  const [message] = await messages();
  assert.equal(message!.folder, "new");
  return message!;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The scenario as it is (SIPp's captures as shipped), or a copy that plays
 * them renumbered into one rising RTP stream, as a phone would send them.
 */
const PCAPS = [
  // Fixed RTP numbers: after `*` (timestamp 85760) every digit has an earlier timestamp and a
  // sequence number far behind; docs/INTEROP.md has the numbers.
  { label: "as shipped", renumber: false },
  { label: "renumbered into one stream", renumber: true },
] as const;

async function runVoicemailSipp(
  scenario: string,
  renumbered: boolean,
  opts: { pauseMs?: number; timeoutMs: number },
): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-vm-sipp-"));
  try {
    return await runSipp({
      scenario: renumbered ? renumberDtmfPcaps(scenario, dir) : scenario,
      server: pbxServer(),
      localAddress: CARRIER,
      target: DID,
      vars: { caller: CALLER },
      ...opts,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The RTP packets of the RFC 4733 captures that a scenario plays, in order (Ethernet, IPv4, UDP). */
function scenarioRtp(scenario: string): { sequence: number; timestamp: number; payload: Buffer }[] {
  const out: { sequence: number; timestamp: number; payload: Buffer }[] = [];
  for (const [, file] of readFileSync(scenario, "utf8").matchAll(/play_pcap_audio="([^"]+)"/g)) {
    const pcap = readFileSync(file!);
    for (let at = 24; at + 16 <= pcap.length; ) {
      const end = at + 16 + pcap.readUInt32LE(at + 8);
      const rtp = pcap.subarray(at + 16 + 14 + (pcap[at + 16 + 14]! & 0x0f) * 4 + 8, end);
      out.push({ sequence: rtp.readUInt16BE(2), timestamp: rtp.readUInt32BE(4), payload: rtp.subarray(12) });
      at = end;
    }
  }
  return out;
}

for (const pcaps of PCAPS) {
  test(`the PBX's RFC 4733 receiver reads *4826#1 from voicemail-remote-pin.xml's pcaps ${pcaps.label}`, (t) => {
    if (!requireTool("sipp")) return t.skip("sipp not installed");
    const dir = mkdtempSync(join(tmpdir(), "vpbx-vm-sipp-"));
    try {
      const scenario = pcaps.renumber
        ? renumberDtmfPcaps("voicemail-remote-pin.xml", dir)
        : scenarioPath("voicemail-remote-pin.xml");
      const receiver = new TelephoneEventReceiver();
      const digits = scenarioRtp(scenario)
        .map((p) => receiver.push(p.timestamp, p.payload, 0, p.payload.length, p.sequence))
        .filter((d) => d !== null);
      assert.equal(digits.join(""), "*4826#1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const pcaps of PCAPS) {
  const renumbered = pcaps.renumber;

  test(`remote access: SIPp types * during the greeting, the PIN 4826 # and 1 (RFC 4733 pcaps ${pcaps.label}); the message is heard`, async (t) => {
    if (!requireTool("sipp")) return t.skip("sipp not installed");
    const left = await leaveMessage();
    // After 1: "message number 1", then the message (about 3 s).
    const r = await runVoicemailSipp("voicemail-remote-pin.xml", renumbered, {
      pauseMs: 8000,
      timeoutMs: 40_000,
    });
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual([r.successful, r.failed], [1, 0], explain(r));
    assert.equal(received(r, "BYE").length, 0, `the PBX kept the call until SIPp hung up\n${explain(r)}`);
    // Listening marks the message old: the PIN was accepted and 1 reached the menu.
    assert.deepEqual(
      (await messages()).map((m) => [m.id, m.folder]),
      [[left.id, "old"]],
    );
  });

  test(`remote access: a wrong PIN three times (RFC 4733 pcaps ${pcaps.label}) ends the call; the message stays new`, async (t) => {
    if (!requireTool("sipp")) return t.skip("sipp not installed");
    const left = await leaveMessage();
    // The scenario waits 10 s at most for the BYE after the third PIN: a PBX
    // that heard no digits would still be waiting for them (8 s per attempt).
    const r = await runVoicemailSipp("voicemail-wrong-pin.xml", renumbered, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual([r.successful, r.failed], [1, 0], explain(r));
    assert.equal(received(r, "BYE").length, 1, `the PBX hung up\n${explain(r)}`);
    assert.deepEqual(
      (await messages()).map((m) => [m.id, m.folder]),
      [[left.id, "new"]],
    );
  });
}
