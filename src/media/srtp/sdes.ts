// SDP security descriptions (RFC 4568): reading and writing a=crypto lines.
//
//   a=crypto:<tag> <crypto-suite> inline:<base64(key || salt)>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//
// What we take is deliberately narrow: one inline key of a suite we
// implement, an optional lifetime, no MKI, no session parameter that would
// change how packets are protected. Anything else is refused with a reason,
// so that the offer/answer code can skip that line and log why.
import { isSrtpProfile, PROFILES, type SrtpProfile } from "./profiles.ts";
import type { SrtpMasterKey } from "./srtp-session.ts";

/** One a=crypto line: the sender's master key for one suite (RFC 4568 §4, §6.1). */
export interface SdesCrypto extends SrtpMasterKey {
  /** 1–9 digits (§9.1); an answer repeats the tag of the offer line it accepts (§7.1.2). */
  tag: number;
  /**
   * Key lifetime in packets (§6.1), when the line gave one. Not enforced
   * here: a sender must re-key (a new offer) before it is used up.
   */
  lifetime?: number;
  /** Session parameters we accepted and ignore (WSH, FEC_ORDER), verbatim. */
  sessionParams: string[];
}

export type SdesRejection =
  | "syntax"
  | "unknown-suite"
  | "key-method"
  | "key-length"
  | "lifetime"
  | "mki"
  | "session-param";

export type SdesParseResult =
  | { ok: true; crypto: SdesCrypto }
  | { ok: false; code: SdesRejection; reason: string };

/** Longest a=crypto value we look at; real lines are under 200 characters. */
const MAX_LINE = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Lifetime limits of §6.1: 2^48 SRTP packets (the SRTCP limit, 2^31, is ours to watch). */
const MAX_LIFETIME = 2 ** 48;

function fail(code: SdesRejection, reason: string): SdesParseResult {
  return { ok: false, code, reason };
}

/**
 * Parses the value of an a=crypto attribute: "1 AES_CM_128_HMAC_SHA1_80
 * inline:...", with or without a leading "a=crypto:" or "crypto:". Never
 * throws.
 */
export function parseCryptoAttribute(value: string): SdesParseResult {
  if (typeof value !== "string") return fail("syntax", "not a string");
  if (value.length > MAX_LINE) return fail("syntax", "a=crypto line too long");
  let text = value.trim();
  if (text.startsWith("a=")) text = text.slice(2);
  if (text.startsWith("crypto:")) text = text.slice("crypto:".length);
  const fields = text.split(/[ \t]+/);
  if (fields.length < 3) return fail("syntax", "a=crypto needs a tag, a suite and key parameters");
  const [tagText, suite, keyParams, ...sessionParams] = fields;
  // §9.1: tag = 1*9DIGIT.
  if (!/^\d{1,9}$/.test(tagText)) return fail("syntax", `bad tag "${tagText.slice(0, 12)}"`);
  // ABNF literals are case-insensitive (RFC 5234 §2.3): suite names, "inline", parameter names.
  const profile = suite.toUpperCase();
  if (!isSrtpProfile(profile)) return fail("unknown-suite", `unsupported crypto suite ${suite.slice(0, 40)}`);
  // §9.2: several key-params are separated by ";"; telling them apart
  // needs an MKI, which we do not support.
  if (keyParams.includes(";")) return fail("mki", "several master keys (MKI) are not supported");
  if (keyParams.slice(0, 7).toLowerCase() !== "inline:") {
    return fail("key-method", `key method ${keyParams.split(":")[0].slice(0, 20)} is not inline`);
  }
  const [keySalt, ...extras] = keyParams.slice("inline:".length).split("|");
  const key = decodeKey(profile, keySalt);
  if (typeof key === "string") return fail("key-length", key);
  if (extras.length > 2) return fail("syntax", "too many | fields in the key parameters");
  let lifetime: number | undefined;
  for (const [i, extra] of extras.entries()) {
    if (extra.includes(":")) {
      // MKI:length (§6.1); always the last field.
      return fail("mki", "an MKI is not supported");
    }
    if (i > 0) return fail("syntax", "the lifetime must come before the MKI");
    const l = parseLifetime(extra);
    if (l === undefined) return fail("lifetime", `bad key lifetime "${extra.slice(0, 20)}"`);
    lifetime = l;
  }
  const kept: string[] = [];
  for (const param of sessionParams) {
    const verdict = checkSessionParam(param);
    if (verdict !== null) return fail("session-param", verdict);
    kept.push(param);
  }
  const crypto: SdesCrypto = {
    tag: Number(tagText),
    profile,
    masterKey: key.subarray(0, PROFILES[profile].keyLength),
    masterSalt: key.subarray(PROFILES[profile].keyLength),
    sessionParams: kept,
  };
  if (lifetime !== undefined) crypto.lifetime = lifetime;
  return { ok: true, crypto };
}

