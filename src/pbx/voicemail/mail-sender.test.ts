import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { SMTPServer } from "smtp-server";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore, type SqlStore } from "../../store/sql/open-store.ts";
import type { VoicemailMessage } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { capturingLogger, type Logger, silentLogger } from "../../util/log.ts";
import {
  composeVoicemailMail,
  formatDuration,
  MAIL_RETRY_MAX_MS,
  MAIL_RETRY_MIN_MS,
  MailSender,
  mailRetryDelay,
} from "./mail-sender.ts";

// ---------------------------------------------------------------- helpers

const root = mkdtempSync(join(tmpdir(), "vpbx-mail-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

interface ReceivedMail {
  from: string;
  to: string[];
  user?: string;
  raw: string;
}

interface TestSmtp {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * An SMTP server on 127.0.0.1 (plain, no STARTTLS); with `auth` it takes only
 * that login; with `hold` it answers the data only once that promise settles.
 */
function startSmtp(
  port = 0,
  auth?: { user: string; pass: string },
  hold?: { receiving(): void; release: Promise<void> },
): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS"],
    authOptional: auth === undefined,
    allowInsecureAuth: true,
    onAuth(a, _session, cb) {
      if (auth && a.username === auth.user && a.password === auth.pass) cb(null, { user: a.username });
      else cb(new Error("535 authentication failed"));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        if (hold) {
          hold.receiving();
          await hold.release;
        }
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === "string" ? session.user : undefined,
          raw: Buffer.concat(chunks).toString("latin1"),
        });
        cb();
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.server.address();
      assert.ok(address && typeof address === "object");
      resolve({
        port: address.port,
        mails,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** A port nobody listens on (taken from the system, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      assert.ok(address && typeof address === "object");
      s.close(() => resolve(address.port));
    });
  });
}

interface MimePart {
  headers: Map<string, string>;
  body: Buffer;
}

/** Just enough MIME (RFC 2045/2046) to find the parts of a nodemailer mail. */
function parseMime(raw: string): MimePart {
  const split = raw.indexOf("\r\n\r\n");
  const head = split < 0 ? raw : raw.slice(0, split);
  const rawBody = split < 0 ? "" : raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  let body: Buffer;
  if (encoding === "base64") body = Buffer.from(rawBody.replace(/\s+/g, ""), "base64");
  else if (encoding === "quoted-printable") {
    const soft = rawBody.replace(/=\r\n/g, "");
    body = Buffer.from(
      soft.replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      "latin1",
    );
  } else body = Buffer.from(rawBody, "latin1");
  return { headers, body };
}

function mimeParts(raw: string): MimePart[] {
  const top = parseMime(raw);
  const type = top.headers.get("content-type") ?? "";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith("multipart/") || !boundary) return [top];
  const text = top.body.toString("latin1");
  const parts: MimePart[] = [];
  for (const chunk of text.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith("--")) break;
    parts.push(...mimeParts(chunk.replace(/^\r\n/, "").replace(/\r\n$/, "")));
  }
  return parts;
}

