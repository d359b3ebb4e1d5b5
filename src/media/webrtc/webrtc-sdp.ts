// SDP for a browser leg (JSEP, RFC 8829; ICE, RFC 8839; DTLS-SRTP, RFC 5763
// and RFC 8842; BUNDLE, RFC 8843; rtcp-mux, RFC 5761). We terminate the
// browser's media like an SDES leg: one audio stream, G.711 and
// telephone-event, UDP/TLS/RTP/SAVPF, over the one port that ICE-lite
// answers on. Everything the browser offers beyond that (opus, header
// extensions, feedback, video, data channels) is left out of our SDP, which
// is how offer/answer declines it.
//
// The common SDP reading (formats, direction, payload types) is the sdp
// room's parseSdp; what is WebRTC's own (ICE, fingerprints, setup, mid,
// BUNDLE, candidates) is read here from the attribute lines themselves, since
// sdp-transform keeps one a=fingerprint of several.
import type { G711Codec } from "../codec/g711.ts";
import {
  answerDirection,
  DEFAULT_CODECS,
  g711Of,
  isDtlsSrtp,
  isTelephoneEvent,
  type ParsedSdp,
  parseSdp,
  type Stream,
} from "../sdp/parse.ts";
import { type Direction, type MediaDescription, SdpError } from "../sdp/types.ts";
import { type DtlsFingerprint, formatFingerprint, parseFingerprint } from "./dtls-certificate.ts";
import { HOST_CANDIDATE_PRIORITY, type IceCredentials, isValidIceString } from "./ice-lite.ts";

/** RFC 4145 §4 as narrowed by RFC 5763 §5 and RFC 8842 §5. */
export type DtlsSetup = "actpass" | "active" | "passive" | "holdconn";

/** One a=candidate line (RFC 8839 §5.1); a lite agent only reports them. */
export interface RemoteCandidate {
  foundation: string;
  component: number;
  transport: string;
  priority: number;
  address: string;
  port: number;
  type: string;
}

/** What the browser's SDP says about its transport. */
export interface WebRtcRemoteParameters {
  ice: { ufrag: string; pwd: string; lite: boolean };
  fingerprints: DtlsFingerprint[];
  setup: DtlsSetup;
  /** a=mid of the audio section (RFC 8843); undefined if none. */
  mid?: string;
  /** The mids of the BUNDLE group the audio section belongs to, if any. */
  bundle?: string[];
  candidates: RemoteCandidate[];
  /** a=ssrc ids of the browser's audio (informational: it may send others). */
  ssrcs: number[];
}

/** What an offer or answer read from a browser comes to. */
export interface WebRtcDescription {
  /**
   * The audio stream as for any leg; `address` is "" and `port` 0: where the
   * browser is comes from ICE (the transport's nominated pair), never from
   * c=/m= (a browser writes placeholders there, c=0.0.0.0 port 9).
   */
  media: MediaDescription;
  remote: WebRtcRemoteParameters;
  /** Index of the audio m= line in the SDP. */
  streamIndex: number;
}

/** Our side of the transport, as our SDP announces it. */
export interface WebRtcLocalParameters {
  /** Our host candidate: the leg's address and port (the public address when behind 1:1 NAT). */
  address: string;
  port: number;
  ice: IceCredentials;
  fingerprint: DtlsFingerprint;
  sessionId: string;
  sessionVersion: number;
}

export interface WebRtcAnswerOptions extends WebRtcLocalParameters {
  /** Codecs we accept, in our order of preference; the offerer's order decides (RFC 3264 §6.1). */
  codecs?: readonly G711Codec[];
  direction?: Direction;
  /** Packetisation we want to receive, ms (default 20). */
  ptime?: number;
}

