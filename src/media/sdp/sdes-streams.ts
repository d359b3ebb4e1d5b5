// SDES keys (RFC 4568) on the streams we write and read. Each leg of the
// B2BUA terminates its own SRTP: the keys of one phone never reach the other,
// and a leg's protocol (RTP/AVP or RTP/SAVP) is decided for that leg alone,
// whatever the other leg uses.
import {
  acceptAnswerCrypto,
  answerCrypto,
  formatCryptoAttribute,
  type SdesAgreement,
  type SdesCrypto,
} from "../srtp/index.ts";
import { isSdesRtp, plainProfile, type Stream, sdesProfile } from "./parse.ts";
import { SdpError } from "./types.ts";

/** How the m= line we send describes the stream: its protocol and a=crypto values. */
export interface SecuredSection {
  protocol: string;
  crypto?: string[];
}

/**
 * Our side of an offered stream (RFC 4568 §7.1.2): plain when it was plain;
 * when it was RTP/SAVP, the offered line we prefer answered with our key —
 * `keep`, the key this leg already sends with, when its suite is the one
 * chosen (a re-offer does not re-key us, so the phone's SRTP context and its
 * rollover counter stay valid), else a fresh one. Throws SdpError (488) when
 * no offered line is acceptable.
 */
export function answerStreamKeys(
  offered: Stream,
  keep?: SdesCrypto,
  srtp = true,
): { section: SecuredSection; srtp?: SdesAgreement } {
  const mandatory = isSdesRtp(offered.protocol);
  // Best effort (RTP/AVP with keys, what baresip's mediaenc=srtp and
  // Asterisk's optimistic encryption send): keys are used when this leg may
  // carry them and one is acceptable, plain RTP otherwise.
  if (!mandatory && (!srtp || offered.crypto.length === 0))
    return { section: { protocol: offered.protocol } };
  const r = answerCrypto(offered.crypto);
  if (!r.ok) {
    if (!mandatory) return { section: { protocol: offered.protocol } };
    throw new SdpError(`SRTP refused: ${r.reason}`);
  }
  const local = keep && keep.profile === r.local.profile ? { ...keep, tag: r.remote.tag } : r.local;
  return {
    section: { protocol: offered.protocol, crypto: [formatCryptoAttribute(local)] },
    srtp: { local, remote: r.remote },
  };
}

/**
 * The protocol and a=crypto values of an offer we make: SAVP with `crypto`
 * when given, else plain; `bestEffort` keeps the plain protocol with the
 * keys (a phone that does not do SRTP ignores them and answers plain).
 */
export function offerSection(
  protocol: string,
  crypto?: readonly SdesCrypto[],
  bestEffort = false,
): SecuredSection {
  if (!crypto || crypto.length === 0) return { protocol: plainProfile(protocol) };
  return {
    protocol: bestEffort ? plainProfile(protocol) : sdesProfile(protocol),
    crypto: crypto.map(formatCryptoAttribute),
  };
}

/**
 * The keys agreed by the answer to our offer (RFC 4568 §7.1.3). An answer
 * that keeps RTP/SAVP must take exactly one of our lines; an answer that
 * turns our SAVP offer into plain RTP is not an answer to it (RFC 3264 §6:
 * the transport cannot change) and is refused like one without a key.
 */
export function answeredKeys(
  answered: Stream,
  offered?: readonly SdesCrypto[],
  bestEffort = false,
): SdesAgreement | undefined {
  const encrypted = isSdesRtp(answered.protocol);
  if (!offered || offered.length === 0) {
    if (encrypted) throw new SdpError("the answer is RTP/SAVP to a plain RTP offer");
    return undefined;
  }
  if (bestEffort && !encrypted) {
    // Our keys in an RTP/AVP offer: a phone without SRTP answers without any.
    if (answered.crypto.length === 0) return undefined;
  } else if (!encrypted) throw new SdpError(`the answer is ${answered.protocol} to an RTP/SAVP offer`);
  const r = acceptAnswerCrypto(offered, answered.crypto);
  if (!r.ok) throw new SdpError(`SRTP answer refused: ${r.reason}`);
  return { local: r.local, remote: r.remote };
}
