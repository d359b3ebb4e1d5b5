// What the voicemail apps may do with mailboxes: the one service between the
// voice menus (src/pbx/apps/voicemail) and the messages, greetings and PINs
// kept in the store and under the data directory. Every rule that protects a
// caller's message or a mailbox's PIN lives behind this interface, never in
// a menu: a message is durable before deposit() resolves; PINs are compared
// in constant time; remote guessing is counted across calls.
import type { Actor, GreetingKind, MailboxSettings, Tenant, VoicemailMessage } from "../../store/types.ts";

export interface MailboxCounts {
  newMessages: number;
  oldMessages: number;
}

/** Who tries a PIN from outside: counted and locked by number and by source address. */
export interface RemoteCaller {
  number: string;
  /** "udp:203.0.113.5:5062" */
  source: string;
}

export type PinChange = "ok" | "trivial" | "invalid";
export type RemotePin = "ok" | "wrong" | "locked";

export interface Voicemail {
  /** The mailbox when it takes messages: the tenant's `voicemail` feature on and the mailbox enabled. */
  open(tenant: Tenant, mailbox: string): Promise<MailboxSettings | undefined>;
  counts(tenant: string, mailbox: string): Promise<MailboxCounts>;
  /** New messages first (oldest first), then saved ones. */
  messages(tenant: string, mailbox: string): Promise<VoicemailMessage[]>;
  /** The WAV file of a message (8 kHz, 16-bit). */
  audioPath(message: VoicemailMessage): string;
  /**
   * Files a recording as a new message, durable before this resolves (the
   * audio fsynced under a temporary name, renamed, then the row committed);
   * the lamp and the e-mail follow. A recording of less than one second of
   * sound is discarded: undefined.
   */
  deposit(
    tenant: Tenant,
    mailbox: string,
    recording: { path: string; durationMs: number },
    caller: { number: string; name?: string },
  ): Promise<VoicemailMessage | undefined>;
  markOld(tenant: string, mailbox: string, id: string): Promise<void>;
  remove(tenant: string, mailbox: string, id: string): Promise<void>;
  /** A recorded greeting's file, if any. */
  greeting(tenant: string, mailbox: string, kind: GreetingKind): Promise<string | undefined>;
  saveGreeting(tenant: string, mailbox: string, kind: GreetingKind, recordingPath: string): Promise<void>;
  /** The owner's PIN (`*97`), compared in constant time. */
  verifyPin(tenant: string, mailbox: string, pin: string): Promise<boolean>;
  /**
   * Whether `*` during the greeting may ask for the PIN: the tenant's
   * `voicemailRemoteAccess`, the mailbox's `remoteAccess`, and no lock for
   * this mailbox or this caller. When false the caller learns nothing.
   */
  remoteAccess(tenant: Tenant, mailbox: string, caller: RemoteCaller): Promise<boolean>;
  /**
   * A PIN typed from outside: counted across calls; the fifth wrong one in an
   * hour locks remote access to the mailbox for an hour (audited, logged).
   */
  tryRemotePin(tenant: Tenant, mailbox: string, pin: string, caller: RemoteCaller): Promise<RemotePin>;
  /** 4–10 digits, not trivial (one digit repeated, a run up or down, the extension's number). */
  changePin(tenant: string, mailbox: string, pin: string, actor: Actor): Promise<PinChange>;
}
