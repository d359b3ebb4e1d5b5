// An in-memory Store for unit tests of the PBX rooms: the same semantics as
// the repository interfaces of src/store/types.ts (conflicts, cascades,
// case-insensitive domains, purge), none of the persistence. Values are
// copied in and out so that a caller cannot change stored state by mutation.
import { applyOverrides, codeClash, isFeatureAction, isFeatureCode } from "../../store/feature-code-table.ts";
import {
  type Binding,
  type BindingRepository,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  type Extension,
  type ExtensionPatch,
  type ExtensionRepository,
  type FeatureAction,
  type FeatureCodeRepository,
  type Forwarding,
  type ForwardingKind,
  type ForwardingRepository,
  type NewExtension,
  type NewTenant,
  type Store,
  StoreConflict,
  type Tenant,
  type TenantPatch,
  type TenantRepository,
} from "../../store/types.ts";

const copy = <T>(v: T): T => structuredClone(v);
const key = (...parts: string[]) => parts.join("\u0000");

export class MemoryStore implements Store {
  readonly tenantMap = new Map<string, Tenant>();
  readonly extensionMap = new Map<string, Extension>();
  readonly bindingMap = new Map<string, Binding>();
  readonly forwardingMap = new Map<string, Forwarding>();
  readonly overrides = new Map<string, Map<FeatureAction, string>>();
  closed = false;

  readonly tenants: TenantRepository;
  readonly extensions: ExtensionRepository;
  readonly bindings: BindingRepository;
  readonly forwarding: ForwardingRepository;
  readonly featureCodes: FeatureCodeRepository;

