import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { createDatabase } from "../../../test/support/postgres.ts";
import { SystemClock } from "../../util/clock.ts";
import type { StoreChange } from "../types.ts";
import { connectPostgres } from "./connect.ts";
import { openStore } from "./open-store.ts";
import { CHANGES_CHANNEL, NO_CHANGES, PostgresChanges, readChange } from "./sql-changes.ts";
import { TEST_PG_URL, TEST_SECRET_KEY } from "./testing.ts";

const mailbox: StoreChange = { kind: "mailbox", tenant: "acme", mailbox: "102" };

test("a payload is read only when it is a change this version knows; anything else is dropped", () => {
  assert.deepEqual(readChange(JSON.stringify({ node: "n1", change: mailbox })), {
    node: "n1",
    change: mailbox,
  });
  for (const bad of [
    undefined,
    "",
    "not json",
    "null",
    "[]",
    JSON.stringify({ change: mailbox }),
    JSON.stringify({ node: "n1" }),
    JSON.stringify({ node: "n1", change: { kind: "tenant", tenant: "acme" } }),
    JSON.stringify({ node: "n1", change: { kind: "mailbox", tenant: "acme" } }),
    JSON.stringify({ node: "n1", change: { kind: "mailbox", tenant: "", mailbox: "102" } }),
    JSON.stringify({ node: "n1", change: { kind: "mailbox", tenant: "acme", mailbox: 102 } }),
    JSON.stringify({ node: "n1", change: { kind: "mailbox", tenant: "x".repeat(201), mailbox: "102" } }),
  ]) {
    assert.equal(readChange(bad), undefined, String(bad));
  }
});

test("one node (SQLite): nothing is sent or heard", async () => {
  await NO_CHANGES.publish(mailbox);
  const stop = NO_CHANGES.subscribe(() => assert.fail("nothing to hear"));
  stop();
  const dir = mkdtempSync(join(tmpdir(), "vpbx-changes-"));
  try {
    const store = await openStore({ dataDir: dir, secretKey: TEST_SECRET_KEY });
    assert.equal(store.changes, NO_CHANGES);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Resolves once `check` holds, polling (the change crosses a real PostgreSQL server). */
async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("changes between nodes on postgres", { skip: TEST_PG_URL === undefined }, () => {
  test("a node hears the other's change, not its own; a stray NOTIFY is ignored; after close, nothing", async () => {
    const database = await createDatabase(TEST_PG_URL as string);
    const dirs = [mkdtempSync(join(tmpdir(), "vpbx-changes-")), mkdtempSync(join(tmpdir(), "vpbx-changes-"))];
    const [a, b] = await Promise.all(
      dirs.map((dataDir) =>
        openStore({
          dataDir,
          databaseUrl: database.url,
          secretKey: TEST_SECRET_KEY,
          clock: new SystemClock(),
        }),
      ),
    );
    const raw = await connectPostgres(database.url, { max: 1 });
    try {
      const heardByA: StoreChange[] = [];
      const heardByB: StoreChange[] = [];
      a.changes?.subscribe((c) => heardByA.push(c));
      b.changes?.subscribe((c) => heardByB.push(c));
      await until("both listening", () =>
        [a, b].every((s) => s.changes instanceof PostgresChanges && s.changes.listening),
      );
      // A stray payload on the channel, then a change from b.
      await sql`select pg_notify(${CHANGES_CHANNEL}, ${"not a change"})`.execute(raw);
      await b.changes?.publish(mailbox);
      await until("a hears b", () => heardByA.length === 1);
      assert.deepEqual(heardByA, [mailbox]);
      await a.changes?.publish({ kind: "mailbox", tenant: "acme", mailbox: "101" });
      await until("b hears a", () => heardByB.length === 1);
      assert.deepEqual(heardByB, [{ kind: "mailbox", tenant: "acme", mailbox: "101" }]);
      assert.equal(heardByA.length, 1, "a does not hear its own change");

      // The listening connection is cut (a server restart, a failover): it
      // comes back after a pause and hears again.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where query = ${`LISTEN ${CHANGES_CHANNEL}`} and datname = current_database()`.execute(
        raw,
      );
      await until("the cut noticed", () =>
        [a, b].every((s) => s.changes instanceof PostgresChanges && !s.changes.listening),
      );
      await until("a and b listening again", () =>
        [a, b].every((s) => s.changes instanceof PostgresChanges && s.changes.listening),
      );
      await b.changes?.publish(mailbox);
      await until("a hears b again", () => heardByA.length === 2);

      await a.close();
      await b.changes?.publish(mailbox);
      await b.changes?.publish(mailbox);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(heardByA.length, 2, "a closed store hears nothing");
    } finally {
      await raw.destroy();
      await a.close();
      await b.close();
      await database.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
