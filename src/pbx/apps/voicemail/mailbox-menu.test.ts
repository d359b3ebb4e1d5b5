import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { readWav } from "../../../media/codec/wav.ts";
import { sayMessageCounts, sayMessageEnvelope } from "../../../prompts/index.ts";
import { makeCredentials } from "../../../store/credentials.ts";
import type { VoicemailMessage } from "../../../store/types.ts";
import type { Speech } from "../call-control.ts";
import { dispatchFeatureCode } from "../dispatcher.ts";
import type { CallerStep, ScriptedCall } from "../testing/scripted-call.ts";
import { type VoicemailFixture, voicemailFixture } from "../testing/voicemail-fixture.ts";
import { voicemailApps } from "./index.ts";
import { leaveMessage } from "./leave-message.ts";
import { mailboxMenu } from "./mailbox-menu.ts";
import { spoken } from "./menu-keys.ts";

const PIN = "4826";
const LOGIN: CallerStep = { type: `${PIN}#` };
let fx: VoicemailFixture;
beforeEach(async () => {
  fx = await voicemailFixture();
  await fx.features({ voicemail: true });
  await fx.mailbox("101", PIN);
});
afterEach(async () => {
  await fx.close();
});

const counts = (n: number, o: number): Speech[] => spoken(sayMessageCounts(n, o, "fr"));
/** Alice dials *97 and does what the script says. */
const starNinetySeven = async (script: CallerStep[]): Promise<ScriptedCall> => {
  const call = fx.call(script);
  await dispatchFeatureCode(call, "*97", voicemailApps);
  return call;
};
/** Alice in her menu, past the PIN; what was said after the counts. */
const menu = async (script: CallerStep[]): Promise<{ call: ScriptedCall; said: Speech[] }> => {
  const call = await starNinetySeven([LOGIN, ...script]);
  const before = call.said.indexOf("voicemail.menu.main");
  assert.ok(before > 0, `the menu was offered: ${JSON.stringify(call.said)}`);
  return { call, said: call.said.slice(before) };
};
const audio = (m: VoicemailMessage) => fx.voicemail.audioPath(m);
/** "Message numéro 2", the pause, the recording. */
const heard = (n: number, m: VoicemailMessage): Speech[] => [
  "voicemail.message.number",
  `number.${n}`,
  { silence: 300 },
  { file: audio(m) },
];

/** Two new messages and a saved one, a minute apart. */
async function threeMessages(): Promise<[VoicemailMessage, VoicemailMessage, VoicemailMessage]> {
  const saved = await fx.message("101", "0223334455");
  await fx.voicemail.markOld("acme", "101", saved.id);
  const first = await fx.message("101", "0791231212", "Bob");
  const second = await fx.message("101", "+41215551234");
  return [first, second, saved];
}

test("*97: the PIN, the counts (deux nouveaux messages et un message sauvegardé), the menu; # says goodbye", async () => {
  await threeMessages();
  const call = await starNinetySeven([LOGIN, { type: "#" }]);
  assert.deepEqual(call.said, [
    "voicemail.pin.enter",
    ...counts(2, 1),
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.deepEqual(counts(2, 1).slice(0, 4), [
    "voicemail.you-have",
    "number.2",
    "voicemail.new-message.many",
    "word.and",
  ]);
  assert.ok(call.hungUp);
});

test("a wrong PIN is asked again; the third ends the call", async () => {
  const retry = await starNinetySeven([{ type: "1234#" }, LOGIN, { type: "#" }]);
  assert.deepEqual(retry.said.slice(0, 3), [
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
  ]);
  assert.ok(retry.said.includes("voicemail.menu.main"));

  const locked = await starNinetySeven([{ type: "1234#" }, { type: "" }, { type: "48260#" }, { type: "1" }]);
  assert.deepEqual(locked.said, [
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.pin.wrong",
    "voicemail.pin.enter",
    "voicemail.pin.too-many-attempts",
  ]);
  assert.ok(locked.hungUp);
  assert.equal(locked.unusedSteps.length, 1, "the menu was never reached");
});

test("the mailbox option skips the PIN on the own phone", async () => {
  await fx.mailbox("101", PIN, { skipPinOnOwnPhone: true });
  const call = await starNinetySeven([{ type: "#" }]);
  assert.deepEqual(call.said, [...counts(0, 0), "voicemail.menu.main", "generic.goodbye"]);
  assert.deepEqual(counts(0, 0), ["voicemail.no-messages"]);
});

test("without the company's voicemail, or without a mailbox, *97 says the service is not enabled", async () => {
  const bob = fx.call([], fx.bob);
  await dispatchFeatureCode(bob, "*97", voicemailApps);
  assert.deepEqual(bob.said, ["feature.not-enabled"]);
  await fx.features({ voicemail: false });
  const alice = await starNinetySeven([]);
  assert.deepEqual(alice.said, ["feature.not-enabled", "generic.goodbye"]);
});

test("1 plays the new messages then the saved one; 6 next, 4 previous, 5 repeat; heard means no longer new", async () => {
  const [first, second, saved] = await threeMessages();
  const published = fx.published.length;
  const { call, said } = await menu([
    { type: "1" },
    { type: "6" },
    { type: "6" },
    { type: "6" },
    { type: "4" },
    { type: "5" },
    { type: "#" },
  ]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, first),
    "voicemail.menu.message",
    ...heard(2, second),
    "voicemail.menu.message",
    ...heard(3, saved),
    "voicemail.menu.message",
    "voicemail.message.no-more",
    "voicemail.menu.message",
    ...heard(2, second),
    "voicemail.menu.message",
    ...heard(2, second),
    "voicemail.menu.message",
    "generic.goodbye",
  ]);
  assert.ok(call.hungUp);
  assert.deepEqual(await fx.voicemail.counts("acme", "101"), { newMessages: 0, oldMessages: 3 });
  // The lamp followed each message heard.
  assert.deepEqual(
    fx.published.slice(published).map((p) => p.counts.newMessages),
    [1, 0],
  );
});

