// Proxies in front of the PBX (Kamailio spreading phones over several nodes,
// VPBX_TRUSTED_PROXIES) and what they change: behind one, every phone sends
// from the proxy's address, so the per-source windows and blocks of the
// guard (auth-guard.ts), and the nonces bound to a source, would treat every
// office behind it as one guesser. For a request from a trusted proxy, the
// source that counts is the phone's: the Via just below the proxy's, by its
// `received` parameter (the address the proxy saw, RFC 3261 §18.2.1) or else
// its sent-by host, and its `rport` (RFC 3581 §4) or sent-by port. A chain of
// trusted proxies is walked down to the first hop that is not one of them.
//
// Nothing changes for any other source: a phone cannot pick its own source
// by writing Vias, only a proxy we trust can vouch for one (and a proxy adds
// `received` when the Via does not say where the packet came from).
import { BlockList, isIP, isIPv4 } from "node:net";
import { getVias, type SipRequest, type Via } from "../../sip/message/index.ts";
import { defaultPort, type RemoteAddress } from "../../sip/transport/types.ts";
import type { AuthKind, AuthResult, PhoneAuthenticatorOptions } from "./phone-authenticator.ts";
import { PhoneAuthenticator } from "./phone-authenticator.ts";

/** A proxy's address, or a network of them: "192.0.2.10", "10.0.0.0/24", "2001:db8::/64". */
function addEntry(list: BlockList, entry: string): boolean {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? "ipv4" : "ipv6";
  if (slash < 0) {
    list.addAddress(address, type);
    return true;
  }
  const bits = entry.slice(slash + 1);
  const prefix = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return false;
  list.addSubnet(address, prefix, type);
  return true;
}

/** "::ffff:192.0.2.1" (an IPv4 peer on a dual-stack socket) is the IPv4 address it is. */
function plain(address: string): string {
  let a = address.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : a;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  /** The entries as configured, for the start-up log. */
  readonly entries: readonly string[];

  /**
   * From VPBX_TRUSTED_PROXIES: addresses and CIDR networks, comma-separated
   * (blanks allowed). Throws, naming every entry it cannot read, so that the
   * configuration check reports them.
   */
  constructor(text = "") {
    const entries = text
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "");
    const bad = entries.filter((e) => !addEntry(this.list, e));
    if (bad.length > 0) {
      throw new Error(`not an IP address or CIDR network: ${bad.map((b) => JSON.stringify(b)).join(", ")}`);
    }
    this.entries = entries;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Whether `address` (an IP literal, as the transport reports it) is one of the trusted proxies. */
  trusts(address: string): boolean {
    if (this.entries.length === 0) return false;
    const a = plain(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? "ipv4" : "ipv6");
  }

  /**
   * The source that counts for `req`: the phone's, when `remote` is a
   * trusted proxy and the Via below its own says where the phone is; else
   * `remote` itself. The transport and connection stay those of `remote`
   * (what the PBX answers on); only the address and port are the phone's.
   */
  sourceOf(req: SipRequest, remote: RemoteAddress): RemoteAddress {
    if (!this.trusts(remote.address)) return remote;
    let vias: Via[];
    try {
      vias = getVias(req);
    } catch {
      // A Via the proxy should not have passed on: the proxy is the source.
      return remote;
    }
    // vias[0] is the trusted proxy's own; each one below it was written by
    // the hop before, and checked (received, rport) by the hop after.
    for (let i = 1; i < vias.length; i++) {
      const hop = viaSource(vias[i]);
      if (!hop) return remote;
      if (this.trusts(hop.address) && i + 1 < vias.length) continue;
      return { ...remote, address: hop.address, port: hop.port };
    }
    // The proxy originated the request itself (a keep-alive OPTIONS, say).
    return remote;
  }
}

/** Where a Via says its hop is: `received` (else the host) and `rport` (else the port). */
function viaSource(via: Via): { address: string; port: number } | undefined {
  const received = via.params.received;
  const address = plain(received ?? via.host);
  if (isIP(address) === 0) return undefined;
  const rport = via.params.rport;
  const port =
    rport !== undefined && rport !== null && /^[0-9]{1,5}$/.test(rport)
      ? Number(rport)
      : (via.port ?? defaultPort(via.transport));
  return { address, port };
}

/**
 * The phone authenticator seen through the trusted proxies: nonces are
 * issued to, failures counted against and blocks applied to the phone's
 * address behind a trusted proxy (TrustedProxies.sourceOf), exactly as if
 * the phone had sent straight to us. Everything else is PhoneAuthenticator's.
 */
export class ProxiedPhoneAuthenticator extends PhoneAuthenticator {
  constructor(
    opts: PhoneAuthenticatorOptions,
    private readonly proxies: TrustedProxies,
  ) {
    super(opts);
  }

  override authenticate(req: SipRequest, remote: RemoteAddress, kind: AuthKind): Promise<AuthResult> {
    return super.authenticate(req, this.proxies.sourceOf(req, remote), kind);
  }
}