export interface WebRtcOfferOptions extends WebRtcLocalParameters {
  codecs?: readonly G711Codec[];
  /**
   * The codecs with their payload numbers, in order: those of another leg's
   * offer that we relay (the relay passes RTP unchanged, so both sides must
   * use one number). Default: `codecs` with their static numbers (RFC 3551).
   */
  formats?: readonly { codec: G711Codec; pt: number }[];
  /** Dynamic payload type of telephone-event (default 101); null: no telephone-event. */
  telephoneEventPt?: number | null;
  direction?: Direction;
  ptime?: number;
  /** The a=mid of our audio section (default "0"). */
  mid?: string;
  /**
   * A re-offer's m= lines (RFC 3264 §8: as many as before, in the same
   * order): "audio" where our section goes, a declined section (port 0,
   * its mid kept, RFC 8843 §7.3.3) for each other. Default: ["audio"].
   */
  layout?: readonly (DeclinedSection | "audio")[];
}

/** An m= line declined with port 0, as a previous offer or answer had it. */
export interface DeclinedSection {
  type: string;
  protocol: string;
  formatList: string;
  mid?: string;
}

const STATIC_PT: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };
/** RFC 4733 §7.1.1: the DTMF events we send and accept. */
const EVENT_RANGE = "0-15";

/** DTLS-SRTP profiles over UDP (RFC 5764 §8, RFC 5124 for the F): what a browser offers. */
export function isWebRtcProtocol(protocol: string): boolean {
  return isDtlsSrtp(protocol);
}

/** True when an SDP body asks for a DTLS-SRTP leg (a browser's), so that the PBX can pick the leg's kind. */
export function isWebRtcSdp(sdp: string): boolean {
  // Every call's offer comes through here: a desk phone's SDP, which never
  // names the DTLS profile, is not parsed for nothing.
  if (!/UDP\/TLS\/RTP\/SAVP/i.test(sdp)) return false;
  try {
    return parseSdp(sdp).streams.some(
      (s) => s.type === "audio" && s.port > 0 && isWebRtcProtocol(s.protocol),
    );
  } catch {
    return false; // not SDP at all: the caller's own checks say why
  }
}

/**
 * Reads a browser's offer (RFC 8829 §5.2): its first audio section over
 * UDP/TLS/RTP/SAVP(F) with a G.711 codec among `codecs`. Throws SdpError
 * (488) when there is none, or when ICE credentials, a usable fingerprint,
 * or rtcp-mux are missing, or when it wants to be the DTLS server.
 */
export function readWebRtcOffer(
  offer: string,
  codecs: readonly G711Codec[] = DEFAULT_CODECS,
): WebRtcDescription {
  return checkOfferSetup(describe(parseSdp(offer), offer, codecs, "offer"));
}

/** RFC 5763 §5: the offerer says actpass (or active); "passive" would make us the DTLS client, which we are not. */
function checkOfferSetup(d: WebRtcDescription): WebRtcDescription {
  if (d.remote.setup === "passive")
    throw new SdpError("WebRTC offer with a=setup:passive: we only act as DTLS server");
  if (d.remote.setup === "holdconn") throw new SdpError("WebRTC offer with a=setup:holdconn");
  return d;
}

/**
 * Reads a browser's answer to our offer (RFC 8829 §5.3): as the offer, and
 * the browser must have taken a=setup:active (RFC 5763 §5), since we are
 * the DTLS server. Throws SdpError.
 */
export function readWebRtcAnswer(
  answer: string,
  codecs: readonly G711Codec[] = DEFAULT_CODECS,
): WebRtcDescription {
  const d = describe(parseSdp(answer), answer, codecs, "answer");
  if (d.remote.setup !== "active") {
    throw new SdpError(
      `WebRTC answer with a=setup:${d.remote.setup}: we offered actpass and act as DTLS server`,
    );
  }
  return d;
}

/**
 * Answers a browser's offer with our one audio section (ICE-lite, our
 * candidate, our fingerprint, a=setup:passive); every other section is
 * declined with port 0, keeping its mid (RFC 8843 §7.3.3). Returns the
 * answer and what was read from the offer. Throws SdpError (488).
 */
