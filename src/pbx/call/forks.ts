// A ring step on the wire: one INVITE per target at once (parallel forking,
// done as a UA: RFC 3261 §16.7 in spirit). The first 2xx wins and the other
// forks are cancelled with RFC 3326's "Call completed elsewhere" so that the
// other phones do not list a missed call; when every fork failed, the most
// telling failure decides the outcome the router sees.
import type { Dialog, InviteOptions, OutgoingInvite, UserAgent } from "../../sip/dialog/index.ts";
import { getContacts, type HeaderField, type SipResponse } from "../../sip/message/index.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { Outcome, Target } from "./steps.ts";

export interface ForkRequest {
  target: Target;
  invite: InviteOptions;
}

export interface ForkEvents {
  onProvisional(res: SipResponse): void;
  /** The winning 2xx: its dialog exists and is acknowledged. */
  onAnswer(res: SipResponse, dialog: Dialog, target: Target): void;
}

/** RFC 3326: why the other forks are cancelled. */
const COMPLETED_ELSEWHERE: HeaderField = {
  name: "Reason",
  value: 'SIP;cause=200;text="Call completed elsewhere"',
};

interface Fork {
  target: Target;
  invite: OutgoingInvite;
  done: boolean;
  response?: SipResponse;
}

export class ForkSet {
  private readonly forks: Fork[] = [];
  private settled = false;
  private readonly result: Promise<Outcome>;
  private resolve!: (o: Outcome) => void;
  private timer: { cancel(): void } | undefined;

  constructor(
    private readonly ua: UserAgent,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.result = new Promise((r) => {
      this.resolve = r;
    });
  }

  /** Sends every INVITE and resolves with the first answer, or the outcome once all failed or the time ran out. */
  ring(requests: ForkRequest[], timeoutMs: number, events: ForkEvents): Promise<Outcome> {
    if (requests.length === 0) {
      this.settle({ kind: "unreachable" });
      return this.result;
    }
    for (const request of requests) {
      const fork = { target: request.target, done: false } as Fork;
      fork.invite = this.ua.invite(request.invite, {
        onProvisional: (res) => {
          if (!this.settled) events.onProvisional(res);
        },
        onAnswer: (res, dialog) => {
          fork.done = true;
          fork.response = res;
          if (this.settled) {
            // Answered after another fork won, or after the caller left (§13.2.2.4).
            this.ua
              .request(dialog, "BYE")
              .catch((err) => this.log.warn({ err }, "BYE of a late fork failed"));
            return;
          }
          this.cancelOthers(fork, [COMPLETED_ELSEWHERE]);
          this.settle({ kind: "answered" });
          events.onAnswer(res, dialog, fork.target);
        },
        onFailure: (res) => {
          fork.done = true;
          fork.response = res;
          this.log.info({ status: res.status, target: describe(fork.target) }, "fork failed");
          if (this.forks.every((f) => f.done)) this.settle(classify(this.forks));
        },
      });
      this.forks.push(fork);
    }
    this.timer = this.clock.setTimer(timeoutMs, () => {
      if (this.settled) return;
      this.log.info({ timeoutMs }, "no answer within the ring timeout");
      this.cancelOthers(undefined);
      this.settle({ kind: "no-answer" });
    });
    return this.result;
  }

  /**
   * The caller left, or the PBX ends the call: every fork still ringing is
   * cancelled ("completed elsewhere" when someone picked the call up).
   */
  cancel(completedElsewhere = false): void {
    this.cancelOthers(undefined, completedElsewhere ? [COMPLETED_ELSEWHERE] : undefined);
    this.settle({ kind: "caller-gone" });
  }

  /** Call-IDs of the forks, for the call list and the logs. */
  get callIds(): string[] {
    return this.forks.map((f) => f.invite.request.headers.find((h) => h.name === "Call-ID")?.value ?? "");
  }

  private cancelOthers(winner: Fork | undefined, headers?: HeaderField[]): void {
    for (const fork of this.forks) if (fork !== winner && !fork.done) fork.invite.cancel(headers);
  }

  private settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    this.timer?.cancel();
    this.resolve(outcome);
  }
}

function describe(target: Target): string {
  return target.kind === "device" ? target.binding.contact : `trunk ${target.trunk.name}:${target.number}`;
}

/**
 * RFC 3261 §16.7 step 6 in spirit: the most telling failure among the forks.
 * A redirect wins when no device said busy (the phone's own forwarding or
 * do-not-disturb, RFC 3261 §8.1.3.4); 486/600/603 mean busy or declined (the
 * users' page); 404/408/410/480/503 from every device mean nobody could be
 * reached.
 */
export function classify(forks: ReadonlyArray<{ response?: SipResponse }>): Outcome {
  const responses = forks.map((f) => f.response).filter((r): r is SipResponse => r !== undefined);
  const statuses = responses.map((r) => r.status);
  if (statuses.some((s) => s === 486 || s === 600 || s === 603)) return { kind: "busy" };
  const redirect = responses.find((r) => r.status >= 300 && r.status < 400);
  if (redirect) {
    const contacts = redirectContacts(redirect);
    if (contacts.length > 0) return { kind: "redirected", contacts };
  }
  if (statuses.length > 0 && statuses.every((s) => [404, 408, 410, 480, 503].includes(s))) {
    return { kind: "unreachable" };
  }
  const worst = responses.find((r) => r.status >= 400);
  return worst ? { kind: "rejected", status: worst.status, reason: worst.reason } : { kind: "unreachable" };
}

/** The Contact URIs of a 3xx, most preferred first (q-values, RFC 3261 §20.10). */
function redirectContacts(res: SipResponse): string[] {
  try {
    const contacts = getContacts(res);
    if (contacts === "*") return [];
    return [...contacts]
      .sort((a, b) => Number(b.params.q ?? 1) - Number(a.params.q ?? 1))
      .map((c) => (c.uri.user ? c.uri.user : ""))
      .filter((u) => u !== "");
  } catch {
    return [];
  }
}