/** A fake WAV: a header and some bytes that survive only a binary-clean transfer. */
function wavBytes(seed: number): Buffer {
  const data = Buffer.alloc(8000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed) & 0xff;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

interface World {
  clock: FakeClock;
  store: SqlStore;
  audioDir: string;
  audioPath(message: VoicemailMessage): string;
  removed: string[];
  removeMessage(tenant: string, mailbox: string, id: string): Promise<void>;
  /** Leaves a message in acme/101 (with its WAV file) and queues its mail. */
  deposit(over?: Partial<VoicemailMessage>): Promise<{ message: VoicemailMessage; audio: Buffer }>;
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

async function world(mailbox: { deleteAfterEmail?: boolean } = {}): Promise<World> {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const dataDir = join(root, `d${dirs++}`);
  const store = await openStore({ dataDir, clock });
  opened.push(store);
  await store.tenants.create({ name: "acme", domain: "acme.test", timezone: "Europe/Zurich" });
  await store.extensions.create({
    tenant: "acme",
    number: "101",
    displayName: "Alice",
    credentials: makeCredentials("101", "acme.test", "pw-101-secret"),
  });
  await store.voicemail.updateSettings("acme", "101", {
    enabled: true,
    email: "alice@acme.example",
    deleteAfterEmail: mailbox.deleteAfterEmail ?? false,
  });
  const audioDir = join(dataDir, "voicemail");
  mkdirSync(audioDir, { recursive: true });
  const audioPath = (m: VoicemailMessage) => join(audioDir, `${m.id}.wav`);
  const removed: string[] = [];
  let seed = 0;
  return {
    clock,
    store,
    audioDir,
    audioPath,
    removed,
    async removeMessage(tenant, box, id) {
      removed.push(id);
      const m = await store.voicemail.getMessage(tenant, box, id);
      if (m) unlinkSync(audioPath(m));
      await store.voicemail.deleteMessage(tenant, box, id);
    },
    async deposit(over = {}) {
      const message: VoicemailMessage = {
        id: randomUUID(),
        tenant: "acme",
        mailbox: "101",
        folder: "new",
        callerNumber: "+41791231212",
        callerName: "Bob Meier",
        receivedAt: new Date(clock.now()).toISOString(),
        durationMs: 42_400,
        ...over,
      };
      const audio = wavBytes(seed++);
      writeFileSync(audioPath(message), audio);
      await store.voicemail.addMessage(message);
      await store.voicemail.queueMail({
        tenant: "acme",
        mailbox: "101",
        messageId: message.id,
        to: "alice@acme.example",
        nextAttemptAt: clock.now(),
      });
      return { message, audio };
    },
  };
}

function sender(w: World, smtpUrl: string | undefined, log: Logger = silentLogger()): MailSender {
  const s = new MailSender({
    store: w.store,
    clock: w.clock,
    log,
    ...(smtpUrl !== undefined ? { smtpUrl } : {}),
    from: "Voicemail <vpbx@pbx.example.com>",
    audioPath: w.audioPath,
    removeMessage: (t, m, id) => w.removeMessage(t, m, id),
  });
  opened.push({ close: () => s.stop() });
  return s;
}

/**
 * Moves the fake clock in steps of the sender's interval, letting each look
 * at the queue (real SMTP I/O) finish before the next: a look in progress
 * sets no timer until it ends.
 */
async function run(w: World, s: MailSender, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 30_000) {
    await w.clock.advance(Math.min(left, 30_000));
    await s.idle();
  }
}

// ---------------------------------------------------------------- pure parts

describe("composition", () => {
  test("retry delays: 1 minute, doubling, at most an hour", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 50].map(mailRetryDelay),
      [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000],
    );
    assert.equal(MAIL_RETRY_MIN_MS, 60_000);
    assert.equal(MAIL_RETRY_MAX_MS, 3_600_000);
  });

  test("durations", () => {
    assert.equal(formatDuration(400), "0:01");
    assert.equal(formatDuration(42_400), "0:42");
    assert.equal(formatDuration(125_000), "2:05");
    assert.equal(formatDuration(180_000), "3:00");
  });

  test("subject, body and file name in the tenant's time zone", () => {
    const message: VoicemailMessage = {
      id: "x",
      tenant: "acme",
      mailbox: "101",
      folder: "new",
      callerNumber: "+41791231212",
      callerName: "Bob Meier",
      receivedAt: "2026-07-01T12:34:56.000Z",
      durationMs: 65_000,
    };
    const m = composeVoicemailMail(message, "Europe/Zurich");
    assert.equal(m.subject, "Voicemail from Bob Meier <+41791231212> (1:05)");
    assert.equal(m.attachmentName, "message-20260701-143456.wav"); // CEST: UTC+2
    assert.match(m.text, /Caller number: \+41791231212/);
    assert.match(m.text, /Caller name: +Bob Meier/);
    assert.match(m.text, /Wednesday 1 July 2026, 14:34:56 \(Europe\/Zurich\)/);
    assert.match(m.text, /Duration: +1:05/);

    const anonymous = composeVoicemailMail(
      { ...message, callerNumber: "", callerName: undefined },
      "Nowhere/Atlantis",
    );
    assert.equal(anonymous.subject, "Voicemail from unknown number (1:05)");
    assert.equal(anonymous.attachmentName, "message-20260701-123456.wav"); // an unknown zone falls back to UTC
  });
});

