// What the PBX counts for /metrics (src/api/metrics.ts turns it into the
// Prometheus format): SIP error responses we sent, calls ended by tenant and
// outcome (from the call history's records), authentication failures, and
// the RTP counters of every media leg. Nothing here runs per RTP packet:
// the legs count on their own (on their media thread), and their counters
// are summed when /metrics is read, those of released legs kept in a total.
import type { MediaLeg } from "../media/rtp/media-leg.ts";
import type { SipMessage, SipResponse } from "../sip/message/index.ts";
import type { RemoteAddress, SendErrorHandler, SipTransport } from "../sip/transport/types.ts";
import type { CallOutcome, CallRecord } from "../store/types.ts";
import type { MediaLegs } from "./call/media-legs.ts";
import { AuthGuard, type AuthGuardOptions } from "./security/index.ts";

/** RTP packets of every leg since the start. */
export interface RtpTotals {
  received: number;
  sent: number;
  /** Never arrived, from the legs' sequence numbers (RFC 3550 §6.4.1). */
  lost: number;
  /** Received and thrown away: from a source other than the latched one, not RTP, or failing SRTP. */
  dropped: { foreign: number; invalid: number; srtp: number };
}

/** A snapshot of the PBX for /metrics (PbxView.metrics). */
export interface PbxMetrics {
  /** Unexpired registrations (devices) of every tenant, zero included. */
  registrations: Array<{ tenant: string; count: number }>;
  /** Calls in progress by tenant (tenants without a call left out). */
  callsInProgress: Array<{ tenant: string; count: number }>;
  /** Calls ended since the start, by tenant and outcome. */
  callsEnded: Array<{ tenant: string; outcome: CallOutcome; count: number }>;
  /** Final responses ≥ 400 we sent since the start, by status (each response once, not its retransmissions). */
  sipErrorResponses: Array<{ status: number; count: number }>;
  rtp: RtpTotals;
  /** Wrong answers to our digest challenges since the start (what the lockouts count). */
  authFailures: number;
  /** Blocks in force now (store.authBlocks): of sources (addresses, IPv6 /64s) and of accounts. */
  authBlocks: { sources: number; accounts: number };
}

export class PbxCounters {
  private readonly errorResponses = new Map<number, number>();
  /** Responses already counted: Timer G retransmits the same object. */
  private readonly counted = new WeakSet<SipResponse>();
  private readonly ended = new Map<string, Map<CallOutcome, number>>();
  private authFailureCount = 0;
  private readonly liveLegs = new Set<MediaLeg>();
  private readonly retired: RtpTotals = zeroRtp();

  /** A message went out: a final response ≥ 400 is counted by status, once. */
  sent(msg: SipMessage): void {
    if (msg.type !== "response" || msg.status < 400 || this.counted.has(msg)) return;
    this.counted.add(msg);
    this.errorResponses.set(msg.status, (this.errorResponses.get(msg.status) ?? 0) + 1);
  }

  /** A call ended (the call history's record of it, written or not). */
  callEnded(record: Pick<CallRecord, "tenant" | "outcome">): void {
    let byOutcome = this.ended.get(record.tenant);
    if (!byOutcome) {
      byOutcome = new Map();
      this.ended.set(record.tenant, byOutcome);
    }
    byOutcome.set(record.outcome, (byOutcome.get(record.outcome) ?? 0) + 1);
  }

  authFailed(): void {
    this.authFailureCount++;
  }

  get authFailures(): number {
    return this.authFailureCount;
  }

  sipErrorResponses(): PbxMetrics["sipErrorResponses"] {
    return [...this.errorResponses].sort(([a], [b]) => a - b).map(([status, count]) => ({ status, count }));
  }

  callsEnded(): PbxMetrics["callsEnded"] {
    const out: PbxMetrics["callsEnded"] = [];
    for (const [tenant, byOutcome] of this.ended) {
      for (const [outcome, count] of byOutcome) out.push({ tenant, outcome, count });
    }
    return out;
  }

  /** Every leg's RTP counters: the released ones' totals plus the live ones' now. */
  rtp(): RtpTotals {
    const totals = zeroRtp();
    addLeg(totals, this.retired);
    for (const leg of this.liveLegs) addCounters(totals, leg);
    return totals;
  }

  /**
   * The transport as the transaction layer should see it: every message
   * goes through `send`, the one place responses go out, where they are
   * counted. Everything else is the transport's own.
   */
  countingTransport(inner: SipTransport): SipTransport {
    const counters = this;
    return {
      get publicAddress() {
        return inner.publicAddress;
      },
      get port() {
        return inner.port;
      },
      get onMessage() {
        return inner.onMessage;
      },
      set onMessage(fn) {
        inner.onMessage = fn;
      },
      get onParseError() {
        return inner.onParseError;
      },
      set onParseError(fn) {
        inner.onParseError = fn;
      },
      send(msg: SipMessage, remote: RemoteAddress, onError?: SendErrorHandler): void {
        counters.sent(msg);
        inner.send(msg, remote, onError);
      },
      ...(inner.markAuthenticated
        ? { markAuthenticated: (remote: RemoteAddress) => inner.markAuthenticated?.(remote) }
        : {}),
      ...(inner.portFor
        ? { portFor: (t: Parameters<NonNullable<SipTransport["portFor"]>>[0]) => inner.portFor?.(t) }
        : {}),
    };
  }

  /** The media legs, with each leg's counters followed from allocation to release. */
  meteredMediaLegs(inner: MediaLegs): MediaLegs {
    return {
      get address() {
        return inner.address;
      },
      allocate: async (near) => {
        const leg = await inner.allocate(near);
        this.liveLegs.add(leg);
        return leg;
      },
      allocateWebRtc: async (log) => {
        const leg = await inner.allocateWebRtc(log);
        this.liveLegs.add(leg);
        return leg;
      },
      release: (leg) => {
        // The counters as they are now (a worker's leg: its last report) go to the total.
        if (this.liveLegs.delete(leg)) addCounters(this.retired, leg);
        inner.release(leg);
      },
    };
  }
}

/** The guard on password guessing, counting every failure it is told of. */
export class CountingAuthGuard extends AuthGuard {
  constructor(
    opts: AuthGuardOptions,
    private readonly tally: PbxCounters,
  ) {
    super(opts);
  }

  override recordFailure(source: string, account?: string): Promise<void> {
    this.tally.authFailed();
    return super.recordFailure(source, account);
  }
}

/** Whether a block's subject is a source (an IPv4 address, an IPv6 /64) rather than an account ("acme/101"). */
export function isSourceSubject(subject: string): boolean {
  return /[.:]/.test(subject);
}

function zeroRtp(): RtpTotals {
  return { received: 0, sent: 0, lost: 0, dropped: { foreign: 0, invalid: 0, srtp: 0 } };
}

function addCounters(totals: RtpTotals, leg: MediaLeg): void {
  const c = leg.counters;
  totals.received += c.packetsIn;
  totals.sent += c.packetsOut;
  totals.lost += c.packetsLost;
  totals.dropped.foreign += c.foreignDropped;
  totals.dropped.invalid += c.invalidDropped;
  totals.dropped.srtp += c.srtpDropped;
}

function addLeg(totals: RtpTotals, more: RtpTotals): void {
  totals.received += more.received;
  totals.sent += more.sent;
  totals.lost += more.lost;
  totals.dropped.foreign += more.dropped.foreign;
  totals.dropped.invalid += more.dropped.invalid;
  totals.dropped.srtp += more.dropped.srtp;
}