export function answerWebRtcOffer(
  offer: string,
  local: WebRtcAnswerOptions,
): { answer: string } & WebRtcDescription {
  const parsed = parseSdp(offer);
  const d = checkOfferSetup(describe(parsed, offer, local.codecs ?? DEFAULT_CODECS, "offer"));
  const sections = sectionAttributes(offer).media;
  const lines = sessionLines(
    local,
    d.remote.bundle && d.remote.mid !== undefined ? [d.remote.mid] : undefined,
  );
  parsed.streams.forEach((s, i) => {
    if (i !== d.streamIndex) {
      // Declined: port 0, same type, protocol and formats (RFC 3264 §6); the mid stays (RFC 8843 §7.3.3).
      lines.push(`m=${s.type} 0 ${s.protocol || "UDP/TLS/RTP/SAVPF"} ${s.formatList || "0"}`);
      const mid = attribute(sections[i] ?? [], "mid");
      if (mid !== undefined) lines.push(`a=mid:${mid}`);
      return;
    }
    const te = d.media.telephoneEventPt;
    lines.push(
      ...audioSection(local, {
        protocol: s.protocol,
        codecs: [{ codec: d.media.codec, pt: d.media.payloadType }],
        telephoneEventPt: te,
        direction: answerDirection(d.media.direction, local.direction ?? "sendrecv"),
        ptime: local.ptime ?? 20,
        mid: d.remote.mid,
        setup: "passive",
      }),
    );
  });
  return { answer: lines.join("\r\n") + "\r\n", ...d };
}

/** Our offer to a browser (RFC 8829 §5.2): one audio section, a=setup:actpass, ICE-lite. */
export function createWebRtcOffer(local: WebRtcOfferOptions): string {
  const formats =
    local.formats ?? (local.codecs ?? DEFAULT_CODECS).map((codec) => ({ codec, pt: STATIC_PT[codec] }));
  if (formats.length === 0) throw new RangeError("an offer needs at least one codec");
  for (const f of formats) {
    if (!Number.isInteger(f.pt) || f.pt < 0 || f.pt > 127)
      throw new RangeError(`payload type ${f.pt} out of range`);
  }
  const te = local.telephoneEventPt === undefined ? 101 : local.telephoneEventPt;
  if (te !== null && (!Number.isInteger(te) || te < 96 || te > 127))
    throw new RangeError(`telephone-event PT ${te} not dynamic`);
  const mid = local.mid ?? "0";
  const layout = local.layout ?? ["audio"];
  if (layout.filter((l) => l === "audio").length !== 1)
    throw new RangeError("an offer's layout has exactly one audio section");
  const lines = sessionLines(local, [mid]);
  for (const section of layout) {
    if (section !== "audio") {
      lines.push(
        `m=${section.type} 0 ${section.protocol || "UDP/TLS/RTP/SAVPF"} ${section.formatList || "0"}`,
      );
      if (section.mid !== undefined) lines.push(`a=mid:${section.mid}`);
      continue;
    }
    lines.push(
      ...audioSection(local, {
        protocol: "UDP/TLS/RTP/SAVPF",
        codecs: [...formats],
        telephoneEventPt: te ?? undefined,
        direction: local.direction ?? "sendrecv",
        ptime: local.ptime ?? 20,
        mid,
        // RFC 5763 §5: the offerer must say actpass; browsers answer active, which makes us the server.
        setup: "actpass",
      }),
    );
  }
  return lines.join("\r\n") + "\r\n";
}

function sessionLines(local: WebRtcLocalParameters, bundle: string[] | undefined): string[] {
  const ip = local.address.includes(":") ? "IP6" : "IP4";
  const lines = [
    "v=0",
    `o=vpbx ${local.sessionId} ${local.sessionVersion} IN ${ip} ${local.address}`,
    "s=vpbx",
    // Session level, so that declined m= lines are covered too (RFC 4566 §5.7).
    `c=IN ${ip} ${local.address}`,
    "t=0 0",
  ];
  if (bundle) lines.push(`a=group:BUNDLE ${bundle.join(" ")}`);
  // RFC 8839 §5.3: ice-lite is a session-level attribute.
  lines.push("a=ice-lite");
  return lines;
}

