import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { afterEach, beforeEach, test } from "node:test";
import { AudioRejected } from "../../company/company.ts";
import { hashPin } from "../../voicemail/pin.ts";
import type { Speech } from "../call-control.ts";
import { dispatchFeatureCode } from "../dispatcher.ts";
import { type CompanyFixture, capturingLogger, companyFixture } from "../testing/company-fixture.ts";
import type { CallerStep, ScriptedCall } from "../testing/scripted-call.ts";
import { ANNOUNCEMENT_MAX_SECONDS } from "./announcement-app.ts";
import { companyApps } from "./index.ts";

let fx: CompanyFixture;
beforeEach(async () => {
  fx = await companyFixture();
});
afterEach(async () => {
  await fx.close();
});

async function dial(code: string, script: CallerStep[], log = capturingLogger().log): Promise<ScriptedCall> {
  const call = fx.call(script, { log });
  await dispatchFeatureCode(call, code, companyApps);
  return call;
}

/** Takes the scripted calls left in the recordings folder (not kept, not deleted). */
const leftovers = () => readdirSync(fx.recordDir);
const takes = (call: ScriptedCall) => call.events.flatMap((e) => (e.op === "record" ? [e.result] : []));
const MENU = "announcement.menu";
const REVIEW = "voicemail.menu.recording";

test("*30: the title, the menu; 1 plays the default (said to be the default) and # says goodbye", async () => {
  const call = await dial("*30", [{ type: "1" }, { type: "#" }]);
  assert.deepEqual(call.said, [
    "announcement.title.welcome",
    MENU,
    "announcement.playing-default",
    "announcement.default.welcome",
    MENU,
    "generic.goodbye",
  ]);
  assert.ok(call.hungUp);
  assert.deepEqual(call.unusedSteps, []);
});

test("each code has its own announcement: *31 waiting, *32 closed, *33 vacation", async () => {
  for (const [code, kind] of [
    ["*31", "waiting"],
    ["*32", "closed"],
    ["*33", "vacation"],
  ]) {
    const call = await dial(code, [{ type: "1" }, { type: "#" }]);
    assert.equal(call.said[0], `announcement.title.${kind}`);
    assert.equal(call.said[3], `announcement.default.${kind}`);
  }
});

test("2 records after the beep (# ends, 300 s at most); 1 keeps it, and the next listen plays it", async () => {
  const call = await dial("*32", [
    { type: "2" },
    { speak: 4000 },
    { type: "1" },
    { type: "1" },
    { type: "#" },
  ]);
  const [take] = takes(call);
  const record = call.events.find((e) => e.op === "record");
  assert.equal(record?.op === "record" && record.opts.maxSeconds, ANNOUNCEMENT_MAX_SECONDS);
  const file = await fx.company.audioFile("acme", "closed");
  assert.ok(file && existsSync(file));
  assert.deepEqual(call.said, [
    "announcement.title.closed",
    MENU,
    "announcement.record",
    REVIEW,
    "announcement.saved",
    MENU,
    { file },
    MENU,
    "generic.goodbye",
  ]);
  const audio = await fx.company.audio("acme", "closed");
  assert.equal(audio?.source, "recording");
  assert.equal(audio?.durationMs, 4000);
  assert.deepEqual(
    fx.company.changes.map((c) => [c.op, c.kind, c.actor.id]),
    [["audio.set", "closed", "101"]],
  );
  assert.ok(!existsSync(take.path), "the take is gone once filed");
  assert.deepEqual(leftovers(), []);
});

test("listen to the take (2), record again (3), keep the second; the first take is deleted", async () => {
  const call = await dial("*30", [
    { type: "2" },
    { speak: 3000 },
    { type: "2" },
    { type: "3" },
    { speak: 5000 },
    { type: "1" },
    { type: "#" },
  ]);
  const [first, second] = takes(call);
  assert.ok(call.said.some((s) => typeof s === "object" && "file" in s && s.file === first.path));
  assert.equal((await fx.company.audio("acme", "welcome"))?.durationMs, 5000);
  assert.ok(!existsSync(first.path) && !existsSync(second.path));
  assert.deepEqual(leftovers(), []);
});

test("a new recording replaces the old one only when kept: * cancels, a hang-up keeps nothing", async () => {
  await dial("*30", [{ type: "2" }, { speak: 3000 }, { type: "1" }, { type: "#" }]);
  const before = await fx.company.audio("acme", "welcome");
  const cancelled = await dial("*30", [{ type: "2" }, { speak: 6000 }, { type: "*" }, { type: "#" }]);
  assert.deepEqual(cancelled.said.slice(-3), [REVIEW, MENU, "generic.goodbye"]);
  const hungUp = await dial("*30", [{ type: "2" }, { speak: 7000 }, { hangup: true }]);
  assert.ok(hungUp.hungUp);
  const during = await dial("*30", [{ type: "2" }, { speak: 8000, end: "hangup" }]);
  assert.ok(during.hungUp);
  assert.deepEqual(await fx.company.audio("acme", "welcome"), before);
  assert.deepEqual(leftovers(), [], "takes not kept are deleted");
});

