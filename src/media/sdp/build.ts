// Writing the SDP bodies we send. They are generated rather than edited
// copies of what came in: only what we understand and anchor goes out, so
// no stray ICE candidate, crypto key or address of the far phone leaks
// through the B2BUA.
import type { G711Codec } from "../codec/g711.ts";
import type { Direction } from "./types.ts";

export interface AudioSection {
  kind: "audio";
  port: number;
  protocol: string;
  codecs: { codec: G711Codec; pt: number }[];
  telephoneEventPt?: number;
  direction: Direction;
  ptime?: number;
  /** a=crypto values (RFC 4568 §9.1) of an RTP/SAVP stream. */
  crypto?: string[];
}

/** An m= line we decline: port 0, same type, protocol and formats (RFC 3264 §6). */
export interface RejectedSection {
  kind: "rejected";
  type: string;
  protocol: string;
  formatList: string;
}

export interface SdpShape {
  sessionId: string;
  sessionVersion: string | number;
  address: string;
  sections: (AudioSection | RejectedSection)[];
}

/** "IP6" for an IPv6 address, "IP4" otherwise (RFC 4566 §5.7). */
export function addressType(address: string): "IP4" | "IP6" {
  return address.includes(":") ? "IP6" : "IP4";
}

/** Events we accept and send: the DTMF digits (RFC 4733 §7.1.1 fmtp). */
const EVENT_RANGE = "0-15";

export function buildSdp(shape: SdpShape): string {
  const ip = addressType(shape.address);
  const lines = [
    "v=0",
    `o=vpbx ${shape.sessionId} ${shape.sessionVersion} IN ${ip} ${shape.address}`,
    "s=vpbx",
    `c=IN ${ip} ${shape.address}`,
    "t=0 0",
  ];
  for (const s of shape.sections) {
    if (s.kind === "rejected") {
      lines.push(`m=${s.type} 0 ${s.protocol || "RTP/AVP"} ${s.formatList || "0"}`);
      continue;
    }
    const pts = s.codecs.map((c) => c.pt);
    if (s.telephoneEventPt !== undefined) pts.push(s.telephoneEventPt);
    lines.push(`m=audio ${s.port} ${s.protocol} ${pts.join(" ")}`);
    for (const c of s.codecs) lines.push(`a=rtpmap:${c.pt} ${c.codec}/8000`);
    if (s.telephoneEventPt !== undefined) {
      lines.push(`a=rtpmap:${s.telephoneEventPt} telephone-event/8000`);
      lines.push(`a=fmtp:${s.telephoneEventPt} ${EVENT_RANGE}`);
    }
    if (s.ptime !== undefined) lines.push(`a=ptime:${s.ptime}`);
    for (const c of s.crypto ?? []) lines.push(`a=crypto:${c}`);
    lines.push(`a=${s.direction}`);
  }
  return lines.join("\r\n") + "\r\n";
}
