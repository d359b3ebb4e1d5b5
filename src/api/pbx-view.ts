// What the API may see of the running PBX: read-only snapshots, implemented
// by the PBX (src/pbx), so that the API room never reaches into call state.

export interface RegistrationView {
  extension: string;
  /** The Contact URI as the phone wrote it. */
  contact: string;
  /** ISO 8601. */
  expiresAt: string;
  /** Where the REGISTER came from, e.g. "udp:1.2.3.4:5060". */
  source: string;
  userAgent?: string;
}

/** A call in progress, as the PBX describes it. */
export type { CallView } from "../pbx/call/call-registry.ts";

import type { CallView } from "../pbx/call/call-registry.ts";

/** An event subscription (RFC 6665) of a phone, as the PBX's event hub lists it. */
export type { SubscriptionView } from "../pbx/events/types.ts";

import type { SubscriptionView } from "../pbx/events/types.ts";

/** A trunk's outbound registration toward its carrier, as the running PBX keeps it. */
export interface TrunkRegistrationView {
  state: "disabled" | "registering" | "registered" | "failed";
  /** ISO 8601: when the carrier's binding runs out unless refreshed. */
  expiresAt?: string;
  lastError?: string;
  /** The carrier's last final status to our REGISTER (e.g. 200, 403). */
  lastStatus?: number;
}

/** The voicemail service, as the API drives it (src/pbx/voicemail/voicemail-admin.ts). */
export type { VoicemailAdmin } from "../pbx/voicemail/voicemail-admin.ts";

import type { VoicemailAdmin } from "../pbx/voicemail/voicemail-admin.ts";

/** Change notices for the console's live updates. */
export type { LiveNotice, LiveSource } from "../pbx/live/live-feed.ts";

import type { LiveSource } from "../pbx/live/live-feed.ts";

/** The PBX's counters and gauges for /metrics (src/pbx/pbx-metrics.ts). */
export type { PbxMetrics } from "../pbx/pbx-metrics.ts";

import type { PbxMetrics } from "../pbx/pbx-metrics.ts";

export interface PbxView {
  /** Current (unexpired) registrations of one tenant. */
  registrations(tenant: string): Promise<RegistrationView[]>;
  /** Calls in progress, all tenants. */
  calls(): CallView[];
  /**
   * The registration state of one trunk; undefined when the PBX does not
   * know it (yet). Optional: a PBX without trunks need not implement it.
   */
  trunkRegistration?(name: string): TrunkRegistrationView | undefined;
  /** A trunk was added, changed or removed: the PBX registers it (or stops) now, not at its next check. */
  trunksChanged?(): void;
  /** The live event subscriptions (lamps, presence, message waiting) of one tenant. Optional: none without it. */
  subscriptions?(tenant: string): SubscriptionView[];
  /**
   * The running voicemail service: mailbox options, messages, greetings,
   * PINs, unlock. The same one the voice menus use, so the lamps follow a
   * change made here. Optional: without it the voicemail routes answer 503.
   */
  voicemail?(): VoicemailAdmin | undefined;
  /**
   * The console's change notices (src/pbx/live), streamed by `GET
   * /api/v1/events`. Optional: without it that route answers 503.
   */
  live?(): LiveSource | undefined;
  /**
   * A snapshot for `GET /metrics`: registrations and calls by tenant, SIP
   * error responses, RTP packets, authentication failures and blocks.
   * Optional: without it /metrics shows the process's own metrics only.
   */
  metrics?(): Promise<PbxMetrics>;
}
