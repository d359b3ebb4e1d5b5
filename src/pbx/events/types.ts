// The event room's vocabulary: what rooms publish (an extension's calls, a
// mailbox's counts, a feature's lamp) and what the hub needs from the PBX.

import type { UserAgent } from "../../sip/dialog/user-agent.ts";
import type { NameAddr, SipRequest } from "../../sip/message/types.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Binding, Store } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export const EVENT_PACKAGES = ["dialog", "presence", "message-summary"] as const;
export type EventPackage = (typeof EVENT_PACKAGES)[number];

/** One call of an extension, as the dialog package shows it (RFC 4235 §4.1). */
export interface ExtensionDialog {
  /** Stable per call (a session id). */
  id: string;
  /** Terminated dialogs are simply no longer listed. */
  state: "early" | "confirmed";
  direction: "initiator" | "recipient";
  /** The other party, when the subscriber may see it: number and display name. */
  remote?: { number: string; displayName?: string };
}

export interface MailboxCounts {
  newMessages: number;
  oldMessages: number;
}

export interface EventHubDeps {
  ua: UserAgent;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Our Contact host/port for subscription dialogs (ua.contactFor is fine). */
  contactFor(remote: RemoteAddress): NameAddr;
  /** Registered (unexpired) devices of an extension: presence open/closed. */
  devices(tenant: string, extension: string): Promise<Binding[]>;
  /** Mailbox counts (until voicemail exists: always 0/0). */
  mailbox(tenant: string, extension: string): Promise<MailboxCounts>;
  /**
   * Where a subscriber is, for the per-device cap: its own address behind a
   * trusted proxy (TrustedProxies.sourceOf), where every office shares the
   * proxy's. Default: where the request came from.
   */
  sourceOf?(req: SipRequest, remote: RemoteAddress): RemoteAddress;
  /**
   * Several nodes on one store: at start, restore only the subscriptions
   * this node made (their stored Contact is this node's); another node's
   * are served by that node (its phones refresh them there), and restoring
   * them here would send each phone NOTIFYs from two nodes. Default false:
   * one node restores every stored subscription.
   */
  restoreOwnOnly?: boolean;
  limits?: {
    /** Subscriptions one device (source address and port) may hold; default 50. Beyond: 403. */
    maxPerDevice?: number;
    /** Shortest subscription accepted, seconds (423 below); default 60. */
    minExpires?: number;
    /** Longest subscription granted, seconds (longer asks are cut); default 7200. */
    maxExpires?: number;
  };
}

/** A subscription as the API lists it. */
export interface SubscriptionView {
  /** The subscriber's extension. */
  extension: string;
  /** The subscriber's Contact URI (where NOTIFYs go). */
  contact: string;
  /** Where the SUBSCRIBE came from, e.g. "udp:192.0.2.10:5062". */
  source: string;
  package: EventPackage;
  /** What is watched, as subscribed: "102", "*11". */
  resource: string;
  /** ISO 8601. */
  expiresAt: string;
}
