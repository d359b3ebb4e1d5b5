// A caller reaches a mailbox: the greeting (the owner's recorded busy or
// unavailable greeting, else the recorded name in the standard sentence,
// else the standard sentence with the extension number), then the beep and
// the message. During the greeting `0` goes to the company's operator and
// `*` asks for the mailbox's PIN — only when the service allows remote
// access for this mailbox and this caller (off by default, the users'
// page); otherwise `*` is ignored and the caller learns nothing.
//
// The message is deposited as soon as the recording ends, however it ends:
// a caller who hangs up instead of pressing `#` has still left a message.
import type { MailboxSettings } from "../../../store/types.ts";
import type { RemoteCaller } from "../../voicemail/voicemail.ts";
import { type CallControl, Hangup, type Speech } from "../call-control.ts";
import { discardRecording } from "./discard-recording.ts";
import { mailboxSession } from "./mailbox-session.ts";
import { goodbye, MAX_TRIES, readPin } from "./menu-keys.ts";

/** The silence that ends a message (the caller has finished). */
const MESSAGE_SILENCE_SECONDS = 5;
/** How long to wait for the key that interrupted the greeting (it is already queued). */
const GREETING_KEY_MS = 1000;

/** A caller reaches mailbox `mailbox` (no answer / busy / unreachable / a "voicemail" destination). */
export async function leaveMessage(
  call: CallControl,
  mailbox: string,
  reason: "unavailable" | "busy",
): Promise<void> {
  try {
    const settings = await call.voicemail.open(call.tenant, mailbox);
    if (!settings) {
      // The router sends only calls for mailboxes that take messages; said plainly if not.
      call.log.warn({ mailbox }, "voicemail: the mailbox takes no messages");
      return await goodbye(call, reason === "busy" ? "call.busy" : "call.unreachable");
    }
    const key = await greet(call, mailbox, reason);
    if (key === "*") {
      const remote: RemoteCaller = { number: call.caller, source: call.actor.source ?? "unknown" };
      if (await call.voicemail.remoteAccess(call.tenant, mailbox, remote)) {
        if ((await remotePin(call, mailbox, remote)) === "ok") return await mailboxSession(call, mailbox);
        // Locked meanwhile: exactly as if remote access were off, on to the beep.
      }
    }
    if (key === "0" && call.tenant.operator) {
      call.log.info({ mailbox, operator: call.tenant.operator }, "voicemail caller to the operator");
      return await call.bridge({ kind: "extension", number: call.tenant.operator });
    }
    await takeMessage(call, mailbox, settings);
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}

/** Plays the greeting; the key that cut it short, if any. */
async function greet(call: CallControl, mailbox: string, reason: "unavailable" | "busy"): Promise<string> {
  const { voicemail, tenant } = call;
  const recorded = await voicemail.greeting(tenant.name, mailbox, reason);
  let greeting: Speech[];
  const sentence =
    reason === "busy" ? "voicemail.greeting.default.busy" : "voicemail.greeting.default.unavailable";
  if (recorded) greeting = [{ file: recorded }];
  else {
    const name = await voicemail.greeting(tenant.name, mailbox, "name");
    greeting = name
      ? [{ file: name }, sentence]
      : ["voicemail.greeting.default.extension", { digits: mailbox }, sentence];
  }
  if ((await call.play(greeting, { bargeIn: true })) === "done") return "";
  return (await call.collect({ max: 1, firstTimeoutMs: GREETING_KEY_MS })).digits;
}

/**
 * The PIN from outside, three attempts in this call; the service counts
 * them across calls too and may lock the mailbox ("locked": the caller goes
 * on to leave a message, as when remote access is off).
 */
async function remotePin(call: CallControl, mailbox: string, remote: RemoteCaller): Promise<"ok" | "locked"> {
  for (let tries = 1; ; tries++) {
    const pin = await readPin(call, ["voicemail.pin.enter"]);
    const result =
      pin === "" ? "wrong" : await call.voicemail.tryRemotePin(call.tenant, mailbox, pin, remote);
    if (result !== "wrong") {
      call.log.info({ mailbox, result, source: remote.source }, "voicemail remote access");
      return result;
    }
    call.log.info({ mailbox, attempt: tries, source: remote.source }, "voicemail remote PIN wrong");
    if (tries >= MAX_TRIES) return await goodbye(call, "voicemail.pin.too-many-attempts");
    await call.play(["voicemail.pin.wrong"]);
  }
}

/** The beep, the message, the deposit (even when the caller hung up while speaking). */
async function takeMessage(call: CallControl, mailbox: string, settings: MailboxSettings): Promise<void> {
  const recording = await call.record({
    maxSeconds: settings.maxMessageSeconds,
    silenceSeconds: MESSAGE_SILENCE_SECONDS,
  });
  const caller = { number: call.caller, name: call.extension?.displayName };
  let kept: boolean;
  try {
    const message = await call.voicemail.deposit(
      call.tenant,
      mailbox,
      { path: recording.path, durationMs: recording.durationMs },
      caller,
    );
    kept = message !== undefined;
    // The service copied what it keeps; the temporary recording goes (kept on an error: the only copy).
    await discardRecording(call, recording.path);
    call.log.info(
      { mailbox, message: message?.id, durationMs: recording.durationMs, ended: recording.reason },
      kept ? "voicemail message left" : "voicemail recording too short: discarded",
    );
  } catch (err) {
    call.log.error({ err, mailbox, path: recording.path }, "voicemail deposit failed");
    if (recording.reason === "hangup") return;
    return await goodbye(call, "error.try-again-later");
  }
  if (recording.reason === "hangup") return;
  await goodbye(call, kept ? "voicemail.message.recorded" : "generic.goodbye");
}
