// The tables of the store as Kysely sees them: one description for both
// engines (SQLite, PostgreSQL). Booleans are stored as 0/1 integers and JSON
// documents as text in both, so a row reads the same whichever engine wrote
// it; instants in milliseconds are BIGINT in PostgreSQL (read back as
// numbers), ISO times are text.
import type { Generated } from "kysely";

export interface TenantsTable {
  name: string;
  /** Unique case-insensitively (SQLite: COLLATE NOCASE; PostgreSQL: a unique index on lower(domain)). */
  domain: string;
  language: string;
  timezone: string;
  country: string;
  /** JSON FeatureSwitches; a missing key reads as its default. */
  features: string;
  /** JSON DiallingPolicy. */
  policy: string;
  trunk: string | null;
  operator: string | null;
  waiting_seconds: number;
  /** JSON CompanyCodeAccess. */
  company_codes: string;
  /** Simultaneous calls of the company (in and out). */
  max_calls: Generated<number>;
  /** 1: its phones must use SIP over TLS and SRTP. */
  require_encryption: Generated<number>;
  created_at: string;
}

export interface ExtensionsTable {
  tenant: string;
  number: string;
  display_name: string;
  language: string | null;
  ring_timeout_seconds: number;
  realm: string;
  ha1_md5: string;
  ha1_sha256: string;
  created_at: string;
  no_answer_seconds: number;
  call_waiting: number;
  max_calls: number;
  caller_id: string | null;
  mwi_unsolicited: number;
  pickup_group: string | null;
}

export interface BindingsTable {
  tenant: string;
  extension: string;
  contact: string;
  call_id: string;
  cseq: number;
  expires_at: number;
  transport: string;
  address: string;
  port: number;
  user_agent: string | null;
  /** JSON array of the REGISTER's Path name-addrs, topmost first (RFC 3327); NULL when it had none. */
  path: string | null;
}

export interface ForwardingTable {
  tenant: string;
  extension: string;
  kind: string;
  target: string;
}

export interface FeatureCodesTable {
  tenant: string;
  action: string;
  code: string;
}

export interface TrunksTable {
  id: Generated<number>;
  name: string;
  host: string;
  port: number;
  transport: string;
  username: string | null;
  password: string | null;
  register: number;
  number_format: string;
  /** JSON array of addresses. */
  inbound_addresses: string;
  is_default: number;
  created_at: string;
}

export interface NumbersTable {
  id: Generated<number>;
  tenant: string;
  number: string;
  /** JSON DestinationSpec. */
  destination: string;
  created_at: string;
}

export interface AuditTable {
  id: Generated<number>;
  tenant: string;
  at: string;
  /** JSON Actor. */
  actor: string;
  action: string;
  subject: string;
  /** JSON. */
  old: string;
  /** JSON. */
  new: string;
}

/** The provider's own log: changes that belong to no company (trunks, companies, provider users). */
export interface ProviderAuditTable {
  id: Generated<number>;
  at: string;
  /** JSON Actor. */
  actor: string;
  action: string;
  subject: string;
  /** JSON. */
  old: string;
  /** JSON. */
  new: string;
}

export interface SubscriptionsTable {
  id: string;
  tenant: string;
  extension: string;
  package: string;
  event_id: string | null;
  resource: string;
  call_id: string;
  local_tag: string;
  remote_tag: string;
  local_uri: string;
  remote_uri: string;
  remote_target: string;
  /** JSON array of name-addrs. */
  route_set: string;
  local_contact: string;
  local_seq: number;
  remote_seq: number;
  version: number;
  transport: string;
  address: string;
  port: number;
  expires_at: number;
}

export interface MailboxesTable {
  tenant: string;
  mailbox: string;
  enabled: number;
  pin_hash: string | null;
  remote_access: number;
  skip_pin_on_own_phone: number;
  email: string | null;
  delete_after_email: number;
  max_message_seconds: number;
}

export interface VoicemailMessagesTable {
  id: string;
  tenant: string;
  mailbox: string;
  folder: string;
  caller_number: string;
  caller_name: string | null;
  received_at: string;
  duration_ms: number;
}

export interface PinFailuresTable {
  id: Generated<number>;
  tenant: string;
  mailbox: string;
  at: number;
  caller: string;
  source: string;
}

