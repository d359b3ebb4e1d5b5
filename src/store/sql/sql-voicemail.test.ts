import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { type Actor, StoreConflict, type VoicemailMessage } from "../types.ts";
import { SqlAudit } from "./sql-audit.ts";
import type { SqlContext } from "./sql-context.ts";
import { SqlVoicemail } from "./sql-voicemail.ts";
import { TEST_ENGINES, type TestContext } from "./testing.ts";

const api: Actor = { kind: "api", id: "admin" };
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
let n = 0;

function message(over: Partial<VoicemailMessage> = {}): VoicemailMessage {
  return {
    id: `m-${n++}`,
    tenant: "acme",
    mailbox: "101",
    folder: "new",
    callerNumber: "+41791231212",
    receivedAt: "2026-01-05T08:00:00.000Z",
    durationMs: 4200,
    ...over,
  };
}

/** The rows the tests need, by plain inserts: tenant acme with extensions 101 and 102. */
async function seed(ctx: SqlContext): Promise<void> {
  const at = ctx.iso();
  await ctx.db
    .insertInto("tenants")
    .values({
      name: "acme",
      domain: "acme.test",
      language: "en",
      timezone: "Europe/Zurich",
      country: "CH",
      features: "{}",
      policy: "{}",
      trunk: null,
      operator: null,
      waiting_seconds: 30,
      company_codes: "{}",
      created_at: at,
    })
    .execute();
  for (const number of ["101", "102"]) {
    await ctx.db
      .insertInto("extensions")
      .values({
        tenant: "acme",
        number,
        display_name: number,
        language: null,
        ring_timeout_seconds: 20,
        realm: "acme.test",
        ha1_md5: "0".repeat(32),
        ha1_sha256: "0".repeat(64),
        created_at: at,
        no_answer_seconds: 20,
        call_waiting: 0,
        max_calls: 2,
        caller_id: null,
        mwi_unsolicited: 0,
        pickup_group: null,
      })
      .execute();
  }
}