interface AudioShape {
  protocol: string;
  codecs: { codec: G711Codec; pt: number }[];
  telephoneEventPt?: number;
  direction: Direction;
  ptime: number;
  mid?: string;
  setup: DtlsSetup;
}

function audioSection(local: WebRtcLocalParameters, a: AudioShape): string[] {
  const pts = a.codecs.map((c) => c.pt);
  if (a.telephoneEventPt !== undefined) pts.push(a.telephoneEventPt);
  const lines = [`m=audio ${local.port} ${a.protocol} ${pts.join(" ")}`];
  if (a.mid !== undefined) lines.push(`a=mid:${a.mid}`);
  lines.push(
    `a=ice-ufrag:${local.ice.ufrag}`,
    `a=ice-pwd:${local.ice.pwd}`,
    `a=fingerprint:${formatFingerprint(local.fingerprint)}`,
    `a=setup:${a.setup}`,
    `a=${a.direction}`,
    // RFC 5761 §5.1.1 / RFC 8858: RTP and RTCP on this one port.
    "a=rtcp-mux",
  );
  for (const c of a.codecs) lines.push(`a=rtpmap:${c.pt} ${c.codec}/8000`);
  if (a.telephoneEventPt !== undefined) {
    lines.push(
      `a=rtpmap:${a.telephoneEventPt} telephone-event/8000`,
      `a=fmtp:${a.telephoneEventPt} ${EVENT_RANGE}`,
    );
  }
  lines.push(`a=ptime:${a.ptime}`);
  // RFC 8839 §5.1: our one host candidate; a lite agent gathers nothing else, so the list ends here (RFC 8840 §4.1).
  lines.push(
    `a=candidate:1 1 udp ${HOST_CANDIDATE_PRIORITY} ${local.address} ${local.port} typ host`,
    "a=end-of-candidates",
  );
  return lines;
}

