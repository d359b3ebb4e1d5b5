// Our side of ICE as a lite agent (RFC 8445 §2.5): we gather one host
// candidate (the leg's own address and port), never send connectivity
// checks, and answer the browser's. A lite agent is always controlled
// (§6.1.1), so the browser, a full agent, checks every pair and nominates
// one with USE-CANDIDATE; we send media to the source of the last
// authenticated request that carried it (§7.3.1.5: the nominated pair).
//
// Each request is authenticated with short-term credentials (RFC 5389
// §10.1): USERNAME is "ourUfrag:theirUfrag" (RFC 8445 §7.2.2) and
// MESSAGE-INTEGRITY is keyed with our password, which only the browser
// learned, from our SDP. An address that never sent an authenticated request
// is not a valid pair: DTLS and SRTP from it are dropped by the transport.
import { randomInt } from "node:crypto";
import {
  decodeStun,
  encodeStun,
  errorCodeValue,
  findAttribute,
  STUN_BINDING,
  StunAttr,
  StunClass,
  type StunMessage,
  unknownAttributesValue,
  verifyFingerprint,
  verifyIntegrity,
  xorAddress,
} from "./stun-message.ts";

export interface IceCredentials {
  /** a=ice-ufrag: 4 to 256 ice-chars (RFC 8839 §5.4). */
  ufrag: string;
  /** a=ice-pwd: 22 to 256 ice-chars. */
  pwd: string;
}

export interface TransportAddress {
  address: string;
  port: number;
}

/** RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
const ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Fresh credentials from the CSPRNG: a ufrag of 8 characters (48 bits,
 * above the 24 bits of randomness RFC 8445 §5.3 asks of it) and a password
 * of 24 (144 bits, above the 128 required), since the password is the key
 * that keeps strangers from steering the media.
 */
export function generateIceCredentials(): IceCredentials {
  return { ufrag: randomIceString(8), pwd: randomIceString(24) };
}

function randomIceString(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ICE_CHARS[randomInt(ICE_CHARS.length)];
  return out;
}

/** ice-chars only, within the lengths of RFC 8839 §5.4. */
export function isValidIceString(value: string, min: number): boolean {
  return value.length >= min && value.length <= 256 && /^[A-Za-z0-9+/]+$/.test(value);
}

/**
 * RFC 8445 §5.1.2.1: priority = 2^24·type preference + 2^8·local preference
 * + (256 - component ID). A host candidate (type preference 126), one
 * address (local preference 65535), component 1 (RTP; rtcp-mux needs no 2).
 */
export const HOST_CANDIDATE_PRIORITY = (126 << 24) + (65535 << 8) + (256 - 1);

/** What one received STUN packet came to. */
export type BindingOutcome =
  | {
      kind: "authenticated";
      /** The Binding success response to send back to the source. */
      response: Buffer;
      /** The browser nominated this pair (RFC 8445 §7.3.1.5). */
      useCandidate: boolean;
    }
  | {
      /** Refused: an error response to send (RFC 5389 §10.1.2), or nothing (silently dropped). */
      kind: "rejected";
      response?: Buffer;
      reason: string;
    }
  /** A STUN response or indication: nothing for a lite agent to do (it sends no requests). */
  | { kind: "ignored"; reason: string };

/** Attributes a Binding request may carry that we understand (RFC 5389 §7.3.1: others below 0x8000 get 420). */
const KNOWN_REQUIRED = new Set<number>([
  StunAttr.MAPPED_ADDRESS,
  StunAttr.USERNAME,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.ERROR_CODE,
  StunAttr.UNKNOWN_ATTRIBUTES,
  StunAttr.XOR_MAPPED_ADDRESS,
  StunAttr.PRIORITY,
  StunAttr.USE_CANDIDATE,
]);

export class IceLiteResponder {
  private readonly key: Buffer;
  /** The browser's ufrag; undefined while its SDP has not arrived (we offered, checks may come first). */
  remoteUfrag: string | undefined;

  constructor(
    readonly local: IceCredentials,
    remoteUfrag?: string,
  ) {
    this.key = Buffer.from(local.pwd, "utf8");
    this.remoteUfrag = remoteUfrag;
  }

