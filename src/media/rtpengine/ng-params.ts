// Typed parameters → the ng request dictionary. The wire keys are spelt as
// rtpengine 10.5 reads them (the same spellings as its own rtpengine-ng-client
// tool): some with a space ("address family"), some with a hyphen ("call-id").
// Values are checked here so that a bad parameter is a clear error before
// anything is sent, never a daemon's puzzled reply.
import type { BencodeInput } from "./bencode.ts";
import type {
  NgAnswerParams,
  NgDeleteParams,
  NgOfferParams,
  NgPartyParams,
  NgQueryParams,
} from "./ng-types.ts";

export type NgRequest = { [key: string]: BencodeInput | undefined };

export class NgParamError extends Error {
  constructor(command: string, message: string) {
    super(`rtpengine ${command}: ${message}`);
    this.name = "NgParamError";
  }
}

function text(command: string, name: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new NgParamError(command, `${name} must be a non-empty string`);
  }
  return value;
}

function list(command: string, name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) {
    throw new NgParamError(command, `${name} must be a list of non-empty strings`);
  }
  return [...value];
}

function party(command: string, p: NgPartyParams): NgRequest {
  return {
    command,
    "call-id": text(command, "callId", p.callId, true),
    "from-tag": text(command, "fromTag", p.fromTag, true),
    "via-branch": text(command, "viaBranch", p.viaBranch, false),
  };
}

/** The dictionary of an `offer` (or, with `toTag` required, an `answer`). */
export function offerRequest(command: "offer" | "answer", p: NgOfferParams | NgAnswerParams): NgRequest {
  if (typeof p.sdp !== "string" || p.sdp === "")
    throw new NgParamError(command, "sdp must be a non-empty string");
  if (p.direction !== undefined && (list(command, "direction", p.direction)?.length ?? 0) !== 2) {
    throw new NgParamError(command, "direction must name two interfaces");
  }
  if (p.receivedFrom !== undefined && (list(command, "receivedFrom", p.receivedFrom)?.length ?? 0) !== 2) {
    throw new NgParamError(command, "receivedFrom must be [family, address]");
  }
  return {
    ...party(command, p),
    "to-tag": text(command, "toTag", p.toTag, command === "answer"),
    sdp: p.sdp,
    flags: list(command, "flags", p.flags),
    replace: list(command, "replace", p.replace),
    ICE: text(command, "ICE", p.ICE, false),
    direction: p.direction ? [...p.direction] : undefined,
    "address family": text(command, "addressFamily", p.addressFamily, false),
    label: text(command, "label", p.label, false),
    "media address": text(command, "mediaAddress", p.mediaAddress, false),
    "received-from": p.receivedFrom ? [...p.receivedFrom] : undefined,
    "transport protocol": text(command, "transportProtocol", p.transportProtocol, false),
    "endpoint-learning": text(command, "endpointLearning", p.endpointLearning, false),
    "rtcp-mux": list(command, "rtcpMux", p.rtcpMux),
  };
}

export function deleteRequest(p: NgDeleteParams): NgRequest {
  const command = "delete";
  if (p.deleteDelay !== undefined && !(Number.isSafeInteger(p.deleteDelay) && p.deleteDelay >= 0)) {
    throw new NgParamError(command, "deleteDelay must be a whole number of seconds, 0 or more");
  }
  return {
    command,
    "call-id": text(command, "callId", p.callId, true),
    "from-tag": text(command, "fromTag", p.fromTag, false),
    "to-tag": text(command, "toTag", p.toTag, false),
    "via-branch": text(command, "viaBranch", p.viaBranch, false),
    "delete-delay": p.deleteDelay,
    flags: p.fatal === false ? undefined : ["fatal"],
  };
}

export function queryRequest(p: NgQueryParams): NgRequest {
  const command = "query";
  return {
    command,
    "call-id": text(command, "callId", p.callId, true),
    "from-tag": text(command, "fromTag", p.fromTag, false),
    "to-tag": text(command, "toTag", p.toTag, false),
  };
}
