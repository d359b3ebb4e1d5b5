import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, type CompanyAudioKind, type Store, StoreConflict } from "../types.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-audio-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

describe("sqlite company audio", () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  beforeEach(async () => {
    dir = join(root, `d${n++}`);
    clock = new FakeClock(T0);
    store = openSqliteStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
  });
  afterEach(async () => {
    await store.close();
  });

  test("set, get, list in kind order; a new one replaces the old", async () => {
    assert.equal(await store.companyAudio.get("acme", "welcome"), undefined);
    assert.deepEqual(await store.companyAudio.list("acme"), []);
    const music = await store.companyAudio.set(
      { tenant: "acme", kind: "music", source: "upload", durationMs: 61_000 },
      api,
    );
    const closed = await store.companyAudio.set(
      { tenant: "acme", kind: "closed", source: "text", text: "Nous sommes fermés.", durationMs: 2100 },
      api,
    );
    assert.deepEqual(closed, {
      tenant: "acme",
      kind: "closed",
      source: "text",
      text: "Nous sommes fermés.",
      durationMs: 2100,
      updatedAt: "2026-01-05T08:00:00.000Z",
    });
    const welcome = await store.companyAudio.set(
      { tenant: "acme", kind: "welcome", source: "recording", durationMs: 3400 },
      phone,
    );
    assert.deepEqual(await store.companyAudio.get("acme", "closed"), closed);
    assert.deepEqual(await store.companyAudio.list("acme"), [welcome, closed, music]);
    assert.deepEqual(await store.companyAudio.list("bistro"), [], "per tenant");

    await clock.advance(60_000);
    const recorded = await store.companyAudio.set(
      { tenant: "acme", kind: "closed", source: "recording", durationMs: 5000 },
      phone,
    );
    assert.deepEqual(await store.companyAudio.get("acme", "closed"), recorded);
    assert.equal(recorded.text, undefined, "the text of the old one went with it");
    assert.equal(recorded.updatedAt, "2026-01-05T08:01:00.000Z");
  });

  test("every set and reset is audited with the kind as subject, old → new", async () => {
    await store.companyAudio.set(
      { tenant: "acme", kind: "vacation", source: "recording", durationMs: 4000 },
      phone,
    );
    await clock.advance(1000);
    await store.companyAudio.set(
      { tenant: "acme", kind: "vacation", source: "text", text: "En vacances", durationMs: 1500 },
      api,
    );
    assert.equal(await store.companyAudio.delete("acme", "vacation", phone), true);
    assert.equal(await store.companyAudio.delete("acme", "vacation", phone), false, "nothing to reset");
    assert.equal(await store.companyAudio.get("acme", "vacation"), undefined);
    const events = (await store.audit.list("acme")).reverse();
    const first = {
      source: "recording",
      text: null,
      durationMs: 4000,
      updatedAt: "2026-01-05T08:00:00.000Z",
    };
    const second = {
      source: "text",
      text: "En vacances",
      durationMs: 1500,
      updatedAt: "2026-01-05T08:00:01.000Z",
    };
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.actor, e.old, e.new]),
      [
        ["announcement.set", "vacation", phone, null, first],
        ["announcement.set", "vacation", api, first, second],
        ["announcement.reset", "vacation", phone, second, null],
      ],
    );
  });

  test("refused: an unknown tenant (conflict), an unknown kind or source, a bad duration (RangeError)", async () => {
    await assert.rejects(
      store.companyAudio.set({ tenant: "nobody", kind: "welcome", source: "upload", durationMs: 1 }, api),
      (e: Error) => e instanceof StoreConflict && /tenant nobody does not exist/.test(e.message),
    );
    const bad = [
      { kind: "jingle" as CompanyAudioKind },
      { source: "radio" as "upload" },
      { durationMs: -1 },
      { durationMs: 1.5 },
    ];
    for (const over of bad) {
      await assert.rejects(
        store.companyAudio.set(
          { tenant: "acme", kind: "welcome", source: "upload", durationMs: 10, ...over },
          api,
        ),
        RangeError,
        JSON.stringify(over),
      );
    }
    await assert.rejects(store.companyAudio.delete("acme", "jingle" as CompanyAudioKind, api), RangeError);
    assert.deepEqual(await store.companyAudio.list("acme"), []);
    assert.deepEqual(await store.audit.list("acme"), []);
  });

  test("survives close and re-open; a tenant's deletion takes its rows", async () => {
    await store.companyAudio.set(
      { tenant: "acme", kind: "waiting", source: "upload", durationMs: 8000 },
      api,
    );
    await store.companyAudio.set(
      { tenant: "bistro", kind: "welcome", source: "upload", durationMs: 900 },
      api,
    );
    const before = await store.companyAudio.list("acme");
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.companyAudio.list("acme"), before);
    await store.tenants.delete("bistro");
    await store.tenants.create({ name: "bistro", domain: "bistro.test" });
    assert.deepEqual(await store.companyAudio.list("bistro"), []);
  });
});
