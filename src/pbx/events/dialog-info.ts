// The dialog event package's body (RFC 4235 §4): what a busy lamp field
// (BLF) key reads. Yealink, Snom, Polycom and Grandstream keys look at the
// <state> of each <dialog> (early: blink, confirmed: lit) and show the
// <remote><identity> while it rings; a full-state document with no live
// dialog is idle.
import { formatUri } from "../../sip/message/index.ts";
import type { ExtensionDialog } from "./types.ts";
import { escapeXml } from "./xml.ts";

export const DIALOG_INFO_TYPE = "application/dialog-info+xml";

export interface DialogInfoDialog {
  id: string;
  state: "early" | "confirmed" | "terminated";
  direction?: "initiator" | "recipient";
  /** The other party's URI and display name. */
  remote?: { uri: string; displayName?: string };
}

export interface DialogInfo {
  /** The watched resource's URI, e.g. sip:101@acme.test. */
  entity: string;
  /** §4.1.1: rises by one with every document sent in a subscription. */
  version: number;
  dialogs: DialogInfoDialog[];
}

/**
 * A full-state dialog-info document (§4.1, state="full"). An idle resource
 * still lists one dialog, terminated: several desk phones only switch a lit
 * key off when they read a terminated state (Asterisk does the same).
 */
export function dialogInfoXml(info: DialogInfo): string {
  const entity = escapeXml(info.entity);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${info.version}" state="full" entity="${entity}">`,
  ];
  for (const d of info.dialogs) {
    const direction = d.direction ? ` direction="${d.direction}"` : "";
    lines.push(`<dialog id="${escapeXml(d.id)}"${direction}>`, `<state>${d.state}</state>`);
    // §4.1.6: the schema wants <local> before <remote>.
    if (d.state !== "terminated") {
      lines.push("<local>", `<identity>${entity}</identity>`, `<target uri="${entity}"/>`, "</local>");
    }
    if (d.remote) {
      const uri = escapeXml(d.remote.uri);
      const display = d.remote.displayName ? ` display="${escapeXml(d.remote.displayName)}"` : "";
      lines.push("<remote>", `<identity${display}>${uri}</identity>`, `<target uri="${uri}"/>`, "</remote>");
    }
    lines.push("</dialog>");
  }
  lines.push("</dialog-info>");
  return lines.join("\r\n") + "\r\n";
}

/** A SIP URI for a number in the company's domain (the user part escaped as §25.1 wants). */
export function partyUri(number: string, domain: string): string {
  return formatUri({ scheme: "sip", user: number, host: domain, params: {}, headers: {} });
}

/** The dialogs of an extension as its BLF subscribers see them; `idleId` names the placeholder of an idle line. */
export function extensionDialogInfo(
  entity: string,
  domain: string,
  dialogs: readonly ExtensionDialog[],
  version: number,
  idleId: string,
): string {
  const shown: DialogInfoDialog[] = dialogs.map((d) => {
    const out: DialogInfoDialog = { id: d.id, state: d.state, direction: d.direction };
    if (d.remote) {
      // RFC 3323 §4.1.1.3: a withheld caller is the anonymous URI, not a user of the company.
      const uri =
        d.remote.number === "anonymous"
          ? "sip:anonymous@anonymous.invalid"
          : partyUri(d.remote.number, domain);
      out.remote = { uri };
      if (d.remote.displayName) out.remote.displayName = d.remote.displayName;
    }
    return out;
  });
  if (shown.length === 0) shown.push({ id: idleId, state: "terminated" });
  return dialogInfoXml({ entity, version, dialogs: shown });
}

/**
 * A feature code's lamp (*11 call flow, *20 schedule override): "confirmed"
 * while the feature is on, so the key is lit; terminated (off) otherwise.
 */
export function featureLampInfo(entity: string, code: string, on: boolean, version: number): string {
  return dialogInfoXml({
    entity,
    version,
    dialogs: [
      on ? { id: code, state: "confirmed", direction: "initiator" } : { id: code, state: "terminated" },
    ],
  });
}
