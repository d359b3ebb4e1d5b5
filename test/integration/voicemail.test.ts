// Voicemail through a whole vpbx, with real audio: a caller leaves a message
// when the extension is busy or unreachable, the owner hears it back through
// *97 (the decoded audio compared with what was said), the voicemail lamp
// counts it, and remote access by `*` during the greeting is refused until
// both the provider and the owner switch it on. Callers from outside come in
// through a harness carrier on 127.0.0.2.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { SMTPServer } from "smtp-server";
import { concat, correlate, silence, speechLike } from "../harness/audio.ts";
import type { Call, SipPhone } from "../harness/sip-phone.ts";
import { Subscriber } from "../harness/subscriber.ts";
import { addCarrier } from "../support/carrier.ts";
import { Phones } from "../support/phones.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
let carrier: SipPhone;
/** What the in-process mail server received (raw messages). */
const mails: string[] = [];
let smtp: SMTPServer;
const phones = new Phones(() => pbx.sip);
const registered = (user: string) => phones.registered(user);
const PIN = "4826";
const DID = "+41215550102";

interface MessageView {
  id: string;
  folder: string;
  callerNumber: string;
  durationMs: number;
}

before(async () => {
  smtp = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push(Buffer.concat(chunks).toString("latin1"));
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  pbx = await startTestPbx({ smtpUrl: `smtp://127.0.0.1:${smtpPort}` });
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  assert.equal((await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true })).status, 200);
  const mailbox = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", {
    voicemail: { enabled: true, pin: PIN },
  });
  assert.equal(mailbox.status, 200, JSON.stringify(mailbox.body));
  carrier = await addCarrier(pbx);
  assert.equal(
    (
      await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
        number: DID,
        destination: { type: "voicemail", number: "102" },
      })
    ).status,
    201,
  );
});

after(async () => {
  await carrier.close();
  await pbx.stop();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

afterEach(() => phones.cleanup());

async function messages(): Promise<MessageView[]> {
  const res = await pbx.api<MessageView[]>("GET", "/api/v1/tenants/acme/extensions/102/voicemail/messages");
  assert.equal(res.status, 200);
  return res.body;
}

async function clearMailbox(): Promise<void> {
  for (const m of await messages()) {
    await pbx.api("DELETE", `/api/v1/tenants/acme/extensions/102/voicemail/messages/${m.id}`);
  }
}

/** Waits for the greeting to end (the beep after it), then speaks `speech` and hangs up. */
async function leave(call: Call, speech: Int16Array): Promise<void> {
  await call.waitFor("answered", 10000);
  await untilQuietAfterSound(call);
  await call.playAudio(concat(speech, silence(300)));
  await call.bye();
}

test("busy: the caller leaves a message; the lamp lights; the owner hears it back with *97", async () => {
  await clearMailbox();
  const owner = await registered("102");
  const lamp = new Subscriber(owner, "102", "message-summary");
  await lamp.subscribe(600);
  await lamp.waitForNotifies(1);
  assert.match(lamp.lastBody, /Messages-Waiting: no/);

  owner.autoAnswer({ status: 486 });
  const alice = await registered("101");
  const speech = speechLike(2500);
  await leave(await alice.call("102"), speech);
  await waitUntil(async () => (await messages()).length === 1);
  const [message] = await messages();
  assert.equal(message!.callerNumber, "101");
  assert.equal(message!.folder, "new");
  assert.ok(message!.durationMs > 1500 && message!.durationMs < 4000, `duration ${message!.durationMs}`);
  await waitUntil(() => /Messages-Waiting: yes/.test(lamp.lastBody));
  assert.match(lamp.lastBody, /Voice-Message: 1\/0/);

  // *97 from the owner's phone: PIN, then 1 to listen.
  owner.onIncomingCall = undefined;
  const menu = await owner.call("*97");
  await menu.waitFor("answered");
  await untilQuietAfterSound(menu);
  await menu.sendRfc4733(`${PIN}#`);
  await untilQuietAfterSound(menu);
  const before = menu.receivedPcm().length;
  await menu.sendRfc4733("1");
  await new Promise((r) => setTimeout(r, 6000));
  const heard = menu.receivedPcm().subarray(before);
  const match = correlate(heard, speech);
  assert.ok(match.score > 0.6, `the owner hears the message (score ${match.score.toFixed(3)})`);
  await menu.bye();
  await waitUntil(() => /Voice-Message: 0\/1/.test(lamp.lastBody));
  await lamp.subscribe(0);
});

test("unreachable: with no phone registered the call goes to the mailbox, and the message is mailed", async () => {
  await clearMailbox();
  const set = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", {
    voicemail: { email: "bob@acme.example" },
  });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const alice = await registered("101");
  await leave(await alice.call("102"), speechLike(2000));
  await waitUntil(async () => (await messages()).length === 1);
  await waitUntil(() => mails.length === 1);
  assert.match(mails[0]!, /^To: bob@acme\.example/m);
  assert.match(mails[0]!, /Content-Type: audio\/wav/i);
  assert.match(mails[0]!, /101/);
  await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { voicemail: { email: null } });
});

test("a message of less than a second of sound is discarded", async () => {
  await clearMailbox();
  const alice = await registered("101");
  await leave(await alice.call("102"), silence(1500));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await messages()).length, 0);
});

test("remote access: * during the greeting is ignored until the provider and the owner both allow it", async () => {
  await clearMailbox();
  // Off by default: * is ignored, the caller can still leave a message.
  const first = await carrier.call(`${DID}@127.0.0.1`);
  await first.waitFor("answered", 10000);
  await first.sendRfc4733("*");
  await untilQuietAfterSound(first);
  await first.playAudio(speechLike(2500));
  await first.bye();
  await waitUntil(async () => (await messages()).length === 1);

  assert.equal(
    (await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemailRemoteAccess: true })).status,
    200,
  );
  assert.equal(
    (await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", { voicemail: { remoteAccess: true } }))
      .status,
    200,
  );
  const remote = await carrier.call(`${DID}@127.0.0.1`);
  await remote.waitFor("answered", 10000);
  await remote.sendRfc4733("*");
  await untilQuietAfterSound(remote);
  await remote.sendRfc4733(`${PIN}#`);
  await untilQuietAfterSound(remote);
  const before = remote.receivedPcm().length;
  await remote.sendRfc4733("1");
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(remote.receivedPcm().length - before > 8000, "the menu plays the message");
  await remote.bye();
  await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemailRemoteAccess: false });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
