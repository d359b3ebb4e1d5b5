// Choosing keys with SDES offer/answer (RFC 4568 §7): each side sends under
// the key of its own a=crypto line; the answer picks one of the offered
// lines, repeats its tag and suite, and carries the answerer's own key.
import { randomBytes } from "node:crypto";
import { PROFILES, type SrtpProfile } from "./profiles.ts";
import { formatCryptoAttribute, parseCryptoAttribute, type SdesCrypto, type SdesRejection } from "./sdes.ts";

/**
 * Our order of preference, whatever the offerer's order:
 * 1. AES_CM_128_HMAC_SHA1_80: the suite every SDES phone implements (RFC 4568
 *    §6.2's first and the one SIP endpoints default to) with the full 80-bit tag;
 * 2. AES_CM_128_HMAC_SHA1_32: the same cipher and keys with a 32-bit RTP tag,
 *    weaker against forgery but just as interoperable (SRTCP keeps 80 bits);
 * 3. AEAD_AES_128_GCM: sound, but rare over SDES (RFC 7714 §14.1 came a
 *    decade later; phones that offer it mostly also offer AES-CM) and the
 *    dearest for us: Node cannot re-key a GCM context, so every packet
 *    needs a new cipher, where AES-CM runs on one cipher per key (see
 *    bench/srtp.ts for the figures).
 */
export const SDES_PREFERENCE: readonly SrtpProfile[] = [
  "AES_CM_128_HMAC_SHA1_80",
  "AES_CM_128_HMAC_SHA1_32",
  "AEAD_AES_128_GCM",
];

/**
 * A fresh master key and salt for `profile`, from the CSPRNG: keys must be
 * unguessable and never reused (RFC 3711 §9).
 */
export function generateCrypto(tag: number, profile: SrtpProfile): SdesCrypto {
  const p = PROFILES[profile];
  if (!p) throw new RangeError(`unknown SRTP profile ${String(profile)}`);
  if (!Number.isInteger(tag) || tag < 0 || tag > 999_999_999) throw new RangeError("bad a=crypto tag");
  const bytes = randomBytes(p.keyLength + p.saltLength);
  return {
    tag,
    profile,
    masterKey: new Uint8Array(bytes.subarray(0, p.keyLength)),
    masterSalt: new Uint8Array(bytes.subarray(p.keyLength)),
    sessionParams: [],
  };
}

/** The crypto lines of an offer: one per suite, tags 1, 2, ..., each with its own fresh key. */
export function offerCrypto(profiles: readonly SrtpProfile[] = SDES_PREFERENCE): SdesCrypto[] {
  return profiles.map((profile, i) => generateCrypto(i + 1, profile));
}

export interface SdesRejectedLine {
  value: string;
  code: SdesRejection;
  reason: string;
}

/** Keys agreed for one stream: `local` protects what we send, `remote` unprotects what we receive. */
export interface SdesAgreement {
  local: SdesCrypto;
  remote: SdesCrypto;
}

export interface SdesAnswer extends SdesAgreement {
  ok: true;
  /** The a=crypto value (without "a=crypto:") for our answer: our key under the chosen tag. */
  attribute: string;
  /** The offered lines we could not take, with why (worth a debug log). */
  rejected: SdesRejectedLine[];
}

export type SdesAnswerResult = SdesAnswer | { ok: false; reason: string; rejected: SdesRejectedLine[] };

/**
 * Answers an offer's a=crypto values (RFC 4568 §7.1.2): the acceptable line
 * whose suite comes first in `preference` (the offerer's order among lines
 * of the same suite), with a fresh key of ours under the same tag and
 * suite. Lines we cannot accept are listed with their reasons, whichever
 * line was chosen; with none acceptable the stream must be refused
 * (RFC 4568 §7.1.2: the answerer rejects the media stream).
 */
export function answerCrypto(
  offered: readonly string[],
  preference: readonly SrtpProfile[] = SDES_PREFERENCE,
): SdesAnswerResult {
  const rejected: SdesRejectedLine[] = [];
  let best: SdesCrypto | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const value of offered) {
    const r = parseCryptoAttribute(value);
    if (!r.ok) {
      rejected.push({ value, code: r.code, reason: r.reason });
      continue;
    }
    const rank = preference.indexOf(r.crypto.profile);
    if (rank < 0) {
      rejected.push({ value, code: "unknown-suite", reason: `${r.crypto.profile} is not among our suites` });
      continue;
    }
    if (rank < bestRank) {
      best = r.crypto;
      bestRank = rank;
    }
  }
  if (!best) {
    const reason =
      offered.length === 0
        ? "no a=crypto line"
        : `no acceptable a=crypto line (${rejected.map((r) => r.reason).join("; ")})`;
    return { ok: false, reason, rejected };
  }
  const local = generateCrypto(best.tag, best.profile);
  return { ok: true, local, remote: best, attribute: formatCryptoAttribute(local), rejected };
}

export type SdesAnswerCheck = (SdesAgreement & { ok: true }) | { ok: false; reason: string };

/**
 * Reads the answer to our offer (RFC 4568 §7.1.3): exactly one a=crypto
 * line, whose tag is one we offered and whose suite is that line's.
 */
export function acceptAnswerCrypto(
  offered: readonly SdesCrypto[],
  answered: readonly string[],
): SdesAnswerCheck {
  if (answered.length !== 1) {
    return { ok: false, reason: `the answer has ${answered.length} a=crypto lines, not one` };
  }
  const r = parseCryptoAttribute(answered[0]);
  if (!r.ok) return { ok: false, reason: r.reason };
  const ours = offered.find((c) => c.tag === r.crypto.tag);
  if (!ours) return { ok: false, reason: `the answer's tag ${r.crypto.tag} was not offered` };
  if (ours.profile !== r.crypto.profile) {
    return {
      ok: false,
      reason: `tag ${ours.tag} was offered as ${ours.profile}, answered as ${r.crypto.profile}`,
    };
  }
  return { ok: true, local: ours, remote: r.crypto };
}