test("a key pressed during a message acts at once; 4 on the first message says it is the first", async () => {
  const [first, second] = await threeMessages();
  const { said } = await menu([
    { type: "1" },
    { interrupt: "6" },
    { type: "4" },
    { type: "4" },
    { type: "#" },
  ]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, first),
    ...heard(2, second),
    "voicemail.menu.message",
    ...heard(1, first),
    "voicemail.menu.message",
    "voicemail.message.first",
    "voicemail.menu.message",
    "generic.goodbye",
  ]);
  // Cut short, the second message was still heard: no longer new.
  assert.deepEqual(await fx.voicemail.counts("acme", "101"), { newMessages: 0, oldMessages: 3 });
});

test("7 deletes the message (audio too) and plays the next; after the last, back to the main menu", async () => {
  const [first, second, saved] = await threeMessages();
  const { said } = await menu([
    { type: "1" },
    { type: "7" },
    { type: "6" },
    { type: "7" },
    { type: "1" },
    { type: "#" },
  ]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, first),
    "voicemail.menu.message",
    "voicemail.message.deleted",
    ...heard(1, second),
    "voicemail.menu.message",
    ...heard(2, saved),
    "voicemail.menu.message",
    "voicemail.message.deleted",
    "voicemail.message.no-more",
    "voicemail.menu.main",
    ...heard(1, second),
    "voicemail.menu.message",
    "generic.goodbye",
  ]);
  assert.deepEqual(
    (await fx.voicemail.messages("acme", "101")).map((m) => m.id),
    [second.id],
  );
  assert.ok(!existsSync(audio(first)) && !existsSync(audio(saved)));
  assert.ok(existsSync(audio(second)));
});

test("deleting every message leaves an empty mailbox: 1 then says there are none", async () => {
  const only = await fx.message("101", "0791231212");
  const { said } = await menu([{ type: "1" }, { type: "7" }, { type: "1" }, { type: "#" }]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, only),
    "voicemail.menu.message",
    "voicemail.message.deleted",
    "voicemail.message.no-more",
    "voicemail.menu.main",
    "voicemail.no-messages",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.deepEqual(await fx.voicemail.counts("acme", "101"), { newMessages: 0, oldMessages: 0 });
});

test("9 saves the message (it is no longer new) and plays the next", async () => {
  const [first, second, saved] = await threeMessages();
  const { said } = await menu([
    { interrupt: "1" },
    { interrupt: "9" },
    { type: "9" },
    { type: "9" },
    { type: "#" },
  ]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, first),
    "voicemail.message.saved",
    ...heard(2, second),
    "voicemail.menu.message",
    "voicemail.message.saved",
    ...heard(3, saved),
    "voicemail.menu.message",
    "voicemail.message.saved",
    "voicemail.message.no-more",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.deepEqual(await fx.voicemail.counts("acme", "101"), { newMessages: 0, oldMessages: 3 });
});

