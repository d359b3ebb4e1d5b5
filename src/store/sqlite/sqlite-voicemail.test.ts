import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { makeCredentials } from "../credentials.ts";
import { type Actor, type Store, StoreConflict, type VoicemailMessage } from "../types.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-vm-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
const api: Actor = { kind: "api", id: "admin" };
const T0 = clock.now();

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

describe("sqlite voicemail repository", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = join(root, `d${n++}`);
    store = openSqliteStore({ dataDir: dir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    for (const number of ["101", "102"]) {
      await store.extensions.create({
        tenant: "acme",
        number,
        displayName: number,
        credentials: makeCredentials(number, "acme.test", `pw-${number}-secret`),
      });
    }
  });
  afterEach(async () => {
    await store.close();
  });

  test("settings: none until configured; created with defaults; patched; email null clears", async () => {
    assert.equal(await store.voicemail.settings("acme", "101"), undefined);
    const created = await store.voicemail.updateSettings("acme", "101", { enabled: true });
    assert.deepEqual(created, {
      tenant: "acme",
      mailbox: "101",
      enabled: true,
      remoteAccess: false,
      skipPinOnOwnPhone: false,
      deleteAfterEmail: false,
      maxMessageSeconds: 180,
    });
    const patched = await store.voicemail.updateSettings("acme", "101", {
      pinHash: "scrypt$00$11",
      email: "alice@example.ch",
      remoteAccess: true,
      maxMessageSeconds: 60,
    });
    assert.equal(patched.pinHash, "scrypt$00$11");
    assert.equal(patched.email, "alice@example.ch");
    assert.deepEqual(await store.voicemail.settings("acme", "101"), patched);
    const cleared = await store.voicemail.updateSettings("acme", "101", { email: null });
    assert.equal(cleared.email, undefined);
    assert.equal(cleared.pinHash, "scrypt$00$11", "a patch without a PIN keeps it");
    await assert.rejects(store.voicemail.updateSettings("acme", "999", { enabled: true }), StoreConflict);
    await assert.rejects(
      store.voicemail.updateSettings("acme", "101", { maxMessageSeconds: 0.5 }),
      RangeError,
    );
  });

  test("settings changes with an actor are audited without the PIN's hash; none when nothing changed", async () => {
    await store.voicemail.updateSettings("acme", "101", { enabled: true, pinHash: "scrypt$aa$bb" }, api);
    await store.voicemail.updateSettings("acme", "101", { enabled: true }, api);
    await store.voicemail.updateSettings("acme", "101", { pinHash: "scrypt$cc$dd" }, api);
    const events = await store.audit.list("acme");
    assert.equal(events.length, 2);
    assert.equal(events[1].action, "voicemail.update");
    assert.equal(events[1].subject, "101/voicemail");
    assert.equal(events[1].old, null);
    assert.deepEqual(events[0].new, { ...(events[0].old as object), pinChanged: true });
    assert.doesNotMatch(JSON.stringify(events), /scrypt|aa\$bb|cc\$dd/);
  });

  test("messages: add, list oldest first by folder, move, delete; ids unique; extension must exist", async () => {
    const a = message({ receivedAt: "2026-01-05T09:00:00.000Z", callerName: "Bob" });
    const b = message({ receivedAt: "2026-01-05T08:30:00.000Z" });
    await store.voicemail.addMessage(a);
    await store.voicemail.addMessage(b);
    assert.deepEqual(
      (await store.voicemail.listMessages("acme", "101")).map((m) => m.id),
      [b.id, a.id],
    );
    assert.deepEqual(await store.voicemail.getMessage("acme", "101", a.id), a);
    assert.equal(await store.voicemail.getMessage("acme", "102", a.id), undefined, "scoped by mailbox");
    assert.equal(await store.voicemail.setFolder("acme", "101", a.id, "old"), true);
    assert.equal(await store.voicemail.setFolder("acme", "101", "ghost", "old"), false);
    assert.deepEqual(
      (await store.voicemail.listMessages("acme", "101", "new")).map((m) => m.id),
      [b.id],
    );
    assert.deepEqual(
      (await store.voicemail.listMessages("acme", "101", "old")).map((m) => m.id),
      [a.id],
    );
    assert.deepEqual(await store.voicemail.allMessageIds(), new Set([a.id, b.id]));
    await assert.rejects(store.voicemail.addMessage(a), StoreConflict);
    await assert.rejects(store.voicemail.addMessage(message({ mailbox: "999" })), StoreConflict);
    assert.equal(await store.voicemail.deleteMessage("acme", "101", a.id), true);
    assert.equal(await store.voicemail.deleteMessage("acme", "101", a.id), false);
    assert.deepEqual(await store.voicemail.allMessageIds(), new Set([b.id]));
  });

  test("e-mail queue: queued with the message, due in order, retried, sent; goes with its message", async () => {
    const a = message();
    await store.voicemail.addMessage(a, { to: "alice@example.ch", nextAttemptAt: T0 });
    const b = message();
    await store.voicemail.addMessage(b);
    await store.voicemail.queueMail({
      tenant: "acme",
      mailbox: "101",
      messageId: b.id,
      to: "alice@example.ch",
      nextAttemptAt: T0 + 1000,
    });
    await assert.rejects(
      store.voicemail.queueMail({
        tenant: "acme",
        mailbox: "101",
        messageId: "ghost",
        to: "x@y.ch",
        nextAttemptAt: 0,
      }),
      StoreConflict,
    );
    const due = await store.voicemail.dueMail(T0, 10);
    assert.deepEqual(
      due.map((m) => [m.messageId, m.to, m.attempts]),
      [[a.id, "alice@example.ch", 0]],
    );
    await store.voicemail.mailFailed(due[0].id, T0 + 60_000, "connection refused");
    const later = await store.voicemail.dueMail(T0 + 60_000, 10);
    assert.deepEqual(
      later.map((m) => [m.messageId, m.attempts, m.lastError ?? null]),
      [
        [b.id, 0, null],
        [a.id, 1, "connection refused"],
      ],
    );
    await store.voicemail.mailSent(later[1].id);
    await store.voicemail.deleteMessage("acme", "101", b.id);
    assert.deepEqual(await store.voicemail.dueMail(T0 + 3600_000, 10), []);
    await assert.rejects(store.voicemail.dueMail(T0, 0), RangeError);
  });

  test("PIN failures counted per mailbox and per caller; locks; unlock lifts what the mailbox set", async () => {
    const fail = (mailbox: string, at: number, caller: string, source: string) =>
      store.voicemail.recordPinFailure({ tenant: "acme", mailbox, at, caller, source });
    await fail("101", T0, "+41791111111", "203.0.113.5");
    await fail("101", T0 + 10, "+41792222222", "203.0.113.6");
    await fail("102", T0 + 20, "+41791111111", "198.51.100.1");
    assert.equal((await store.voicemail.pinFailures("acme", "101", T0)).length, 2);
    assert.equal((await store.voicemail.pinFailures("acme", "101", T0 + 5)).length, 1);
    assert.equal((await store.voicemail.callerPinFailures("acme", ["+41791111111"], T0)).length, 2);
    assert.equal((await store.voicemail.callerPinFailures("acme", ["x", "203.0.113.6"], T0)).length, 1);
    assert.deepEqual(await store.voicemail.callerPinFailures("acme", ["", ""], T0), []);

    assert.equal(await store.voicemail.lockedUntil("acme", "101"), undefined);
    await store.voicemail.lock("acme", "101", T0 + 3600_000);
    await store.voicemail.lockCallers("acme", "101", ["+41791111111", "203.0.113.5", ""], T0 + 3600_000);
    assert.equal(await store.voicemail.lockedUntil("acme", "101"), T0 + 3600_000);
    assert.equal(
      await store.voicemail.lockedUntil("acme", "102"),
      undefined,
      "a caller lock is not a mailbox lock",
    );
    assert.equal(await store.voicemail.callerLockedUntil("acme", ["+41791111111"]), T0 + 3600_000);
    assert.equal(await store.voicemail.callerLockedUntil("acme", ["nobody", "203.0.113.5"]), T0 + 3600_000);
    assert.equal(await store.voicemail.callerLockedUntil("acme", ["nobody"]), undefined);
    assert.equal(await store.voicemail.callerLockedUntil("acme", []), undefined);
    // A shorter lock never shortens a longer one.
    await store.voicemail.lock("acme", "101", T0 + 60_000);
    assert.equal(await store.voicemail.lockedUntil("acme", "101"), T0 + 3600_000);

    await store.voicemail.unlock("acme", "101");
    assert.equal(await store.voicemail.lockedUntil("acme", "101"), undefined);
    assert.equal(await store.voicemail.callerLockedUntil("acme", ["+41791111111", "203.0.113.5"]), undefined);
    assert.equal((await store.voicemail.pinFailures("acme", "101", 0)).length, 0);
    assert.equal(
      (await store.voicemail.pinFailures("acme", "102", 0)).length,
      1,
      "other mailboxes keep theirs",
    );
    await assert.rejects(fail("999", T0, "x", "y"), StoreConflict);
  });

  test("deleting an extension or the tenant takes the mailbox, messages, failures, locks and mail", async () => {
    await store.voicemail.updateSettings("acme", "101", { enabled: true });
    await store.voicemail.addMessage(message(), { to: "a@example.ch", nextAttemptAt: T0 });
    await store.voicemail.recordPinFailure({
      tenant: "acme",
      mailbox: "101",
      at: T0,
      caller: "1",
      source: "2",
    });
    await store.voicemail.lock("acme", "101", T0 + 1000);
    await store.voicemail.updateSettings("acme", "102", { enabled: true });
    await store.voicemail.addMessage(message({ mailbox: "102" }));

    assert.equal(await store.extensions.delete("acme", "101"), true);
    assert.equal(await store.voicemail.settings("acme", "101"), undefined);
    assert.deepEqual(await store.voicemail.listMessages("acme", "101"), []);
    assert.deepEqual(await store.voicemail.pinFailures("acme", "101", 0), []);
    assert.equal(await store.voicemail.lockedUntil("acme", "101"), undefined);
    assert.deepEqual(await store.voicemail.dueMail(T0 + 1, 10), []);
    assert.equal((await store.voicemail.listMessages("acme", "102")).length, 1);

    assert.equal(await store.tenants.delete("acme"), true);
    assert.deepEqual(await store.voicemail.allMessageIds(), new Set());
  });

  test("a message survives closing and re-opening the store", async () => {
    const m = message();
    await store.voicemail.addMessage(m);
    await store.close();
    store = openSqliteStore({ dataDir: dir, clock });
    assert.deepEqual(await store.voicemail.getMessage("acme", "101", m.id), m);
  });
});

