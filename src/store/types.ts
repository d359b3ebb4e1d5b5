// Repository interfaces: the only way the rest of vpbx reads or changes
// persistent state. They are async so that the PostgreSQL implementation
// (many nodes) fits behind the same interfaces as the embedded SQLite one.

export const LANGUAGES = ["fr", "de", "it", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Per-tenant switches for the features that the users' page says are "enabled on request". */
export interface FeatureSwitches {
  voicemail: boolean;
  voicemailRemoteAccess: boolean;
  schedules: boolean;
  callFlowControl: boolean;
  announcements: boolean;
}

export const DEFAULT_FEATURES: FeatureSwitches = {
  voicemail: false,
  voicemailRemoteAccess: false,
  schedules: false,
  callFlowControl: false,
  announcements: false,
};

/**
 * What a company may dial through the trunk (outgoing, forwarded and
 * transferred calls). National fixed, mobile and toll-free numbers are always
 * allowed; the costly classes are the toll-fraud targets of a hijacked phone
 * and stay off until the provider switches them on.
 */
export interface DiallingPolicy {
  international: boolean;
  premiumRate: boolean;
  sharedCost: boolean;
  /** Personal numbers (CH 0878, UK 070, DE 0700): forwarded at the caller's cost. */
  personal: boolean;
  /** Simultaneous calls through the trunk (in and out) for this company. */
  maxExternalCalls: number;
}

export const DEFAULT_DIALLING_POLICY: DiallingPolicy = {
  international: false,
  premiumRate: false,
  sharedCost: false,
  personal: false,
  maxExternalCalls: 4,
};

/** A company. `name` is a slug; `domain` is its SIP domain and digest realm. */
export interface Tenant {
  name: string;
  domain: string;
  language: Language;
  /** IANA zone, e.g. "Europe/Zurich". */
  timezone: string;
  /** ISO 3166-1 alpha-2, used to read national numbers ("079 123 12 12" in CH). */
  country: string;
  features: FeatureSwitches;
  policy: DiallingPolicy;
  /** The trunk of its outside calls; undefined: the provider's default trunk. */
  trunk?: string;
  /** The extension that `0` during a voicemail greeting reaches; undefined: none. */
  operator?: string;
  /** Seconds a caller of the inbound flow waits before the waiting announcement, and between its repeats. */
  waitingSeconds: number;
  /** Who may dial the company-wide codes (`*20`, `*11`, `*30`-`*33`). */
  companyCodes: CompanyCodeAccess;
  /**
   * Simultaneous calls of the company, in and out (each holds media ports):
   * one company cannot starve the others. Default DEFAULT_TENANT_MAX_CALLS.
   */
  maxCalls: number;
  /**
   * The company's phones must encrypt: SIP over TLS (or a secure WebSocket)
   * to register and call, and encrypted media (SRTP) on their calls; a plain
   * REGISTER or call of theirs is refused with 403 and the reason.
   */
  requireEncryption: boolean;
  createdAt: string;
}

export const DEFAULT_TENANT_MAX_CALLS = 20;

/** Every extension may use the company-wide codes unless `extensions` lists who may; a PIN may be asked too. */
export interface CompanyCodeAccess {
  /** undefined: every extension of the company. */
  extensions?: string[];
  /** "scrypt$<salt hex>$<hash hex>" (as mailbox PINs); undefined: no PIN asked. */
  pinHash?: string;
}

export const DEFAULT_WAITING_SECONDS = 30;

export type NewTenant = Pick<Tenant, "name" | "domain"> &
  Partial<Pick<Tenant, "language" | "timezone" | "country" | "trunk">>;
export type TenantPatch = Partial<Pick<Tenant, "domain" | "language" | "timezone" | "country">> & {
  features?: Partial<FeatureSwitches>;
  policy?: Partial<DiallingPolicy>;
  /** null: back to the default trunk. */
  trunk?: string | null;
  /** null: no operator. */
  operator?: string | null;
  waitingSeconds?: number;
  /** Replaces the whole access rule. */
  companyCodes?: CompanyCodeAccess;
  maxCalls?: number;
  requireEncryption?: boolean;
};

/**
 * SIP secrets are never stored: only the digest HA1 values (RFC 7616 §3.4.2)
 * for the realm they were computed in.
 */
export interface DigestCredentials {
  realm: string;
  /** hex MD5(username ":" realm ":" password) */
  ha1Md5: string;
  /** hex SHA-256(username ":" realm ":" password) */
  ha1Sha256: string;
}

export interface Extension {
  tenant: string;
  /** 2 to 6 digits. */
  number: string;
  displayName: string;
  /** Overrides the tenant's language for this phone's prompts. */
  language?: Language;
  /** How long a call rings before it counts as unanswered. */
  ringTimeoutSeconds: number;
  /** How long a call rings before "forward on no answer" takes it (when set). */
  noAnswerSeconds: number;
  /** A second call rings the phones while one is in progress (off: busy, the users' page). */
  callWaiting: boolean;
  /** With call waiting, how many calls at once before the extension is busy. */
  maxCalls: number;
  /** E.164 number shown on outside calls; undefined: the company's main number. */
  callerId?: string;
  /**
   * Message waiting (RFC 3842) is sent to the phones of this extension
   * without their subscribing: a NOTIFY after each registration and each
   * change of the mailbox, for phones configured without MWI subscription.
   */
  mwiUnsolicited: boolean;
  /**
   * The pickup group (`*8` picks up calls ringing in the picker's group), a
   * short name such as "sales"; undefined: the company's default group.
   */
  pickupGroup?: string;
  credentials: DigestCredentials;
  createdAt: string;
}

export type NewExtension = Pick<Extension, "tenant" | "number" | "displayName" | "credentials"> &
  Partial<
    Pick<
      Extension,
      | "language"
      | "ringTimeoutSeconds"
      | "noAnswerSeconds"
      | "callWaiting"
      | "maxCalls"
      | "callerId"
      | "mwiUnsolicited"
      | "pickupGroup"
    >
  >;
export type ExtensionPatch = Partial<
  Pick<
    Extension,
    | "displayName"
    | "credentials"
    | "ringTimeoutSeconds"
    | "noAnswerSeconds"
    | "callWaiting"
    | "maxCalls"
    | "mwiUnsolicited"
  > & {
    language: Language | null;
    callerId: string | null;
    /** null: back to the company's default group. */
    pickupGroup: string | null;
  }
>;

/** Where a REGISTER said an extension's device can be reached (RFC 3261 §10.3). */
export interface Binding {
  tenant: string;
  extension: string;
  /** The Contact URI as the phone wrote it. */
  contact: string;
  callId: string;
  cseq: number;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Where the REGISTER came from: requests go there (symmetric, for NAT). */
  source: { transport: "UDP" | "TCP" | "TLS" | "WS" | "WSS"; address: string; port: number };
  userAgent?: string;
  /**
   * The Path header field values of the REGISTER (RFC 3327 §5.3), topmost
   * first, as written: the route set pre-loaded on every request to this
   * contact (§5.4). Absent when the REGISTER had none (it came straight).
   */
  path?: string[];
}

/**
 * An event subscription (RFC 6665) as the store keeps it across a restart:
 * the dialog it lives in (RFC 3261 §12: Call-ID, both tags, URIs, remote
 * target, route set, both CSeqs) and what it watches. Soft state, like a
 * binding: phones refresh their subscriptions by themselves.
 */
export interface StoredSubscription {
  /** Ours, unique. */
  id: string;
  tenant: string;
  /** The subscriber's extension. */
  extension: string;
  /** The event package: "dialog", "presence", "message-summary". */
  package: string;
  /** The Event header's `id` parameter, echoed in every NOTIFY (RFC 6665 §8.2.1). */
  eventId?: string;
  /** What is watched, as the Request-URI user said it: "102", "*11". */
  resource: string;
  callId: string;
  /** Our tag (the To tag of our 2xx). */
  localTag: string;
  /** The subscriber's From tag. */
  remoteTag: string;
  /** The To of the SUBSCRIBE, without tag: the From of our NOTIFYs. */
  localUri: string;
  /** The From of the SUBSCRIBE, without tag. */
  remoteUri: string;
  /** Where NOTIFYs go (the subscriber's Contact URI). */
  remoteTarget: string;
  /** Record-Route of the SUBSCRIBE, in order (name-addrs). */
  routeSet: string[];
  /** Our Contact in the dialog. */
  localContact: string;
  /** Our CSeq: the last one used by a NOTIFY. */
  localSeq: number;
  /** The subscriber's last CSeq. */
  remoteSeq: number;
  /** The body version last sent (RFC 4235 §4.1: it keeps rising across a restart). */
  version: number;
  /** Where the SUBSCRIBE came from: NOTIFYs go there (symmetric, for NAT). */
  source: { transport: "UDP" | "TCP" | "TLS" | "WS" | "WSS"; address: string; port: number };
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export type ForwardingKind = "unconditional" | "busy" | "noAnswer" | "unreachable";
export const FORWARDING_KINDS: readonly ForwardingKind[] = [
  "unconditional",
  "busy",
  "noAnswer",
  "unreachable",
];

export interface Forwarding {
  tenant: string;
  extension: string;
  kind: ForwardingKind;
  /** E.164 ("+41791231212") or an extension number of the same tenant. */
  target: string;
}

/**
 * Who changed a setting, for the audit log: the admin token or an API token
 * ("api": "admin", "token:<id>"), a console user ("user": the username), a
 * phone (with the address it called from), or the CLI on the server itself.
 */
export interface Actor {
  kind: "api" | "user" | "phone" | "cli" | "system";
  /** "admin", "token:k3J9x0aPq2Lm", "alice@acme", "101", ... */
  id: string;
  /** "udp:203.0.113.5:5062" for a phone. */
  source?: string;
}

export interface AuditEvent {
  id: number;
  tenant: string;
  /** ISO time. */
  at: string;
  actor: Actor;
  /** "forwarding.set", "forwarding.clear", "policy.update", ... */
  action: string;
  /** What was changed: "101/unconditional", "policy". */
  subject: string;
  old: unknown;
  new: unknown;
}

/**
 * An event of the provider's own log: a change that belongs to no company
 * (trunks, companies created and deleted, provider users), kept apart from
 * the companies' logs so that deleting a company does not delete it.
 */
export type ProviderAuditEvent = Omit<AuditEvent, "tenant">;

/** The four announcements of a company (`*30` to `*33`). */
export const ANNOUNCEMENT_KINDS = ["welcome", "waiting", "closed", "vacation"] as const;
export type AnnouncementKind = (typeof ANNOUNCEMENT_KINDS)[number];

/**
 * Where a call goes: one shape across the API (numbers, schedule modes,
 * call flow states, ring group fallbacks) and the router.
 */
export type DestinationSpec =
  | { type: "extension"; number: string }
  | { type: "external"; number: string }
  /** The extension's mailbox, straight away (it must take messages). */
  | { type: "voicemail"; number: string }
  | { type: "ring-group"; name: string }
  /** Says one of the company's announcements (answering the call), then goes on to `then`. */
  | { type: "announcement"; announcement: AnnouncementKind; then: DestinationSpec }
  /** The company's inbound flow: welcome, call flow state, schedule mode, that mode's destination. */
  | { type: "inbound-flow" }
  | { type: "hangup" };

export const DESTINATION_TYPES = [
  "extension",
  "external",
  "voicemail",
  "ring-group",
  "announcement",
  "inbound-flow",
  "hangup",
] as const satisfies readonly DestinationSpec["type"][];

/** How deep `announcement.then` may nest (an announcement, then another, then a destination). */
export const MAX_DESTINATION_DEPTH = 3;

/**
 * Extensions rung together (all at once) or one after the other, for at
 * most `timeout` seconds in all; then the fallback takes the call.
 */
export interface RingGroup {
  tenant: string;
  /** A short slug ("shop"), unique in the tenant. */
  name: string;
  /** Extension numbers, in the order a sequential group rings them. */
  members: string[];
  strategy: "simultaneous" | "sequential";
  /** Seconds the group rings in all (both strategies). */
  timeout: number;
  /** Seconds each member rings in a sequential group. */
  memberTimeout: number;
  fallback: DestinationSpec;
  createdAt: string;
}

export type NewRingGroup = Pick<RingGroup, "tenant" | "name" | "members"> &
  Partial<Pick<RingGroup, "strategy" | "timeout" | "memberTimeout" | "fallback">>;
export type RingGroupPatch = Partial<
  Pick<RingGroup, "members" | "strategy" | "timeout" | "memberTimeout" | "fallback">
>;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A weekly time range in the tenant's time zone: "HH:MM" to "HH:MM" (to may be "24:00"), to > from. */
export interface WeeklyRange {
  days: Weekday[];
  from: string;
  to: string;
  mode: string;
}

/** A dated exception (public holiday, one-off closure); without from/to it covers the whole day. */
export interface ScheduleException {
  /** "YYYY-MM-DD" in the tenant's time zone. */
  date: string;
  mode: string;
  from?: string;
  to?: string;
}

export interface ScheduleMode {
  /** What callers' phones and the console show and the confirmation says; default: the mode's name. */
  label?: string;
  destination: DestinationSpec;
}

/**
 * A company's opening hours: named modes with a destination each, weekly
 * ranges, dated exceptions that take precedence, and the mode outside any
 * range.
 */
export interface Schedule {
  modes: Record<string, ScheduleMode>;
  default: string;
  weekly: WeeklyRange[];
  exceptions: ScheduleException[];
}

/** The schedule of a company that has set none: open all the time, closed mode ready for `*20`. */
export const DEFAULT_SCHEDULE: Schedule = {
  modes: {
    open: { destination: { type: "hangup" } },
    closed: { destination: { type: "announcement", announcement: "closed", then: { type: "hangup" } } },
  },
  default: "open",
  weekly: [],
  exceptions: [],
};

/** `*20`: a mode forced now until the schedule's next transition after it. */
export interface ScheduleOverride {
  tenant: string;
  mode: string;
  /** Milliseconds since the epoch. */
  since: number;
  /** Milliseconds since the epoch: the override ends here by itself. */
  until: number;
}

export interface CallFlowState {
  label?: string;
  /** Where the inbound flow goes in this state; none: on to the schedule. */
  destination?: DestinationSpec;
}

/**
 * The call flow switch (`*11`): exactly two states; the first is the normal
 * one (its lamp is off). It stays where it is put until toggled again.
 */
export interface CallFlow {
  state: string;
  states: Record<string, CallFlowState>;
}

export const DEFAULT_CALL_FLOW: CallFlow = {
  state: "normal",
  states: {
    normal: {},
    vacation: { destination: { type: "announcement", announcement: "vacation", then: { type: "hangup" } } },
  },
};

/** Audio a company has of its own: the four announcements, and music for callers waiting. */
export type CompanyAudioKind = AnnouncementKind | "music";

export interface CompanyAudio {
  tenant: string;
  kind: CompanyAudioKind;
  /** Recorded from a phone (`*30`-`*33`), uploaded (WAV/MP3), or synthesised from `text`. */
  source: "recording" | "upload" | "text";
  text?: string;
  durationMs: number;
  updatedAt: string;
}

export interface RingGroupRepository {
  /** StoreConflict when the name exists in the tenant, the tenant does not exist, or a member is not an extension of it. */
  create(group: NewRingGroup, actor?: Actor): Promise<RingGroup>;
  get(tenant: string, name: string): Promise<RingGroup | undefined>;
  list(tenant: string): Promise<RingGroup[]>;
  /** StoreConflict when a member is not an extension of the tenant. */
  update(tenant: string, name: string, patch: RingGroupPatch, actor?: Actor): Promise<RingGroup | undefined>;
  /** StoreConflict while a number, the schedule, the call flow or another group names it. */
  delete(tenant: string, name: string, actor?: Actor): Promise<boolean>;
}

/**
 * The inbound flow's settings. Every write is audited in its transaction
 * ("schedule.update", "schedule.override", "callflow.update").
 */
export interface CompanyFlowRepository {
  /** Undefined when the company has set none (DEFAULT_SCHEDULE applies). */
  schedule(tenant: string): Promise<Schedule | undefined>;
  /** Replaces the schedule; an override whose mode is gone is removed with it. StoreConflict on an unknown tenant. */
  setSchedule(tenant: string, schedule: Schedule, actor: Actor): Promise<void>;
  override(tenant: string): Promise<ScheduleOverride | undefined>;
  /** Every stored override (start-up arms their end). */
  overrides(): Promise<ScheduleOverride[]>;
  /** null removes it. */
  setOverride(tenant: string, override: ScheduleOverride | null, actor: Actor): Promise<void>;
  /** Undefined when the company has set none (DEFAULT_CALL_FLOW applies). */
  callFlow(tenant: string): Promise<CallFlow | undefined>;
  setCallFlow(tenant: string, flow: CallFlow, actor: Actor): Promise<void>;
}

/** What is known of a company's audio files (the audio itself lives in the data directory). */
export interface CompanyAudioRepository {
  get(tenant: string, kind: CompanyAudioKind): Promise<CompanyAudio | undefined>;
  list(tenant: string): Promise<CompanyAudio[]>;
  /** Inserts or replaces; audited ("announcement.set"). StoreConflict on an unknown tenant. */
  set(audio: Omit<CompanyAudio, "updatedAt">, actor: Actor): Promise<CompanyAudio>;
  /** Back to the default; audited ("announcement.reset"). */
  delete(tenant: string, kind: CompanyAudioKind, actor: Actor): Promise<boolean>;
}

/** A provider-level SIP trunk to the public network. */
export interface Trunk {
  name: string;
  host: string;
  port: number;
  /**
   * tls: SIP over TLS (RFC 5630), the carrier's certificate verified against
   * its host name, and SRTP offered on its calls (SDES keys, RFC 4568).
   */
  transport: "udp" | "tcp" | "tls";
  /** Digest toward the carrier (we answer its 401/407). */
  username?: string;
  /**
   * Kept in clear: answering a carrier's challenge needs it (the realm is
   * only known from the challenge). Never returned by the API.
   */
  password?: string;
  /** Keep an outbound REGISTER alive toward the carrier. */
  register: boolean;
  /** How numbers are written toward the carrier: "+41215550100" or "0215550100". */
  numberFormat: "e164" | "national";
  /** Addresses the carrier sends from, besides the host's own. */
  inboundAddresses: string[];
  /** The trunk of every company that names none; exactly one trunk is the default. */
  isDefault: boolean;
  createdAt: string;
}

export type NewTrunk = Pick<Trunk, "name" | "host"> & Partial<Omit<Trunk, "name" | "host" | "createdAt">>;
export type TrunkPatch = Partial<Omit<Trunk, "name" | "createdAt" | "username" | "password">> & {
  username?: string | null;
  password?: string | null;
};

/** A public number (DID) of a company and where its calls go. */
export interface TenantNumber {
  tenant: string;
  /** E.164. */
  number: string;
  destination: DestinationSpec;
  createdAt: string;
}

/** What a feature code does; the app registry maps each action to an app. */
export const FEATURE_ACTIONS = [
  "forwarding.unconditional.enable",
  "forwarding.all.disable",
  "forwarding.busy.enable",
  "forwarding.busy.disable",
  "forwarding.unreachable.enable",
  "forwarding.unreachable.disable",
  "voicemail.access",
  "schedule.next",
  "callflow.toggle",
  "announcement.welcome",
  "announcement.waiting",
  "announcement.closed",
  "announcement.vacation",
  "pickup.directed",
  "pickup.group",
] as const;
export type FeatureAction = (typeof FEATURE_ACTIONS)[number];

export interface FeatureCode {
  /** "*72" */
  code: string;
  action: FeatureAction;
}

/** The codes of the users' page; a tenant starts with these. */
export const DEFAULT_FEATURE_CODES: FeatureCode[] = [
  { code: "*72", action: "forwarding.unconditional.enable" },
  { code: "*73", action: "forwarding.all.disable" },
  { code: "*90", action: "forwarding.busy.enable" },
  { code: "*91", action: "forwarding.busy.disable" },
  { code: "*52", action: "forwarding.unreachable.enable" },
  { code: "*53", action: "forwarding.unreachable.disable" },
  { code: "*97", action: "voicemail.access" },
  { code: "*20", action: "schedule.next" },
  { code: "*11", action: "callflow.toggle" },
  { code: "*30", action: "announcement.welcome" },
  { code: "*31", action: "announcement.waiting" },
  { code: "*32", action: "announcement.closed" },
  { code: "*33", action: "announcement.vacation" },
  // Not on the users' page: what desk phones' BLF keys dial to pick up a ringing colleague.
  { code: "**", action: "pickup.directed" },
  { code: "*8", action: "pickup.group" },
];

/** A unique key or a reference would be broken; the API answers 409. */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreConflict";
  }
}