for (const engine of TEST_ENGINES) {
  describe(`sql voicemail repository on ${engine.name}`, () => {
    let t: TestContext;
    let vm: SqlVoicemail;
    let audit: SqlAudit;
    beforeEach(async () => {
      t = await engine.open(new FakeClock(T0));
      vm = new SqlVoicemail(t.ctx);
      audit = new SqlAudit(t.ctx);
      await seed(t.ctx);
    });
    afterEach(async () => {
      await t.close();
    });

    test("settings: none until configured; created with defaults; patched; email null clears", async () => {
      assert.equal(await vm.settings("acme", "101"), undefined);
      const created = await vm.updateSettings("acme", "101", { enabled: true });
      assert.deepEqual(created, {
        tenant: "acme",
        mailbox: "101",
        enabled: true,
        remoteAccess: false,
        skipPinOnOwnPhone: false,
        deleteAfterEmail: false,
        maxMessageSeconds: 180,
      });
      assert.deepEqual(await vm.settings("acme", "101"), created);
      const patched = await vm.updateSettings("acme", "101", {
        pinHash: "scrypt$00$11",
        email: "alice@example.ch",
        remoteAccess: true,
        maxMessageSeconds: 60,
      });
      assert.equal(patched.pinHash, "scrypt$00$11");
      assert.equal(patched.email, "alice@example.ch");
      assert.deepEqual(await vm.settings("acme", "101"), patched);
      const cleared = await vm.updateSettings("acme", "101", { email: null });
      assert.equal(cleared.email, undefined);
      assert.equal(cleared.pinHash, "scrypt$00$11", "a patch without a PIN keeps it");
      assert.deepEqual(await vm.settings("acme", "101"), cleared);
      await assert.rejects(vm.updateSettings("acme", "999", { enabled: true }), StoreConflict);
      await assert.rejects(vm.updateSettings("acme", "101", { maxMessageSeconds: 0.5 }), RangeError);
      assert.deepEqual(await vm.settings("acme", "101"), cleared, "a refused patch changes nothing");
    });

    test("settings changes with an actor are audited without the PIN's hash; none when nothing changed", async () => {
      await vm.updateSettings("acme", "101", { enabled: true, pinHash: "scrypt$aa$bb" }, api);
      await vm.updateSettings("acme", "101", { enabled: true }, api);
      await vm.updateSettings("acme", "101", { pinHash: "scrypt$cc$dd" }, api);
      await vm.updateSettings("acme", "101", { remoteAccess: true });
      const events = await audit.list("acme");
      assert.equal(events.length, 2, "no event without a change, none without an actor");
      assert.equal(events[1].action, "voicemail.update");
      assert.equal(events[1].subject, "101/voicemail");
      assert.deepEqual(events[1].actor, api);
      assert.equal(events[1].old, null);
      assert.equal(events[1].at, new Date(T0).toISOString());
      assert.deepEqual(events[0].new, { ...(events[0].old as object), pinChanged: true });
      assert.doesNotMatch(JSON.stringify(events), /scrypt|aa\$bb|cc\$dd/);
      await assert.rejects(vm.updateSettings("acme", "999", { enabled: true }, api), StoreConflict);
      assert.equal((await audit.list("acme")).length, 2, "a refused change leaves no record");
    });

    test("messages: add, list oldest first by folder, move, delete; ids unique; extension must exist", async () => {
      const a = message({ receivedAt: "2026-01-05T09:00:00.000Z", callerName: "Bob" });
      const b = message({ receivedAt: "2026-01-05T08:30:00.000Z" });
      await vm.addMessage(a);
      await vm.addMessage(b);
      assert.deepEqual(
        (await vm.listMessages("acme", "101")).map((m) => m.id),
        [b.id, a.id],
      );
      assert.deepEqual(await vm.getMessage("acme", "101", a.id), a);
      assert.equal(await vm.getMessage("acme", "102", a.id), undefined, "scoped by mailbox");
      assert.equal(await vm.setFolder("acme", "101", a.id, "old"), true);
      assert.equal(await vm.setFolder("acme", "101", "ghost", "old"), false);
      await assert.rejects(vm.setFolder("acme", "101", a.id, "trash" as unknown as "old"), RangeError);
      assert.deepEqual(
        (await vm.listMessages("acme", "101", "new")).map((m) => m.id),
        [b.id],
      );
      assert.deepEqual(
        (await vm.listMessages("acme", "101", "old")).map((m) => m.id),
        [a.id],
      );
      const ids = await vm.allMessageIds();
      assert.ok(ids instanceof Set);
      assert.deepEqual(ids, new Set([a.id, b.id]));
      await assert.rejects(vm.addMessage(a), StoreConflict);
      await assert.rejects(vm.addMessage(message({ mailbox: "999" })), StoreConflict);
      assert.equal(await vm.deleteMessage("acme", "101", a.id), true);
      assert.equal(await vm.deleteMessage("acme", "101", a.id), false);
      assert.deepEqual(await vm.allMessageIds(), new Set([b.id]));
    });

    test("a message and its e-mail commit together: a refused message queues no e-mail", async () => {
      const a = message();
      await vm.addMessage(a);
      await assert.rejects(vm.addMessage(a, { to: "alice@example.ch", nextAttemptAt: T0 }), StoreConflict);
      await assert.rejects(
        vm.addMessage(message({ mailbox: "999" }), { to: "alice@example.ch", nextAttemptAt: T0 }),
        StoreConflict,
      );
      assert.deepEqual(await vm.dueMail(T0 + 3600_000, 10), []);
      assert.deepEqual(await vm.allMessageIds(), new Set([a.id]));
    });

    test("e-mail queue: queued with the message, due in order, retried, sent; goes with its message", async () => {
      const a = message();
      await vm.addMessage(a, { to: "alice@example.ch", nextAttemptAt: T0 });
      const b = message();
      await vm.addMessage(b);
      await vm.queueMail({
        tenant: "acme",
        mailbox: "101",
        messageId: b.id,
        to: "alice@example.ch",
        nextAttemptAt: T0 + 1000,
      });
      await assert.rejects(
        vm.queueMail({
          tenant: "acme",
          mailbox: "101",
          messageId: "ghost",
          to: "x@y.ch",
          nextAttemptAt: 0,
        }),
        StoreConflict,
      );
      const due = await vm.dueMail(T0, 10);
      assert.deepEqual(
        due.map((m) => [m.messageId, m.to, m.attempts, m.nextAttemptAt]),
        [[a.id, "alice@example.ch", 0, T0]],
      );
      assert.equal(typeof due[0].id, "number");
      await vm.mailFailed(due[0].id, T0 + 60_000, "connection refused");
      const later = await vm.dueMail(T0 + 60_000, 10);
      assert.deepEqual(
        later.map((m) => [m.messageId, m.attempts, m.lastError ?? null]),
        [
          [b.id, 0, null],
          [a.id, 1, "connection refused"],
        ],
      );
      assert.deepEqual(
        (await vm.dueMail(T0 + 60_000, 1)).map((m) => m.messageId),
        [b.id],
        "the limit takes the earliest",
      );
      await vm.mailSent(later[1].id);
      await vm.deleteMessage("acme", "101", b.id);
      assert.deepEqual(await vm.dueMail(T0 + 3600_000, 10), []);
      await assert.rejects(vm.dueMail(T0, 0), RangeError);
      await assert.rejects(vm.dueMail(T0, 1.5), RangeError);
    });

    test("due e-mails with the same time go in the order they were queued", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = message();
        ids.push(m.id);
        await vm.addMessage(m, { to: `u${i}@example.ch`, nextAttemptAt: T0 });
      }
      assert.deepEqual(
        (await vm.dueMail(T0, 10)).map((m) => m.messageId),
        ids,
      );
    });

    test("PIN failures counted per mailbox and per caller; locks; unlock lifts what the mailbox set", async () => {
      const fail = (mailbox: string, at: number, caller: string, source: string) =>
        vm.recordPinFailure({ tenant: "acme", mailbox, at, caller, source });
      await fail("101", T0, "+41791111111", "203.0.113.5");
      await fail("101", T0 + 10, "+41792222222", "203.0.113.6");
      await fail("102", T0 + 20, "+41791111111", "198.51.100.1");
      assert.deepEqual(await vm.pinFailures("acme", "101", T0), [
        { tenant: "acme", mailbox: "101", at: T0, caller: "+41791111111", source: "203.0.113.5" },
        { tenant: "acme", mailbox: "101", at: T0 + 10, caller: "+41792222222", source: "203.0.113.6" },
      ]);
      assert.equal((await vm.pinFailures("acme", "101", T0 + 5)).length, 1);
      assert.deepEqual(
        (await vm.callerPinFailures("acme", ["+41791111111"], T0)).map((f) => [f.mailbox, f.at]),
        [
          ["101", T0],
          ["102", T0 + 20],
        ],
      );
      assert.equal((await vm.callerPinFailures("acme", ["x", "203.0.113.6"], T0)).length, 1);
      assert.deepEqual(await vm.callerPinFailures("acme", ["", ""], T0), []);

      assert.equal(await vm.lockedUntil("acme", "101"), undefined);
      await vm.lock("acme", "101", T0 + 3600_000);
      await vm.lockCallers("acme", "101", ["+41791111111", "203.0.113.5", ""], T0 + 3600_000);
      await vm.lockCallers("acme", "101", [""], T0 + 7200_000);
      assert.equal(await vm.lockedUntil("acme", "101"), T0 + 3600_000);
      assert.equal(await vm.lockedUntil("acme", "102"), undefined, "a caller lock is not a mailbox lock");
      assert.equal(await vm.callerLockedUntil("acme", ["+41791111111"]), T0 + 3600_000);
      assert.equal(await vm.callerLockedUntil("acme", ["nobody", "203.0.113.5"]), T0 + 3600_000);
      assert.equal(await vm.callerLockedUntil("acme", ["nobody"]), undefined);
      assert.equal(await vm.callerLockedUntil("acme", []), undefined);
      assert.equal(await vm.callerLockedUntil("acme", [""]), undefined, "the mailbox lock is no caller's");
      // A shorter lock never shortens a longer one; a longer one extends it.
      await vm.lock("acme", "101", T0 + 60_000);
      assert.equal(await vm.lockedUntil("acme", "101"), T0 + 3600_000);
      await vm.lockCallers("acme", "101", ["+41791111111"], T0 + 60_000);
      assert.equal(await vm.callerLockedUntil("acme", ["+41791111111"]), T0 + 3600_000);
      await vm.lock("acme", "101", T0 + 7200_000);
      assert.equal(await vm.lockedUntil("acme", "101"), T0 + 7200_000);

      await vm.unlock("acme", "101");
      assert.equal(await vm.lockedUntil("acme", "101"), undefined);
      assert.equal(await vm.callerLockedUntil("acme", ["+41791111111", "203.0.113.5"]), undefined);
      assert.equal((await vm.pinFailures("acme", "101", 0)).length, 0);
      assert.equal((await vm.pinFailures("acme", "102", 0)).length, 1, "other mailboxes keep theirs");
      await assert.rejects(fail("999", T0, "x", "y"), StoreConflict);
      await assert.rejects(vm.lock("acme", "999", T0), StoreConflict);
      await assert.rejects(vm.lockCallers("acme", "999", ["x"], T0), StoreConflict);
    });

    test("a caller lock set on behalf of one mailbox is lifted only by that mailbox's unlock", async () => {
      await vm.lockCallers("acme", "101", ["+41791111111"], T0 + 1000);
      await vm.lockCallers("acme", "102", ["+41791111111"], T0 + 500);
      await vm.unlock("acme", "102");
      assert.equal(await vm.callerLockedUntil("acme", ["+41791111111"]), T0 + 1000);
      await vm.unlock("acme", "101");
      assert.equal(await vm.callerLockedUntil("acme", ["+41791111111"]), undefined);
    });

    test("deleting an extension or the tenant takes the mailbox, messages, failures, locks and mail", async () => {
      await vm.updateSettings("acme", "101", { enabled: true });
      await vm.addMessage(message(), { to: "a@example.ch", nextAttemptAt: T0 });
      await vm.recordPinFailure({ tenant: "acme", mailbox: "101", at: T0, caller: "1", source: "2" });
      await vm.lock("acme", "101", T0 + 1000);
      await vm.updateSettings("acme", "102", { enabled: true });
      await vm.addMessage(message({ mailbox: "102" }));

      await t.ctx.db
        .deleteFrom("extensions")
        .where("tenant", "=", "acme")
        .where("number", "=", "101")
        .execute();
      assert.equal(await vm.settings("acme", "101"), undefined);
      assert.deepEqual(await vm.listMessages("acme", "101"), []);
      assert.deepEqual(await vm.pinFailures("acme", "101", 0), []);
      assert.equal(await vm.lockedUntil("acme", "101"), undefined);
      assert.deepEqual(await vm.dueMail(T0 + 1, 10), []);
      assert.equal((await vm.listMessages("acme", "102")).length, 1);

      await t.ctx.db.deleteFrom("tenants").where("name", "=", "acme").execute();
      assert.deepEqual(await vm.allMessageIds(), new Set());
      assert.equal(await vm.settings("acme", "102"), undefined);
    });
  });
}
