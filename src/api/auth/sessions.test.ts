import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConsoleSession, ConsoleUser, Store } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { csrfMatches, hashSessionToken, parseCookies, SessionManager } from "./sessions.ts";

/** The two repositories the manager uses, in memory. */
function memoryStore() {
  const rows = new Map<string, ConsoleSession>();
  const users = new Map<string, ConsoleUser>([
    ["anna", { username: "anna", passwordHash: "x", role: "admin", tenant: "acme", createdAt: "" }],
  ]);
  const writes: string[] = [];
  const store = {
    sessions: {
      create: async (s: ConsoleSession) => void rows.set(s.idHash, { ...s }),
      get: async (id: string) => (rows.has(id) ? { ...(rows.get(id) as ConsoleSession) } : undefined),
      touch: async (id: string, at: number) => {
        writes.push(`touch ${at}`);
        const s = rows.get(id);
        if (s) s.lastSeenAt = at;
      },
      delete: async (id: string) => rows.delete(id),
      deleteForUser: async () => 0,
      purgeExpired: async () => 0,
    },
    users: { get: async (name: string) => users.get(name) },
  } as unknown as Pick<Store, "sessions" | "users">;
  return { store, rows, users, writes };
}

describe("session cookies", () => {
  test("parseCookies: pairs split on ';', trimmed, the first of a name wins, quotes dropped", () => {
    const c = parseCookies(' a=1; vpbx_session="abc" ; b = 2;vpbx_session=later; =x; novalue');
    assert.equal(c.get("a"), "1");
    assert.equal(c.get("b"), "2");
    assert.equal(c.get("vpbx_session"), "abc");
    assert.equal(c.size, 3);
    assert.equal(parseCookies(undefined).size, 0);
  });

  test("csrfMatches: exact only, any length, never a missing header", () => {
    assert.equal(csrfMatches("abc", "abc"), true);
    assert.equal(csrfMatches("abc", "abd"), false);
    assert.equal(csrfMatches("abc", "abcd"), false);
    assert.equal(csrfMatches("abc", ""), false);
    assert.equal(csrfMatches("abc", undefined), false);
    assert.equal(csrfMatches("abc", ["abc"]), false);
  });

  test("the cookie's flags; Secure on HTTPS; cleared with Max-Age=0", () => {
    const m = memoryStore();
    const plain = new SessionManager(m.store, new FakeClock(), false);
    assert.equal(plain.cookie("T"), "vpbx_session=T; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    assert.equal(plain.clearedCookie(), "vpbx_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    const secure = new SessionManager(m.store, new FakeClock(), true);
    assert.ok(secure.cookie("T").endsWith("; Secure"));
  });

  test("start keeps only the hash; resolve checks idle and absolute ends on the clock, touching once a minute", async () => {
    const m = memoryStore();
    const clock = new FakeClock();
    const sessions = new SessionManager(m.store, clock, false);
    const { token, session } = await sessions.start("anna");
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([...m.rows.keys()], [hashSessionToken(token)]);
    assert.notEqual(session.csrfToken, token);
    assert.equal((await sessions.resolve(token))?.user.username, "anna");
    clock.tick(30_000);
    await sessions.resolve(token);
    assert.deepEqual(m.writes, [], "no write within the minute");
    clock.tick(30_000);
    await sessions.resolve(token);
    assert.equal(m.writes.length, 1);
    assert.equal(await sessions.resolve("not a token"), undefined);
    assert.equal(await sessions.resolve("B".repeat(43)), undefined);
    clock.tick(2 * 3_600_000);
    assert.equal(await sessions.resolve(token), undefined, "idle 2 h");
    assert.equal(m.rows.size, 0, "an expired session is deleted");
  });

  test("a session whose user is gone resolves to nothing", async () => {
    const m = memoryStore();
    const sessions = new SessionManager(m.store, new FakeClock(), false);
    const { token } = await sessions.start("anna");
    m.users.clear();
    assert.equal(await sessions.resolve(token), undefined);
  });
});
