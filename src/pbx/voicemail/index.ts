// The voicemail room's public face: the service behind the voice menus and
// the API, PIN rules, and the e-mail of messages.
export { checkPin, GENERATED_PIN_DIGITS, generatePin, PIN_MAX_DIGITS, PIN_MIN_DIGITS } from "./pin.ts";
export type { MailboxCounts, PinChange, RemoteCaller, RemotePin, Voicemail } from "./voicemail.ts";
export {
  type ConfiguredMailbox,
  GREETING_KINDS,
  type MailboxOptionsInput,
  type VoicemailAdmin,
} from "./voicemail-admin.ts";
export {
  LOCKOUT_FAILURES,
  LOCKOUT_MS,
  LOCKOUT_WINDOW_MS,
  MESSAGE_SAMPLE_RATE,
  MIN_MESSAGE_SOUND_MS,
  type RecoveryReport,
  sourceAddress,
  VOICEMAIL_ACTOR,
  VoicemailService,
  type VoicemailServiceDeps,
} from "./voicemail-service.ts";
