// Dialogs and the UA core (RFC 3261 §12-§15).
export { Dialog, type DialogRequestOptions, dialogKey, firstContact } from "./dialog.ts";
export { type BodyOptions, IncomingInvite, type IncomingInviteState } from "./incoming-invite.ts";
export { type InviteEvents, OutgoingInvite } from "./outgoing-invite.ts";
export {
  type AuthenticatedResult,
  defaultUserAgentDelegate,
  type InDialogOptions,
  type InviteOptions,
  UserAgent,
  type UserAgentDelegate,
  type UserAgentOptions,
} from "./user-agent.ts";
