// The INVITE that rings one target: who it says is calling, and why the
// call came this way. Toward a phone: the caller in From, and History-Info
// (RFC 7044) when the call was forwarded, so the phone shows "forwarded
// from Bob". Toward the carrier: the company's caller ID in From and
// P-Asserted-Identity (RFC 3325), the number written as the trunk wants it,
// and Diversion (RFC 5806) for a forwarded call, which carriers need to
// accept a caller ID that is not the company's own. A phone that registered
// through a proxy (RFC 3327 Path) is rung through it: the Path is the
// INVITE's pre-loaded route set (registrar/binding-route.ts).
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { InviteOptions } from "../../sip/dialog/index.ts";
import { formatNameAddr, type HeaderField, type NameAddr, parseUri } from "../../sip/message/index.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Tenant, Trunk } from "../../store/types.ts";
import { bindingRoute } from "../registrar/binding-route.ts";
import type { Diversion, DiversionReason, Party, RingStep, Target } from "./steps.ts";

export interface TargetContext {
  tenant: Tenant;
  /** The SDP offer for the callee. */
  offer: string;
  remoteOf(target: Target): Promise<RemoteAddress>;
}

/** RFC 4458 §2: the cause each diversion reason carries in History-Info. */
const HISTORY_CAUSE: Record<DiversionReason, number> = {
  unconditional: 302,
  "user-busy": 486,
  "no-answer": 408,
  unavailable: 503,
  deflection: 480,
};

export async function targetInvite(
  target: Target,
  step: RingStep,
  ctx: TargetContext,
): Promise<InviteOptions> {
  if (target.kind === "device") {
    const domain = ctx.tenant.domain;
    // RFC 3327 §5.4: with a Path, the Request-URI stays the contact, the Path
    // goes first as Route header fields and the INVITE to its first hop (the
    // CANCEL and the ACK of a failure copy these Routes, RFC 3261 §9.1, §17.1.1.3).
    const path = target.binding.path !== undefined && target.binding.path.length > 0;
    const route = path ? bindingRoute(target.binding) : undefined;
    return {
      remote: route ? route.remote : await ctx.remoteOf(target),
      body: Buffer.from(ctx.offer),
      contentType: "application/sdp",
      requestUri: parseUri(target.binding.contact),
      from: party(step.from, domain),
      to: party(step.callee, domain),
      headers: [...(route?.routes ?? []), ...historyInfo(step.diversions, target.extension, domain)],
    };
  }
  const remote = await ctx.remoteOf(target);
  const base = { remote, body: Buffer.from(ctx.offer), contentType: "application/sdp" };
  const { trunk } = target;
  const host = trunk.port === 5060 ? trunk.host : `${trunk.host}:${trunk.port}`;
  const dialled = trunkNumber(target.number, trunk, ctx.tenant.country);
  const callerId =
    step.from.number === "anonymous" ? undefined : trunkNumber(step.from.number, trunk, ctx.tenant.country);
  const from: NameAddr = callerId
    ? { displayName: step.from.displayName, uri: parseUri(`sip:${callerId}@${trunk.host}`), params: {} }
    : { displayName: "Anonymous", uri: parseUri("sip:anonymous@anonymous.invalid"), params: {} };
  const headers: HeaderField[] = [];
  if (callerId) headers.push({ name: "P-Asserted-Identity", value: formatNameAddr(from) });
  else headers.push({ name: "Privacy", value: "id" });
  // RFC 5806 §4: newest diversion first, with the count of diversions so far.
  step.diversions
    .filter((d) => d.publicNumber)
    .reverse()
    .forEach((d, i, all) => {
      const uri = `sip:${trunkNumber(d.publicNumber!, trunk, ctx.tenant.country)}@${trunk.host}`;
      headers.push({ name: "Diversion", value: `<${uri}>;reason=${d.reason};counter=${all.length - i}` });
    });
  return {
    ...base,
    requestUri: parseUri(`sip:${dialled}@${host}`),
    from,
    to: { uri: parseUri(`sip:${dialled}@${trunk.host}`), params: {} },
    headers,
    credentials:
      trunk.username && trunk.password ? { username: trunk.username, password: trunk.password } : undefined,
  };
}

function party(p: Party, domain: string): NameAddr {
  return { displayName: p.displayName || undefined, uri: parseUri(`sip:${p.number}@${domain}`), params: {} };
}

/**
 * RFC 7044 History-Info: each extension the call was diverted from, with
 * the cause, then the one being rung now, indexed as one chain.
 */
function historyInfo(diversions: readonly Diversion[], rung: string, domain: string): HeaderField[] {
  if (diversions.length === 0) return [];
  const entries: string[] = [];
  let index = "1";
  for (const d of diversions) {
    const cause = encodeURIComponent(`SIP;cause=${HISTORY_CAUSE[d.reason]}`);
    entries.push(`<sip:${d.from}@${domain}?Reason=${cause}>;index=${index}`);
    index += ".1";
  }
  entries.push(`<sip:${rung}@${domain}>;index=${index}`);
  return [{ name: "History-Info", value: entries.join(", ") }];
}

/**
 * A number as the trunk wants it: E.164 ("+41215550100") or the national
 * form ("0215550100"; "0033…" for a number abroad). Short codes (112) go as
 * dialled.
 */
export function trunkNumber(number: string, trunk: Pick<Trunk, "numberFormat">, country: string): string {
  if (!number.startsWith("+")) return number;
  if (trunk.numberFormat === "e164") return number;
  const parsed = parsePhoneNumberFromString(number);
  if (parsed && parsed.country === country.toUpperCase())
    return parsed.formatNational().replace(/[^0-9]/g, "");
  return `00${number.slice(1)}`;
}