describe("tenant operator", () => {
  let store: Store;
  beforeEach(async () => {
    store = openSqliteStore({ dataDir: join(root, `o${n++}`), clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    await store.extensions.create({
      tenant: "acme",
      number: "100",
      displayName: "Reception",
      credentials: makeCredentials("100", "acme.test", "pw-100-secret"),
    });
  });
  afterEach(async () => {
    await store.close();
  });

  test("none by default; set to an extension, cleared with null; unknown extension refused", async () => {
    assert.equal((await store.tenants.get("acme"))?.operator, undefined);
    assert.equal((await store.tenants.update("acme", { operator: "100" }))?.operator, "100");
    assert.equal((await store.tenants.get("acme"))?.operator, "100");
    await assert.rejects(store.tenants.update("acme", { operator: "999" }), StoreConflict);
    assert.equal((await store.tenants.get("acme"))?.operator, "100", "a refused change changes nothing");
    const cleared = await store.tenants.update("acme", { operator: null });
    assert.equal(cleared?.operator, undefined);
    assert.ok(!("operator" in (cleared ?? {})), '!("operator" in (cleared ?? {}))');
  });

  test("deleting the operator's extension clears the operator", async () => {
    await store.tenants.update("acme", { operator: "100" });
    await store.extensions.delete("acme", "100");
    assert.equal((await store.tenants.get("acme"))?.operator, undefined);
  });
});
