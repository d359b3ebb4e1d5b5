// Runs baresip 1.0 headless as a real-world softphone for interop tests:
// a temporary config folder (INTEROP.md), aufile as microphone, the sndfile
// filter recording both directions, and ctrl_tcp for commands and events (netstrings of JSON, checked against
// the binary here: {"command":"dial","params":"sip:...","token":"1"} is
// answered by {"response":true,"ok":true,"data":"...","token":"1"}, and
// events come as {"event":true,"type":"CALL_ESTABLISHED",...}).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speechLike } from "./audio.ts";
import { freeUdpPort } from "./sipp.ts";
import { requireTool } from "./tools.ts";
import { decodeWav, encodeWav } from "./wav-fixtures.ts";

export interface BaresipOptions {
  user: string;
  password: string;
  domain: string;
  /** Outbound proxy / registrar, "127.0.0.1:PORT". */
  server: string;
  /**
   * How baresip reaches `server` (default udp): "tls" writes
   * `;transport=tls` in the outbound proxy URI (RFC 3261 §26.2). baresip 1.0
   * does not verify the server's certificate (it has no sip_verify_server,
   * which later versions turn on by default): give `caFile` for those.
   */
  transport?: "udp" | "tcp" | "tls";
  /** `sip_cafile`: PEM certificates baresip trusts for TLS (the PBX's self-signed one). */
  caFile?: string;
  /** Local SIP port; default a free one. */
  sipPort?: number;
  /** WAV (8 kHz 16-bit mono) played as the microphone; default 4 s of speech-like audio. */
  audioSource?: string;
  answerMode?: "auto" | "manual";
  ctrlPort?: number;
  /** Registration interval; 0 disables REGISTER. Default 60. */
  regint?: number;
  /** Quit after this many seconds whatever happens (a safety net). Default 60. */
  lifetimeSec?: number;
  /** `-s`: baresip prints every SIP message it sends and receives (see sipMessages()). */
  sipTrace?: boolean;
  /**
   * Application modules loaded after ctrl_tcp, in this order: "contact.so"
   * (address book, `message` command), "presence.so" (subscribes to the
   * contacts marked `;presence=p2p`; needs contact.so before it), "mwi.so"
   * (subscribes to message-summary after each successful REGISTER).
   */
  modules?: string[];
  /**
   * Lines of the `contacts` file, e.g. `"Bob" <sip:102@acme.test>;presence=p2p`;
   * the first is the current contact (the target of message()). Written
   * (empty by default) whenever contact.so is loaded, so that baresip does
   * not write its template with contacts on the Internet.
   */
  contacts?: string[];
  /** Extra `;name=value` parameters of the account line, e.g. "mwi=no". */
  accountParams?: string;
  /**
   * SDES SRTP (the srtp module, loaded before the account that names it):
   * "srtp" offers RTP/AVP with keys (best effort), "srtp-mand" RTP/SAVP.
   */
  mediaEncryption?: "srtp" | "srtp-mand";
  /**
   * Loads the cons.so UI on a free TCP port and reads it: what baresip
   * shows a user (a received MESSAGE above all, which baresip 1.0 neither
   * logs nor reports as a ctrl_tcp event) lands in consoleOutput().
   */
  console?: boolean;
}

/** A contact as the `contacts` command lists it, with its presence as baresip sees it. */
export interface BaresipContact {
  /** "sip:102@acme.test". */
  uri: string;
  /** baresip 1.0's words: "Unknown", "Online", "Busy", "Offline"; "" without presence.so. */
  presence: string;
}

/** A MESSAGE baresip received and printed (menu.so's message handler). */
export interface BaresipReceivedMessage {
  /** The sender's URI as baresip printed it. */
  from: string;
  text: string;
}

/** One SIP message from baresip's `-s` trace. */
export interface BaresipSipMessage {
  direction: "sent" | "received";
  /** Start line and headers (and body), lines joined with CRLF. */
  text: string;
  firstLine: string;
}

export interface BaresipEvent {
  type: string;
  [key: string]: unknown;
}

