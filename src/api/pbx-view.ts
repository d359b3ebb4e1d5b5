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

export interface PbxView {
  /** Current (unexpired) registrations of one tenant. */
  registrations(tenant: string): Promise<RegistrationView[]>;
  /** Calls in progress, all tenants. */
  calls(): CallView[];
}
