// Encrypted calls (issue 13, SDES SRTP over TLS): the B2BUA terminates SRTP
// per leg, so an encrypted phone talks to a plain one with audio both ways,
// checked after decryption; a packet that fails authentication is dropped,
// never relayed; keys offered over plain SIP are refused; a company that
// requires encryption refuses plain registrations and calls.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { speechFrames } from "../harness/audio.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { Phones } from "../support/phones.ts";
import { audioBothWays } from "../support/talk.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
let tlsPort: number;
const phones = new Phones(() => pbx.sip);

before(async () => {
  pbx = await startTestPbx({ config: { sipTlsPort: 0 } });
  tlsPort = pbx.vpbx.sipTlsPort!;
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  await pbx.api("PATCH", "/api/v1/tenants/acme", { requireEncryption: false });
  await phones.cleanup();
});

/** A phone on the TLS port with SRTP, registered. */
function securePhone(user: string): Promise<SipPhone> {
  return phones.registered(user, {
    transport: "TLS",
    srtp: true,
    server: { host: "127.0.0.1", port: tlsPort },
  });
}

const bodyOf = (m: { body: Buffer } | undefined) => m?.body.toString("utf8") ?? "";

test("an SRTP phone over TLS calls a plain phone: each leg its own protocol, audio both ways, a tampered packet dropped", async () => {
  const alice = await securePhone("101");
  const bob = await phones.registered("102");
  bob.autoAnswer();
  const call = await alice.call("102");
  const answered = await call.waitFor("answered");
  const incoming = await bob.waitForCall();
  await incoming.waitForAck();

  assert.match(bodyOf(answered), /m=audio \d+ RTP\/SAVP /, "the encrypted phone's leg is SRTP");
  assert.match(bodyOf(answered), /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
  assert.match(bodyOf(incoming.request), /m=audio \d+ RTP\/AVP /, "the plain phone's leg is plain RTP");
  assert.doesNotMatch(bodyOf(incoming.request), /a=crypto/, "no key leaves its leg");

  await audioBothWays(call, incoming);
  assert.equal(call.rtp.srtpRejected, 0, "every packet from the PBX authenticated");

  // A packet whose payload was changed on the way: dropped by the PBX, never heard by bob.
  const before = incoming.rtp.packets.length;
  const forged = Buffer.alloc(172 + 10, 0x11);
  forged[0] = 0x80;
  forged.writeUInt16BE(60000, 2);
  forged.writeUInt32BE(0xdeadbeef, 8);
  for (let i = 0; i < 5; i++) call.rtp.sendRaw(forged);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(incoming.rtp.packets.length, before, "forged SRTP never relayed");
  await call.bye();
});

test("a plain phone calls an SRTP phone registered over TLS: the PBX offers it keys (best effort) and the leg is encrypted", async () => {
  const alice = await securePhone("101");
  const bob = await phones.registered("102");
  alice.autoAnswer();
  const call = await bob.call("101");
  await call.waitFor("answered");
  const incoming = await alice.waitForCall();
  await incoming.waitForAck();
  // Best effort: RTP/AVP with keys, so that a phone over TLS without SRTP answers plain.
  assert.match(bodyOf(incoming.request), /m=audio \d+ RTP\/AVP /);
  assert.equal((bodyOf(incoming.request).match(/a=crypto:/g) ?? []).length, 3, "one key per suite offered");
  await audioBothWays(call, incoming);
  assert.equal(incoming.rtp.srtpRejected, 0, "what the PBX sent it was encrypted with the agreed key");
  await call.bye();
});

test("an app speaks to an encrypted leg: a feature code's prompt arrives encrypted and decrypts to speech", async () => {
  const alice = await securePhone("101");
  const code = await alice.call("*72");
  const answered = await code.waitFor("answered");
  assert.match(bodyOf(answered), /RTP\/SAVP/);
  const deadline = Date.now() + 5000;
  while (code.receivedPcm().length < 8000 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.ok(speechFrames(code.receivedPcm()) > 10, "the prompt was heard after decryption");
  assert.equal(code.rtp.srtpRejected, 0, "every packet authenticated");
  await code.bye().catch(() => undefined);
});

test("keys offered over plain SIP are refused with 488, naming TLS", async () => {
  const eve = await phones.registered("103", { srtp: true });
  const call = await eve.call("102");
  const refused = await call.waitFor(488);
  assert.ok(refused.status === 488);
});

test("a company that requires encryption: plain REGISTER 403, plain call 403, TLS with SRTP works", async () => {
  const alice = await securePhone("101");
  const bob = await securePhone("102");
  const plainCarol = await phones.registered("103");
  assert.equal(
    (await pbx.api("PATCH", "/api/v1/tenants/acme", { requireEncryption: true })).status,
    200,
    "switched on",
  );
  const refusedRegister = await plainCarol.register();
  assert.equal(refusedRegister.status, 403);
  assert.match(refusedRegister.reason, /Encryption Required/);

  const plainCall = await plainCarol.call("101");
  assert.equal((await plainCall.waitFor(403)).status, 403);

  bob.autoAnswer();
  const call = await alice.call("102");
  await call.waitFor("answered");
  const incoming = await bob.waitForCall();
  await incoming.waitForAck();
  assert.match(bodyOf(incoming.request), /m=audio \d+ RTP\/SAVP /, "SRTP is required: RTP/SAVP");
  await audioBothWays(call, incoming);
  await call.bye();
});