export interface TenantRepository {
  /**
   * Throws StoreConflict when the name or the domain is taken. Audited in
   * the provider's log with `actor` ("tenant.create").
   */
  create(tenant: NewTenant, actor?: Actor): Promise<Tenant>;
  get(name: string): Promise<Tenant | undefined>;
  getByDomain(domain: string): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
  /**
   * Undefined when there is no such tenant; StoreConflict on a taken domain,
   * an unknown trunk or an operator that is not an extension of the tenant.
   * A change of policy or features is audited with `actor`.
   */
  update(name: string, patch: TenantPatch, actor?: Actor): Promise<Tenant | undefined>;
  /**
   * Removes the tenant and everything that belongs to it (its own audit log
   * too); the provider's log keeps "tenant.delete" with `actor`.
   */
  delete(name: string, actor?: Actor): Promise<boolean>;
}

export interface ExtensionRepository {
  /** Throws StoreConflict when the number exists in the tenant, or the tenant does not exist. */
  create(extension: NewExtension): Promise<Extension>;
  get(tenant: string, number: string): Promise<Extension | undefined>;
  list(tenant: string): Promise<Extension[]>;
  update(tenant: string, number: string, patch: ExtensionPatch): Promise<Extension | undefined>;
  delete(tenant: string, number: string): Promise<boolean>;
}

