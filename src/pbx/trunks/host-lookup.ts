// Turning a trunk's host into the addresses it sends from and that we send
// to. Plain A/AAAA resolution through the system resolver (node:dns lookup):
// carriers hand out a host name or an address for their SIP edge, and RFC
// 3263 NAPTR/SRV selection is not needed for a provider-configured trunk
// whose port and transport are set explicitly.
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, isIPv4 } from "node:net";
import type { RemoteAddress, TransportName } from "../../sip/transport/types.ts";
import type { Trunk } from "../../store/types.ts";

/** Every address a host name resolves to; rejects when it does not resolve. */
export type HostLookup = (host: string) => Promise<string[]>;

/** node:dns lookup with all addresses, in the resolver's order. */
export const systemLookup: HostLookup = async (host) => {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
};

/** "[2001:db8::1]" → "2001:db8::1"; other hosts unchanged. */
export function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** An IP literal (with or without brackets), as the address itself; undefined for a name. */
export function ipLiteral(host: string): string | undefined {
  const bare = stripBrackets(host.trim());
  return isIP(bare) ? normaliseAddress(bare) : undefined;
}

/**
 * One spelling per address, so that a source address compares equal to a
 * configured one: lower case, no brackets, and an IPv4-mapped IPv6 address
 * ("::ffff:192.0.2.1", what a dual-stack socket reports) as plain IPv4.
 */
export function normaliseAddress(address: string): string {
  const bare = stripBrackets(address.trim()).toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped ? mapped[1] : bare;
}

/** Resolves `host` (an IP literal is itself, without asking DNS); normalised, duplicates removed. */
export async function resolveHost(host: string, lookup: HostLookup): Promise<string[]> {
  const literal = ipLiteral(host);
  if (literal) return [literal];
  const found = await lookup(host);
  return [...new Set(found.map(normaliseAddress))];
}

/**
 * The address to send to among those a host resolved to: IPv4 first, as our
 * default transport binds IPv4 (an IPv6 address is used when it is all
 * there is).
 */
export function preferredAddress(addresses: readonly string[]): string | undefined {
  return addresses.find((a) => isIPv4(a)) ?? addresses[0];
}

export function trunkTransport(trunk: Trunk): TransportName {
  return trunk.transport === "tls" ? "TLS" : trunk.transport === "tcp" ? "TCP" : "UDP";
}

/**
 * Where requests to `trunk` go once its host is resolved. Over TLS the
 * carrier's certificate must name its host (RFC 5922 §7.2: the domain we
 * meant to reach, not the address it resolved to), so a DNS answer pointed
 * elsewhere cannot take the calls.
 */
export function trunkRemote(trunk: Trunk, address: string): RemoteAddress {
  const remote: RemoteAddress = { transport: trunkTransport(trunk), address, port: trunk.port };
  if (trunk.transport === "tls") remote.tlsVerifyName = stripBrackets(trunk.host);
  return remote;
}

/** Where requests to `trunk` go, resolving its host now. Throws a clear error when it does not resolve. */
export async function resolveTrunkRemote(
  trunk: Trunk,
  lookup: HostLookup = systemLookup,
): Promise<RemoteAddress> {
  let addresses: string[];
  try {
    addresses = await resolveHost(trunk.host, lookup);
  } catch (err) {
    throw new Error(
      `trunk ${trunk.name}: host ${trunk.host} does not resolve (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const address = preferredAddress(addresses);
  if (!address) throw new Error(`trunk ${trunk.name}: host ${trunk.host} resolves to no address`);
  return trunkRemote(trunk, address);
}
