// Which trunk is which address: an INVITE from a carrier is recognised by
// its source address (the trunk's host resolved, or one of the addresses
// the carrier said it sends from), and an outside call goes to the trunk of
// its company. The trunks themselves are read from the store on each
// question, so a trunk added through the API counts at once; only DNS
// answers are cached.
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Tenant, Trunk, TrunkRepository } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import {
  type HostLookup,
  ipLiteral,
  normaliseAddress,
  preferredAddress,
  resolveHost,
  systemLookup,
  trunkRemote,
} from "./host-lookup.ts";

export interface TrunkDirectoryDeps {
  store: { trunks: Pick<TrunkRepository, "list" | "get"> };
  clock: Clock;
  log: Logger;
  /** Default: node:dns lookup of every address. An IP literal never reaches it. */
  lookup?: HostLookup;
  /** How long a resolution is trusted before it is asked again. Default 5 min. */
  refreshMs?: number;
  /** After a failed lookup, when to ask again. Default 30 s. */
  retryMs?: number;
}

interface HostEntry {
  /** The last addresses the host resolved to; kept when a later lookup fails. */
  addresses: string[];
  /** When the addresses are to be asked again (clock time). */
  refreshAt: number;
  pending?: Promise<void>;
}

export class TrunkDirectory {
  private readonly deps: TrunkDirectoryDeps;
  private readonly lookup: HostLookup;
  private readonly refreshMs: number;
  private readonly retryMs: number;
  private readonly hosts = new Map<string, HostEntry>();

  constructor(deps: TrunkDirectoryDeps) {
    this.deps = deps;
    this.lookup = deps.lookup ?? systemLookup;
    this.refreshMs = deps.refreshMs ?? 300_000;
    this.retryMs = deps.retryMs ?? 30_000;
  }

  /**
   * The trunk a request from `address` came through, or undefined (a phone,
   * or someone unknown). Addresses listed in a trunk's inboundAddresses win
   * over resolved hosts (they are the carrier's own statement); among
   * trunks, the store's order decides.
   */
  async trunkFrom(address: string): Promise<Trunk | undefined> {
    const wanted = normaliseAddress(address);
    const trunks = await this.deps.store.trunks.list();
    for (const trunk of trunks) {
      if (trunk.inboundAddresses.some((a) => ipLiteral(a) === wanted)) return trunk;
    }
    // Every name at once: one slow resolver answer does not queue the others.
    const resolved = await Promise.all(
      trunks.map(async (trunk) => {
        const names = [trunk.host, ...trunk.inboundAddresses.filter((a) => ipLiteral(a) === undefined)];
        const lists = await Promise.all(names.map((name) => this.addressesOf(name, trunk.name)));
        return lists.flat();
      }),
    );
    const index = resolved.findIndex((addresses) => addresses.includes(wanted));
    return index < 0 ? undefined : trunks[index];
  }

  /**
   * The trunk of a company's outside calls: the one it names, else the
   * default trunk. A named trunk that does not exist (the store forbids it,
   * so this is a damaged store) gives undefined rather than another
   * carrier than the one configured.
   */
  async forTenant(tenant: Tenant): Promise<Trunk | undefined> {
    if (tenant.trunk !== undefined) {
      const trunk = await this.deps.store.trunks.get(tenant.trunk);
      if (!trunk)
        this.deps.log.error(
          { tenant: tenant.name, trunk: tenant.trunk },
          "tenant names a trunk that does not exist",
        );
      return trunk;
    }
    const trunks = await this.deps.store.trunks.list();
    return trunks.find((t) => t.isDefault);
  }

  /** Where INVITEs to `trunk` go: its host resolved (cached), its port and transport. */
  async remoteOf(trunk: Trunk): Promise<RemoteAddress> {
    const address = preferredAddress(await this.addressesOf(trunk.host, trunk.name));
    if (!address) throw new Error(`trunk ${trunk.name}: host ${trunk.host} does not resolve`);
    return trunkRemote(trunk, address);
  }

  /** Resolves every trunk host again now (after a configuration change, or for tests). */
  async refresh(): Promise<void> {
    const trunks = await this.deps.store.trunks.list();
    const jobs = trunks.flatMap((t) =>
      [t.host, ...t.inboundAddresses].filter((n) => !ipLiteral(n)).map((n) => this.resolve(n, t.name)),
    );
    await Promise.all(jobs);
  }

  /** Resolves when no lookup is running (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.hosts.values()].flatMap((h) => (h.pending ? [h.pending] : []));
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /**
   * The addresses of a host. The first time it is awaited; afterwards the
   * cached answer is returned at once and, once older than refreshMs,
   * refreshed in the background, so that a slow resolver never delays a call.
   */
  private async addressesOf(host: string, trunk: string): Promise<string[]> {
    const literal = ipLiteral(host);
    if (literal) return [literal];
    const key = host.trim().toLowerCase();
    const entry = this.hosts.get(key);
    if (!entry) {
      await this.resolve(key, trunk);
      return this.hosts.get(key)?.addresses ?? [];
    }
    if (this.deps.clock.now() >= entry.refreshAt && !entry.pending) void this.resolve(key, trunk);
    return entry.addresses;
  }

  /** Asks DNS once for `host` of `trunk` (concurrent askers share the answer); never rejects. */
  private resolve(host: string, trunk: string): Promise<void> {
    const key = host.trim().toLowerCase();
    let entry = this.hosts.get(key);
    if (entry?.pending) return entry.pending;
    if (!entry) {
      entry = { addresses: [], refreshAt: 0 };
      this.hosts.set(key, entry);
    }
    const current = entry;
    current.pending = (async () => {
      try {
        const addresses = await resolveHost(key, this.lookup);
        if (addresses.length === 0) throw new Error("no address");
        current.addresses = addresses;
        current.refreshAt = this.deps.clock.now() + this.refreshMs;
      } catch (err) {
        // Keep what we knew: a resolver hiccup must not make a carrier's calls look foreign.
        current.refreshAt = this.deps.clock.now() + Math.min(this.retryMs, this.refreshMs);
        this.deps.log.warn(
          {
            trunk,
            host: key,
            err: err instanceof Error ? err.message : String(err),
            kept: current.addresses,
          },
          "trunk host lookup failed; keeping the previous addresses",
        );
      } finally {
        current.pending = undefined;
      }
    })();
    return current.pending;
  }
}