export interface BindingRepository {
  /** Inserts or replaces the binding with the same (tenant, extension, contact). */
  upsert(binding: Binding): Promise<void>;
  remove(tenant: string, extension: string, contact: string): Promise<void>;
  removeAll(tenant: string, extension: string): Promise<void>;
  /** Bindings of one extension, or of the whole tenant; expired ones included until purged. */
  list(tenant: string, extension?: string): Promise<Binding[]>;
  listAll(): Promise<Binding[]>;
  /** Deletes bindings with expiresAt <= now; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

export interface SubscriptionRepository {
  /** Inserts or replaces the subscription with the same id (creation, refresh). StoreConflict when the extension does not exist. */
  save(subscription: StoredSubscription): Promise<void>;
  /** After a NOTIFY: our CSeq and the body version it carried. Nothing when the row is gone. */
  noteSent(id: string, localSeq: number, version: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** Subscriptions of one tenant, or of all tenants; expired ones included until purged. */
  list(tenant?: string): Promise<StoredSubscription[]>;
  /** Deletes subscriptions with expiresAt <= now; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

/**
 * Forwarding changes are audited: each write stores the audit event (old →
 * new) in the same transaction, so a change is never without its record.
 */
export interface ForwardingRepository {
  set(forwarding: Forwarding, actor: Actor): Promise<void>;
  clear(tenant: string, extension: string, kind: ForwardingKind | undefined, actor: Actor): Promise<void>;
  list(tenant: string, extension: string): Promise<Forwarding[]>;
}

/**
 * Trunk changes are audited in the provider's log with `actor`, in their
 * transaction ("trunk.create", "trunk.update", "trunk.delete"): never the
 * password, only whether there is one and whether it changed.
 */
export interface TrunkRepository {
  /** StoreConflict when the name exists. The first trunk becomes the default. */
  create(trunk: NewTrunk, actor?: Actor): Promise<Trunk>;
  get(name: string): Promise<Trunk | undefined>;
  list(): Promise<Trunk[]>;
  /** Setting isDefault moves the default here. */
  update(name: string, patch: TrunkPatch, actor?: Actor): Promise<Trunk | undefined>;
  /** StoreConflict while a tenant names it. */
  delete(name: string, actor?: Actor): Promise<boolean>;
}

export interface NumberRepository {
  /** StoreConflict when the number belongs to any tenant already, or the tenant does not exist. */
  add(number: Omit<TenantNumber, "createdAt">): Promise<TenantNumber>;
  /** In the order they were added: the first is the main number. */
  list(tenant: string): Promise<TenantNumber[]>;
  /** Across tenants: a DID belongs to one company. */
  find(e164: string): Promise<TenantNumber | undefined>;
  /** Every number of every tenant (the router matches national forms from a trunk). */
  listAll(): Promise<TenantNumber[]>;
  delete(tenant: string, number: string): Promise<boolean>;
}

export interface AuditRepository {
  append(event: Omit<AuditEvent, "id" | "at">): Promise<void>;
  /** Newest first. */
  list(tenant: string, opts?: { limit?: number }): Promise<AuditEvent[]>;
  /** The provider's own log (trunks, companies, provider users), newest first. */
  listProvider(opts?: { limit?: number }): Promise<ProviderAuditEvent[]>;
}

export interface FeatureCodeRepository {
  /** The tenant's table: the defaults with its own changes applied. */
  list(tenant: string): Promise<FeatureCode[]>;
  /** Replaces the code of one action; StoreConflict when another action already uses that code or a prefix clash. */
  set(tenant: string, action: FeatureAction, code: string): Promise<void>;
  reset(tenant: string): Promise<void>;
}

/** A mailbox's options (one per extension); the PIN is kept only as a scrypt hash. */
export interface MailboxSettings {
  tenant: string;
  /** The extension number. */
  mailbox: string;
  enabled: boolean;
  /** "scrypt$<salt hex>$<hash hex>"; undefined until a PIN is set. */
  pinHash?: string;
  /** `*` during the greeting asks for the PIN (with the tenant's voicemailRemoteAccess on too). */
  remoteAccess: boolean;
  /** `*97` from the mailbox's own registered phone skips the PIN. */
  skipPinOnOwnPhone: boolean;
  /** Messages by e-mail (WAV attached); undefined: none. */
  email?: string;
  deleteAfterEmail: boolean;
  /** How long a message may be, seconds (default 180). */
  maxMessageSeconds: number;
}

export type MailboxSettingsPatch = Partial<
  Omit<MailboxSettings, "tenant" | "mailbox" | "email" | "pinHash"> & {
    email: string | null;
    pinHash: string;
  }
>;

export type VoicemailFolder = "new" | "old";

export interface VoicemailMessage {
  /** Ours, unique (a UUID): also the audio file's name. */
  id: string;
  tenant: string;
  mailbox: string;
  folder: VoicemailFolder;
  callerNumber: string;
  callerName?: string;
  /** ISO time the caller started speaking. */
  receivedAt: string;
  durationMs: number;
}

export type GreetingKind = "unavailable" | "busy" | "name";

/** A voicemail e-mail waiting for the SMTP server (retried until it accepts). */
export interface QueuedMail {
  id: number;
  tenant: string;
  mailbox: string;
  messageId: string;
  to: string;
  attempts: number;
  /** Milliseconds since the epoch: not before. */
  nextAttemptAt: number;
  lastError?: string;
}

/** Wrong PINs of remote access, counted across calls (kept in the store: a restart forgets nothing). */
export interface PinFailure {
  tenant: string;
  mailbox: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** The caller's number and source address, for the lock and the log. */
  caller: string;
  source: string;
}

export interface VoicemailRepository {
  /** Undefined when the extension has no mailbox row yet (voicemail off). */
  settings(tenant: string, mailbox: string): Promise<MailboxSettings | undefined>;
  /**
   * Creates the row with defaults when missing; StoreConflict when the
   * extension does not exist. With `actor` the change is audited in the same
   * transaction ("voicemail.update"; the PIN shows only as changed, never its hash).
   */
  updateSettings(
    tenant: string,
    mailbox: string,
    patch: MailboxSettingsPatch,
    actor?: Actor,
  ): Promise<MailboxSettings>;
  /**
   * StoreConflict when the id exists or the extension does not. With `mail`
   * the e-mail is queued in the same transaction: a committed message is
   * never without its e-mail.
   */
  addMessage(message: VoicemailMessage, mail?: { to: string; nextAttemptAt: number }): Promise<void>;
  getMessage(tenant: string, mailbox: string, id: string): Promise<VoicemailMessage | undefined>;
  /** Oldest first (by receivedAt). */
  listMessages(tenant: string, mailbox: string, folder?: VoicemailFolder): Promise<VoicemailMessage[]>;
  setFolder(tenant: string, mailbox: string, id: string, folder: VoicemailFolder): Promise<boolean>;
  deleteMessage(tenant: string, mailbox: string, id: string): Promise<boolean>;
  /** Every message id of every mailbox (start-up recovery compares them with the files). */
  allMessageIds(): Promise<Set<string>>;
  recordPinFailure(failure: PinFailure): Promise<void>;
  /** Failures since `since` for the mailbox. */
  pinFailures(tenant: string, mailbox: string, since: number): Promise<PinFailure[]>;
  /**
   * Failures anywhere in the tenant by any of these callers: a number
   * (PinFailure.caller) or a source address (PinFailure.source).
   */
  callerPinFailures(tenant: string, callers: readonly string[], since: number): Promise<PinFailure[]>;
  /** Remote access locked until (ms) — undefined when not locked (the caller compares with its clock). */
  lockedUntil(tenant: string, mailbox: string): Promise<number | undefined>;
  lock(tenant: string, mailbox: string, until: number): Promise<void>;
  /**
   * Locks callers (numbers or source addresses) out of remote access to every
   * mailbox of the tenant, on behalf of `mailbox`: its unlock lifts them too.
   */
  lockCallers(tenant: string, mailbox: string, callers: readonly string[], until: number): Promise<void>;
  /** The latest end of a lock of any of these callers in the tenant; undefined when none. */
  callerLockedUntil(tenant: string, callers: readonly string[]): Promise<number | undefined>;
  /** The provider's unlock: the lock, the caller locks set on its behalf and the counted failures go. */
  unlock(tenant: string, mailbox: string): Promise<void>;
  queueMail(mail: Omit<QueuedMail, "id" | "attempts" | "lastError">): Promise<void>;
  dueMail(now: number, limit: number): Promise<QueuedMail[]>;
  mailSent(id: number): Promise<void>;
  mailFailed(id: number, nextAttemptAt: number, error: string): Promise<void>;
}

/** Secrets shared by every node on the store (the key of digest nonces). */
export interface SecretRepository {
  get(name: string): Promise<string | undefined>;
  /** Stores `value` unless the name has one already; returns the value that is kept (the first writer wins). */
  setIfAbsent(name: string, value: string): Promise<string>;
}

/**
 * A source (an IPv4 address, an IPv6 /64) or an account ("acme/101") that
 * kept failing authentication: blocked until `until`, longer at each new
 * offence (fail2ban's bantime increment). Kept across restarts.
 */
export interface AuthBlock {
  subject: string;
  offences: number;
  /** Milliseconds since the epoch. */
  until: number;
  /** Milliseconds since the epoch: the last offence. */
  lastAt: number;
}

export interface AuthBlockRepository {
  get(subject: string): Promise<AuthBlock | undefined>;
  put(block: AuthBlock): Promise<void>;
  remove(subject: string): Promise<void>;
  /** Blocks still in force at `now`. */
  active(now: number): Promise<AuthBlock[]>;
  /** Deletes blocks whose last offence is before `before`; returns how many. */
  purge(before: number): Promise<number>;
}

/** Who a console user is: the provider, a company's administrator, or one extension's user. */
export type UserRole = "provider" | "admin" | "user";
export const USER_ROLES: readonly UserRole[] = ["provider", "admin", "user"];

/**
 * A login of the web console. A provider names no tenant; an admin names
 * its tenant; a user names its tenant and extension. Usernames are lower
 * case and unique across tenants (a login names no tenant).
 */
export interface ConsoleUser {
  username: string;
  /** argon2id, PHC string ("$argon2id$v=19$m=19456,t=2,p=1$..."). */
  passwordHash: string;
  role: UserRole;
  tenant?: string;
  extension?: string;
  /** The console's language for this user; undefined: the tenant's, then the browser's. */
  language?: Language;
  createdAt: string;
}

export type NewConsoleUser = Omit<ConsoleUser, "createdAt">;
export interface ConsoleUserPatch {
  passwordHash?: string;
  /** null: back to the tenant's language. */
  language?: Language | null;
}

/**
 * Console users. Changes of users are audited in their transaction
 * ("user.create", "user.update", "user.delete"; never the hash): a tenant's
 * users in its log, provider users in the provider's log. Deleting a tenant
 * or an extension deletes its users, their sessions and its API tokens.
 */
export interface UserRepository {
  /**
   * The username is lower-cased. StoreConflict when it is taken, the tenant
   * does not exist, or a user's extension does not exist in the tenant.
   */
  create(user: NewConsoleUser, actor?: Actor): Promise<ConsoleUser>;
  get(username: string): Promise<ConsoleUser | undefined>;
  /** Every user, or those of one tenant; by username. */
  list(tenant?: string): Promise<ConsoleUser[]>;
  update(username: string, patch: ConsoleUserPatch, actor?: Actor): Promise<ConsoleUser | undefined>;
  /** Deletes the user and its sessions. */
  delete(username: string, actor?: Actor): Promise<boolean>;
}

/** A console login session: the cookie holds the token, the store its SHA-256 only. */
export interface ConsoleSession {
  /** Hex SHA-256 of the cookie's token. */
  idHash: string;
  username: string;
  /** Asked in X-CSRF-Token of every change made with the cookie. */
  csrfToken: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The absolute end (ms), whatever the activity. */
  expiresAt: number;
  /** The last request (ms): the idle expiry counts from here. */
  lastSeenAt: number;
}

export interface SessionRepository {
  create(session: ConsoleSession): Promise<void>;
  get(idHash: string): Promise<ConsoleSession | undefined>;
  touch(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<boolean>;
  /** Ends every session of the user but `except` (an id hash); returns how many. */
  deleteForUser(username: string, except?: string): Promise<number>;
  /** Deletes sessions past their absolute end at `now` or idle since before `idleSince`; returns how many. */
  purgeExpired(now: number, idleSince: number): Promise<number>;
}

/**
 * An integration's bearer token, scoped like a console user: a tenant's
 * administrator, or one extension's user. The secret is kept as its SHA-256.
 */
export interface ApiToken {
  /** 12 characters, the public part of `vpbx_<id>_<secret>`. */
  id: string;
  /** Hex SHA-256 of the secret. */
  secretHash: string;
  role: "admin" | "user";
  tenant: string;
  extension?: string;
  description: string;
  /** Who created it: a username, or "admin" (the admin token). */
  createdBy: string;
  createdAt: string;
  /** Milliseconds since the epoch; undefined: never used. */
  lastUsedAt?: number;
}

export type NewApiToken = Omit<ApiToken, "createdAt" | "lastUsedAt">;

/** API tokens; creation and deletion are audited in the tenant's log ("token.create", "token.delete"). */
export interface ApiTokenRepository {
  /** StoreConflict when the id is taken, the tenant does not exist, or a user token's extension does not. */
  create(token: NewApiToken, actor?: Actor): Promise<ApiToken>;
  get(id: string): Promise<ApiToken | undefined>;
  /** The tenant's tokens, oldest first. */
  list(tenant: string): Promise<ApiToken[]>;
  delete(tenant: string, id: string, actor?: Actor): Promise<boolean>;
  /** Notes a use (not audited). */
  touch(id: string, at: number): Promise<void>;
}

/** How a call reached the company: between its phones, from a trunk, or out to a trunk. */
export type CallDirection = "internal" | "inbound" | "outbound";
export const CALL_DIRECTIONS: readonly CallDirection[] = ["internal", "inbound", "outbound"];

/**
 * How a call ended, as its history says: answered by whom it was meant for,
 * forwarded (and answered there: `forwardedTo`), taken by voicemail,
 * transferred, handled by an app (a feature code), or not connected: busy,
 * no answer, unavailable (no phone registered, unreachable), cancelled by
 * the caller, failed (refused: not allowed, no such number, an error).
 */
export type CallOutcome =
  | "answered"
  | "busy"
  | "no-answer"
  | "unavailable"
  | "cancelled"
  | "failed"
  | "forwarded"
  | "voicemail"
  | "transferred"
  | "app";
export const CALL_OUTCOMES: readonly CallOutcome[] = [
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
];

/** One call of a tenant, written when it ended (src/pbx/call/call-history.ts). Times in ms since the epoch. */
export interface CallRecord {
  id: string;
  tenant: string;
  /** The caller's SIP Call-ID, to find the call in the logs. */
  callId: string;
  direction: CallDirection;
  startedAt: number;
  /** When the destination answered (a person, voicemail, an app); undefined: never. */
  answeredAt?: number;
  endedAt: number;
  /** The caller's number: an extension, E.164, or "anonymous". */
  caller: string;
  callerName?: string;
  /** What was dialled: an extension, a number as dialled, a feature code; for a trunk call the DID. */
  dialled: string;
  /** Who answered or was rung last: an extension, a number, "voicemail:101", "app:*72". */
  destination?: string;
  outcome: CallOutcome;
  /** Where a forwarding sent the call (its last target). */
  forwardedTo?: string;
  /** The trunk the call came in on or went out through. */
  trunk?: string;
  /** The tenant's extensions that took part (calling, rung, answering, mailbox). */
  extensions: string[];
}

/** Which calls to list; every field optional. */
export interface CallHistoryFilter {
  /** Started at or after (ms). */
  from?: number;
  /** Started before (ms). */
  to?: number;
  /** Calls that involved this extension (in `extensions`, or as caller, dialled or destination). */
  extension?: string;
  outcome?: CallOutcome;
  direction?: CallDirection;
  /** At most this many (1 to CALL_HISTORY_LIMIT_MAX; default CALL_HISTORY_LIMIT_DEFAULT). */
  limit?: number;
  /** The cursor: only calls after this one in the list's order (older, or as old with a smaller id). */
  before?: { startedAt: number; id: string };
}

export const CALL_HISTORY_LIMIT_DEFAULT = 100;
export const CALL_HISTORY_LIMIT_MAX = 1000;

/** The call history: written once per call, listed newest first, purged by age. */
export interface CallHistoryRepository {
  add(record: CallRecord): Promise<void>;
  /**
   * Writes all of `records` or none (one statement, or one transaction for a
   * long list): the history's writer sends what queued up meanwhile, one
   * commit for many calls.
   */
  addMany(records: readonly CallRecord[]): Promise<void>;
  /** The tenant's calls, newest first (started_at, then id, descending). */
  list(tenant: string, filter?: CallHistoryFilter): Promise<CallRecord[]>;
  /** Deletes calls that started before `before` (ms); returns how many. */
  purge(before: number): Promise<number>;
}

/**
 * A change that the other nodes on the same store must hear of at once
 * (their lamps): a mailbox whose counts changed.
 */
export type StoreChange = { kind: "mailbox"; tenant: string; mailbox: string };

/**
 * Changes between the nodes of one store (PostgreSQL LISTEN/NOTIFY on one
 * channel); on SQLite, with one node, nothing is sent or heard.
 */
export interface ChangeFeed {
  /** Tells the other nodes. Never rejects: a failure is logged (the lamps catch up at their refresh). */
  publish(change: StoreChange): Promise<void>;
  /** `listener` hears every change another node publishes from now on; the function returned stops it. */
  subscribe(listener: (change: StoreChange) => void): () => void;
}

export interface Store {
  tenants: TenantRepository;
  extensions: ExtensionRepository;
  bindings: BindingRepository;
  subscriptions: SubscriptionRepository;
  forwarding: ForwardingRepository;
  featureCodes: FeatureCodeRepository;
  trunks: TrunkRepository;
  numbers: NumberRepository;
  audit: AuditRepository;
  voicemail: VoicemailRepository;
  ringGroups: RingGroupRepository;
  companyFlow: CompanyFlowRepository;
  companyAudio: CompanyAudioRepository;
  secrets: SecretRepository;
  authBlocks: AuthBlockRepository;
  /** Every call's record, for the console and the API. */
  callHistory: CallHistoryRepository;
  /** Logins of the web console. */
  users: UserRepository;
  sessions: SessionRepository;
  apiTokens: ApiTokenRepository;
  /** Changes between the nodes sharing this store; absent in fakes (one node). */
  changes?: ChangeFeed;
  close(): Promise<void>;
}
