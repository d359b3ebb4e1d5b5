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

export class CallRegistry<T extends ActiveCall = ActiveCall> {
  private readonly calls = new Map<string, T>();

  add(call: T): void {
    this.calls.set(call.id, call);
  }

  remove(id: string): void {
    this.calls.delete(id);
  }

  get size(): number {
    return this.calls.size;
  }

  views(): CallView[] {
    return [...this.calls.values()].map((c) => c.view());
  }

  /** How many calls an extension is on (the users' page: "busy" = in a call or declining). */
  callsOf(tenant: string, extension: string): number {
    let n = 0;
    for (const call of this.calls.values()) {
      if (call.tenant.name === tenant && call.busyExtensions().includes(extension)) n++;
    }
    return n;
  }

  /** How many calls a company has, from its phones and to its numbers (its cap, Tenant.maxCalls). */
  callsOfTenant(tenant: string): number {
    let n = 0;
    for (const call of this.calls.values()) if (call.tenant.name === tenant) n++;
    return n;
  }

  all(): T[] {
    return [...this.calls.values()];
  }
}
