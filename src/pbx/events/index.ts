// The event room (RFC 6665): subscriptions, one hub where rooms publish
// state, and the dialog (RFC 4235), presence (RFC 3856) and message-summary
// (RFC 3842) packages.
export { DEFAULT_MAX_EXPIRES, DEFAULT_MAX_PER_DEVICE, DEFAULT_MIN_EXPIRES, EventHub } from "./event-hub.ts";
export {
  EVENT_PACKAGES,
  type EventHubDeps,
  type EventPackage,
  type ExtensionDialog,
  type MailboxCounts,
  type SubscriptionView,
} from "./types.ts";
