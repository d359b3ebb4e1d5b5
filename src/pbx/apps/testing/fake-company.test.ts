// The fake keeps the promises of company.ts, so that the apps' tests mean
// something: checked here against the interface's own words.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { writeWav } from "../../../media/codec/wav.ts";
import type { Actor, Tenant } from "../../../store/types.ts";
import { FakeClock } from "../../../util/clock.ts";
import { AudioRejected } from "../../company/company.ts";
import { FakeCompany } from "./fake-company.ts";

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 2, 2, 10, 45);
const tenant = { name: "acme" } as Tenant;
const actor: Actor = { kind: "phone", id: "101" };

let dir: string;
let clock: FakeClock;
let company: FakeCompany;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vpbx-fake-company-"));
  clock = new FakeClock(T0);
  company = new FakeCompany({
    clock,
    audioDir: join(dir, "audio"),
    schedule: {
      modes: { open: {}, lunch: { label: "Pause" }, closed: {} },
      initial: "open",
      changes: [
        { at: T0 + HOUR / 4, mode: "lunch" },
        { at: T0 + 2 * HOUR, mode: "open" },
        { at: T0 + 6 * HOUR, mode: "closed" },
      ],
    },
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("schedule state, *20 forcing the next mode, its cancel and its end on its own", async () => {
  assert.deepEqual(await company.scheduleState(tenant), {
    mode: "open",
    label: "open",
    overridden: false,
    until: T0 + HOUR / 4,
    next: { at: T0 + HOUR / 4, mode: "lunch" },
  });
  assert.deepEqual(await company.advanceSchedule(tenant, actor), {
    kind: "overridden",
    mode: "lunch",
    label: "Pause",
    until: T0 + 2 * HOUR,
  });
  assert.equal((await company.scheduleState(tenant)).overridden, true);
  const cancelled = await company.advanceSchedule(tenant, actor);
  assert.equal(cancelled.kind === "cancelled" && cancelled.state.mode, "open");
  await company.advanceSchedule(tenant, actor);
  clock.tick(2 * HOUR);
  // The end has passed: the override is over even while still stored.
  assert.deepEqual(await company.scheduleState(tenant), {
    mode: "open",
    label: "open",
    overridden: false,
    until: T0 + 6 * HOUR,
    next: { at: T0 + 6 * HOUR, mode: "closed" },
  });
  // After the last change there is no transition ahead: nothing to force.
  clock.tick(5 * HOUR);
  assert.deepEqual(await company.advanceSchedule(tenant, actor), { kind: "no-transition" });
});

test("the call flow toggles between its two states; the first is the normal one", async () => {
  assert.deepEqual(await company.callFlow(tenant), { state: "normal", label: "normal", normal: true });
  assert.deepEqual(await company.toggleCallFlow(tenant, actor), {
    state: "vacation",
    label: "vacation",
    normal: false,
  });
  assert.equal((await company.toggleCallFlow(tenant, actor)).normal, true);
  assert.throws(
    () => new FakeCompany({ clock, audioDir: dir, callFlow: { state: "a", states: { a: {} } } }),
    /two states/,
  );
});

test("audio: kept recordings, uploads, text, reset; bad audio is AudioRejected", async () => {
  const take = join(dir, "take.wav");
  writeFileSync(take, writeWav(new Int16Array(16000).fill(1000), 8000));
  const kept = await company.keepRecording("acme", "welcome", take, actor);
  assert.equal(kept.source, "recording");
  assert.equal(kept.durationMs, 2000);
  assert.ok(!existsSync(take), "the recording is the service's once kept");
  assert.ok(existsSync((await company.audioFile("acme", "welcome"))!));
  const short = join(dir, "short.wav");
  writeFileSync(short, writeWav(new Int16Array(2000), 8000));
  await assert.rejects(company.keepRecording("acme", "welcome", short, actor), AudioRejected);
  assert.equal((await company.audio("acme", "welcome"))?.durationMs, 2000, "a refused take replaces nothing");

  const upload = await company.saveUpload(
    "acme",
    "music",
    { bytes: writeWav(new Int16Array(800), 8000) },
    actor,
  );
  assert.equal(upload.durationMs, 100);
  await assert.rejects(
    company.saveUpload("acme", "music", { bytes: Buffer.from("nope") }, actor),
    AudioRejected,
  );
  const text = await company.saveText("acme", "closed", "  Nous sommes fermés.  ", "fr", actor);
  assert.equal(text.text, "Nous sommes fermés.");
  await assert.rejects(company.saveText("acme", "closed", " ", "fr", actor), AudioRejected);

  assert.equal(await company.resetAudio("acme", "closed", actor), true);
  assert.equal(await company.resetAudio("acme", "closed", actor), false);
  assert.equal(await company.audioFile("acme", "closed"), undefined);
  company.close();
  await assert.rejects(company.audio("acme", "welcome"), /closed/);
});
