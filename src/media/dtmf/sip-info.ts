// DTMF carried in SIP INFO requests (RFC 6086 framework). There is no RFC
// for the bodies: `application/dtmf-relay` (Cisco, "Signal=5\r\nDuration=160")
// and `application/dtmf` (the digit alone) are the two that phones send.
import { DTMF_EVENTS } from "./rfc4733.ts";

/** "5", "*", "#", "a"… or the event numbers 10–15 (10 = *, 11 = #, 12–15 = A–D). */
function signalToDigit(value: string): string | null {
  const v = value.trim().toUpperCase();
  if (v.length === 1 && DTMF_EVENTS.includes(v)) return v;
  if (/^1[0-5]$/.test(v)) return DTMF_EVENTS[Number(v)];
  return null;
}

/** The digit carried by an INFO body, or null if it is not a DTMF body or is malformed. */
export function parseDtmfInfo(contentType: string | undefined, body: string): string | null {
  if (!contentType) return null;
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/dtmf") return signalToDigit(body);
  if (type !== "application/dtmf-relay") return null;
  let digit: string | null = null;
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const eq = line.indexOf("=");
    if (eq < 0) return null;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1);
    if (key === "signal") {
      if (digit !== null) return null;
      digit = signalToDigit(value);
      if (digit === null) return null;
    } else if (key === "duration") {
      if (!/^\s*\d+\s*$/.test(value)) return null;
    }
  }
  return digit;
}
