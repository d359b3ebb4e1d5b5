// Reading the ng reply dictionaries into typed results. A reply is data from
// the network: a missing or mistyped member is left out of the typed view
// (the raw dictionary is kept beside it), and only what a command cannot do
// without (the SDP of an offer or answer) makes the reply an error.
import type {
  NgDeleteResult,
  NgDict,
  NgEndpoint,
  NgFlowRef,
  NgMedia,
  NgQueryResult,
  NgSdpResult,
  NgStream,
  NgStreamStats,
  NgTag,
} from "./ng-types.ts";

/** The daemon answered, but not with what the command needs. */
export class NgReplyError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`rtpengine ${command}: ${message}`);
    this.name = "NgReplyError";
  }
}

function isDict(v: unknown): v is NgDict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  // Some builds send counters as decimal strings.
  if (typeof v === "string" && /^-?\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function dicts(v: unknown): NgDict[] {
  return Array.isArray(v) ? v.filter(isDict) : [];
}

export function sdpResult(command: string, raw: NgDict): NgSdpResult {
  const sdp = str(raw.sdp);
  if (sdp === undefined || sdp === "") throw new NgReplyError(command, "reply carries no SDP");
  const warning = str(raw.warning);
  return warning === undefined ? { sdp, raw } : { sdp, warning, raw };
}

export function deleteResult(raw: NgDict): NgDeleteResult {
  const warning = str(raw.warning);
  return warning === undefined ? { raw } : { warning, raw };
}

function endpoint(v: unknown): NgEndpoint | undefined {
  if (!isDict(v)) return undefined;
  const address = str(v.address);
  const port = num(v.port);
  if (address === undefined || port === undefined) return undefined;
  return { family: str(v.family) ?? "", address, port };
}

function stats(v: unknown): NgStreamStats | undefined {
  if (!isDict(v)) return undefined;
  return { packets: num(v.packets) ?? 0, bytes: num(v.bytes) ?? 0, errors: num(v.errors) ?? 0 };
}

function stream(v: NgDict): NgStream {
  return {
    localPort: num(v["local port"]),
    localAddress: str(v["local address"]),
    endpoint: endpoint(v.endpoint),
    advertisedEndpoint: endpoint(v["advertised endpoint"]),
    lastPacket: num(v["last packet"]),
    flags: strings(v.flags),
    stats: stats(v.stats),
  };
}

function media(v: NgDict): NgMedia {
  return {
    index: num(v.index),
    type: str(v.type),
    protocol: str(v.protocol),
    codec: str(v.codec),
    flags: strings(v.flags),
    streams: dicts(v.streams).map(stream),
  };
}

function flows(v: unknown): NgFlowRef[] {
  const out: NgFlowRef[] = [];
  for (const d of dicts(v)) {
    const t = str(d.tag);
    if (t !== undefined) out.push({ tag: t, type: str(d.type) });
  }
  return out;
}

function tag(key: string, v: NgDict): NgTag {
  const subscriptions = flows(v.subscriptions);
  return {
    tag: str(v.tag) ?? key,
    label: str(v.label),
    created: num(v.created),
    inDialogueWith: str(v["in dialogue with"]) ?? subscriptions.find((s) => s.type === "offer/answer")?.tag,
    subscriptions,
    subscribers: flows(v.subscribers),
    medias: dicts(v.medias).map(media),
  };
}

export function queryResult(raw: NgDict): NgQueryResult {
  const tags: Record<string, NgTag> = {};
  if (isDict(raw.tags)) {
    for (const [key, v] of Object.entries(raw.tags)) {
      if (isDict(v))
        Object.defineProperty(tags, key, { value: tag(key, v), enumerable: true, writable: true });
    }
  }
  const totals = isDict(raw.totals)
    ? { RTP: stats(raw.totals.RTP), RTCP: stats(raw.totals.RTCP) }
    : undefined;
  return {
    created: num(raw.created),
    lastSignal: num(raw["last signal"]),
    tags,
    totals,
    raw,
  };
}
