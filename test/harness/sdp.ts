// SDP for the harness phone (RFC 4566 text, RFC 3264 offer/answer), kept
// independent of src/media/sdp: the text is written by hand and read with
// sdp-transform, so the harness judges the PBX's SDP instead of mirroring it.
import { parse } from "sdp-transform";

export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";
export type HarnessCodec = "PCMU" | "PCMA";

export interface RemoteMedia {
  address: string;
  port: number;
  /** Payload types of the m= line in order. */
  payloads: number[];
  /** rtpmap per payload type (static types 0 and 8 filled in when the rtpmap is missing). */
  codecs: Map<number, { name: string; rate: number }>;
  /** The first G.711 codec listed, the one a sender should use (RFC 3264 §6.1). */
  codec?: HarnessCodec;
  /** telephone-event/8000 payload type, if offered (RFC 4733 §7.1.1). */
  dtmfPt?: number;
  direction: Direction;
  ptime?: number;
  /** The whole text, for checks the fields above don't cover. */
  raw: string;
}

export interface LocalSdpOptions {
  address: string;
  port: number;
  codecs: HarnessCodec[];
  /** telephone-event payload type; null to offer none. */
  dtmfPt: number | null;
  direction: Direction;
  sessionId: number;
  version: number;
  user?: string;
}

const STATIC: Record<number, { name: string; rate: number }> = {
  0: { name: "PCMU", rate: 8000 },
  8: { name: "PCMA", rate: 8000 },
};

/** An SDP body with one audio stream (RFC 4566 §5, RFC 3551 §6 static types). */
export function buildSdp(o: LocalSdpOptions): string {
  const ip = o.address.includes(":") ? "IP6" : "IP4";
  const pts: number[] = o.codecs.map((c) => (c === "PCMU" ? 0 : 8));
  if (o.dtmfPt !== null) pts.push(o.dtmfPt);
  const lines = [
    "v=0",
    `o=${o.user ?? "harness"} ${o.sessionId} ${o.version} IN ${ip} ${o.address}`,
    "s=vpbx-harness",
    `c=IN ${ip} ${o.address}`,
    "t=0 0",
    `m=audio ${o.port} RTP/AVP ${pts.join(" ")}`,
  ];
  for (const c of o.codecs) lines.push(`a=rtpmap:${c === "PCMU" ? 0 : 8} ${c}/8000`);
  if (o.dtmfPt !== null) lines.push(`a=rtpmap:${o.dtmfPt} telephone-event/8000`, `a=fmtp:${o.dtmfPt} 0-16`);
  lines.push("a=ptime:20", `a=${o.direction}`);
  return lines.join("\r\n") + "\r\n";
}

/** Reads the first audio stream of an SDP body; undefined when there is none. */
export function parseSdp(text: string): RemoteMedia | undefined {
  const s = parse(text);
  const m = s.media.find((x) => x.type === "audio");
  if (!m) return undefined;
  const payloads = String(m.payloads ?? "")
    .split(/\s+/)
    .filter((x) => x.length > 0)
    .map(Number);
  const codecs = new Map<number, { name: string; rate: number }>();
  for (const pt of payloads) if (STATIC[pt]) codecs.set(pt, STATIC[pt]);
  for (const r of m.rtp ?? []) codecs.set(r.payload, { name: r.codec, rate: r.rate ?? 8000 });
  let codec: HarnessCodec | undefined;
  let dtmfPt: number | undefined;
  for (const pt of payloads) {
    const c = codecs.get(pt);
    if (!c) continue;
    const name = c.name.toUpperCase();
    if (!codec && (name === "PCMU" || name === "PCMA")) codec = name;
    if (dtmfPt === undefined && name === "TELEPHONE-EVENT" && c.rate === 8000) dtmfPt = pt;
  }
  const dir = (m.direction ?? s.direction ?? "sendrecv") as Direction;
  return {
    address: m.connection?.ip ?? s.connection?.ip ?? "",
    port: m.port,
    payloads,
    codecs,
    codec,
    dtmfPt,
    direction: dir,
    ptime: m.ptime,
    raw: text,
  };
}

/** The direction an answerer takes for an offered one (RFC 3264 §6.1). */
export function answerDirection(offered: Direction, ours: Direction = "sendrecv"): Direction {
  const weSend = ours === "sendrecv" || ours === "sendonly";
  const weRecv = ours === "sendrecv" || ours === "recvonly";
  const theySend = offered === "sendrecv" || offered === "sendonly";
  const theyRecv = offered === "sendrecv" || offered === "recvonly";
  const send = weSend && theyRecv;
  const recv = weRecv && theySend;
  return send && recv ? "sendrecv" : send ? "sendonly" : recv ? "recvonly" : "inactive";
}