export interface Baresip {
  sipPort: number;
  ctrlPort: number;
  /** sip:user@127.0.0.1:port, to call this baresip directly. */
  contactUri: string;
  dir: string;
  events: BaresipEvent[];
  /** stdout + stderr so far. */
  output(): string;
  command(command: string, params?: string, timeoutMs?: number): Promise<{ ok: boolean; data: string }>;
  waitForEvent(type: string, timeoutMs?: number): Promise<BaresipEvent>;
  waitForRegistration(timeoutMs?: number): Promise<void>;
  dial(uri: string): Promise<void>;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  waitForCallEstablished(timeoutMs?: number): Promise<BaresipEvent>;
  waitForCallClosed(timeoutMs?: number): Promise<BaresipEvent>;
  /**
   * Blind transfer of the current call (menu command "transfer", baresip
   * 1.0 has no attended transfer): REFER with Refer-To: <uri>.
   */
  transfer(uri: string): Promise<void>;
  /** Puts the current call on hold (re-INVITE a=sendonly). */
  hold(): Promise<void>;
  /** Takes the current call off hold. */
  resume(): Promise<void>;
  /** With `sipTrace`: the SIP messages baresip printed so far, oldest first. */
  sipMessages(): BaresipSipMessage[];
  /**
   * With `sipTrace`: the first message printed that `match` accepts, waiting
   * for it. baresip prints its trace on another stream than its events, so a
   * message may show after the event it caused (the 200 after CALL_ESTABLISHED).
   */
  waitForSipMessage(match: (m: BaresipSipMessage) => boolean, timeoutMs?: number): Promise<BaresipSipMessage>;
  /** With contact.so: the address book and each contact's presence (`contacts` command). */
  contacts(): Promise<BaresipContact[]>;
  /** Waits until contact `uri` shows `presence` ("Online", "Offline", "Busy", "Unknown"). */
  waitForPresence(uri: string, presence: string, timeoutMs?: number): Promise<void>;
  /** With contact.so: sends `text` in a SIP MESSAGE to the current contact (the first of `contacts`). */
  message(text: string): Promise<void>;
  /** With `console`: the MESSAGEs baresip received so far, oldest first (as its UI printed them). */
  receivedMessages(): BaresipReceivedMessage[];
  /** Waits until a received MESSAGE carries `text`. */
  waitForMessage(text: string, timeoutMs?: number): Promise<BaresipReceivedMessage>;
  /** With `console`: everything the cons.so UI printed so far. */
  consoleOutput(): string;
  /** What baresip decoded from the last call's RTP (sndfile dump), empty before any call. */
  receivedWav(): { rate: number; samples: Int16Array };
  /** What baresip encoded and sent in the last call. */
  sentWav(): { rate: number; samples: Int16Array };
  /** Kills the process group and removes the temporary folder. */
  stop(): Promise<void>;
}

async function freeTcpPort(avoid: number[] = []): Promise<number> {
  for (;;) {
    const port = await anyFreeTcpPort();
    if (!avoid.includes(port)) return port;
  }
}

function anyFreeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts baresip and connects to its ctrl_tcp port. baresip binds its SIP
 * port over UDP, TCP and (one up) TLS; a free UDP port may be taken for the
 * others by a test running beside: then it is tried again on fresh ports.
 */