  constructor(private readonly now: () => string = () => new Date(0).toISOString()) {
    this.tenants = this.makeTenants();
    this.extensions = this.makeExtensions();
    this.bindings = this.makeBindings();
    this.forwarding = this.makeForwarding();
    this.featureCodes = this.makeFeatureCodes();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private domainTaken(domain: string, except?: string): boolean {
    for (const t of this.tenantMap.values()) {
      if (t.name !== except && t.domain.toLowerCase() === domain.toLowerCase()) return true;
    }
    return false;
  }

  private extensionExists(tenant: string, number: string): boolean {
    return this.extensionMap.has(key(tenant, number));
  }

  private dropExtensionData(tenant: string, number?: string): void {
    for (const map of [this.bindingMap, this.forwardingMap] as Map<string, Binding | Forwarding>[]) {
      for (const [k, v] of map)
        if (v.tenant === tenant && (number === undefined || v.extension === number)) map.delete(k);
    }
  }

  private makeTenants(): TenantRepository {
    return {
      create: async (t: NewTenant) => {
        if (this.tenantMap.has(t.name)) throw new StoreConflict(`tenant ${t.name} already exists`);
        if (this.domainTaken(t.domain)) throw new StoreConflict(`domain ${t.domain} is already used`);
        const tenant: Tenant = {
          name: t.name,
          domain: t.domain,
          language: t.language ?? "fr",
          timezone: t.timezone ?? "Europe/Zurich",
          country: t.country ?? "CH",
          features: { ...DEFAULT_FEATURES },
          createdAt: this.now(),
        };
        this.tenantMap.set(t.name, tenant);
        return copy(tenant);
      },
      get: async (name) => {
        const t = this.tenantMap.get(name);
        return t && copy(t);
      },
      getByDomain: async (domain) => {
        for (const t of this.tenantMap.values())
          if (t.domain.toLowerCase() === domain.toLowerCase()) return copy(t);
        return undefined;
      },
      list: async () => [...this.tenantMap.values()].sort((a, b) => a.name.localeCompare(b.name)).map(copy),
      update: async (name, patch: TenantPatch) => {
        const t = this.tenantMap.get(name);
        if (!t) return undefined;
        if (patch.domain !== undefined && this.domainTaken(patch.domain, name)) {
          throw new StoreConflict(`domain ${patch.domain} is already used`);
        }
        const { features, ...rest } = patch;
        const next: Tenant = { ...t, ...rest, features: { ...t.features, ...features } };
        this.tenantMap.set(name, next);
        return copy(next);
      },
      delete: async (name) => {
        if (!this.tenantMap.delete(name)) return false;
        for (const [k, e] of this.extensionMap) if (e.tenant === name) this.extensionMap.delete(k);
        this.dropExtensionData(name);
        this.overrides.delete(name);
        return true;
      },
    };
  }

  private makeExtensions(): ExtensionRepository {
    return {
      create: async (n: NewExtension) => {
        if (!this.tenantMap.has(n.tenant)) throw new StoreConflict(`tenant ${n.tenant} does not exist`);
        if (this.extensionExists(n.tenant, n.number)) {
          throw new StoreConflict(`extension ${n.number} already exists in tenant ${n.tenant}`);
        }
        const e: Extension = {
          tenant: n.tenant,
          number: n.number,
          displayName: n.displayName,
          ringTimeoutSeconds: n.ringTimeoutSeconds ?? 30,
          credentials: { ...n.credentials },
          createdAt: this.now(),
        };
        if (n.language !== undefined) e.language = n.language;
        this.extensionMap.set(key(n.tenant, n.number), e);
        return copy(e);
      },
      get: async (tenant, number) => {
        const e = this.extensionMap.get(key(tenant, number));
        return e && copy(e);
      },
      list: async (tenant) =>
        [...this.extensionMap.values()]
          .filter((e) => e.tenant === tenant)
          .sort((a, b) => a.number.length - b.number.length || a.number.localeCompare(b.number))
          .map(copy),
      update: async (tenant, number, patch: ExtensionPatch) => {
        const e = this.extensionMap.get(key(tenant, number));
        if (!e) return undefined;
        const { language, ...rest } = patch;
        const next: Extension = { ...e, ...rest };
        if (language === null) delete next.language;
        else if (language !== undefined) next.language = language;
        this.extensionMap.set(key(tenant, number), next);
        return copy(next);
      },
      delete: async (tenant, number) => {
        if (!this.extensionMap.delete(key(tenant, number))) return false;
        this.dropExtensionData(tenant, number);
        return true;
      },
    };
  }

  private makeBindings(): BindingRepository {
    const sorted = (list: Binding[]) =>
      list
        .sort(
          (a, b) =>
            a.tenant.localeCompare(b.tenant) ||
            a.extension.localeCompare(b.extension) ||
            a.contact.localeCompare(b.contact),
        )
        .map(copy);
    return {
      upsert: async (b) => {
        if (!this.extensionExists(b.tenant, b.extension)) {
          throw new StoreConflict(`extension ${b.extension} does not exist in tenant ${b.tenant}`);
        }
        this.bindingMap.set(key(b.tenant, b.extension, b.contact), copy(b));
      },
      remove: async (tenant, extension, contact) => {
        this.bindingMap.delete(key(tenant, extension, contact));
      },
      removeAll: async (tenant, extension) => {
        for (const [k, b] of this.bindingMap) {
          if (b.tenant === tenant && b.extension === extension) this.bindingMap.delete(k);
        }
      },
      list: async (tenant, extension) =>
        sorted(
          [...this.bindingMap.values()].filter(
            (b) => b.tenant === tenant && (extension === undefined || b.extension === extension),
          ),
        ),
      listAll: async () => sorted([...this.bindingMap.values()]),
      purgeExpired: async (now) => {
        let n = 0;
        for (const [k, b] of this.bindingMap) {
          if (b.expiresAt <= now) {
            this.bindingMap.delete(k);
            n++;
          }
        }
        return n;
      },
    };
  }

  private makeForwarding(): ForwardingRepository {
    return {
      set: async (f) => {
        if (!this.extensionExists(f.tenant, f.extension)) {
          throw new StoreConflict(`extension ${f.extension} does not exist in tenant ${f.tenant}`);
        }
        this.forwardingMap.set(key(f.tenant, f.extension, f.kind), copy(f));
      },
      clear: async (tenant, extension, kind?: ForwardingKind) => {
        for (const [k, f] of this.forwardingMap) {
          if (f.tenant === tenant && f.extension === extension && (kind === undefined || f.kind === kind)) {
            this.forwardingMap.delete(k);
          }
        }
      },
      list: async (tenant, extension) =>
        [...this.forwardingMap.values()]
          .filter((f) => f.tenant === tenant && f.extension === extension)
          .sort((a, b) => a.kind.localeCompare(b.kind))
          .map(copy),
    };
  }

  private makeFeatureCodes(): FeatureCodeRepository {
    const table = (tenant: string) => applyOverrides(this.overrides.get(tenant) ?? new Map());
    return {
      list: async (tenant) => table(tenant),
      set: async (tenant, action, code) => {
        if (!isFeatureAction(action)) throw new RangeError(`unknown feature action ${action}`);
        if (!isFeatureCode(code)) throw new RangeError(`feature code ${code} is malformed`);
        if (!this.tenantMap.has(tenant)) throw new StoreConflict(`tenant ${tenant} does not exist`);
        const clash = codeClash(table(tenant), action, code);
        if (clash) throw new StoreConflict(clash);
        const own = this.overrides.get(tenant) ?? new Map<FeatureAction, string>();
        if (DEFAULT_FEATURE_CODES.find((c) => c.action === action)?.code === code) own.delete(action);
        else own.set(action, code);
        this.overrides.set(tenant, own);
      },
      reset: async (tenant) => {
        this.overrides.delete(tenant);
      },
    };
  }
}
