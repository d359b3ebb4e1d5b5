// Where a response goes: RFC 3261 §18.2.2 with the symmetric-response rule of
// RFC 3581 §4. The top Via of the response is the one the request carried,
// after the transport filled in `received` and `rport` on arrival.
import { isIP } from "node:net";
import { getTopVia } from "../message/index.ts";
import type { SipMessage, Via } from "../message/types.ts";
import { defaultPort, type RemoteAddress } from "./types.ts";

/** The top Via, or undefined when it is missing or malformed. */
export function topVia(msg: SipMessage): Via | undefined {
  try {
    return getTopVia(msg);
  } catch {
    return undefined;
  }
}

/** Removes the brackets of an IPv6 reference ("[::1]" → "::1"). */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * @param via the top Via of the response (undefined when the message had none)
 * @param source where the request came from
 */
export function responseDestination(via: Via | undefined, source: RemoteAddress): RemoteAddress {
  if (!via) return source;
  // §18.2.2 with §19.1.2: a sent-by without a port means 5061 over TLS, else 5060.
  const sentByPort = via.port ?? defaultPort(via.transport);
  const received = via.params.received;
  // §18.2.2: over a reliable transport the response goes back on the
  // connection the request used; if it has closed, a new connection goes to
  // the received address and the sent-by port.
  if (source.transport !== "UDP") {
    return {
      transport: source.transport,
      address: received ? unbracket(received) : source.address,
      port: sentByPort,
      connectionId: source.connectionId,
    };
  }
  // §18.2.2 would send to a Via maddr, but maddr is only the sender's claim:
  // a forged datagram naming a victim there would turn our responses (and
  // the retransmissions of a 4xx to an INVITE) into a reflector. So maddr is
  // never followed: the response goes where the request came from (received,
  // rport), which is also where a maddr naming the true source points.
  if (received) {
    // RFC 3581 §4: with rport the response goes to the source port, so that it
    // passes back through the NAT binding the request opened.
    const rport = via.params.rport;
    const port = rport ? Number.parseInt(rport, 10) : Number.NaN;
    return {
      transport: "UDP",
      address: unbracket(received),
      port: Number.isInteger(port) && port > 0 && port < 65536 ? port : sentByPort,
    };
  }
  const host = unbracket(via.host);
  // A sent-by that is a host name would need DNS (RFC 3263 §6); the source
  // address is the best answer we have without a resolver.
  return { transport: "UDP", address: isIP(host) ? host : source.address, port: sentByPort };
}
