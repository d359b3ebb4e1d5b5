// What the provider's API may do with mailboxes besides what the voice
// menus do (voicemail.ts): configure a mailbox, reset its PIN, move and
// delete messages, upload greetings, lift a lockout. The same service
// implements both, so a message deleted through the API darkens the lamp
// exactly like one deleted from the phone.
import type {
  Actor,
  GreetingKind,
  MailboxSettings,
  VoicemailFolder,
  VoicemailMessage,
} from "../../store/types.ts";
import type { Voicemail } from "./voicemail.ts";

export const GREETING_KINDS: readonly GreetingKind[] = ["unavailable", "busy", "name"];
/** An uploaded greeting may last this long. */
export const GREETING_MAX_SECONDS = 120;

/** An uploaded greeting that cannot be used; the message says why, for the uploader. */
export class InvalidGreeting extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidGreeting";
  }
}

/** A change of a mailbox's options as the API takes it: the PIN in clear (hashed before it is stored). */
export interface MailboxOptionsInput {
  enabled?: boolean;
  /** 4–10 digits, not trivial (checkPin). */
  pin?: string;
  remoteAccess?: boolean;
  skipPinOnOwnPhone?: boolean;
  /** null: no e-mail. */
  email?: string | null;
  deleteAfterEmail?: boolean;
  maxMessageSeconds?: number;
}

export interface ConfiguredMailbox {
  settings: MailboxSettings;
  /** A PIN chosen by vpbx because the mailbox was enabled without one: shown once, never stored in clear. */
  generatedPin?: string;
}

export interface VoicemailAdmin extends Voicemail {
  /**
   * Applies `input` (audited with `actor`). A mailbox that ends up enabled
   * without a PIN gets a random one, returned here once. Throws RangeError
   * for a PIN that checkPin refuses (the API checks first).
   */
  configure(
    tenant: string,
    mailbox: string,
    input: MailboxOptionsInput,
    actor: Actor,
  ): Promise<ConfiguredMailbox>;
  /** A new random PIN (audited); returned once. */
  resetPin(tenant: string, mailbox: string, actor: Actor): Promise<string>;
  message(tenant: string, mailbox: string, id: string): Promise<VoicemailMessage | undefined>;
  /** Moves a message between new and old (the lamp follows); undefined when there is no such message. */
  setFolder(
    tenant: string,
    mailbox: string,
    id: string,
    folder: VoicemailFolder,
  ): Promise<VoicemailMessage | undefined>;
  /** Deletes a message and its audio (the lamp follows); false when there is no such message. */
  removeMessage(tenant: string, mailbox: string, id: string): Promise<boolean>;
  /**
   * Stores an uploaded greeting: any WAV the codec reads (src/media/codec/wav.ts),
   * kept at 8 kHz at the prompts' loudness. InvalidGreeting when it is not
   * such a file, holds no sound, or is longer than GREETING_MAX_SECONDS.
   */
  uploadGreeting(tenant: string, mailbox: string, kind: GreetingKind, wav: Uint8Array): Promise<void>;
  /** false when there was no such greeting. */
  deleteGreeting(tenant: string, mailbox: string, kind: GreetingKind): Promise<boolean>;
  /** Until when (ms) remote access to the mailbox is locked; undefined when it is not. */
  remoteLockedUntil(tenant: string, mailbox: string): Promise<number | undefined>;
  /** The provider's unlock (audited): the lock, the callers locked on its behalf, the counted failures. */
  unlock(tenant: string, mailbox: string, actor: Actor): Promise<void>;
  /** Removes the audio of a deleted extension (or of a whole deleted tenant, without `mailbox`). */
  forget(tenant: string, mailbox?: string): Promise<void>;
}
