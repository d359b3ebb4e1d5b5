import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURES,
  DEFAULT_WAITING_SECONDS,
  type Tenant,
  type Trunk,
} from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import { silentLogger } from "../../util/log.ts";
import { normaliseAddress, resolveTrunkRemote } from "./host-lookup.ts";
import { TrunkDirectory } from "./trunk-directory.ts";

function trunk(name: string, patch: Partial<Trunk> = {}): Trunk {
  return {
    name,
    host: `${name}.carrier.test`,
    port: 5060,
    transport: "udp",
    register: false,
    numberFormat: "e164",
    inboundAddresses: [],
    isDefault: false,
    createdAt: "2026-01-05T08:00:00.000Z",
    ...patch,
  };
}

function tenant(patch: Partial<Tenant> = {}): Tenant {
  return {
    name: "acme",
    domain: "acme.test",
    language: "en",
    timezone: "Europe/Zurich",
    country: "CH",
    features: DEFAULT_FEATURES,
    policy: DEFAULT_DIALLING_POLICY,
    waitingSeconds: DEFAULT_WAITING_SECONDS,
    companyCodes: {},
    maxCalls: 20,
    requireEncryption: false,
    createdAt: "2026-01-05T08:00:00.000Z",
    ...patch,
  };
}

/** A DNS that answers from a table the test changes, and counts the questions. */
class FakeDns {
  readonly table = new Map<string, string[] | Error>();
  readonly asked: string[] = [];
  lookup = async (host: string): Promise<string[]> => {
    this.asked.push(host);
    const answer = this.table.get(host);
    if (answer === undefined) throw new Error(`ENOTFOUND ${host}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
}

function setup(trunks: Trunk[]) {
  const clock = new FakeClock();
  const dns = new FakeDns();
  const store = {
    trunks: {
      list: async () => trunks.map((t) => ({ ...t })),
      get: async (name: string) => trunks.find((t) => t.name === name),
    },
  };
  const warnings: unknown[] = [];
  const log = silentLogger();
  log.warn = ((obj: unknown) => {
    warnings.push(obj);
  }) as typeof log.warn;
  const errors: unknown[] = [];
  log.error = ((obj: unknown) => {
    errors.push(obj);
  }) as typeof log.error;
  const directory = new TrunkDirectory({ store, clock, log, lookup: dns.lookup });
  return { clock, dns, directory, trunks, warnings, errors };
}

describe("TrunkDirectory", () => {
  it("finds the trunk by its resolved host or by an inbound address", async () => {
    const { dns, directory } = setup([
      trunk("alpha", { inboundAddresses: ["198.51.100.7", "2001:DB8::7"] }),
      trunk("beta", { host: "203.0.113.9" }),
    ]);
    dns.table.set("alpha.carrier.test", ["192.0.2.1", "192.0.2.2"]);
    assert.equal((await directory.trunkFrom("192.0.2.2"))?.name, "alpha");
    assert.equal((await directory.trunkFrom("198.51.100.7"))?.name, "alpha");
    assert.equal((await directory.trunkFrom("[2001:db8::7]"))?.name, "alpha");
    // An IP literal host is itself; a dual-stack socket's mapped form matches it.
    assert.equal((await directory.trunkFrom("203.0.113.9"))?.name, "beta");
    assert.equal((await directory.trunkFrom("::ffff:203.0.113.9"))?.name, "beta");
    assert.equal(await directory.trunkFrom("192.0.2.99"), undefined);
    // Cached: one question for the one name.
    assert.deepEqual(dns.asked, ["alpha.carrier.test"]);
  });

  it("refreshes the resolution every 5 minutes on the clock, in the background", async () => {
    const { clock, dns, directory } = setup([trunk("alpha")]);
    dns.table.set("alpha.carrier.test", ["192.0.2.1"]);
    assert.equal((await directory.trunkFrom("192.0.2.1"))?.name, "alpha");
    dns.table.set("alpha.carrier.test", ["192.0.2.50"]);
    await clock.advance(299_000);
    assert.equal((await directory.trunkFrom("192.0.2.50"))?.name, undefined);
    assert.equal(dns.asked.length, 1);
    await clock.advance(1_000);
    // Due: this answer still comes from the cache, the refresh runs behind it.
    assert.equal(await directory.trunkFrom("192.0.2.50"), undefined);
    await directory.idle();
    assert.equal(dns.asked.length, 2);
    assert.equal((await directory.trunkFrom("192.0.2.50"))?.name, "alpha");
    assert.equal(await directory.trunkFrom("192.0.2.1"), undefined);
  });

  it("keeps the previous addresses when a lookup fails, logs it, and asks again soon", async () => {
    const { clock, dns, directory, warnings } = setup([trunk("alpha")]);
    dns.table.set("alpha.carrier.test", ["192.0.2.1"]);
    assert.equal((await directory.trunkFrom("192.0.2.1"))?.name, "alpha");
    dns.table.set("alpha.carrier.test", new Error("SERVFAIL"));
    await clock.advance(300_000);
    await directory.trunkFrom("192.0.2.1");
    await directory.idle();
    assert.equal(warnings.length, 1);
    assert.match(JSON.stringify(warnings[0]), /alpha/);
    assert.match(JSON.stringify(warnings[0]), /SERVFAIL/);
    assert.equal((await directory.trunkFrom("192.0.2.1"))?.name, "alpha");
    // Retried after 30 s, not 5 min.
    dns.table.set("alpha.carrier.test", ["192.0.2.3"]);
    await clock.advance(30_000);
    await directory.trunkFrom("192.0.2.3");
    await directory.idle();
    assert.equal((await directory.trunkFrom("192.0.2.3"))?.name, "alpha");
  });

  it("a host that never resolved matches nothing, and remoteOf says so clearly", async () => {
    const { directory, trunks } = setup([trunk("alpha")]);
    assert.equal(await directory.trunkFrom("192.0.2.1"), undefined);
    await assert.rejects(
      directory.remoteOf(trunks[0]),
      /trunk alpha: host alpha\.carrier\.test does not resolve/,
    );
  });

  it("remoteOf gives the resolved address (IPv4 first), the port and the transport in upper case", async () => {
    const { dns, directory } = setup([]);
    dns.table.set("alpha.carrier.test", ["2001:db8::1", "192.0.2.1"]);
    assert.deepEqual(await directory.remoteOf(trunk("alpha", { port: 5080, transport: "tcp" })), {
      transport: "TCP",
      address: "192.0.2.1",
      port: 5080,
    });
    assert.deepEqual(await directory.remoteOf(trunk("v6", { host: "[2001:db8::9]" })), {
      transport: "UDP",
      address: "2001:db8::9",
      port: 5060,
    });
  });

  it("forTenant: the tenant's trunk, else the default one", async () => {
    const { directory, errors } = setup([trunk("alpha", { isDefault: true }), trunk("beta")]);
    assert.equal((await directory.forTenant(tenant()))?.name, "alpha");
    assert.equal((await directory.forTenant(tenant({ trunk: "beta" })))?.name, "beta");
    assert.equal(await directory.forTenant(tenant({ trunk: "gone" })), undefined);
    assert.equal(errors.length, 1);
    const none = setup([trunk("alpha")]);
    assert.equal(await none.directory.forTenant(tenant()), undefined);
  });
});

describe("host lookup helpers", () => {
  it("normalises addresses", () => {
    assert.equal(normaliseAddress("[2001:DB8::1]"), "2001:db8::1");
    assert.equal(normaliseAddress("::FFFF:192.0.2.1"), "192.0.2.1");
    assert.equal(normaliseAddress(" 192.0.2.1 "), "192.0.2.1");
  });

  it("resolveTrunkRemote wraps a resolver failure with the trunk's name", async () => {
    await assert.rejects(
      resolveTrunkRemote(trunk("alpha"), async () => {
        throw new Error("ENOTFOUND");
      }),
      /trunk alpha: host alpha\.carrier\.test does not resolve \(ENOTFOUND\)/,
    );
    assert.deepEqual(await resolveTrunkRemote(trunk("beta", { host: "127.0.0.2", port: 5099 })), {
      transport: "UDP",
      address: "127.0.0.2",
      port: 5099,
    });
  });
});