test("3 reads the envelope back: date and time in the company's time zone, then the caller's number", async () => {
  // 2026-03-03 13:30 UTC is 14:30 in Zurich (winter time); the caller began speaking 3 s before.
  const winter = await fx.message("101", "0791231212");
  // 2026-07-01 22:45 UTC is already the 2nd of July, 00:45, in Zurich (summer time).
  await fx.clock.advanceTo(Date.UTC(2026, 6, 1, 22, 45, 3));
  const summer = await fx.message("101", "anonymous");
  const { said } = await menu([{ type: "1" }, { type: "3" }, { type: "6" }, { type: "3" }, { type: "#" }]);
  const envelope = (date: [number, number, number], hour: number, minute: number, from: string) =>
    spoken(
      sayMessageEnvelope(
        { date: { year: date[0], month: date[1], day: date[2] }, hour, minute },
        from,
        "fr",
        { country: "CH" },
      ),
    );
  assert.deepEqual(said, [
    "voicemail.menu.main",
    ...heard(1, winter),
    "voicemail.menu.message",
    ...envelope([2026, 3, 3], 14, 29, "0791231212"),
    "voicemail.menu.message",
    ...heard(2, summer),
    "voicemail.menu.message",
    ...envelope([2026, 7, 2], 0, 45, "anonymous"),
    "voicemail.menu.message",
    "generic.goodbye",
  ]);
  assert.ok(said.includes("voicemail.envelope.from-unknown"));
  assert.ok(said.includes("month.3") && said.includes("date.day.2"));
});

test("the envelope of a message from a mobile reads the national number in groups", async () => {
  await fx.message("101", "+41791231212");
  const { said } = await menu([{ type: "1" }, { type: "3" }, { type: "#" }]);
  const from = said.indexOf("voicemail.envelope.from");
  assert.deepEqual(said.slice(from + 1, from + 4), ["digit.0", "digit.7", "digit.9"]);
});

