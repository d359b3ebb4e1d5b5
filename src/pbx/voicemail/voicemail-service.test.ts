import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { concat, silence, speechLike } from "../../../test/harness/audio.ts";
import { readWav, writeWav } from "../../media/codec/wav.ts";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore, type SqlStore } from "../../store/sql/open-store.ts";
import type { Actor, Store, Tenant } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { capturingLogger } from "../../util/log.ts";
import type { MailboxCounts, RemoteCaller } from "./voicemail.ts";
import { InvalidGreeting } from "./voicemail-admin.ts";
import { LOCKOUT_MS, VoicemailService } from "./voicemail-service.ts";

const root = mkdtempSync(join(tmpdir(), "vpbx-voicemail-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5060" };
const api: Actor = { kind: "api", id: "admin" };
const outsider: RemoteCaller = { number: "+41791111111", source: "udp:203.0.113.5:5062" };
const other: RemoteCaller = { number: "+41792222222", source: "udp:203.0.113.6:5062" };
const third: RemoteCaller = { number: "+41793333333", source: "udp:198.51.100.7:5060" };

/** Writes a WAV of `samples` (8 kHz unless told) and returns its path. */
function wavFile(samples: Int16Array, rate = 8000): string {
  const path = join(root, `rec-${n++}.wav`);
  writeFileSync(path, writeWav(samples, rate));
  return path;
}

interface Published {
  tenant: string;
  mailbox: string;
  counts: MailboxCounts;
}

describe("voicemail service", () => {
  let dataDir: string;
  let clock: FakeClock;
  let store: SqlStore;
  let tenant: Tenant;
  let published: Published[];
  let logged: ReturnType<typeof capturingLogger>;
  let service: VoicemailService;

  const make = (s: Store = store) =>
    new VoicemailService({
      store: s,
      dataDir,
      clock,
      log: logged.log,
      publishMailbox: (t, mailbox, counts) => published.push({ tenant: t, mailbox, counts }),
    });

  beforeEach(async () => {
    dataDir = join(root, `d${n++}`);
    clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
    store = await openStore({ dataDir, clock });
    await store.tenants.create({ name: "acme", domain: "acme.test" });
    for (const number of ["101", "102", "103"]) {
      await store.extensions.create({
        tenant: "acme",
        number,
        displayName: `Ext ${number}`,
        credentials: makeCredentials(number, "acme.test", `pw-${number}-secret`),
      });
    }
    tenant = (await store.tenants.update("acme", {
      features: { voicemail: true, voicemailRemoteAccess: true },
    })) as Tenant;
    published = [];
    logged = capturingLogger();
    service = make();
    await store.voicemail.updateSettings("acme", "101", { enabled: true });
  });
  afterEach(async () => {
    await store.close();
  });

  const mailboxDir = (mailbox = "101") => join(dataDir, "voicemail", "acme", mailbox);
  const speech = (ms: number) => wavFile(concat(silence(300), speechLike(ms), silence(500)));

  describe("messages", () => {
    test("a deposit is on disk (audio and sidecar) and in the store; the lamp follows", async () => {
      const samples = concat(silence(300), speechLike(2500), silence(500));
      const m = await service.deposit(
        tenant,
        "101",
        { path: wavFile(samples), durationMs: 3300 },
        {
          number: "+41791231212",
          name: "Bob",
        },
      );
      assert.ok(m, "a message");
      assert.match(m.id, /^[0-9a-f-]{36}$/);
      assert.equal(m.folder, "new");
      assert.equal(m.durationMs, 3300);
      assert.equal(m.receivedAt, new Date(clock.now() - 3300).toISOString());
      assert.deepEqual(await store.voicemail.getMessage("acme", "101", m.id), m);

      const audio = service.audioPath(m);
      assert.equal(audio, join(mailboxDir(), `${m.id}.wav`));
      const decoded = readWav(readFileSync(audio));
      assert.equal(decoded.sampleRate, 8000);
      assert.deepEqual(decoded.samples, samples);
      const sidecar = JSON.parse(readFileSync(join(mailboxDir(), `${m.id}.json`), "utf8"));
      assert.deepEqual(sidecar, { version: 1, ...m });
      assert.deepEqual(
        readdirSync(mailboxDir()).filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary file left",
      );
      assert.deepEqual(published, [
        { tenant: "acme", mailbox: "101", counts: { newMessages: 1, oldMessages: 0 } },
      ]);
      assert.deepEqual(await service.counts("acme", "101"), { newMessages: 1, oldMessages: 0 });
    });

    test("a recording at another rate is kept at 8 kHz", async () => {
      const m = await service.deposit(
        tenant,
        "101",
        { path: wavFile(speechLike(2000, 16000), 16000), durationMs: 2000 },
        { number: "102" },
      );
      assert.ok(m, "a message");
      const decoded = readWav(readFileSync(service.audioPath(m)));
      assert.equal(decoded.sampleRate, 8000);
      assert.equal(decoded.samples.length, 16000);
      assert.equal(m.callerName, undefined);
    });

    test("less than one second of sound is discarded: no file, no row, no lamp", async () => {
      const path = wavFile(concat(speechLike(600), silence(4000)));
      assert.equal(
        await service.deposit(tenant, "101", { path, durationMs: 4600 }, { number: "102" }),
        undefined,
      );
      assert.equal(
        await service.deposit(
          tenant,
          "101",
          { path: wavFile(silence(5000)), durationMs: 5000 },
          { number: "102" },
        ),
        undefined,
      );
      assert.deepEqual(await store.voicemail.listMessages("acme", "101"), []);
      assert.ok(!existsSync(mailboxDir()) || readdirSync(mailboxDir()).length === 0, "no file");
      assert.deepEqual(published, []);
      assert.ok(existsSync(path), "the caller keeps its recording");
    });

    test("a mailbox with an e-mail address queues the mail with the message", async () => {
      await store.voicemail.updateSettings("acme", "101", { email: "alice@example.ch" });
      const m = await service.deposit(
        tenant,
        "101",
        { path: speech(3000), durationMs: 2300 },
        { number: "102" },
      );
      const due = await store.voicemail.dueMail(clock.now(), 10);
      assert.deepEqual(
        due.map((d) => [d.messageId, d.to]),
        [[m?.id, "alice@example.ch"]],
      );
    });

    test("new first then old, oldest first; markOld and remove follow on disk and on the lamp", async () => {
      const a = await service.deposit(
        tenant,
        "101",
        { path: speech(3000), durationMs: 2300 },
        { number: "102" },
      );
      clock.tick(60_000);
      const b = await service.deposit(
        tenant,
        "101",
        { path: speech(3000), durationMs: 2300 },
        { number: "103" },
      );
      clock.tick(60_000);
      const c = await service.deposit(
        tenant,
        "101",
        { path: speech(3000), durationMs: 2300 },
        { number: "+41791231212" },
      );
      assert.ok(a && b && c, "three messages");
      await service.markOld("acme", "101", b.id);
      assert.deepEqual(
        (await service.messages("acme", "101")).map((m) => m.id),
        [a.id, c.id, b.id],
      );
      assert.deepEqual(published.at(-1)?.counts, { newMessages: 2, oldMessages: 1 });
      assert.equal((await service.setFolder("acme", "101", b.id, "new"))?.folder, "new");
      assert.equal(
        await service.setFolder("acme", "101", "00000000-0000-4000-8000-000000000000", "old"),
        undefined,
      );

      await service.remove("acme", "101", a.id);
      assert.ok(!existsSync(service.audioPath(a)), "audio gone");
      assert.ok(!existsSync(join(mailboxDir(), `${a.id}.json`)), "sidecar gone");
      assert.equal(await store.voicemail.getMessage("acme", "101", a.id), undefined);
      assert.deepEqual(published.at(-1)?.counts, { newMessages: 2, oldMessages: 0 });
      assert.equal(await service.removeMessage("acme", "101", a.id), false);
      // A removed message stays removed across a restart.
      assert.equal((await make().recover()).recovered, 0);
      assert.equal((await store.voicemail.listMessages("acme", "101")).length, 2);
    });
  });

  describe("crash safety", () => {
    /** A store whose commit of a message fails as if the power went out right before it. */
    function crashingStore(): Store {
      return {
        ...store,
        voicemail: Object.assign(Object.create(store.voicemail) as Store["voicemail"], {
          addMessage: async () => {
            throw new Error("power cut before the commit");
          },
        }),
      };
    }

    test("a message renamed into place but not committed is recovered at start, exactly once", async () => {
      const crashing = make(crashingStore());
      await assert.rejects(
        crashing.deposit(
          tenant,
          "101",
          { path: speech(3000), durationMs: 2800 },
          { number: "+41791231212", name: "Bob" },
        ),
        /power cut/,
      );
      const files = readdirSync(mailboxDir()).sort();
      assert.equal(files.length, 2, "audio and sidecar are on disk");
      assert.deepEqual(await store.voicemail.listMessages("acme", "101"), [], "no row");

      published = [];
      const report = await make().recover();
      assert.deepEqual(report, { recovered: 1, removedTemporary: 0, removedOrphans: 0, skipped: 0 });
      const messages = await store.voicemail.listMessages("acme", "101");
      assert.equal(messages.length, 1);
      assert.equal(messages[0].callerName, "Bob");
      assert.equal(messages[0].folder, "new");
      assert.deepEqual(published, [
        { tenant: "acme", mailbox: "101", counts: { newMessages: 1, oldMessages: 0 } },
      ]);
      assert.ok(
        logged.lines.some((l) => l.msg === "voicemail message recovered into its mailbox"),
        "recovery logged",
      );

      assert.deepEqual(await make().recover(), {
        recovered: 0,
        removedTemporary: 0,
        removedOrphans: 0,
        skipped: 0,
      });
      assert.equal((await store.voicemail.listMessages("acme", "101")).length, 1, "still once");
    });

    test("on a directory shared by nodes, recovery leaves another node's deposit in progress alone", async () => {
      await assert.rejects(
        make(crashingStore()).deposit(
          tenant,
          "101",
          { path: speech(3000), durationMs: 2800 },
          { number: "102" },
        ),
      );
      // The files' times are the real ones: the clock is put beside them.
      await clock.advanceTo(Date.now());
      const shared = () =>
        new VoicemailService({
          store,
          dataDir,
          clock,
          log: logged.log,
          recoveryGraceMs: 5 * 60_000,
          publishMailbox: () => {},
        });
      assert.equal((await shared().recover()).recovered, 0, "young files: someone else's deposit");
      assert.equal(readdirSync(mailboxDir()).length, 2, "left on disk");
      await clock.advance(6 * 60_000);
      assert.equal((await shared().recover()).recovered, 1, "old enough: a crash's leftover, filed");
    });

    test("a recovered message keeps its e-mail", async () => {
      await store.voicemail.updateSettings("acme", "101", { email: "alice@example.ch" });
      await assert.rejects(
        make(crashingStore()).deposit(
          tenant,
          "101",
          { path: speech(3000), durationMs: 2800 },
          { number: "102" },
        ),
      );
      await make().recover();
      assert.equal((await store.voicemail.dueMail(clock.now(), 10)).length, 1);
    });

    test("recovery removes temporary files and halves of messages, and leaves strangers alone", async () => {
      const kept = await service.deposit(
        tenant,
        "101",
        { path: speech(3000), durationMs: 2300 },
        { number: "102" },
      );
      assert.ok(kept, "a message");
      const dir = mailboxDir();
      const id = (k: number) => `00000000-0000-4000-8000-00000000000${k}`;
      writeFileSync(join(dir, `${id(1)}.wav.tmp`), "half");
      writeFileSync(join(dir, `${id(1)}.json.tmp`), "half");
      writeFileSync(join(dir, "greeting-busy.wav.tmp"), "half");
      writeFileSync(join(dir, `${id(2)}.json`), "{}"); // audio never renamed
      writeFileSync(join(dir, `${id(3)}.wav`), "RIFF"); // sidecar and row already gone
      writeFileSync(join(dir, "notes.txt"), "mine");
      // A complete message of an extension that no longer exists.
      mkdirSync(mailboxDir("104"), { recursive: true });
      writeFileSync(join(mailboxDir("104"), `${id(4)}.wav`), "RIFF");
      writeFileSync(
        join(mailboxDir("104"), `${id(4)}.json`),
        JSON.stringify({
          id: id(4),
          tenant: "acme",
          mailbox: "104",
          folder: "new",
          callerNumber: "102",
          receivedAt: "2026-01-05T07:00:00.000Z",
          durationMs: 2000,
        }),
      );
      // A sidecar that describes another message.
      writeFileSync(join(dir, `${id(5)}.wav`), "RIFF");
      writeFileSync(join(dir, `${id(5)}.json`), JSON.stringify({ id: id(6) }));

      const report = await make().recover();
      assert.deepEqual(report, { recovered: 0, removedTemporary: 3, removedOrphans: 2, skipped: 2 });
      assert.deepEqual(
        readdirSync(dir).sort(),
        [`${id(5)}.json`, `${id(5)}.wav`, `${kept.id}.json`, `${kept.id}.wav`, "notes.txt"].sort(),
      );
      assert.ok(existsSync(join(mailboxDir("104"), `${id(4)}.wav`)), "left on disk");
      assert.deepEqual(
        (await store.voicemail.listMessages("acme", "101")).map((m) => m.id),
        [kept.id],
      );
    });

    test("recovery of an empty data directory finds nothing", async () => {
      assert.deepEqual(await service.recover(), {
        recovered: 0,
        removedTemporary: 0,
        removedOrphans: 0,
        skipped: 0,
      });
    });

    test("a deposit for an extension deleted meanwhile leaves nothing behind", async () => {
      await store.voicemail.updateSettings("acme", "103", { enabled: true });
      const path = speech(3000);
      await store.extensions.delete("acme", "103");
      await assert.rejects(service.deposit(tenant, "103", { path, durationMs: 2300 }, { number: "102" }));
      assert.deepEqual(readdirSync(mailboxDir("103")), []);
    });
  });

  describe("greetings", () => {
    test("saved from a recording (at 8 kHz), found, replaced, deleted", async () => {
      assert.equal(await service.greeting("acme", "101", "busy"), undefined);
      await service.saveGreeting("acme", "101", "busy", wavFile(speechLike(1000, 16000), 16000));
      const path = await service.greeting("acme", "101", "busy");
      assert.equal(path, join(mailboxDir(), "greeting-busy.wav"));
      const first = readWav(readFileSync(path as string));
      assert.equal(first.sampleRate, 8000);
      assert.equal(first.samples.length, 8000);
      // An upload from an editor: 44.1 kHz, quiet; kept at 8 kHz at the prompts' level.
      const quiet = speechLike(500, 44100).map((v) => Math.round(v / 20));
      await service.uploadGreeting("acme", "101", "busy", writeWav(quiet, 44100));
      const uploaded = readWav(readFileSync(path as string));
      assert.equal(uploaded.sampleRate, 8000);
      assert.equal(uploaded.samples.length, 4000);
      assert.ok(Math.max(...uploaded.samples) > 10 * Math.max(...quiet), "brought to the prompts' level");
      for (const bad of [
        Buffer.from("not a wav"),
        writeWav(silence(1000), 8000),
        writeWav(speechLike(121_000), 8000),
      ]) {
        await assert.rejects(service.uploadGreeting("acme", "101", "busy", bad), InvalidGreeting);
      }
      assert.equal(
        readWav(readFileSync(path as string)).samples.length,
        4000,
        "a refused upload changes nothing",
      );
      assert.equal(await service.greeting("acme", "101", "name"), undefined);
      assert.equal(await service.deleteGreeting("acme", "101", "busy"), true);
      assert.equal(await service.deleteGreeting("acme", "101", "busy"), false);
      assert.equal(await service.greeting("acme", "101", "busy"), undefined);
      await assert.rejects(
        service.saveGreeting("acme", "101", "name", speech(100).replace(".wav", ".missing")),
      );
      await assert.rejects(service.greeting("acme", "../101", "busy"), RangeError);
    });

    test("forget removes a mailbox's files, or a tenant's", async () => {
      await service.deposit(tenant, "101", { path: speech(3000), durationMs: 2300 }, { number: "102" });
      await service.uploadGreeting("acme", "102", "name", writeWav(speechLike(500), 8000));
      await service.forget("acme", "101");
      assert.ok(!existsSync(mailboxDir("101")), "101 forgotten");
      assert.ok(existsSync(mailboxDir("102")), "102 kept");
      await service.forget("acme");
      assert.ok(!existsSync(join(dataDir, "voicemail", "acme")), "tenant forgotten");
      await service.forget("acme");
    });
  });

  describe("PINs", () => {
    test("changePin refuses invalid and trivial PINs and stores only a scrypt hash", async () => {
      for (const pin of ["12", "12345678901", "12a4", ""]) {
        assert.equal(await service.changePin("acme", "101", pin, phone), "invalid", pin);
      }
      for (const pin of ["1111", "1234", "9876", "8901", "101101"]) {
        assert.equal(await service.changePin("acme", "101", pin, phone), "trivial", pin);
      }
      assert.equal((await store.voicemail.settings("acme", "101"))?.pinHash, undefined, "nothing changed");
      assert.equal(await service.changePin("acme", "101", "4826", phone), "ok");
      const hash = (await store.voicemail.settings("acme", "101"))?.pinHash;
      assert.match(hash ?? "", /^scrypt\$[0-9a-f]+\$[0-9a-f]{64}$/);
      assert.equal(await service.verifyPin("acme", "101", "4826"), true);
      assert.equal(await service.verifyPin("acme", "101", "4827"), false);
      assert.equal(
        await service.verifyPin("acme", "102", "4826"),
        false,
        "a mailbox without a PIN opens for nothing",
      );
      const audit = await store.audit.list("acme");
      assert.equal(audit[0].action, "voicemail.update");
      assert.deepEqual(audit[0].actor, phone);
      assert.doesNotMatch(JSON.stringify(audit) + JSON.stringify(logged.lines), /4826|scrypt/);
    });

    test("configure: enabling without a PIN generates one, once; a given PIN is checked", async () => {
      const first = await service.configure("acme", "102", { enabled: true, email: "bob@example.ch" }, api);
      assert.match(first.generatedPin ?? "", /^[0-9]{6}$/);
      assert.equal(first.settings.enabled, true);
      assert.equal(first.settings.email, "bob@example.ch");
      assert.equal(await service.verifyPin("acme", "102", first.generatedPin as string), true);
      const again = await service.configure("acme", "102", { enabled: true, remoteAccess: true }, api);
      assert.equal(again.generatedPin, undefined);
      assert.equal(again.settings.remoteAccess, true);
      const chosen = await service.configure("acme", "103", { enabled: true, pin: "4826" }, api);
      assert.equal(chosen.generatedPin, undefined);
      assert.equal(await service.verifyPin("acme", "103", "4826"), true);
      await assert.rejects(service.configure("acme", "103", { pin: "1234" }, api), /refused: trivial/);
      assert.equal(await service.verifyPin("acme", "103", "4826"), true, "a refused PIN changes nothing");
      const off = await service.configure("acme", "101", { enabled: false }, api);
      assert.equal(off.generatedPin, undefined, "a disabled mailbox needs no PIN");
      const reset = await service.resetPin("acme", "103", api);
      assert.match(reset, /^[0-9]{6}$/);
      assert.equal(await service.verifyPin("acme", "103", reset), true);
      assert.equal(await service.verifyPin("acme", "103", "4826"), false);
      assert.doesNotMatch(JSON.stringify(logged.lines), new RegExp(`${reset}|${first.generatedPin}|4826`));
    });
  });

  describe("remote access", () => {
    beforeEach(async () => {
      await service.configure("acme", "101", { enabled: true, remoteAccess: true, pin: "4826" }, api);
      await service.configure("acme", "102", { enabled: true, remoteAccess: true, pin: "5937" }, api);
    });

    test("needs the tenant's switch, the mailbox's flag and a PIN; open() needs the voicemail feature", async () => {
      assert.equal(await service.remoteAccess(tenant, "101", outsider), true);
      const noRemote = { ...tenant, features: { ...tenant.features, voicemailRemoteAccess: false } };
      assert.equal(await service.remoteAccess(noRemote, "101", outsider), false);
      assert.equal(await service.tryRemotePin(noRemote, "101", "4826", outsider), "locked");
      await service.configure("acme", "101", { remoteAccess: false }, api);
      assert.equal(await service.remoteAccess(tenant, "101", outsider), false);
      assert.equal(await service.remoteAccess(tenant, "103", outsider), false, "no mailbox");

      assert.ok(await service.open(tenant, "101"), "open");
      assert.equal(
        await service.open({ ...tenant, features: { ...tenant.features, voicemail: false } }, "101"),
        undefined,
      );
      assert.equal(await service.open(tenant, "103"), undefined);
      await service.configure("acme", "101", { enabled: false }, api);
      assert.equal(await service.open(tenant, "101"), undefined);
    });

    test("five wrong PINs within an hour, across calls and callers, lock the mailbox for an hour", async () => {
      assert.equal(await service.tryRemotePin(tenant, "101", "4826", outsider), "ok");
      // Call 1: three wrong tries; call 2 from someone else: two more.
      for (let i = 0; i < 3; i++) {
        assert.equal(await service.tryRemotePin(tenant, "101", "0598", outsider), "wrong");
        clock.tick(60_000);
      }
      assert.equal(await service.tryRemotePin(tenant, "101", "3850", other), "wrong");
      assert.equal(await service.remoteAccess(tenant, "101", third), true, "four are not enough");
      assert.equal(await service.tryRemotePin(tenant, "101", "6047", other), "wrong");

      for (const who of [outsider, other, third]) {
        assert.equal(await service.remoteAccess(tenant, "101", who), false, who.number);
      }
      assert.equal(await service.tryRemotePin(tenant, "101", "4826", third), "locked", "even the right PIN");
      assert.equal(await service.verifyPin("acme", "101", "4826"), true, "the owner's *97 keeps working");
      assert.equal(
        await service.remoteAccess(tenant, "102", third),
        true,
        "other mailboxes stay open to others",
      );
      assert.equal(
        await service.remoteAccess(tenant, "102", other),
        false,
        "the fifth guesser is locked out of all",
      );
      assert.ok(((await service.remoteLockedUntil("acme", "101")) ?? 0) > clock.now(), "locked until later");

      const audit = (await store.audit.list("acme")).find((e) => e.action === "voicemail.locked");
      assert.ok(audit, "audited");
      assert.deepEqual(audit.actor, { kind: "system", id: "voicemail" });
      assert.equal(audit.subject, "101/voicemail");
      const lockout = logged.lines.filter((l) => String(l.msg).startsWith("voicemail PIN lockout"));
      assert.equal(lockout.length, 1);
      assert.equal(lockout[0].msg, "voicemail PIN lockout tenant=acme mailbox=101 source=203.0.113.6");
      assert.equal(lockout[0].level, 40, "a warning");
      assert.doesNotMatch(JSON.stringify(logged.lines), /4826|0598|3850|6047/);

      // A restart forgets nothing: the lock is in the store.
      const restarted = make();
      assert.equal(await restarted.remoteAccess(tenant, "101", third), false);

      await clock.advance(LOCKOUT_MS);
      for (const who of [outsider, other, third]) {
        assert.equal(await restarted.remoteAccess(tenant, "101", who), true, `${who.number} an hour later`);
      }
      assert.equal(await restarted.tryRemotePin(tenant, "101", "9999", third), "wrong");
      assert.equal(await restarted.remoteAccess(tenant, "101", third), true, "old failures no longer count");
      assert.equal(await restarted.tryRemotePin(tenant, "101", "4826", third), "ok");
    });

    test("one caller guessing at several mailboxes is locked out of all of them", async () => {
      for (const mailbox of ["101", "101", "101", "102", "102"]) {
        assert.equal(await service.tryRemotePin(tenant, mailbox, "0000", outsider), "wrong");
      }
      assert.equal(await service.remoteAccess(tenant, "101", outsider), false);
      assert.equal(await service.remoteAccess(tenant, "102", outsider), false);
      // Same address, another number: the address is locked too.
      assert.equal(
        await service.remoteAccess(tenant, "102", {
          number: "+41799999999",
          source: "udp:203.0.113.5:40000",
        }),
        false,
      );
      assert.equal(
        await service.remoteAccess(tenant, "101", other),
        true,
        "the mailboxes stay open to others",
      );
      assert.equal(await service.remoteLockedUntil("acme", "101"), undefined);
      assert.ok(
        logged.lines.some(
          (l) => l.msg === "voicemail PIN lockout tenant=acme mailbox=102 source=203.0.113.5",
        ),
        "lockout logged",
      );
    });

    test("a caller without an address or number is counted at the mailbox but not locked by name", async () => {
      const unknown: RemoteCaller = { number: "anonymous", source: "unknown" };
      for (let i = 0; i < 5; i++) await service.tryRemotePin(tenant, "101", "0000", unknown);
      assert.equal(await service.remoteAccess(tenant, "101", outsider), false, "the mailbox is locked");
      assert.equal(
        await service.remoteAccess(tenant, "102", { number: "anonymous", source: "unknown" }),
        true,
      );
      assert.ok(
        logged.lines.some((l) => l.msg === "voicemail PIN lockout tenant=acme mailbox=101 source=-"),
        "lockout logged",
      );
    });

    test("the provider's unlock opens at once and is audited", async () => {
      for (let i = 0; i < 5; i++) await service.tryRemotePin(tenant, "101", "0000", outsider);
      assert.equal(await service.remoteAccess(tenant, "101", outsider), false);
      await service.unlock("acme", "101", api);
      assert.equal(await service.remoteAccess(tenant, "101", outsider), true);
      assert.equal(
        await service.remoteAccess(tenant, "102", outsider),
        true,
        "the caller lock it set is lifted too",
      );
      assert.equal(await service.remoteLockedUntil("acme", "101"), undefined);
      const event = (await store.audit.list("acme"))[0];
      assert.equal(event.action, "voicemail.unlock");
      assert.deepEqual(event.actor, api);
      // Counting starts again from zero.
      for (let i = 0; i < 4; i++) await service.tryRemotePin(tenant, "101", "0000", outsider);
      assert.equal(await service.remoteAccess(tenant, "101", outsider), true);
    });
  });
});