test("a take too short to be an announcement is said so and recorded again", async () => {
  const call = await dial("*31", [
    { type: "2" },
    { speak: 300 },
    { speak: 3000 },
    { type: "1" },
    { type: "#" },
  ]);
  assert.deepEqual(call.said.slice(2, 7), [
    "announcement.record",
    "voicemail.recording.too-short",
    "announcement.record",
    REVIEW,
    "announcement.saved",
  ]);
  assert.deepEqual(leftovers(), []);
});

test("a recording the service refuses (too short once trimmed) is said so; the menu comes again", async () => {
  fx.company.keepRecording = async () => {
    throw new AudioRejected("the recording is too short");
  };
  const { log, lines } = capturingLogger();
  const call = await dial("*30", [{ type: "2" }, { speak: 2000 }, { type: "1" }, { type: "#" }], log);
  assert.deepEqual(call.said.slice(3), [REVIEW, "voicemail.recording.too-short", MENU, "generic.goodbye"]);
  assert.equal(await fx.company.audio("acme", "welcome"), undefined);
  assert.deepEqual(leftovers(), [], "the refused take is deleted");
  assert.ok(lines.some((l) => l.msg === "announcement recording refused"));
});

test("a failure to file the recording is logged and said; the caller may try again", async () => {
  fx.company.keepRecording = async () => {
    throw new Error("disk full");
  };
  const { log, lines } = capturingLogger();
  const call = await dial("*30", [{ type: "2" }, { speak: 2000 }, { type: "1" }, { type: "#" }], log);
  assert.deepEqual(call.said.slice(3), [REVIEW, "error.try-again-later", MENU, "generic.goodbye"]);
  assert.ok(lines.some((l) => l.level === 50 && l.kind === "welcome"));
  assert.deepEqual(leftovers(), []);
});

test("3 goes back to the default (said), and says so when the default already plays", async () => {
  await dial("*33", [{ type: "2" }, { speak: 3000 }, { type: "1" }, { type: "#" }]);
  const file = await fx.company.audioFile("acme", "vacation");
  const call = await dial("*33", [{ type: "3" }, { type: "1" }, { type: "3" }, { type: "#" }]);
  assert.deepEqual(call.said, [
    "announcement.title.vacation",
    MENU,
    "announcement.default-restored",
    MENU,
    "announcement.playing-default",
    "announcement.default.vacation",
    MENU,
    "announcement.already-default",
    MENU,
    "generic.goodbye",
  ]);
  assert.equal(await fx.company.audioFile("acme", "vacation"), undefined);
  assert.ok(file && !existsSync(file));
  assert.deepEqual(
    fx.company.changes.map((c) => c.op),
    ["audio.set", "audio.reset"],
  );
});

test("a wrong key is said to be invalid and the menu comes again", async () => {
  const call = await dial("*30", [{ type: "5" }, { type: "*" }, { type: "#" }]);
  assert.deepEqual(call.said, [
    "announcement.title.welcome",
    MENU,
    "generic.invalid-choice",
    MENU,
    "generic.invalid-choice",
    MENU,
    "generic.goodbye",
  ]);
});

test("one silence brings the menu again; a second one in a row ends the call", async () => {
  const once = await dial("*30", [{ type: "" }, { type: "1" }, { type: "" }, { type: "#" }]);
  assert.equal(once.said.at(-1), "generic.goodbye");
  assert.ok(once.said.includes("announcement.default.welcome"));
  assert.ok(!once.said.includes("generic.no-input"));
  const twice = await dial("*30", [{ type: "" }, { type: "" }]);
  assert.deepEqual(twice.said, [
    "announcement.title.welcome",
    MENU,
    MENU,
    "generic.no-input",
    "generic.goodbye",
  ]);
  assert.ok(twice.hungUp);
});

test("a key typed during the title or the menu acts at once", async () => {
  const call = await dial("*30", [{ interrupt: "1" }, { interrupt: "#" }]);
  const played: Speech[][] = call.events.flatMap((e) => (e.op === "play" ? [e.items] : []));
  assert.deepEqual(played, [
    ["announcement.title.welcome"],
    ["announcement.playing-default", "announcement.default.welcome"],
    ["generic.goodbye"],
  ]);
});

test("*30-*33 are refused until the provider switches announcements on", async () => {
  await fx.app.enable({ announcements: false });
  const call = await dial("*30", [{ type: "1" }]);
  assert.deepEqual(call.said, ["feature.not-enabled", "generic.goodbye"]);
});

test("with a PIN set, the menu comes only after the right PIN", async () => {
  const call = fx.call([{ type: "2580#" }, { type: "#" }], { access: { pinHash: await hashPin("2580") } });
  await dispatchFeatureCode(call, "*31", companyApps);
  assert.deepEqual(call.said, ["company.pin.enter", "announcement.title.waiting", MENU, "generic.goodbye"]);
});
