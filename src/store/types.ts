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
  createdAt: string;
}

export type NewTenant = Pick<Tenant, "name" | "domain"> &
  Partial<Pick<Tenant, "language" | "timezone" | "country">>;
export type TenantPatch = Partial<Pick<Tenant, "domain" | "language" | "timezone" | "country">> & {
  features?: Partial<FeatureSwitches>;
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
  credentials: DigestCredentials;
  createdAt: string;
}

export type NewExtension = Pick<Extension, "tenant" | "number" | "displayName" | "credentials"> &
  Partial<Pick<Extension, "language" | "ringTimeoutSeconds">>;
export type ExtensionPatch = Partial<
  Pick<Extension, "displayName" | "credentials" | "ringTimeoutSeconds"> & { language: Language | null }
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
  source: { transport: "UDP" | "TCP"; address: string; port: number };
  userAgent?: string;
}

export type ForwardingKind = "unconditional" | "busy" | "unreachable";

export interface Forwarding {
  tenant: string;
  extension: string;
  kind: ForwardingKind;
  /** E.164 ("+41791231212") or an extension number of the same tenant. */
  target: string;
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
];

/** A unique key or a reference would be broken; the API answers 409. */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreConflict";
  }
}

export interface TenantRepository {
  /** Throws StoreConflict when the name or the domain is taken. */
  create(tenant: NewTenant): Promise<Tenant>;
  get(name: string): Promise<Tenant | undefined>;
  getByDomain(domain: string): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
  /** Undefined when there is no such tenant; StoreConflict on a taken domain. */
  update(name: string, patch: TenantPatch): Promise<Tenant | undefined>;
  /** Removes the tenant and everything that belongs to it. */
  delete(name: string): Promise<boolean>;
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

export interface ForwardingRepository {
  set(forwarding: Forwarding): Promise<void>;
  clear(tenant: string, extension: string, kind?: ForwardingKind): Promise<void>;
  list(tenant: string, extension: string): Promise<Forwarding[]>;
}

export interface FeatureCodeRepository {
  /** The tenant's table: the defaults with its own changes applied. */
  list(tenant: string): Promise<FeatureCode[]>;
  /** Replaces the code of one action; StoreConflict when another action already uses that code or a prefix clash. */
  set(tenant: string, action: FeatureAction, code: string): Promise<void>;
  reset(tenant: string): Promise<void>;
}

export interface Store {
  tenants: TenantRepository;
  extensions: ExtensionRepository;
  bindings: BindingRepository;
  forwarding: ForwardingRepository;
  featureCodes: FeatureCodeRepository;
  close(): Promise<void>;
}
