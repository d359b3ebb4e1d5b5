// The brake on console password guessing: the phones' rules
// (pbx/security/auth-guard.ts), on subjects of their own. Wrong passwords
// count per source (`console-src:<address>`, an IPv6 source by its /64) and
// per username (`console:<username>`, from any source), over the phones'
// windows (per source 10 a minute and 100 an hour, per username 30 an hour
// and 100 a day); crossing one blocks the subject for 10 minutes, each new
// offence four times longer up to 7 days; blocks are kept in the store, so
// a restart forgives nothing and every node sees them. While a subject is
// blocked every login it names is answered 429 with Retry-After, with the
// right password too, so that a blocked guesser learns nothing from a hit.
//
// Usernames count whether they exist or not: a block that only existing
// accounts could earn would tell a guesser which ones exist. As for phones,
// a source where the user logged in lately (7 days) is exempt from the
// username's block (never from its own): a guesser elsewhere cannot lock
// the user out of the office.
import { AuthGuard, type AuthGuardOptions } from "../../pbx/security/auth-guard.ts";
import { sourceKey } from "../../sip/transport/source-key.ts";
import type { AuthBlockRepository } from "../../store/types.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

/** What may differ from the phones' limits (tests, a provider's own policy). */
export type LoginLimits = Partial<
  Pick<
    AuthGuardOptions,
    | "sourceLimits"
    | "accountLimits"
    | "firstBlockMs"
    | "blockGrowth"
    | "maxBlockMs"
    | "forgetAfterMs"
    | "trustMs"
    | "refreshMs"
  >
>;

export const sourceSubject = (address: string): string => `console-src:${sourceKey(address)}`;
export const userSubject = (username: string): string => `console:${username.toLowerCase()}`;

export class LoginGuard {
  private readonly guard: AuthGuard;
  private readonly clock: Clock;

  constructor(opts: { clock: Clock; log: Logger; blocks: AuthBlockRepository; limits?: LoginLimits }) {
    this.guard = new AuthGuard({
      ...opts.limits,
      clock: opts.clock,
      log: opts.log.child({ component: "console-login" }),
      blocks: opts.blocks,
    });
    this.clock = opts.clock;
  }

  /** Milliseconds until a login of `username` from `address` may be tried; 0 when it may now. */
  async blockedFor(address: string, username: string): Promise<number> {
    await this.guard.ready();
    const subject = this.guard.blockedBy(sourceSubject(address), userSubject(username));
    if (subject === undefined) return 0;
    const block = this.guard.activeBlock(subject);
    return block ? Math.max(1, block.until - this.clock.now()) : 0;
  }

  /** Counts a wrong password (or an unknown username); resolves once a block it started is stored. */
  failed(address: string, username: string): Promise<void> {
    return this.guard.recordFailure(sourceSubject(address), userSubject(username));
  }

  /** A good login: this source is exempt from the username's block for a while. */
  succeeded(address: string, username: string): void {
    this.guard.recordSuccess(sourceSubject(address), userSubject(username));
  }

  /** Waits for a background read of the blocks (before the store closes). */
  close(): Promise<void> {
    return this.guard.close();
  }
}
