// The shapes of the REST API as the console reads them (src/api/schemas.ts
// is the reference: the console talks to the public API only, and keeps
// its own copy of the types so that no server code reaches the page).

export const LANGUAGES = ["fr", "de", "it", "en"] as const;
export type Lang = (typeof LANGUAGES)[number];

export type Role = "provider" | "admin" | "user";

export interface SessionUser {
  username: string;
  role: Role;
  tenant: string | null;
  extension: string | null;
  language: Lang | null;
}

export interface Session {
  user: SessionUser;
  csrfToken: string;
}

export const FEATURES = [
  "voicemail",
  "voicemailRemoteAccess",
  "schedules",
  "callFlowControl",
  "announcements",
] as const;
export type FeatureName = (typeof FEATURES)[number];
export type FeatureSwitches = Record<FeatureName, boolean>;

export const POLICY_SWITCHES = ["international", "premiumRate", "sharedCost", "personal"] as const;
export type PolicySwitch = (typeof POLICY_SWITCHES)[number];
export type DiallingPolicy = Record<PolicySwitch, boolean> & { maxExternalCalls: number };

export interface Tenant {
  name: string;
  domain: string;
  language: Lang;
  timezone: string;
  country: string;
  features: FeatureSwitches;
  policy: DiallingPolicy;
  trunk: string | null;
  operator: string | null;
  waitingSeconds: number;
  companyCodes: { extensions: string[] | null; pin: boolean };
  maxCalls: number;
  requireEncryption: boolean;
  createdAt: string;
}

export interface MailboxOptions {
  enabled: boolean;
  hasPin: boolean;
  remoteAccess: boolean;
  skipPinOnOwnPhone: boolean;
  email: string | null;
  deleteAfterEmail: boolean;
  maxMessageSeconds: number;
  remoteAccessLockedUntil: string | null;
  pin?: string;
}

export interface Extension {
  number: string;
  displayName: string;
  language: Lang | null;
  ringTimeoutSeconds: number;
  noAnswerSeconds: number;
  callWaiting: boolean;
  maxCalls: number;
  callerId: string | null;
  mwiUnsolicited: boolean;
  pickupGroup: string | null;
  voicemail?: MailboxOptions;
  createdAt: string;
}

export const FORWARDING_KINDS = ["unconditional", "busy", "noAnswer", "unreachable"] as const;
export type ForwardingKind = (typeof FORWARDING_KINDS)[number];
export type Forwarding = Record<ForwardingKind, string | null> & { noAnswerSeconds: number };

export interface Registration {
  extension: string;
  contact: string;
  expiresAt: string;
  source: string;
  userAgent?: string;
}

export interface Call {
  id: string;
  tenant: string;
  from: string;
  to: string;
  state: "ringing" | "answered";
  startedAt: string;
  answeredAt?: string;
  callIds: string[];
}

export interface TrunkRegistration {
  state: "disabled" | "registering" | "registered" | "failed";
  expiresAt?: string;
  lastError?: string;
  lastStatus?: number;
}

export const TRANSPORTS = ["udp", "tcp", "tls"] as const;
export const NUMBER_FORMATS = ["e164", "national"] as const;

export interface Trunk {
  name: string;
  host: string;
  port: number;
  transport: string;
  username: string | null;
  hasPassword: boolean;
  register: boolean;
  numberFormat: string;
  inboundAddresses: string[];
  isDefault: boolean;
  createdAt: string;
  registration: TrunkRegistration | null;
}

export const ANNOUNCEMENT_KINDS = ["welcome", "waiting", "closed", "vacation"] as const;
export type AnnouncementKind = (typeof ANNOUNCEMENT_KINDS)[number];

export type Destination =
  | { type: "extension"; number: string }
  | { type: "external"; number: string }
  | { type: "voicemail"; number: string }
  | { type: "ring-group"; name: string }
  | { type: "announcement"; announcement: AnnouncementKind; then: Destination }
  | { type: "inbound-flow" }
  | { type: "hangup" };
export type DestinationType = Destination["type"];
export const DESTINATION_TYPES: readonly DestinationType[] = [
  "extension",
  "external",
  "voicemail",
  "ring-group",
  "announcement",
  "inbound-flow",
  "hangup",
];

export interface TenantNumber {
  number: string;
  destination: Destination;
  createdAt: string;
}

export interface AuditEvent {
  at: string;
  actor: { kind: string; id: string; source?: string };
  action: string;
  subject: string;
  old: unknown;
  new: unknown;
}

export interface RingGroup {
  name: string;
  members: string[];
  strategy: "simultaneous" | "sequential";
  timeout: number;
  memberTimeout: number;
  fallback: Destination;
  createdAt: string;
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface WeeklyRange {
  days: Weekday[];
  from: string;
  to: string;
  mode: string;
}

export interface ScheduleException {
  date: string;
  mode: string;
  from?: string;
  to?: string;
}

export interface ScheduleMode {
  label?: string;
  destination: Destination;
}

export interface Schedule {
  modes: Record<string, ScheduleMode>;
  default: string;
  weekly: WeeklyRange[];
  exceptions: ScheduleException[];
}

export interface ScheduleState {
  mode: string;
  label: string;
  overridden: boolean;
  until: string | null;
  next: { at: string; mode: string } | null;
}

export interface ScheduleAdvance {
  kind: "overridden" | "cancelled" | "no-transition";
  mode?: string;
  label?: string;
  until?: string;
  state?: ScheduleState;
}

export interface CallFlowState {
  label?: string;
  destination?: Destination;
}

export interface CallFlow {
  state: string;
  states: Record<string, CallFlowState>;
}

export interface CallFlowView {
  state: string;
  label: string;
  normal: boolean;
}

export interface CompanyAudio {
  kind: AnnouncementKind | "music";
  custom: boolean;
  source: "recording" | "upload" | "text" | null;
  text: string | null;
  durationMs: number | null;
  updatedAt: string | null;
}

export interface VoicemailMessage {
  id: string;
  folder: "new" | "old";
  callerNumber: string;
  callerName: string | null;
  receivedAt: string;
  durationMs: number;
}

export const GREETING_KINDS = ["unavailable", "busy", "name"] as const;
export type GreetingKind = (typeof GREETING_KINDS)[number];

export interface ConsoleUser {
  username: string;
  role: Role;
  tenant: string | null;
  extension: string | null;
  language: Lang | null;
  createdAt?: string;
}

export interface ApiToken {
  id: string;
  role: "admin" | "user";
  tenant: string;
  extension: string | null;
  description: string;
  createdBy?: string;
  createdAt: string;
  lastUsedAt?: string | null;
  /** The whole bearer token: only in the answer that created it. */
  token?: string;
}

export const CALL_OUTCOMES = [
  "answered",
  "busy",
  "no-answer",
  "unavailable",
  "cancelled",
  "failed",
  "forwarded",
  "voicemail",
  "transferred",
  "app",
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
export const CALL_DIRECTIONS = ["internal", "inbound", "outbound"] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

/** One call of the history (GET …/calls/history). */
export interface HistoryCall {
  id: string;
  callId: string;
  direction: CallDirection;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string;
  talkSeconds: number;
  caller: string;
  callerName: string | null;
  dialled: string;
  destination: string | null;
  outcome: CallOutcome;
  forwardedTo: string | null;
  trunk: string | null;
  extensions: string[];
}

export interface HistoryPage {
  calls: HistoryCall[];
  next: string | null;
}