/** key || salt of the suite's lengths (RFC 4568 §6.2, RFC 7714 §14.1), or why not. */
function decodeKey(profile: SrtpProfile, text: string): Uint8Array | string {
  if (!BASE64.test(text)) return "the inline key is not base64";
  const bytes = Buffer.from(text, "base64");
  const want = PROFILES[profile].keyLength + PROFILES[profile].saltLength;
  if (bytes.length !== want) {
    return `${profile} takes a ${want}-byte key and salt, the line has ${bytes.length}`;
  }
  return new Uint8Array(bytes);
}

/** "2^n" or a decimal number of packets, at most 2^48 (§6.1). */
function parseLifetime(text: string): number | undefined {
  let n: number;
  const power = /^2\^(\d{1,2})$/.exec(text);
  if (power) n = 2 ** Number(power[1]);
  else if (/^\d{1,15}$/.test(text)) n = Number(text);
  else return undefined;
  return n >= 1 && n <= MAX_LIFETIME ? n : undefined;
}

/**
 * Session parameters (RFC 4568 §6.3). Those that only hint (WSH: our
 * window is 64 whatever is hinted) or that only matter with FEC, which we
 * never use (FEC_ORDER), are kept and ignored. The others change how
 * packets are protected (KDR: periodic re-derivation, we derive once;
 * UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP: weaker
 * protection; FEC_KEY) or are unknown to us: honouring half of a line
 * would leave the two ends protecting differently, so the line is refused.
 * Returns null for a parameter we accept, else the reason.
 */
function checkSessionParam(param: string): string | null {
  if (/^WSH=\d{1,9}$/i.test(param)) return null;
  if (/^FEC_ORDER=(FEC_SRTP|SRTP_FEC)$/i.test(param)) return null;
  const name = param.split("=")[0].slice(0, 30);
  return `session parameter ${name} is not supported`;
}

/** Writes the a=crypto value (without "a=crypto:") of `c` (RFC 4568 §9.1). */
export function formatCryptoAttribute(c: SdesCrypto): string {
  const key = Buffer.concat([c.masterKey, c.masterSalt]).toString("base64");
  let line = `${c.tag} ${c.profile} inline:${key}`;
  if (c.lifetime !== undefined) {
    const log2 = Math.log2(c.lifetime);
    line += Number.isInteger(log2) ? `|2^${log2}` : `|${c.lifetime}`;
  }
  for (const p of c.sessionParams) line += ` ${p}`;
  return line;
}

/**
 * The a=crypto values of each m= section of an SDP body, in m= order (the
 * order of sdp-transform's `media`). Read from the text because
 * sdp-transform keeps only the first session parameter of a line, and a
 * second one may be the one that makes us refuse it.
 */
export function cryptoAttributesByMedia(sdp: string): string[][] {
  const out: string[][] = [];
  if (typeof sdp !== "string") return out;
  for (const line of sdp.split(/\r\n|\r|\n/)) {
    if (line.startsWith("m=")) out.push([]);
    else if (line.startsWith("a=crypto:") && out.length > 0) {
      out[out.length - 1].push(line.slice("a=crypto:".length).trim());
    }
  }
  return out;
}
