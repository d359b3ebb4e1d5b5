// Which transport and port a request to a URI takes: RFC 3263 §4.1 and §4.2
// for a URI whose host is an IP address (no DNS: phones register with
// addresses, and what needs DNS is resolved by its owner, e.g. a trunk).
// A sips: URI goes over TLS whatever its transport parameter says (RFC 3261
// §26.2.2, RFC 5630 §3.1.3); `transport=tls` is the deprecated way of saying
// the same with sip: (RFC 5630 §3.2) that phones still write.
import { isIP } from "node:net";
import type { SipUri } from "../message/types.ts";
import { unbracket } from "./response-destination.ts";
import { defaultPort, type RemoteAddress, type TransportName } from "./types.ts";

/**
 * The transport of a request to `uri`; undefined for one we do not open
 * (ws and wss: a WebSocket peer is reached only over the connection it
 * opened, RFC 7118 §5; sctp) or a scheme without one.
 */
export function transportOfUri(uri: SipUri): TransportName | undefined {
  const scheme = uri.scheme.toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return undefined;
  const param = uri.params.transport?.toLowerCase();
  if (scheme === "sips") return param === undefined || param === "tcp" || param === "tls" ? "TLS" : undefined;
  if (param === undefined || param === "udp") return "UDP";
  if (param === "tcp") return "TCP";
  if (param === "tls") return "TLS";
  return undefined;
}

/**
 * Where a request to `uri` goes when its host is an IP address: the
 * transport above, the URI's port or the transport's default (5061 for TLS).
 * Undefined when the host is a name (it needs RFC 3263 DNS) or the transport
 * is not ours. A URI's `maddr` is not followed (a forged one would send our
 * requests elsewhere).
 */
export function remoteOfUri(uri: SipUri): RemoteAddress | undefined {
  const transport = transportOfUri(uri);
  const address = unbracket(uri.host);
  if (transport === undefined || isIP(address) === 0) return undefined;
  return { transport, address, port: uri.port ?? defaultPort(transport) };
}
