import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, type CompanyAudioKind, StoreConflict } from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import { SqlCompanyAudio } from "./sql-company-audio.ts";
import type { SqlContext } from "./sql-context.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";
import { insertTenant } from "./testing-rows.ts";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const api: Actor = { kind: "api", id: "admin" };
const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };

for (const engine of TEST_ENGINES) {
  describe(`sql company audio on ${engine.name}`, () => {
    let t: TestContext;
    let ctx: SqlContext;
    let clock: FakeClock;
    let audio: SqlCompanyAudio;
    let audit: SqlAudit;
    beforeEach(async () => {
      clock = new FakeClock(T0);
      t = await engine.open(clock);
      ctx = t.ctx;
      audio = new SqlCompanyAudio(ctx);
      audit = new SqlAudit(ctx);
      await insertTenant(ctx.db, "acme");
      await insertTenant(ctx.db, "bistro");
    });
    afterEach(async () => {
      await t.close();
    });

    test("set, get, list in kind order; a new one replaces the old", async () => {
      assert.equal(await audio.get("acme", "welcome"), undefined);
      assert.deepEqual(await audio.list("acme"), []);
      const music = await audio.set(
        { tenant: "acme", kind: "music", source: "upload", durationMs: 61_000 },
        api,
      );
      const closed = await audio.set(
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
      const welcome = await audio.set(
        { tenant: "acme", kind: "welcome", source: "recording", durationMs: 3400 },
        phone,
      );
      assert.deepEqual(await audio.get("acme", "closed"), closed);
      assert.deepEqual(await audio.list("acme"), [welcome, closed, music]);
      assert.deepEqual(await audio.list("bistro"), [], "per tenant");

      await clock.advance(60_000);
      const recorded = await audio.set(
        { tenant: "acme", kind: "closed", source: "recording", durationMs: 5000 },
        phone,
      );
      assert.deepEqual(await audio.get("acme", "closed"), recorded);
      assert.equal(recorded.text, undefined, "the text of the old one went with it");
      assert.equal(recorded.updatedAt, "2026-01-05T08:01:00.000Z");
    });

    test("every set and reset is audited with the kind as subject, old → new", async () => {
      await audio.set({ tenant: "acme", kind: "vacation", source: "recording", durationMs: 4000 }, phone);
      await clock.advance(1000);
      await audio.set(
        { tenant: "acme", kind: "vacation", source: "text", text: "En vacances", durationMs: 1500 },
        api,
      );
      assert.equal(await audio.delete("acme", "vacation", phone), true);
      assert.equal(await audio.delete("acme", "vacation", phone), false, "nothing to reset");
      assert.equal(await audio.get("acme", "vacation"), undefined);
      const events = (await audit.list("acme")).reverse();
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
        audio.set({ tenant: "nobody", kind: "welcome", source: "upload", durationMs: 1 }, api),
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
          audio.set({ tenant: "acme", kind: "welcome", source: "upload", durationMs: 10, ...over }, api),
          RangeError,
          JSON.stringify(over),
        );
      }
      await assert.rejects(audio.delete("acme", "jingle" as CompanyAudioKind, api), RangeError);
      assert.deepEqual(await audio.list("acme"), []);
      assert.deepEqual(await audit.list("acme"), []);
    });

    test("a new repository reads what an old one wrote; a tenant's deletion takes its rows", async () => {
      await audio.set({ tenant: "acme", kind: "waiting", source: "upload", durationMs: 8000 }, api);
      await audio.set({ tenant: "bistro", kind: "welcome", source: "upload", durationMs: 900 }, api);
      const before = await audio.list("acme");
      assert.deepEqual(await new SqlCompanyAudio(ctx).list("acme"), before);
      await ctx.db.deleteFrom("tenants").where("name", "=", "bistro").execute();
      await insertTenant(ctx.db, "bistro");
      assert.deepEqual(await audio.list("bistro"), []);
    });
  });
}
