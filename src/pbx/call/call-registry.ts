// The calls in progress: what the API and `vpbx status` show, and what the
// PBX needs to know to treat an extension as busy.

export interface CallView {
  id: string;
  /** The tenant's name. */
  tenant: string;
  from: string;
  to: string;
  state: "ringing" | "answered";
  startedAt: string;
  answeredAt?: string;
  /** The SIP Call-IDs of the call's legs, to find them in the logs. */
  callIds: string[];
}

export interface ActiveCall {
  readonly id: string;
  readonly tenant: { name: string };
  view(): CallView;
  /** Ends the call from the PBX side (shutdown, media timeout). */
  terminate(reason: string): Promise<void>;
  /** Extensions of the tenant that are talking in this call (busy for other calls). */
  busyExtensions(): string[];
  /** Whether a leg of the call goes through a trunk (the company's cap of outside calls). */
  usesTrunk(): boolean;
}

/**
 * The calls in progress, indexed by company and by extension: routing asks
 * whether an extension is busy and whether a company is at its cap for every
 * new call, and the lamps ask for one extension's calls at every change, so
 * none of them may walk every call of the PBX (at hundreds of calls a second
 * that walk was the signalling thread's largest cost).
 */
export class CallRegistry<T extends ActiveCall = ActiveCall> {
  private readonly calls = new Map<string, T>();
  /** Order of arrival, so that an extension's calls are listed oldest first. */
  private readonly order = new Map<T, number>();
  private next = 0;
  private readonly byTenant = new Map<string, Set<T>>();
  /** Calls by `tenant\0extension`: every extension a call concerns (involve()) or keeps busy. */
  private readonly byLine = new Map<string, Set<T>>();
  /** The extensions each call is indexed under. */
  private readonly lines = new Map<T, string[]>();

  add(call: T): void {
    this.calls.set(call.id, call);
    this.order.set(call, this.next++);
    setOf(this.byTenant, call.tenant.name).add(call);
    this.index(call, call.busyExtensions());
  }

  remove(id: string): void {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    this.order.delete(call);
    const ofTenant = this.byTenant.get(call.tenant.name);
    ofTenant?.delete(call);
    if (ofTenant?.size === 0) this.byTenant.delete(call.tenant.name);
    this.index(call, []);
    this.lines.delete(call);
  }

  /**
   * The extensions a call concerns now (caller, callee, the rung ones): the
   * call is found under each, and under those it keeps busy. Returns the
   * extensions it concerned before (the lamps to update are both).
   */
  involve(id: string, extensions: Iterable<string>): string[] {
    const call = this.calls.get(id);
    if (!call) return [];
    const before = this.lines.get(call) ?? [];
    this.index(call, new Set([...extensions, ...call.busyExtensions()]));
    return before;
  }

  get size(): number {
    return this.calls.size;
  }

  get(id: string): T | undefined {
    return this.calls.get(id);
  }

  views(): CallView[] {
    return [...this.calls.values()].map((c) => c.view());
  }

  /** How many calls an extension is on (the users' page: "busy" = in a call or declining). */
  callsOf(tenant: string, extension: string): number {
    let n = 0;
    for (const call of this.byLine.get(lineKey(tenant, extension)) ?? []) {
      if (call.busyExtensions().includes(extension)) n++;
    }
    return n;
  }

  /** How many calls a company has, from its phones and to its numbers (its cap, Tenant.maxCalls). */
  callsOfTenant(tenant: string): number {
    return this.byTenant.get(tenant)?.size ?? 0;
  }

  /** The company's calls, oldest first. */
  ofTenant(tenant: string): T[] {
    return [...(this.byTenant.get(tenant) ?? [])];
  }

  /** The calls that concern an extension (involve()) or keep it busy, oldest first. */
  involving(tenant: string, extension: string): T[] {
    const calls = [...(this.byLine.get(lineKey(tenant, extension)) ?? [])];
    return calls.sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }

  all(): T[] {
    return [...this.calls.values()];
  }

  private index(call: T, extensions: Iterable<string>): void {
    const tenant = call.tenant.name;
    for (const extension of this.lines.get(call) ?? []) {
      const key = lineKey(tenant, extension);
      const set = this.byLine.get(key);
      set?.delete(call);
      if (set?.size === 0) this.byLine.delete(key);
    }
    const now = [...new Set(extensions)];
    for (const extension of now) {
      setOf(this.byLine, lineKey(tenant, extension)).add(call);
    }
    this.lines.set(call, now);
  }
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function lineKey(tenant: string, extension: string): string {
  return `${tenant}\u0000${extension}`;
}
