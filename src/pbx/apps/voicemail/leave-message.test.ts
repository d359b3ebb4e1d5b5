import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { afterEach, beforeEach, test } from "node:test";
import { sayMessageCounts } from "../../../prompts/index.ts";
import type { CallEvent, ScriptedCall } from "../testing/scripted-call.ts";
import { type VoicemailFixture, voicemailFixture } from "../testing/voicemail-fixture.ts";
import { leaveMessage } from "./leave-message.ts";
import { mailboxMenu } from "./mailbox-menu.ts";
import { spoken } from "./menu-keys.ts";

const PIN = "4826";
let fx: VoicemailFixture;
beforeEach(async () => {
  fx = await voicemailFixture();
  await fx.features({ voicemail: true });
  await fx.mailbox("102", PIN);
});
afterEach(async () => {
  await fx.close();
});

const messages = () => fx.voicemail.messages("acme", "102");
const recordings = (call: ScriptedCall) =>
  call.events.filter((e): e is Extract<CallEvent, { op: "record" }> => e.op === "record");
const DEFAULT_GREETING = ["voicemail.greeting.default.extension", { digits: "102" }];
/** Remote access on for the company and the mailbox (both off by default). */
const allowRemote = async () => {
  await fx.features({ voicemailRemoteAccess: true });
  await fx.mailbox("102", PIN, { remoteAccess: true });
};

test("no recording: the standard sentence with the number, the beep, the message, thanks", async () => {
  const call = fx.call([{ speak: 4000 }]);
  await leaveMessage(call, "102", "unavailable");
  assert.deepEqual(call.said, [
    ...DEFAULT_GREETING,
    "voicemail.greeting.default.unavailable",
    "voicemail.message.recorded",
  ]);
  const [recorded] = recordings(call);
  assert.deepEqual(recorded.opts, { maxSeconds: 180, silenceSeconds: 5 });
  assert.ok(call.hungUp);
  const [message] = await messages();
  assert.equal(message.folder, "new");
  assert.equal(message.callerNumber, "101");
  assert.equal(message.callerName, "Alice");
  assert.equal(message.durationMs, 4000);
  assert.ok(existsSync(fx.voicemail.audioPath(message)));
  assert.ok(!existsSync(recorded.result.path), "the temporary recording is gone");
  assert.deepEqual(fx.published.at(-1), { mailbox: "102", counts: { newMessages: 1, oldMessages: 0 } });
});

test("busy: the standard sentence says the person is on the phone", async () => {
  const call = fx.call([{ speak: 2000 }]);
  await leaveMessage(call, "102", "busy");
  assert.deepEqual(call.said.slice(0, 3), [...DEFAULT_GREETING, "voicemail.greeting.default.busy"]);
  assert.equal((await messages()).length, 1);
});

test("a recorded name takes the place of the number in the standard sentence", async () => {
  await fx.voicemail.saveGreeting("acme", "102", "name", fx.wav(1200));
  const name = await fx.voicemail.greeting("acme", "102", "name");
  const call = fx.call([{ speak: 2000 }]);
  await leaveMessage(call, "102", "busy");
  assert.deepEqual(call.said.slice(0, 2), [{ file: name }, "voicemail.greeting.default.busy"]);
});

test("the recorded greeting of the situation is played alone; the other situation keeps its default", async () => {
  await fx.voicemail.saveGreeting("acme", "102", "name", fx.wav(1200));
  await fx.voicemail.saveGreeting("acme", "102", "unavailable", fx.wav(5000));
  const name = await fx.voicemail.greeting("acme", "102", "name");
  const away = await fx.voicemail.greeting("acme", "102", "unavailable");
  const unavailable = fx.call([{ speak: 2000 }]);
  await leaveMessage(unavailable, "102", "unavailable");
  assert.deepEqual(unavailable.said, [{ file: away }, "voicemail.message.recorded"]);
  const busy = fx.call([{ speak: 2000 }]);
  await leaveMessage(busy, "102", "busy");
  assert.deepEqual(busy.said.slice(0, 2), [{ file: name }, "voicemail.greeting.default.busy"]);

  await fx.voicemail.saveGreeting("acme", "102", "busy", fx.wav(4000));
  const onThePhone = await fx.voicemail.greeting("acme", "102", "busy");
  const busyAgain = fx.call([{ speak: 2000 }]);
  await leaveMessage(busyAgain, "102", "busy");
  assert.deepEqual(busyAgain.said, [{ file: onThePhone }, "voicemail.message.recorded"]);
});

