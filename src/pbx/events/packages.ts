// The event packages we serve (RFC 6665 §7.2) and how a SUBSCRIBE names one:
// the Event header (§8.2.1, with its `id` parameter) and the Accept header
// (§4.2.1.1: a body type the subscriber cannot read is a 406).
import { DIALOG_INFO_TYPE } from "./dialog-info.ts";
import { MESSAGE_SUMMARY_TYPE } from "./message-summary.ts";
import { PIDF_TYPE } from "./pidf.ts";
import { EVENT_PACKAGES, type EventPackage } from "./types.ts";

export interface PackageSpec {
  name: EventPackage;
  /** The one body type we send for it. */
  contentType: string;
  /** Seconds granted when the SUBSCRIBE has no Expires (§4.1.2.1: each package says). */
  defaultExpires: number;
}

export const PACKAGES: Record<EventPackage, PackageSpec> = {
  // RFC 4235 §3.3 suggests 3600 s.
  dialog: { name: "dialog", contentType: DIALOG_INFO_TYPE, defaultExpires: 3600 },
  // RFC 3856 §6.4: 3600 s.
  presence: { name: "presence", contentType: PIDF_TYPE, defaultExpires: 3600 },
  // RFC 3842 §4.3: 3600 s.
  "message-summary": { name: "message-summary", contentType: MESSAGE_SUMMARY_TYPE, defaultExpires: 3600 },
};

/** For Allow-Events (§8.2.2) in a 489. */
export const ALLOW_EVENTS = EVENT_PACKAGES.join(", ");

export interface EventHeader {
  /** The event type, lower-cased. */
  type: string;
  /** The `id` parameter (§8.2.1), echoed in every NOTIFY of the subscription. */
  id?: string;
}

/** Reads `Event: dialog;id=7`. Undefined when there is no usable event type. */
export function parseEvent(value: string | undefined): EventHeader | undefined {
  if (value === undefined) return undefined;
  const [type, ...params] = value.split(";").map((p) => p.trim());
  if (!type || !/^[A-Za-z0-9!%*_+`'~.-]+$/.test(type)) return undefined;
  const out: EventHeader = { type: type.toLowerCase() };
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === "id") {
      const id = p.slice(eq + 1).trim();
      if (/^[A-Za-z0-9!%*_+`'~.-]+$/.test(id)) out.id = id;
    }
  }
  return out;
}

export function isEventPackage(type: string): type is EventPackage {
  return (EVENT_PACKAGES as readonly string[]).includes(type);
}

/** The Event header of our NOTIFYs: the type and the subscription's id (§8.2.1). */
export function formatEvent(pkg: EventPackage, id: string | undefined): string {
  return id === undefined ? pkg : `${pkg};id=${id}`;
}

/** Whether the Accept values (already split) take `contentType`; no Accept at all means the package's default. */
export function accepts(accept: readonly string[], contentType: string): boolean {
  if (accept.length === 0) return true;
  const [wantType, wantSub] = contentType.split("/");
  return accept.some((a) => {
    const range = (a.split(";")[0] ?? "").trim().toLowerCase();
    if (range === "" || range === "*/*") return true;
    const [type, sub] = range.split("/");
    return type === wantType && (sub === wantSub || sub === "*");
  });
}