  /**
   * Answers one STUN packet from `from`. Only a Binding request that passes
   * every check (RFC 5389 §10.1.2, RFC 8445 §7.3) is "authenticated"; the
   * caller then knows `from` is a valid pair and, with useCandidate, the
   * nominated one.
   */
  handle(packet: Buffer, from: TransportAddress): BindingOutcome {
    const msg = decodeStun(packet);
    if (!msg) return { kind: "rejected", reason: "malformed STUN message" };
    if (msg.cls !== StunClass.request) return { kind: "ignored", reason: "not a request" };
    // RFC 8445 §7.3: a FINGERPRINT that does not verify means the packet is not STUN at all.
    const fingerprint = findAttribute(msg, StunAttr.FINGERPRINT);
    if (fingerprint && !verifyFingerprint(msg)) return { kind: "rejected", reason: "bad FINGERPRINT" };
    if (msg.method !== STUN_BINDING) {
      return {
        kind: "rejected",
        reason: `method ${msg.method} is not Binding`,
        response: this.error(msg, 400, "Bad Request: only Binding"),
      };
    }
    const username = findAttribute(msg, StunAttr.USERNAME);
    const integrity = findAttribute(msg, StunAttr.MESSAGE_INTEGRITY);
    // RFC 5389 §10.1.2: both missing or either missing is a 400; no MESSAGE-INTEGRITY in it.
    if (!username || !integrity) {
      return {
        kind: "rejected",
        reason: "USERNAME or MESSAGE-INTEGRITY missing",
        response: this.error(msg, 400, "Bad Request"),
      };
    }
    if (!this.usernameMatches(username.value.toString("utf8"))) {
      return { kind: "rejected", reason: "wrong USERNAME", response: this.error(msg, 401, "Unauthorized") };
    }
    if (!verifyIntegrity(msg, this.key)) {
      return {
        kind: "rejected",
        reason: "MESSAGE-INTEGRITY does not verify",
        response: this.error(msg, 401, "Unauthorized"),
      };
    }
    // Authenticated from here on: errors may carry our MESSAGE-INTEGRITY.
    const unknown = msg.attributes.map((a) => a.type).filter((t) => t < 0x8000 && !KNOWN_REQUIRED.has(t));
    if (unknown.length > 0) {
      const response = encodeStun(
        {
          method: STUN_BINDING,
          cls: StunClass.error,
          transactionId: msg.transactionId,
          attributes: [
            { type: StunAttr.ERROR_CODE, value: errorCodeValue(420, "Unknown Attribute") },
            { type: StunAttr.UNKNOWN_ATTRIBUTES, value: unknownAttributesValue(unknown) },
          ],
        },
        { integrityKey: this.key, fingerprint: true },
      );
      return { kind: "rejected", reason: "unknown comprehension-required attribute", response };
    }
    // RFC 8445 §7.3.1.1: we are always controlled; a peer that claims to be
    // controlled too is in conflict, and as a lite agent we cannot switch.
    if (findAttribute(msg, StunAttr.ICE_CONTROLLED)) {
      return {
        kind: "rejected",
        reason: "role conflict: the peer is controlled too",
        response: this.error(msg, 487, "Role Conflict", true),
      };
    }
    const response = encodeStun(
      {
        method: STUN_BINDING,
        cls: StunClass.success,
        transactionId: msg.transactionId,
        attributes: [
          // RFC 8445 §7.3.1.4 / RFC 5389 §15.2: the source we saw, so the browser can learn a peer-reflexive candidate.
          {
            type: StunAttr.XOR_MAPPED_ADDRESS,
            value: xorAddress(from.address, from.port, msg.transactionId),
          },
        ],
      },
      // RFC 8445 §7.3: the response carries MESSAGE-INTEGRITY with the same key, and FINGERPRINT.
      { integrityKey: this.key, fingerprint: true },
    );
    return {
      kind: "authenticated",
      response,
      useCandidate: findAttribute(msg, StunAttr.USE_CANDIDATE) !== undefined,
    };
  }

  /** RFC 8445 §7.2.2: "ourUfrag:theirUfrag"; their part unchecked until their SDP told us what it is. */
  private usernameMatches(value: string): boolean {
    const colon = value.indexOf(":");
    if (colon < 0 || value.slice(0, colon) !== this.local.ufrag) return false;
    return this.remoteUfrag === undefined || value.slice(colon + 1) === this.remoteUfrag;
  }

  private error(msg: StunMessage, code: number, reason: string, authenticated = false): Buffer {
    return encodeStun(
      {
        method: msg.method,
        cls: StunClass.error,
        transactionId: msg.transactionId,
        attributes: [{ type: StunAttr.ERROR_CODE, value: errorCodeValue(code, reason) }],
      },
      { integrityKey: authenticated ? this.key : undefined, fingerprint: true },
    );
  }
}