// ---------------------------------------------------------------- against an SMTP server

describe("MailSender", () => {
  test("delivers the mail with the WAV attached and the caller in the body", async () => {
    const smtp = await startSmtp();
    opened.push(smtp);
    const w = await world();
    const { message, audio } = await w.deposit();
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`);
    s.start();
    await s.idle();

    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0];
    assert.equal(mail.from, "vpbx@pbx.example.com");
    assert.deepEqual(mail.to, ["alice@acme.example"]);
    const top = parseMime(mail.raw);
    assert.equal(top.headers.get("subject"), "Voicemail from Bob Meier <+41791231212> (0:42)");
    assert.match(top.headers.get("to") ?? "", /alice@acme\.example/);

    const parts = mimeParts(mail.raw);
    const wav = parts.find((p) => /^audio\/wav/i.test(p.headers.get("content-type") ?? ""));
    assert.ok(wav, "a WAV part");
    // 09:00 in Zurich (UTC+1 in January).
    assert.match(
      wav.headers.get("content-disposition") ?? "",
      /attachment; filename="?message-20260105-090000\.wav/,
    );
    assert.deepEqual(wav.body, audio);
    const body = parts.find((p) => /^text\/plain/i.test(p.headers.get("content-type") ?? ""));
    assert.ok(body, "a text part");
    const text = body.body.toString("utf8");
    assert.match(text, /Caller number: \+41791231212/);
    assert.match(text, /Bob Meier/);
    assert.match(text, /Monday 5 January 2026, 09:00:00/);
    assert.match(text, /Duration: +0:42/);

    // Sent once: the queue is empty, the message stays (deleteAfterEmail off).
    assert.deepEqual(await w.store.voicemail.dueMail(w.clock.now() + 10 * 3_600_000, 10), []);
    assert.ok(await w.store.voicemail.getMessage("acme", "101", message.id));
    await run(w, s, 120_000);
    assert.equal(smtp.mails.length, 1);
  });

  test("logs in when the URL carries a user and a password", async () => {
    const smtp = await startSmtp(0, { user: "vpbx", pass: "s3cret" });
    opened.push(smtp);
    const w = await world();
    await w.deposit();
    const s = sender(w, `smtp://vpbx:s3cret@127.0.0.1:${smtp.port}`);
    s.start();
    await s.idle();
    assert.equal(smtp.mails.length, 1);
    assert.equal(smtp.mails[0].user, "vpbx");
  });

  test("a server down is retried with back-off until it accepts; nothing is lost", async () => {
    const port = await freePort();
    const w = await world();
    const t0 = w.clock.now();
    const first = await w.deposit();
    const { log, lines } = capturingLogger();
    const s = sender(w, `smtp://127.0.0.1:${port}`, log);
    s.start();
    await s.idle();

    // Failed once: due again in one minute, with the error kept.
    assert.deepEqual(await w.store.voicemail.dueMail(t0 + 59_999, 10), []);
    let [queued] = await w.store.voicemail.dueMail(t0 + 60_000, 10);
    assert.equal(queued.attempts, 1);
    assert.equal(queued.nextAttemptAt, t0 + 60_000);
    assert.match(queued.lastError ?? "", /ECONNREFUSED|connect/i);
    const warn = lines.find((l) => l.level === 40);
    assert.ok(warn, "a warning");
    assert.equal(warn.messageId, first.message.id);
    assert.equal(warn.retryInSeconds, 60);

    // Half a minute later: looked, nothing due.
    await run(w, s, 30_000);
    [queued] = await w.store.voicemail.dueMail(t0 + 10 * 3_600_000, 10);
    assert.equal(queued.attempts, 1);

    // Second try after the minute, still down: two minutes now.
    await run(w, s, 30_000);
    [queued] = await w.store.voicemail.dueMail(t0 + 10 * 3_600_000, 10);
    assert.equal(queued.attempts, 2);
    assert.equal(queued.nextAttemptAt, t0 + 60_000 + 120_000);

    // A second message meanwhile (its first try fails too), then the server comes back.
    const second = await w.deposit({ callerNumber: "+41215550199", callerName: undefined });
    s.kick();
    await s.idle();
    const smtp = await startSmtp(port);
    opened.push(smtp);
    await run(w, s, 30_000); // t0 + 90 s
    assert.equal(smtp.mails.length, 0, "not before its back-off is over");
    await run(w, s, 30_000); // t0 + 120 s: the second message's minute is over
    assert.equal(smtp.mails.length, 1);
    assert.match(smtp.mails[0].raw, /Subject: Voicemail from \+41215550199 \(0:42\)/);
    await run(w, s, 30_000); // t0 + 150 s
    assert.equal(smtp.mails.length, 1);
    await run(w, s, 30_000); // t0 + 180 s: the first message's two minutes are over

    assert.equal(smtp.mails.length, 2);
    const attached = smtp.mails.map((m) => {
      const wav = mimeParts(m.raw).find((p) => /^audio\/wav/i.test(p.headers.get("content-type") ?? ""));
      assert.ok(wav);
      return wav.body;
    });
    assert.deepEqual(
      new Set(attached.map((b) => b.toString("hex"))),
      new Set([first.audio, second.audio].map((b) => b.toString("hex"))),
    );
    assert.deepEqual(await w.store.voicemail.dueMail(w.clock.now() + 10 * 3_600_000, 10), []);
  });

  test("deleteAfterEmail removes the message once the server accepted its mail", async () => {
    const smtp = await startSmtp();
    opened.push(smtp);
    const w = await world({ deleteAfterEmail: true });
    const { message } = await w.deposit();
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`);
    s.start();
    await s.idle();
    assert.equal(smtp.mails.length, 1);
    assert.deepEqual(w.removed, [message.id]);
    assert.equal(await w.store.voicemail.getMessage("acme", "101", message.id), undefined);
    assert.throws(() => readFileSync(w.audioPath(message)), /ENOENT/);
  });

  test("deleteAfterEmail keeps the message while the mail is not sent", async () => {
    const port = await freePort();
    const w = await world({ deleteAfterEmail: true });
    const { message } = await w.deposit();
    const s = sender(w, `smtp://127.0.0.1:${port}`);
    s.start();
    await s.idle();
    assert.deepEqual(w.removed, []);
    assert.ok(await w.store.voicemail.getMessage("acme", "101", message.id));
  });

  test("a message deleted before its mail went takes its queued mail with it", async () => {
    const smtp = await startSmtp();
    opened.push(smtp);
    const w = await world();
    const { message } = await w.deposit();
    await w.removeMessage("acme", "101", message.id);
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`);
    s.start();
    await s.idle();
    assert.equal(smtp.mails.length, 0);
    assert.deepEqual(await w.store.voicemail.dueMail(w.clock.now() + 10 * 3_600_000, 10), []);
  });

  test("a message deleted while its mail is being taken from the queue: the mail is dropped", async () => {
    const smtp = await startSmtp();
    opened.push(smtp);
    const w = await world();
    const { message } = await w.deposit();
    const real = w.store.voicemail;
    // The owner deletes the message (`*97`, 7) right after the sender read the queue.
    const racing = new Proxy(real, {
      get(target, prop) {
        if (prop === "dueMail") {
          return async (now: number, limit: number) => {
            const due = await target.dueMail(now, limit);
            for (const m of due) await target.deleteMessage(m.tenant, m.mailbox, m.messageId);
            return due;
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { log, lines } = capturingLogger();
    const s = new MailSender({
      store: { ...w.store, voicemail: racing },
      clock: w.clock,
      log,
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: "vpbx@pbx.example.com",
      audioPath: w.audioPath,
      removeMessage: (t, m, id) => w.removeMessage(t, m, id),
    });
    opened.push({ close: () => s.stop() });
    s.start();
    await s.idle();
    assert.equal(smtp.mails.length, 0);
    assert.deepEqual(await real.dueMail(w.clock.now() + 10 * 3_600_000, 10), []);
    assert.ok(
      lines.some((l) => l.level === 30 && l.messageId === message.id && /dropped/.test(String(l.msg))),
    );
    assert.equal(lines.filter((l) => Number(l.level) >= 40).length, 0);
  });

  test("without VPBX_SMTP_URL nothing is sent, the mail stays queued and one warning says what to set", async () => {
    const w = await world({ deleteAfterEmail: true });
    const { message } = await w.deposit();
    const { log, lines } = capturingLogger();
    const s = sender(w, undefined, log);
    s.start();
    await s.idle();
    await w.deposit();
    s.kick();
    await s.idle();
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0].msg), /VPBX_SMTP_URL/);
    assert.equal((await w.store.voicemail.dueMail(w.clock.now(), 10)).length, 2);
    assert.ok(await w.store.voicemail.getMessage("acme", "101", message.id));
    assert.equal(w.clock.timerCount, 0);
  });

  test("stop() cancels the timer; a stopped sender sends nothing", async () => {
    const smtp = await startSmtp();
    opened.push(smtp);
    const w = await world();
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`);
    s.start();
    await s.idle();
    assert.equal(w.clock.timerCount, 1);
    await s.stop();
    assert.equal(w.clock.timerCount, 0);
    await w.deposit();
    s.kick();
    await run(w, s, 120_000);
    assert.equal(smtp.mails.length, 0);
  });

  test("stop() waits for the mail being sent, then sends no more", async () => {
    let receiving!: () => void;
    const received = new Promise<void>((r) => {
      receiving = r;
    });
    let release!: () => void;
    const smtp = await startSmtp(0, undefined, {
      receiving,
      release: new Promise<void>((r) => {
        release = r;
      }),
    });
    opened.push(smtp);
    const w = await world();
    await w.deposit();
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`);
    s.start();
    await received; // the server has the data and has not answered yet
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    release();
    await stopping;
    assert.equal(smtp.mails.length, 1);
    assert.deepEqual(await w.store.voicemail.dueMail(w.clock.now() + 10 * 3_600_000, 10), []);
    assert.equal(w.clock.timerCount, 0);
  });

  test("stop() waits for a hanging server only so long", async () => {
    let receiving!: () => void;
    const received = new Promise<void>((r) => {
      receiving = r;
    });
    let release!: () => void;
    const smtp = await startSmtp(0, undefined, {
      receiving,
      release: new Promise<void>((r) => {
        release = r;
      }),
    });
    opened.push(smtp);
    const w = await world();
    await w.deposit();
    const { log, lines } = capturingLogger();
    const s = sender(w, `smtp://127.0.0.1:${smtp.port}`, log);
    s.start();
    await received;
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await w.clock.advance(9_000);
    assert.equal(stopped, false);
    await w.clock.advance(1_000);
    await stopping;
    assert.ok(lines.some((l) => l.level === 40 && /stopped while a mail was being sent/.test(String(l.msg))));
    // The server answers after all: the mail leaves the queue, nothing more is sent.
    release();
    await s.idle();
    assert.equal(smtp.mails.length, 1);
    assert.equal(w.clock.timerCount, 0);
  });
});