export interface MailboxLocksTable {
  tenant: string;
  mailbox: string;
  subject: string;
  until: number;
}

export interface MailQueueTable {
  id: Generated<number>;
  tenant: string;
  mailbox: string;
  message_id: string;
  to_address: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
}

export interface RingGroupsTable {
  tenant: string;
  name: string;
  /** JSON array of extension numbers. */
  members: string;
  strategy: string;
  timeout: number;
  member_timeout: number;
  /** JSON DestinationSpec. */
  fallback: string;
  created_at: string;
}

export interface CompanyFlowTable {
  tenant: string;
  /** JSON Schedule. */
  schedule: string | null;
  /** JSON CallFlow. */
  call_flow: string | null;
}

export interface ScheduleOverridesTable {
  tenant: string;
  mode: string;
  since: number;
  until: number;
}

export interface CompanyAudioTable {
  tenant: string;
  kind: string;
  source: string;
  text: string | null;
  duration_ms: number;
  updated_at: string;
}

/** Secrets every node of a cluster shares (the nonce key); values may be sealed (sql-context `secrets`). */
export interface SecretsTable {
  name: string;
  value: string;
  created_at: string;
}

/** A source address (IPv6 by /64) or an account that kept failing authentication. */
export interface AuthBlocksTable {
  subject: string;
  offences: number;
  until: number;
  last_at: number;
}

/** Who logs into the console; `password_hash` is an argon2id PHC string. */
export interface UsersTable {
  /** Lower case; unique across tenants (a login names no tenant). */
  username: string;
  password_hash: string;
  /** "provider" | "admin" (of `tenant`) | "user" (of `extension` in `tenant`). */
  role: string;
  tenant: string | null;
  extension: string | null;
  /** fr, de, it, en; NULL: the tenant's, then the browser's. */
  language: string | null;
  created_at: string;
}

/** A console login; the cookie holds the token, the table only its SHA-256. */
export interface SessionsTable {
  id_hash: string;
  username: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}

/** An integration's bearer token, scoped like a user; the secret is kept as its SHA-256. */
export interface ApiTokensTable {
  id: string;
  secret_hash: string;
  /** "admin" | "user", like UsersTable.role (provider tokens are the admin token). */
  role: string;
  tenant: string | null;
  extension: string | null;
  description: string;
  /** The user (or "admin" for the admin token) who created it. */
  created_by: string;
  created_at: string;
  last_used_at: number | null;
}

/** One finished call of a tenant (a call between two tenants' numbers is one row per tenant). */
export interface CallHistoryTable {
  id: string;
  tenant: string;
  call_id: string;
  /** "internal" | "inbound" | "outbound". */
  direction: string;
  started_at: number;
  answered_at: number | null;
  ended_at: number;
  caller: string;
  caller_name: string | null;
  dialled: string;
  /** Who answered or last rang: an extension, a number, "voicemail:101", an app. */
  destination: string | null;
  /** answered | busy | no-answer | unavailable | failed | cancelled | forwarded | voicemail | transferred | app. */
  outcome: string;
  forwarded_to: string | null;
  trunk: string | null;
  /** JSON list of the tenant's extensions that took part (the user portal filters on it). */
  extensions: string;
}

export interface Database {
  tenants: TenantsTable;
  extensions: ExtensionsTable;
  bindings: BindingsTable;
  forwarding: ForwardingTable;
  feature_codes: FeatureCodesTable;
  trunks: TrunksTable;
  numbers: NumbersTable;
  audit: AuditTable;
  subscriptions: SubscriptionsTable;
  mailboxes: MailboxesTable;
  voicemail_messages: VoicemailMessagesTable;
  pin_failures: PinFailuresTable;
  mailbox_locks: MailboxLocksTable;
  mail_queue: MailQueueTable;
  ring_groups: RingGroupsTable;
  company_flow: CompanyFlowTable;
  schedule_overrides: ScheduleOverridesTable;
  company_audio: CompanyAudioTable;
  secrets: SecretsTable;
  auth_blocks: AuthBlocksTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  call_history: CallHistoryTable;
  provider_audit: ProviderAuditTable;
}