export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBaresipOnce(opts);
    } catch (err) {
      const portClash = err instanceof Error && /Address already in use/.test(err.message);
      if (!portClash || opts.sipPort !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startBaresipOnce(opts: BaresipOptions): Promise<Baresip> {
  const bin = requireTool("baresip");
  if (!bin) throw new Error("baresip is not installed (check requireTool('baresip') first and skip)");
  const dir = mkdtempSync(join(tmpdir(), "vpbx-baresip-"));
  const sipPort = opts.sipPort ?? (await freeUdpPort());
  // baresip listens on TCP at the SIP port and on the next one for TLS:
  // ctrl_tcp or cons there would fail, and connecting to "them" would reach
  // the SIP listener instead (silently: a console that never prints).
  const sipTcp = [sipPort, sipPort + 1];
  const ctrlPort = opts.ctrlPort ?? (await freeTcpPort(sipTcp));
  const rtpBase = await freeUdpPort("127.0.0.1", true);
  const consPort = opts.console ? await freeTcpPort([...sipTcp, ctrlPort]) : undefined;
  const source = opts.audioSource ?? join(dir, "source.wav");
  if (!opts.audioSource) writeFileSync(source, encodeWav(speechLike(4000)));
  // stdio.so is left out: it needs a terminal on fd 0 and fails under a test runner.
  writeFileSync(
    join(dir, "config"),
    [
      `sip_listen 127.0.0.1:${sipPort}`,
      ...(opts.caFile ? [`sip_cafile ${opts.caFile}`] : []),
      "net_interface 127.0.0.1",
      `audio_source aufile,${source}`,
      // aufile in baresip 1.0 is a source only; the sndfile filter dumps
      // the decoded audio to snd_path/dump-*-dec.wav, and aubridge is a
      // player that drives the receive pipeline without a sound card.
      "audio_player aubridge,harness",
      "module aubridge.so",
      "module sndfile.so",
      `snd_path ${dir}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module aufile.so",
      ...(opts.mediaEncryption ? ["module srtp.so"] : []),
      "module_app account.so",
      "module_app menu.so",
      "module_app ctrl_tcp.so",
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      ...(opts.modules ?? []).map((m) => `module_app ${m}`),
      // cons.so is a UI module ("module", not "module_app"); without
      // cons_listen it would take the fixed port 5555.
      ...(consPort === undefined ? [] : ["module cons.so", `cons_listen 127.0.0.1:${consPort}`]),
      `rtp_ports ${rtpBase}-${rtpBase + 9}`,
      "",
    ].join("\n"),
  );
  const regint = opts.regint ?? 60;
  const extraParams =
    (opts.accountParams ? `;${opts.accountParams.replace(/^;/, "")}` : "") +
    (opts.mediaEncryption ? `;mediaenc=${opts.mediaEncryption}` : "");
  writeFileSync(
    join(dir, "accounts"),
    `<sip:${opts.user}@${opts.domain}>;auth_pass=${opts.password};outbound="sip:${opts.server}${opts.transport && opts.transport !== "udp" ? `;transport=${opts.transport}` : ""}";regint=${regint};answermode=${opts.answerMode ?? "auto"}${extraParams}\n`,
  );
  if (opts.contacts || opts.modules?.includes("contact.so"))
    writeFileSync(join(dir, "contacts"), (opts.contacts ?? []).map((l) => `${l}\n`).join(""));
  const args = ["-f", dir, "-t", String(opts.lifetimeSec ?? 60)];
  if (opts.sipTrace) args.push("-s");
  const child: ChildProcess = spawn(bin, args, {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", (e) => {
    out += String(e);
  });

  let ctrl: Socket;
  let cons: Socket | undefined;
  let consoleText = "";
  try {
    await untilReady(() => out, exited);
    ctrl = await connectCtrl(ctrlPort, () => out, exited);
    if (consPort !== undefined) {
      cons = await connectCtrl(consPort, () => out, exited);
      cons.on("data", (d) => {
        consoleText += d;
      });
      cons.on("error", (e) => {
        consoleText += `\n[console socket: ${e.message}]\n`;
      });
    }
  } catch (e) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const events: BaresipEvent[] = [];
  const responses = new Map<string, (r: { ok: boolean; data: string }) => void>();
  let eventWaiters: Array<{ type: string; from: number; resolve: (e: BaresipEvent) => void }> = [];
  let buf = Buffer.alloc(0);
  ctrl.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    // Netstrings: "<length>:<bytes>,".
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(buf.subarray(0, colon).toString());
      if (!Number.isInteger(len) || buf.length < colon + 1 + len + 1) break;
      const json = buf.subarray(colon + 1, colon + 1 + len).toString();
      buf = buf.subarray(colon + 2 + len);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(json);
      } catch {
        continue;
      }
      if (msg.response)
        responses.get(String(msg.token))?.({ ok: Boolean(msg.ok), data: String(msg.data ?? "") });
      else if (msg.event) {
        const ev = msg as BaresipEvent;
        events.push(ev);
        eventWaiters = eventWaiters.filter((w) => {
          if (w.type !== ev.type) return true;
          w.resolve(ev);
          return false;
        });
      }
    }
  });
  ctrl.on("error", () => {});

  let token = 0;
  // Every SIP message on one line first: the output's tail alone may hold only the last two.
  const describe = () =>
    `events: ${events.map((e) => e.type).join(", ") || "none"}\nSIP:\n${sipFlow(parseBaresipTrace(out, sipPort))}\nbaresip output:\n${out.slice(-3000)}`;
  const command = (cmd: string, params = "", timeoutMs = 5000) =>
    new Promise<{ ok: boolean; data: string }>((resolve, reject) => {
      const t = String(++token);
      const timer = setTimeout(() => {
        responses.delete(t);
        reject(new Error(`baresip: no answer to ${cmd} within ${timeoutMs} ms\n${describe()}`));
      }, timeoutMs);
      responses.set(t, (r) => {
        clearTimeout(timer);
        responses.delete(t);
        resolve(r);
      });
      const body = Buffer.from(JSON.stringify({ command: cmd, params, token: t }));
      ctrl.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(",")]));
    });
  /** Waits for an event of `type` that arrives after the call (or `since`, an index in events). */
  const waitForEvent = (type: string, timeoutMs = 5000, since = 0) => {
    const seen = events.slice(since).find((e) => e.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise<BaresipEvent>((resolve, reject) => {
      const waiter = {
        type,
        from: since,
        resolve: (e: BaresipEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        eventWaiters = eventWaiters.filter((w) => w !== waiter);
        reject(new Error(`baresip: expected event ${type} within ${timeoutMs} ms\n${describe()}`));
      }, timeoutMs);
      eventWaiters.push(waiter);
    });
  };
  const ok = async (cmd: string, params?: string) => {
    const r = await command(cmd, params);
    if (!r.ok) throw new Error(`baresip: ${cmd} ${params ?? ""} failed: ${r.data}\n${describe()}`);
  };
  let stopped = false;

  return {
    sipPort,
    ctrlPort,
    contactUri: `sip:${opts.user}@127.0.0.1:${sipPort}`,
    dir,
    events,
    output: () => out,
    command,
    waitForEvent: (type, timeoutMs) => waitForEvent(type, timeoutMs),
    waitForRegistration: async (timeoutMs = 5000) => {
      // The first REGISTER often completes before ctrl_tcp is connected, and
      // events are not replayed: the status line on stdout counts too
      // ("101@acme.test: {0/UDP/v4} 200 OK () [1 binding]").
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (events.some((e) => e.type === "REGISTER_OK") || /\} 200 OK .*binding/.test(out)) return;
        const failed = events.find((e) => e.type === "REGISTER_FAIL");
        if (failed) throw new Error(`baresip registration failed: ${JSON.stringify(failed)}\n${describe()}`);
        if (Date.now() > deadline)
          throw new Error(`baresip: not registered within ${timeoutMs} ms\n${describe()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    dial: (uri) => ok("dial", uri),
    answer: () => ok("accept"),
    hangup: () => ok("hangup"),
    waitForCallEstablished: (timeoutMs) => waitForEvent("CALL_ESTABLISHED", timeoutMs),
    waitForCallClosed: (timeoutMs) => waitForEvent("CALL_CLOSED", timeoutMs),
    transfer: (uri) => ok("transfer", uri),
    hold: () => ok("hold"),
    resume: () => ok("resume"),
    sipMessages: () => parseBaresipTrace(out, sipPort),
    waitForSipMessage: async (match, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = parseBaresipTrace(out, sipPort).find(match);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`baresip: no such SIP message printed within ${timeoutMs} ms\n${describe()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    contacts: async () => parseContacts((await command("contacts")).data),
    waitForPresence: async (uri, presence, timeoutMs = 5000) => {
      // baresip 1.0 raises no event when a contact's presence changes: poll the list.
      const deadline = Date.now() + timeoutMs;
      let seen: BaresipContact[] = [];
      for (;;) {
        seen = parseContacts((await command("contacts")).data);
        if (seen.some((c) => c.uri === uri && c.presence === presence)) return;
        if (Date.now() > deadline)
          throw new Error(
            `baresip: ${uri} not ${presence} within ${timeoutMs} ms (contacts: ${JSON.stringify(seen)})\n${describe()}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    message: (text) => ok("message", text),
    receivedMessages: () => parseReceivedMessages(consoleText),
    waitForMessage: async (text, timeoutMs = 5000) => {
      if (!cons) throw new Error("baresip: start it with { console: true } to read received messages");
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = parseReceivedMessages(consoleText).find((m) => m.text === text);
        if (got) return got;
        if (Date.now() > deadline)
          throw new Error(
            `baresip: no MESSAGE "${text}" within ${timeoutMs} ms\nconsole:\n${consoleText.slice(-2000)}\n${describe()}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    consoleOutput: () => consoleText,
    receivedWav: () => readDump(dir, "dec"),
    sentWav: () => readDump(dir, "enc"),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      ctrl.destroy();
      cons?.destroy();
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          child.kill("SIGTERM");
        }
        const t = setTimeout(() => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, 2000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** "> MESSAGE sip:102@acme.test SIP/2.0 (CSeq 2 MESSAGE)", one line per message. */
function sipFlow(messages: BaresipSipMessage[]): string {
  return messages
    .map((m) => {
      const cseq = /^CSeq:\s*(.*)$/im.exec(m.text)?.[1] ?? "";
      return `${m.direction === "sent" ? ">" : "<"} ${m.firstLine} (CSeq ${cseq.trim()})`;
    })
    .join("\n");
}

/** Strips the colour escape sequences baresip puts in its listings. */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * Reads the `contacts` listing of baresip 1.0: a title line, then one line
 * per contact, with presence.so its presence right-aligned in 20 columns
 * (coloured), the display name and `<uri>`; the current contact is marked
 * with ">".
 */
export function parseContacts(listing: string): BaresipContact[] {
  const contacts: BaresipContact[] = [];
  for (const line of plain(listing).split(/\r?\n/)) {
    const m = /^\s*>?\s*(?:(Unknown|Online|Offline|Busy)\s)?.*<([^>]+)>/.exec(line);
    if (m) contacts.push({ presence: m[1] ?? "", uri: m[2] ?? "" });
  }
  return contacts;
}

/** Reads received MESSAGEs out of the console: baresip 1.0's menu prints each as `PEER: "TEXT"`. */
export function parseReceivedMessages(text: string): BaresipReceivedMessage[] {
  const out: BaresipReceivedMessage[] = [];
  for (const m of plain(text).matchAll(/^\r?([^\s:"]+:[^\s"]+): "([\s\S]*?)"\r?$/gm))
    out.push({ from: m[1] ?? "", text: m[2] ?? "" });
  return out;
}

/** The newest sndfile dump of one direction ("dec": received, "enc": sent). */
function readDump(dir: string, which: "dec" | "enc"): { rate: number; samples: Int16Array } {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.startsWith("dump-") && f.endsWith(`-${which}.wav`))
        .sort()
    : [];
  if (files.length === 0) return { rate: 8000, samples: new Int16Array(0) };
  const w = decodeWav(readFileSync(join(dir, files[files.length - 1])));
  return { rate: w.rate, samples: w.samples };
}

/** Whether baresip has exited, as a flag a polling loop can read. */
function exitFlag(exited: Promise<void>): () => boolean {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  return () => dead;
}

/**
 * Waits for "baresip is ready.", printed once every module is loaded. A
 * module that could not listen (ctrl_tcp, cons) does not stop baresip, but
 * its port is then someone else's: that is a clash, tried again on fresh
 * ports like a SIP port that was taken.
 */
async function untilReady(output: () => string, exited: Promise<void>): Promise<void> {
  const dead = exitFlag(exited);
  const deadline = Date.now() + 10_000;
  while (!output().includes("baresip is ready.")) {
    if (dead() || Date.now() > deadline)
      throw new Error(`baresip did not start${dead() ? " (it exited)" : ""}\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const failed = /\S+: failed to listen on TCP [^\n]*/.exec(output());
  if (failed) throw new Error(`baresip ${plain(failed[0])}`);
}

/** Connects to ctrl_tcp or cons once baresip is ready, trying again a few times (a connection refused). */
async function connectCtrl(port: number, output: () => string, exited: Promise<void>): Promise<Socket> {
  const dead = exitFlag(exited);
  for (let i = 0; i < 100; i++) {
    if (dead()) break;
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = createConnection({ host: "127.0.0.1", port });
        s.once("connect", () => {
          s.off("error", reject);
          // A connect to a port nobody listens on can pick that very port
          // as its own and reach itself (TCP simultaneous open).
          if (s.localPort === s.remotePort) {
            s.destroy();
            reject(new Error("connected to itself"));
          } else resolve(s);
        });
        s.once("error", reject);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`baresip ctrl_tcp on port ${port} did not come up\n${output().slice(-3000)}`);
}

/**
 * Reads baresip 1.0's `-s` trace out of its output: each message is printed
 * as ESC[36;1m "#", a line "UDP 127.0.0.1:A -> 127.0.0.1:B", the message,
 * then ESC[;m. Sent when the source is baresip's own SIP port.
 */
export function parseBaresipTrace(out: string, sipPort: number): BaresipSipMessage[] {
  const messages: BaresipSipMessage[] = [];
  const re = /\x1b\[36;1m#\r?\n(?:UDP|TCP|TLS) (\S+) -> (\S+)\r?\n([\s\S]*?)\x1b\[;m/g;
  for (const m of out.matchAll(re)) {
    const text = (m[3] ?? "").replace(/\r?\n/g, "\r\n").replace(/(\r\n)+$/, "");
    const fromPort = Number((m[1] ?? "").split(":").pop());
    messages.push({
      direction: fromPort === sipPort ? "sent" : "received",
      text,
      firstLine: text.split("\r\n", 1)[0] ?? "",
    });
  }
  return messages;
}
