// Where a request to a registered device goes, and with which Route header
// fields. A phone that registered straight is reached where its REGISTER
// came from (symmetric, for NAT). A phone that registered through proxies
// (Kamailio in front of several nodes) left their Path (RFC 3327), which is
// the pre-loaded route set of every request to it (§5.4, RFC 3261 §8.1.2):
// the Request-URI stays the registered contact, the Path values become the
// Route header fields in order, and the request goes to the address of the
// first of them (loose routing, RFC 3261 §16.12; every proxy that writes a
// Path does "lr").
import { isIP } from "node:net";
import { type HeaderField, parseNameAddr } from "../../sip/message/index.ts";
import { defaultPort, type RemoteAddress, type TransportName } from "../../sip/transport/types.ts";
import type { Binding } from "../../store/types.ts";

export interface BindingRoute {
  /** The next hop: the first Path entry's address, else the source of the REGISTER. */
  remote: RemoteAddress;
  /** Route header fields, one per Path value, topmost first; empty without a Path. */
  routes: HeaderField[];
}

/**
 * The next hop and Route set of a request to `binding`. A first Path entry
 * that names a host (not an IP literal) is reached at the source of the
 * REGISTER instead, which is the proxy that wrote it: the PBX does no DNS
 * for next hops (RFC 3263) and the proxy next to it sent the REGISTER.
 */
export function bindingRoute(binding: Pick<Binding, "source" | "path">): BindingRoute {
  const source: RemoteAddress = {
    transport: binding.source.transport,
    address: binding.source.address,
    port: binding.source.port,
  };
  const path = binding.path ?? [];
  if (path.length === 0) return { remote: source, routes: [] };
  const routes = path.map((value) => ({ name: "Route", value }));
  return { remote: firstHop(path[0]) ?? source, routes };
}

/** The address of a Path entry's URI when it is an IP literal (RFC 3261 §19.1.2 defaults for the rest). */
function firstHop(value: string): RemoteAddress | undefined {
  let uri: ReturnType<typeof parseNameAddr>["uri"];
  try {
    uri = parseNameAddr(value).uri;
  } catch {
    // The registrar checked every entry before it stored it; a row written
    // otherwise is reached through the REGISTER's source.
    return undefined;
  }
  const host = uri.host.startsWith("[") && uri.host.endsWith("]") ? uri.host.slice(1, -1) : uri.host;
  if (isIP(host) === 0) return undefined;
  // RFC 3263 §4.1 without DNS: sips means TLS, else the transport parameter, else UDP.
  const param = (uri.params.transport ?? "").toLowerCase();
  const transport: TransportName =
    uri.scheme.toLowerCase() === "sips" || param === "tls" ? "TLS" : param === "tcp" ? "TCP" : "UDP";
  return { transport, address: host, port: uri.port ?? defaultPort(transport) };
}