test("* is the help; message keys without a message, and other keys, are not valid", async () => {
  const { said } = await menu([{ type: "*" }, { type: "7" }, { type: "8" }, { type: "1" }, { type: "#" }]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    "voicemail.help",
    "voicemail.menu.main",
    "generic.invalid-choice",
    "voicemail.menu.main",
    "generic.invalid-choice",
    "voicemail.menu.main",
    "voicemail.no-messages",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
});

test("silence replays the menu; three times in a row, goodbye", async () => {
  const { call, said } = await menu([{ type: "" }, { type: "" }, { type: "" }]);
  assert.deepEqual(said, [
    "voicemail.menu.main",
    "voicemail.menu.main",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.ok(call.hungUp);
  const wrong = await menu([{ type: "8" }, { type: "" }, { type: "2" }]);
  assert.equal(wrong.said.at(-1), "generic.goodbye");
});

test("the caller hanging up in the middle of the menu ends it quietly", async () => {
  const { call } = await menu([{ type: "1" }, { hangup: true }]);
  assert.ok(call.hungUp);
});

/** The options menu's greeting recordings; the takes are the scripted call's files. */
const greetingMs = async (kind: "unavailable" | "busy" | "name") => {
  const path = await fx.voicemail.greeting("acme", "101", kind);
  if (!path) return undefined;
  const wav = readWav(readFileSync(path));
  return Math.round((wav.samples.length * 1000) / wav.sampleRate);
};
const takesLeft = () =>
  readdirSync(join(fx.app.dataDir, "recordings")).filter((f) => f.startsWith("recording-"));

test("0 then 1: the unavailable greeting, with listen, re-record and accept", async () => {
  const { call, said } = await menu([
    { type: "0" },
    { type: "1" },
    { speak: 4000 },
    { type: "2" },
    { type: "3" },
    { speak: 6000 },
    { type: "1" },
    { type: "*" },
    { type: "#" },
  ]);
  const takes = call.events.flatMap((e) => (e.op === "record" ? [e.result.path] : []));
  assert.deepEqual(said, [
    "voicemail.menu.main",
    "voicemail.menu.options",
    "voicemail.greeting.title.unavailable",
    "voicemail.greeting.record",
    "voicemail.menu.recording",
    { file: takes[0] },
    "voicemail.menu.recording",
    "voicemail.greeting.title.unavailable",
    "voicemail.greeting.record",
    "voicemail.menu.recording",
    "voicemail.greeting.saved",
    "voicemail.menu.options",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.deepEqual(
    call.events.filter((e) => e.op === "record").map((e) => e.opts),
    [
      { maxSeconds: 60, silenceSeconds: 5 },
      { maxSeconds: 60, silenceSeconds: 5 },
    ],
  );
  assert.equal(await greetingMs("unavailable"), 6000, "the second take is the greeting");
  assert.equal(await greetingMs("busy"), undefined);
  assert.deepEqual(takesLeft(), [], "no take is left behind");
  // Callers now hear it.
  const caller = fx.call([{ speak: 2000 }], fx.bob);
  await leaveMessage(caller, "101", "unavailable");
  assert.deepEqual(caller.said[0], { file: await fx.voicemail.greeting("acme", "101", "unavailable") });
});

test("0 then 2 and 3: the busy greeting and the name; a take too short is recorded again", async () => {
  const { said } = await menu([
    { type: "0" },
    { type: "2" },
    { speak: 3000 },
    { type: "1" },
    { type: "3" },
    { speak: 400 },
    { speak: 1500 },
    { type: "1" },
    { type: "*" },
    { type: "#" },
  ]);
  assert.deepEqual(said.slice(1), [
    "voicemail.menu.options",
    "voicemail.greeting.title.busy",
    "voicemail.greeting.record",
    "voicemail.menu.recording",
    "voicemail.greeting.saved",
    "voicemail.menu.options",
    "voicemail.name.record",
    "voicemail.recording.too-short",
    "voicemail.name.record",
    "voicemail.menu.recording",
    "voicemail.name.saved",
    "voicemail.menu.options",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.equal(await greetingMs("busy"), 3000);
  assert.equal(await greetingMs("name"), 1500);
  assert.deepEqual(takesLeft(), []);
});

test("a recording can be cancelled, and is lost when the owner hangs up before accepting it", async () => {
  const cancelled = await menu([{ type: "0" }, { type: "1" }, { speak: 3000 }, { type: "*" }, { type: "#" }]);
  assert.deepEqual(cancelled.said.slice(-3), [
    "voicemail.menu.recording",
    "voicemail.menu.options",
    "generic.goodbye",
  ]);
  const hungUp = await menu([{ type: "0" }, { type: "2" }, { speak: 3000, end: "hangup" }]);
  assert.ok(hungUp.call.hungUp);
  const unanswered = await menu([
    { type: "0" },
    { type: "3" },
    { speak: 3000 },
    { type: "" },
    { type: "" },
    { type: "" },
  ]);
  assert.equal(unanswered.said.at(-1), "generic.goodbye");
  for (const kind of ["unavailable", "busy", "name"] as const)
    assert.equal(await greetingMs(kind), undefined);
  assert.deepEqual(takesLeft(), []);
});

test("0 then 4: a new PIN, refused when trivial, not 4 to 10 digits, or not confirmed", async () => {
  const refused = await menu([
    { type: "0" },
    { type: "4" },
    { type: "1111#" },
    { type: "1111#" },
    { type: "12#" },
    { type: "12#" },
    { type: "2468#" },
    { type: "2486#" },
    { type: "*" },
    { type: "#" },
  ]);
  assert.deepEqual(refused.said.slice(1), [
    "voicemail.menu.options",
    "voicemail.pin.new",
    "voicemail.pin.confirm",
    "voicemail.pin.trivial",
    "voicemail.pin.new",
    "voicemail.pin.confirm",
    "voicemail.pin.invalid",
    "voicemail.pin.new",
    "voicemail.pin.confirm",
    "voicemail.pin.mismatch",
    "voicemail.pin.unchanged",
    "voicemail.menu.options",
    "voicemail.menu.main",
    "generic.goodbye",
  ]);
  assert.ok(await fx.voicemail.verifyPin("acme", "101", PIN), "the PIN is unchanged");

  const changed = await menu([
    { type: "0" },
    { type: "4" },
    { type: "5937#" },
    { type: "5937#" },
    { type: "#" },
  ]);
  assert.deepEqual(changed.said.slice(1), [
    "voicemail.menu.options",
    "voicemail.pin.new",
    "voicemail.pin.confirm",
    "voicemail.pin.changed",
    "voicemail.menu.options",
    "generic.goodbye",
  ]);
  assert.ok(await fx.voicemail.verifyPin("acme", "101", "5937"));
  assert.ok(!(await fx.voicemail.verifyPin("acme", "101", PIN)));
  const next = await starNinetySeven([{ type: "5937#" }, { type: "#" }]);
  assert.ok(next.said.includes("voicemail.menu.main"));
});

test("a PIN of the extension's own number is trivial", async () => {
  await fx.app.store.extensions.create({
    tenant: "acme",
    number: "4711",
    displayName: "Carla",
    credentials: makeCredentials("4711", "acme.test", "carla-secret-1"),
  });
  const carla = (await fx.app.store.extensions.get("acme", "4711"))!;
  await fx.mailbox("4711", PIN);
  const call = fx.call([LOGIN, { type: "0" }, { type: "4" }, { type: "4711#" }, { type: "4711#" }], carla);
  await mailboxMenu(call);
  assert.ok(call.said.includes("voicemail.pin.trivial"));
});

test("the options menu replays on silence and says goodbye after three", async () => {
  const { said } = await menu([{ type: "0" }, { type: "" }, { type: "9" }, { type: "" }]);
  assert.deepEqual(said.slice(1), [
    "voicemail.menu.options",
    "voicemail.menu.options",
    "generic.invalid-choice",
    "voicemail.menu.options",
    "generic.goodbye",
  ]);
});