test("the mailbox's maximum length bounds the recording", async () => {
  await fx.mailbox("102", PIN, { maxMessageSeconds: 60 });
  const call = fx.call([{ speak: 90_000 }]);
  await leaveMessage(call, "102", "unavailable");
  const [recorded] = recordings(call);
  assert.equal(recorded.opts.maxSeconds, 60);
  assert.equal(recorded.result.reason, "max");
  assert.equal((await messages())[0].durationMs, 60_000);
});

test("less than a second of sound is discarded: no message, no lamp, a plain goodbye", async () => {
  const call = fx.call([{ speak: 600 }]);
  await leaveMessage(call, "102", "unavailable");
  assert.equal(call.said.at(-1), "generic.goodbye");
  assert.ok(call.hungUp);
  assert.deepEqual(await messages(), []);
  assert.deepEqual(fx.published, []);
  assert.ok(!existsSync(recordings(call)[0].result.path));
});

test("a caller who hangs up instead of pressing # has left a message all the same", async () => {
  const call = fx.call([{ speak: 5000, end: "hangup" }]);
  await leaveMessage(call, "102", "unavailable");
  assert.equal(recordings(call)[0].result.reason, "hangup");
  const [message] = await messages();
  assert.equal(message.durationMs, 5000);
  assert.equal(message.callerNumber, "101");
  // Nothing is said to a caller who is gone.
  assert.equal(call.said.at(-1), "voicemail.greeting.default.unavailable");
});

test("a message that ends in silence is kept and thanked for", async () => {
  const call = fx.call([{ speak: 3000, end: "silence" }]);
  await leaveMessage(call, "102", "unavailable");
  assert.equal(call.said.at(-1), "voicemail.message.recorded");
  assert.equal((await messages()).length, 1);
});

test("a caller who hangs up during the greeting leaves nothing", async () => {
  const call = fx.call([{ hangup: true }]);
  await leaveMessage(call, "102", "unavailable");
  assert.deepEqual(await messages(), []);
});

test("a mailbox that takes no messages says so plainly", async () => {
  const call = fx.call([]);
  await leaveMessage(call, "103", "unavailable");
  assert.deepEqual(call.said, ["call.unreachable"]);
  await fx.features({ voicemail: false });
  const busy = fx.call([]);
  await leaveMessage(busy, "102", "busy");
  assert.deepEqual(busy.said, ["call.busy"]);
  assert.ok(busy.hungUp);
});

test("remote access off (the default): * is ignored and the caller leaves a message", async () => {
  const call = fx.outsideCall([{ interrupt: "*" }, { speak: 3000 }]);
  await leaveMessage(call, "102", "unavailable");
  assert.ok(!call.said.includes("voicemail.pin.enter"));
  assert.equal(call.said.at(-1), "voicemail.message.recorded");
  const [message] = await messages();
  assert.equal(message.callerNumber, "+41791234567");
  assert.equal(message.callerName, undefined);

  // The company's switch alone, or the mailbox's alone, opens nothing.
  await fx.features({ voicemailRemoteAccess: true });
  const companyOnly = fx.outsideCall([{ interrupt: "*" }, { speak: 3000 }]);
  await leaveMessage(companyOnly, "102", "unavailable");
  assert.ok(!companyOnly.said.includes("voicemail.pin.enter"));
  await fx.features({ voicemailRemoteAccess: false });
  await fx.mailbox("102", PIN, { remoteAccess: true });
  const mailboxOnly = fx.outsideCall([{ interrupt: "*" }, { speak: 3000 }]);
  await leaveMessage(mailboxOnly, "102", "unavailable");
  assert.ok(!mailboxOnly.said.includes("voicemail.pin.enter"));
  assert.equal((await messages()).length, 3);
});

