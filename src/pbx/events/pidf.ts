// The presence package's body (RFC 3856 §6.2, PIDF RFC 3863): one tuple,
// open while a device of the extension is registered. "On the phone" is
// said twice, in the ways softphones read it: a <note> in the tuple (RFC
// 3863 §4.1.6) and the RPID activity (RFC 4480 §3.2) that linphone shows and
// baresip's presence module matches literally as "<rpid:on-the-phone/>".
import { escapeXml } from "./xml.ts";

export const PIDF_TYPE = "application/pidf+xml";

export interface PresenceState {
  /** A device is registered. */
  open: boolean;
  /** The extension is in an answered call. */
  onThePhone: boolean;
}

export const ON_THE_PHONE = "On the phone";

/** `id` names the tuple and person elements (an XML ID: it gets a letter in front). */
export function pidfXml(entity: string, id: string, state: PresenceState): string {
  const xmlId = escapeXml(id.replace(/[^A-Za-z0-9._-]/g, "_"));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${escapeXml(entity)}">`,
    `<tuple id="t${xmlId}">`,
    `<status><basic>${state.open ? "open" : "closed"}</basic></status>`,
    `<contact>${escapeXml(entity)}</contact>`,
  ];
  if (state.open && state.onThePhone) lines.push(`<note>${ON_THE_PHONE}</note>`);
  lines.push("</tuple>");
  if (state.open && state.onThePhone) {
    lines.push(
      `<dm:person id="p${xmlId}">`,
      "<rpid:activities><rpid:on-the-phone/></rpid:activities>",
      "</dm:person>",
    );
  }
  lines.push("</presence>");
  return lines.join("\r\n") + "\r\n";
}