function describe(
  parsed: ParsedSdp,
  text: string,
  codecs: readonly G711Codec[],
  what: "offer" | "answer",
): WebRtcDescription {
  let sawWebRtc = false;
  let stream: Stream | undefined;
  let chosen: { codec: G711Codec; pt: number } | undefined;
  for (const s of parsed.streams) {
    if (s.type !== "audio" || s.port === 0 || !isWebRtcProtocol(s.protocol)) continue;
    sawWebRtc = true;
    // RFC 3264 §6.1: the offerer's order decides among the codecs we accept.
    const f = s.formats.find((x) => {
      const c = g711Of(x);
      return c !== undefined && codecs.includes(c);
    });
    if (f) {
      stream = s;
      chosen = { codec: g711Of(f)!, pt: f.pt };
      break;
    }
  }
  if (!stream || !chosen) {
    throw new SdpError(
      sawWebRtc
        ? `WebRTC ${what} without G.711 (${codecs.join(", ")}): no common audio codec`
        : `no UDP/TLS/RTP/SAVPF audio stream in the WebRTC ${what}`,
    );
  }
  const attrs = sectionAttributes(text);
  const session = attrs.session;
  const media = attrs.media[stream.index] ?? [];
  // RFC 8839 §5.4: ufrag and pwd at media level, else session level.
  const ufrag = attribute(media, "ice-ufrag") ?? attribute(session, "ice-ufrag");
  const pwd = attribute(media, "ice-pwd") ?? attribute(session, "ice-pwd");
  if (ufrag === undefined || pwd === undefined)
    throw new SdpError(`WebRTC ${what} without ICE credentials (a=ice-ufrag, a=ice-pwd)`);
  if (!isValidIceString(ufrag, 4) || !isValidIceString(pwd, 22)) {
    throw new SdpError(`WebRTC ${what} with malformed ICE credentials (RFC 8839 §5.4)`);
  }
  // RFC 8122 §5: a=fingerprint at media level replaces the session's.
  const fpLines = attributes(media, "fingerprint");
  const fingerprints = (fpLines.length > 0 ? fpLines : attributes(session, "fingerprint"))
    .map(parseFingerprint)
    .filter((f): f is DtlsFingerprint => f !== undefined);
  if (fingerprints.length === 0) {
    throw new SdpError(`WebRTC ${what} without a usable a=fingerprint: DTLS-SRTP needs one (RFC 5763 §5)`);
  }
  const setupText = (attribute(media, "setup") ?? attribute(session, "setup") ?? "active").toLowerCase();
  // RFC 4145 §4: no a=setup means "active".
  if (!["actpass", "active", "passive", "holdconn"].includes(setupText)) {
    throw new SdpError(`WebRTC ${what} with a=setup:${setupText}`);
  }
  // RFC 5761 §5.1.1: without rtcp-mux RTCP would need a second port, which a browser leg never has.
  if (attribute(media, "rtcp-mux") === undefined) throw new SdpError(`WebRTC ${what} without a=rtcp-mux`);
  const mid = attribute(media, "mid");
  const bundle = attributes(session, "group")
    .map((g) => g.trim().split(/\s+/))
    .find((g) => g[0] === "BUNDLE" && mid !== undefined && g.includes(mid))
    ?.slice(1);
  const te = stream.formats.find(isTelephoneEvent);
  const description: MediaDescription = {
    codec: chosen.codec,
    payloadType: chosen.pt,
    address: "",
    port: 0,
    rtcpPort: 0,
    // Not effectiveDirection: c=0.0.0.0 is a browser's placeholder here, not RFC 2543 hold.
    direction: stream.direction,
  };
  if (te) description.telephoneEventPt = te.pt;
  if (stream.ptime !== undefined) description.ptime = stream.ptime;
  const remote: WebRtcRemoteParameters = {
    ice: { ufrag, pwd, lite: attribute(session, "ice-lite") !== undefined },
    fingerprints,
    setup: setupText as DtlsSetup,
    candidates: attributes(media, "candidate")
      .map(parseCandidate)
      .filter((c): c is RemoteCandidate => c !== undefined),
    ssrcs: [
      ...new Set(
        attributes(media, "ssrc")
          .map((v) => Number(/^(\d+)/.exec(v)?.[1]))
          .filter((n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff),
      ),
    ],
  };
  if (mid !== undefined) remote.mid = mid;
  if (bundle) remote.bundle = bundle;
  return { media: description, remote, streamIndex: stream.index };
}

/** RFC 8839 §5.1: foundation component-id transport priority address port "typ" type ... */
function parseCandidate(value: string): RemoteCandidate | undefined {
  const f = value.trim().split(/\s+/);
  if (f.length < 8 || f[6].toLowerCase() !== "typ") return undefined;
  const component = Number(f[1]);
  const priority = Number(f[3]);
  const port = Number(f[5]);
  if (!Number.isInteger(component) || !Number.isInteger(priority) || !Number.isInteger(port))
    return undefined;
  if (port < 0 || port > 65535) return undefined;
  return {
    foundation: f[0],
    component,
    transport: f[2].toLowerCase(),
    priority,
    address: f[4],
    port,
    type: f[7],
  };
}

/** The a= lines of the session part and of each m= section, "name:value" or "name". */
export function sectionAttributes(text: string): { session: string[]; media: string[][] } {
  const session: string[] = [];
  const media: string[][] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) media.push([]);
    else if (line.startsWith("a="))
      (media.length > 0 ? media[media.length - 1] : session).push(line.slice(2));
  }
  return { session, media };
}

/** The value of the first a=name line (a flag gives ""), or undefined. */
function attribute(lines: readonly string[], name: string): string | undefined {
  return attributes(lines, name)[0];
}

function attributes(lines: readonly string[], name: string): string[] {
  const out: string[] = [];
  const lower = name.toLowerCase();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const key = (colon < 0 ? line : line.slice(0, colon)).toLowerCase();
    if (key === lower) out.push(colon < 0 ? "" : line.slice(colon + 1).trim());
  }
  return out;
}