test("remote access on: * asks for the PIN, the right one opens the mailbox menu", async () => {
  await allowRemote();
  await fx.message("102", "0215551234");
  const call = fx.outsideCall([{ interrupt: "*" }, { type: `${PIN}#` }, { type: "#" }]);
  await leaveMessage(call, "102", "unavailable");
  assert.deepEqual(call.said.slice(3), [
    "voicemail.pin.enter",
    ...spoken(sayMessageCounts(1, 0, "fr")),
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.deepEqual(recordings(call), [], "no message is recorded");
  assert.ok(call.hungUp);
});

test("remote access on: a wrong PIN is asked again; three wrong ones end the call", async () => {
  await allowRemote();
  const call = fx.outsideCall([{ interrupt: "*" }, { type: "1111#" }, { type: "" }, { type: "2580#" }]);
  await leaveMessage(call, "102", "unavailable");
  assert.deepEqual(call.said.slice(3), [
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.pin.too-many-attempts",
  ]);
  assert.ok(call.hungUp);
  assert.deepEqual(recordings(call), []);
  assert.deepEqual(await messages(), []);
});

test("five wrong PINs in an hour lock remote access across calls: * is then ignored; *97 still works", async () => {
  await allowRemote();
  const first = fx.outsideCall([{ interrupt: "*" }, { type: "1111#" }, { type: "2222#" }, { type: "3333#" }]);
  await leaveMessage(first, "102", "unavailable");
  assert.equal(first.said.at(-1), "voicemail.pin.too-many-attempts");

  // Ten minutes later, from another number and address: two more wrong PINs lock the mailbox.
  await fx.clock.advance(10 * 60_000);
  const second = fx.outsideCall(
    [{ interrupt: "*" }, { type: "4444#" }, { type: "5555#" }, { type: `${PIN}#` }, { speak: 3000 }],
    "+41446667788",
    "udp:203.0.113.9:5060",
  );
  await leaveMessage(second, "102", "unavailable");
  // The third PIN, even the right one, meets the lock: on to the beep as if * had never been pressed.
  assert.deepEqual(second.said.slice(3), [
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.message.recorded",
  ]);
  assert.equal((await messages()).length, 1);

  // While locked, * is ignored exactly as when remote access is off.
  const third = fx.outsideCall([{ interrupt: "*" }, { speak: 3000 }], "+41225550000", "udp:192.0.2.77:5060");
  await leaveMessage(third, "102", "unavailable");
  const off = fx.outsideCall([{ speak: 3000 }]);
  await leaveMessage(off, "102", "unavailable");
  assert.deepEqual(third.said, off.said);

  // The owner's *97 keeps working.
  const owner = fx.call([{ type: `${PIN}#` }, { type: "#" }], fx.bob);
  await mailboxMenu(owner);
  assert.ok(owner.said.includes("voicemail.menu.main"));

  // An hour later remote access opens again.
  await fx.clock.advance(60 * 60_000);
  const later = fx.outsideCall([{ interrupt: "*" }, { type: `${PIN}#` }, { type: "#" }]);
  await leaveMessage(later, "102", "unavailable");
  assert.ok(later.said.includes("voicemail.menu.main"));
});

test("0 during the greeting goes to the company's operator", async () => {
  await fx.operator("101");
  const call = fx.outsideCall([{ interrupt: "0" }]);
  await leaveMessage(call, "102", "unavailable");
  assert.deepEqual(call.events.at(-1), { op: "bridge", target: { kind: "extension", number: "101" } });
  assert.deepEqual(recordings(call), []);
});

test("0 without an operator, and any other key, only skip to the beep", async () => {
  const zero = fx.outsideCall([{ interrupt: "0" }, { speak: 3000 }]);
  await leaveMessage(zero, "102", "unavailable");
  assert.ok(!zero.events.some((e) => e.op === "bridge"));
  const hash = fx.outsideCall([{ interrupt: "#" }, { speak: 3000 }]);
  await leaveMessage(hash, "102", "unavailable");
  assert.equal((await messages()).length, 2);
  for (const call of [zero, hash]) assert.equal(call.said.at(-1), "voicemail.message.recorded");
});
