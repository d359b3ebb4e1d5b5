import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import type { ConsoleSession } from "../types.ts";
import { SqlSessions } from "./sql-sessions.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function session(idHash: string, username: string, createdAt = T0): ConsoleSession {
  return {
    idHash,
    username,
    csrfToken: `csrf-${idHash}`,
    createdAt,
    expiresAt: createdAt + 12 * HOUR,
    lastSeenAt: createdAt,
  };
}

for (const engine of TEST_ENGINES) {
  describe(`sql sessions on ${engine.name}`, () => {
    let t: TestContext;
    let sessions: SqlSessions;
    beforeEach(async () => {
      t = await engine.open(new FakeClock(T0));
      sessions = new SqlSessions(t.ctx);
    });
    afterEach(() => t.close());

    test("create, get by id hash, touch, delete", async () => {
      await sessions.create(session("aa", "Anna"));
      assert.deepEqual(await sessions.get("aa"), { ...session("aa", "anna") });
      assert.equal(await sessions.get("bb"), undefined);
      await sessions.touch("aa", T0 + 60_000);
      assert.equal((await sessions.get("aa"))?.lastSeenAt, T0 + 60_000);
      assert.equal(await sessions.delete("aa"), true);
      assert.equal(await sessions.delete("aa"), false);
      assert.equal(await sessions.get("aa"), undefined);
      await assert.doesNotReject(sessions.touch("aa", T0), "touching a gone session is no error");
    });

    test("deleteForUser ends every session of a user, or all but one", async () => {
      for (const [id, who] of [
        ["a1", "anna"],
        ["a2", "anna"],
        ["a3", "anna"],
        ["b1", "bob"],
      ]) {
        await sessions.create(session(id, who));
      }
      assert.equal(await sessions.deleteForUser("ANNA", "a2"), 2);
      assert.ok(await sessions.get("a2"), "the one kept");
      assert.equal(await sessions.get("a1"), undefined);
      assert.ok(await sessions.get("b1"));
      assert.equal(await sessions.deleteForUser("anna"), 1);
      assert.equal(await sessions.get("a2"), undefined);
    });

    test("purgeExpired: past the absolute end or idle too long", async () => {
      await sessions.create(session("old", "anna", T0 - 13 * HOUR)); // past its 12 h
      await sessions.create({ ...session("idle", "anna", T0 - 3 * HOUR), lastSeenAt: T0 - 3 * HOUR });
      await sessions.create({ ...session("busy", "anna", T0 - 11 * HOUR), lastSeenAt: T0 - 60_000 });
      await sessions.create(session("new", "bob"));
      assert.equal(await sessions.purgeExpired(T0, T0 - 2 * HOUR), 2);
      assert.equal(await sessions.get("old"), undefined);
      assert.equal(await sessions.get("idle"), undefined);
      assert.ok(await sessions.get("busy"));
      assert.ok(await sessions.get("new"));
    });
  });
}
