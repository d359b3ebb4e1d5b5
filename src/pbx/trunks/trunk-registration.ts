// Outbound registration toward carriers (RFC 3261 §10.2): for every trunk
// with `register: true` we keep a binding of the trunk's account to our
// Contact alive at the carrier, so that it sends the trunk's calls to us.
//
// Choices, written down:
// - One Call-ID per trunk registration, the CSeq rising by one per REGISTER
//   (§10.2.4: the registrar orders refreshes by them); a changed trunk
//   starts afresh with a new Call-ID once the old binding is removed.
// - Expires 600 asked; the refresh is sent at half of what the carrier
//   granted (the Contact's expires parameter, else the Expires header,
//   §10.2.4), so that one lost refresh still leaves time for the next try.
// - A failure (a final non-2xx, a 401 the password does not satisfy, a
//   timeout, a host that does not resolve) is retried after 30 s, doubling
//   up to 10 min, so a carrier in trouble is not hammered; a 423 is answered
//   at once with the Min-Expires it asks for (§10.2.8).
// - Removal (Expires: 0, same Call-ID) only for a binding the carrier
//   confirmed, and bounded in time: the carrier lets it expire anyway.
import { DigestClient } from "../../sip/auth/digest-client.ts";
import type { UserAgent } from "../../sip/dialog/user-agent.ts";
import {
  createRequest,
  formatNameAddr,
  getContacts,
  getCSeq,
  getExpires,
  getHeader,
  newCallId,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from "../../sip/message/index.ts";
import { isSynthetic } from "../../sip/transaction/types.ts";
import type { RemoteAddress } from "../../sip/transport/types.ts";
import type { Trunk, TrunkRepository } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { LivePublisher } from "../live/live-feed.ts";
import { resolveTrunkRemote, stripBrackets, trunkTransport } from "./host-lookup.ts";

export type TrunkRegistrationState = "disabled" | "registering" | "registered" | "failed";

export interface TrunkRegistrationStatus {
  state: TrunkRegistrationState;
  /** While registered: when the carrier's binding runs out (ISO). */
  expiresAt?: string;
  /** Why the last attempt failed ("503 Service Unavailable", "no answer from the carrier"...). */
  lastError?: string;
  /** The status of the last final response, synthetic 408/503 included. */
  lastStatus?: number;
}

export interface TrunkRegistrationDeps {
  ua: Pick<UserAgent, "sendAuthenticated" | "sendRequest">;
  store: { trunks: Pick<TrunkRepository, "list"> };
  clock: Clock;
  log: Logger;
  /** Host and port of our Contact (an IPv6 address without brackets is accepted). */
  contactHost: string;
  contactPort: number;
  /** Our port for another transport (the TLS listener's for a trunk over TLS); default contactPort. */
  contactPortFor?: (transport: RemoteAddress["transport"]) => number | undefined;
  /** Where a trunk's REGISTER goes. Default: its host resolved now (node:dns), its port and transport. */
  remoteOf?: (trunk: Trunk) => Promise<RemoteAddress>;
  /** Seconds asked in Expires. Default 600. */
  expires?: number;
  /** First retry delay after a failure; doubles up to retryMaxMs. Default 30 s. */
  retryMinMs?: number;
  /** Default 10 min. */
  retryMaxMs?: number;
  /** How often the store is read again. Default 30 s. */
  reconcileMs?: number;
  /** Upper bound of one de-registration, and of stop(). Default 5 s. */
  removeTimeoutMs?: number;
  /** The console's change notices: `trunks` when a trunk's state changes (not at each refresh). */
  live?: LivePublisher;
}

/** The fields that, when changed, make a registration start afresh. */
function registrationKey(t: Trunk): string {
  return JSON.stringify([t.register, t.host, t.port, t.transport, t.username ?? null, t.password ?? null]);
}

/** The registration of one trunk, from its first REGISTER to its removal. */
interface Registration {
  trunk: Trunk;
  key: string;
  log: Logger;
  status: TrunkRegistrationStatus;
  callId: string;
  /** The CSeq of the last REGISTER sent. */
  cseq: number;
  /** Seconds to ask for: `expires`, or a carrier's Min-Expires (423). */
  asked: number;
  digest?: DigestClient;
  timer?: Timer;
  failures: number;
  /** The carrier confirmed a binding that we have not removed since. */
  bound: boolean;
  /** Where the last REGISTER went, for the removal. */
  remote?: RemoteAddress;
  /** The REGISTER exchange in progress. */
  inflight?: Promise<void>;
  /** Replaced, deleted or stopped: results only matter for the removal. */
  retired: boolean;
  /** The removal in progress, shared by whoever asks for it. */
  retiring?: Promise<void>;
}

const MIN_REFRESH_MS = 1_000;
const MAX_MIN_EXPIRES = 86_400;

export class TrunkRegistrations {
  private readonly deps: TrunkRegistrationDeps;
  private readonly remoteOf: (trunk: Trunk) => Promise<RemoteAddress>;
  private readonly expires: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly reconcileMs: number;
  private readonly removeTimeoutMs: number;
  private readonly contactHost: string;
  private readonly registrations = new Map<string, Registration>();
  /** Trunks in the store that do not register: reported as "disabled". */
  private readonly disabled = new Set<string>();
  private reconcileTimer: Timer | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private running = false;
  /** Counts start/stop, so that a reconcile timer of an earlier run never re-arms. */
  private epoch = 0;

  constructor(deps: TrunkRegistrationDeps) {
    this.deps = deps;
    this.remoteOf = deps.remoteOf ?? ((trunk) => resolveTrunkRemote(trunk));
    this.expires = deps.expires ?? 600;
    this.retryMinMs = deps.retryMinMs ?? 30_000;
    this.retryMaxMs = deps.retryMaxMs ?? 600_000;
    this.reconcileMs = deps.reconcileMs ?? 30_000;
    this.removeTimeoutMs = deps.removeTimeoutMs ?? 5_000;
    const host = deps.contactHost;
    this.contactHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  }

  /** Reads the trunks and starts registering those that ask for it; then re-reads them every 30 s. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.epoch++;
    await this.reconcile();
    this.scheduleReconcile();
  }

  /**
   * Brings the registrations in line with the store: new trunks start,
   * changed ones are removed at the carrier and start afresh, deleted or
   * no longer registering ones are removed (Expires: 0). Calls are
   * serialised; a store failure is logged and changes nothing.
   */
  reconcile(): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileNow());
    this.reconciling = run.catch((err) => this.deps.log.error({ err }, "trunk reconcile failed"));
    return this.reconciling;
  }

  /** The registration state of a trunk; undefined for a name the store did not have at the last reconcile. */
  state(name: string): TrunkRegistrationStatus | undefined {
    const reg = this.registrations.get(name);
    if (reg) return { ...reg.status };
    return this.disabled.has(name) ? { state: "disabled" } : undefined;
  }

  /** Removes every binding we hold (best effort, within removeTimeoutMs) and cancels every timer. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.epoch++;
    this.reconcileTimer?.cancel();
    this.reconcileTimer = undefined;
    const all = [...this.registrations.values()];
    this.registrations.clear();
    for (const reg of all) this.disabled.add(reg.trunk.name);
    await this.within(Promise.all(all.map((reg) => this.retire(reg))), this.removeTimeoutMs, () =>
      this.deps.log.warn(
        { trunks: all.map((reg) => reg.trunk.name) },
        "trunk de-registration did not finish in time",
      ),
    );
  }

  // --- reconciling -----------------------------------------------------------

  private scheduleReconcile(): void {
    if (!this.running) return;
    const epoch = this.epoch;
    this.reconcileTimer = this.deps.clock.setTimer(this.reconcileMs, () => {
      void this.reconcile().finally(() => {
        if (epoch === this.epoch) this.scheduleReconcile();
      });
    });
  }

  private async reconcileNow(): Promise<void> {
    if (!this.running) return;
    const trunks = await this.deps.store.trunks.list();
    if (!this.running) return;
    const seen = new Set<string>();
    const removals: Promise<void>[] = [];
    for (const trunk of trunks) {
      seen.add(trunk.name);
      const reg = this.registrations.get(trunk.name);
      const key = registrationKey(trunk);
      if (reg && reg.key === key) {
        reg.trunk = trunk;
        continue;
      }
      if (reg) {
        reg.log.info("trunk changed; registering afresh");
        // Left in place (its state reads "disabled" while removed) until begin() replaces it.
        // The old binding goes first: a removal of our Contact arriving after
        // the new REGISTER would take the new binding with it.
        removals.push(this.retire(reg).then(() => this.begin(trunk)));
      } else {
        this.begin(trunk);
      }
    }
    for (const [name, reg] of this.registrations) {
      if (seen.has(name)) continue;
      reg.log.info("trunk deleted; removing its registration");
      this.registrations.delete(name);
      removals.push(this.retire(reg));
    }
    for (const name of this.disabled) {
      if (seen.has(name)) continue;
      this.disabled.delete(name);
      this.changed();
    }
    await Promise.all(removals);
  }

  /** Starts the registration of a trunk, or records it as disabled. */
  private begin(trunk: Trunk): void {
    if (!this.running) return;
    if (!trunk.register) {
      const was = this.state(trunk.name)?.state;
      this.registrations.delete(trunk.name);
      this.disabled.add(trunk.name);
      if (was !== "disabled") this.changed();
      return;
    }
    this.disabled.delete(trunk.name);
    const log = this.deps.log.child({ trunk: trunk.name });
    const reg: Registration = {
      trunk,
      key: registrationKey(trunk),
      log,
      status: { state: "registering" },
      callId: newCallId(),
      cseq: 0,
      asked: this.expires,
      failures: 0,
      bound: false,
      retired: false,
    };
    if (trunk.username && trunk.password !== undefined)
      reg.digest = new DigestClient({ username: trunk.username, password: trunk.password });
    this.registrations.set(trunk.name, reg);
    this.changed();
    if (!trunk.username) {
      // Nothing to put in To/From: a configuration error, not worth retrying until the trunk changes.
      this.setStatus(reg, { state: "failed", lastError: "trunk has no username to register with" });
      log.error("trunk is set to register but has no username");
      return;
    }
    log.info({ host: trunk.host, port: trunk.port, transport: trunk.transport }, "registering trunk");
    this.send(reg);
  }

  // --- registering -----------------------------------------------------------

  /** Sends one REGISTER (answering its challenges) unless one is in flight. */
  private send(reg: Registration): void {
    if (reg.inflight || reg.retired) return;
    reg.timer?.cancel();
    reg.timer = undefined;
    if (reg.status.state !== "registered") this.setStatus(reg, { ...reg.status, state: "registering" });
    reg.inflight = this.exchange(reg)
      .catch((err) => {
        reg.log.error({ err }, "trunk registration failed unexpectedly");
        this.failed(reg, err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        reg.inflight = undefined;
      });
  }

  private async exchange(reg: Registration): Promise<void> {
    let remote: RemoteAddress;
    try {
      remote = await this.remoteOf(reg.trunk);
    } catch (err) {
      this.failed(reg, err instanceof Error ? err.message : String(err));
      return;
    }
    if (reg.retired) return;
    reg.remote = remote;
    const { response, request } = await this.transact(reg, remote, reg.asked);
    if (response.status >= 200 && response.status < 300) {
      // Even when retired meanwhile: the removal must know the carrier holds a binding.
      reg.bound = true;
      if (reg.retired) return;
      this.registered(reg, response, request);
      return;
    }
    if (reg.retired) return;
    if (response.status === 423) {
      // §10.2.8: ask again at once for what the carrier accepts, if it is sane.
      const min = Number(getHeader(response, "Min-Expires"));
      if (Number.isInteger(min) && min > reg.asked && min <= MAX_MIN_EXPIRES) {
        reg.log.info({ minExpires: min }, "carrier wants a longer registration; asking again");
        reg.asked = min;
        const again = await this.transact(reg, remote, reg.asked);
        if (again.response.status >= 200 && again.response.status < 300) {
          reg.bound = true;
          if (!reg.retired) this.registered(reg, again.response, again.request);
          return;
        }
        if (!reg.retired) this.failed(reg, describe(again.response), again.response.status);
        return;
      }
    }
    this.failed(reg, describe(response), response.status);
  }

  /** One REGISTER with `expires`, challenges answered; the CSeq carries on from the last one sent. */
  private async transact(
    reg: Registration,
    remote: RemoteAddress,
    expires: number,
  ): Promise<{ response: SipResponse; request: SipRequest }> {
    const req = this.buildRegister(reg, remote, expires);
    const result = reg.digest
      ? await this.deps.ua.sendAuthenticated(req, remote, reg.digest)
      : { response: await this.deps.ua.sendRequest(req, remote), request: req };
    reg.cseq = Math.max(reg.cseq, getCSeq(result.request).seq);
    return result;
  }

  private registered(reg: Registration, res: SipResponse, req: SipRequest): void {
    const granted = this.grantedSeconds(reg, res);
    if (granted <= 0) {
      this.failed(reg, "carrier granted no registration time", res.status);
      return;
    }
    const now = this.deps.clock.now();
    reg.failures = 0;
    this.setStatus(reg, {
      state: "registered",
      expiresAt: new Date(now + granted * 1000).toISOString(),
      lastStatus: res.status,
    });
    const refreshMs = Math.max(MIN_REFRESH_MS, (granted * 1000) / 2);
    reg.log.info({ expires: granted, cseq: getCSeq(req).seq }, "trunk registered");
    reg.timer = this.deps.clock.setTimer(refreshMs, () => {
      reg.timer = undefined;
      this.send(reg);
    });
  }

  private failed(reg: Registration, error: string, status?: number): void {
    if (reg.retired) return;
    reg.failures++;
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(reg.failures - 1, 30));
    const failed: TrunkRegistrationStatus = { state: "failed", lastError: error };
    if (status !== undefined) failed.lastStatus = status;
    this.setStatus(reg, failed);
    reg.log.warn({ error, status, retryInMs: delay, failures: reg.failures }, "trunk registration failed");
    reg.timer?.cancel();
    reg.timer = this.deps.clock.setTimer(delay, () => {
      reg.timer = undefined;
      this.send(reg);
    });
  }

  /**
   * §10.2.4: the expiry the carrier granted our binding: the expires
   * parameter of our Contact in the 2xx, else the Expires header, else what
   * we asked. Our Contact is found by its user and port (the carrier may
   * rewrite the host it saw through NAT); a single Contact is ours.
   */
  private grantedSeconds(reg: Registration, res: SipResponse): number {
    let contacts: ReturnType<typeof getContacts> = [];
    try {
      contacts = getContacts(res);
    } catch (err) {
      reg.log.info(
        { err: err instanceof Error ? err.message : String(err) },
        "unreadable Contact in the 2xx",
      );
    }
    if (contacts !== "*") {
      const withExpiry = contacts.filter((c) => c.params.expires !== undefined && c.params.expires !== null);
      const ours =
        withExpiry.find(
          (c) =>
            c.uri.user === reg.trunk.username &&
            (c.uri.port ?? 5060) ===
              (this.deps.contactPortFor?.(trunkTransport(reg.trunk)) ?? this.deps.contactPort),
        ) ?? (withExpiry.length === 1 ? withExpiry[0] : undefined);
      const value = ours?.params.expires;
      if (typeof value === "string" && /^[0-9]{1,10}$/.test(value)) return Number(value);
    }
    try {
      const header = getExpires(res);
      if (header !== undefined) return header;
    } catch (err) {
      reg.log.info(
        { err: err instanceof Error ? err.message : String(err) },
        "unreadable Expires in the 2xx",
      );
    }
    return reg.asked;
  }

  // --- removing --------------------------------------------------------------

  /** Stops a registration for good: timers off, then its binding removed at the carrier if it has one. */
  private retire(reg: Registration): Promise<void> {
    reg.retiring ??= this.remove(reg);
    return reg.retiring;
  }

  private async remove(reg: Registration): Promise<void> {
    reg.retired = true;
    this.setStatus(reg, { state: "disabled" });
    reg.timer?.cancel();
    reg.timer = undefined;
    // A REGISTER in flight may still create a binding: wait for its answer (bounded) before removing.
    if (reg.inflight) await this.within(reg.inflight, this.removeTimeoutMs);
    if (!reg.bound || !reg.remote) return;
    const done = this.transact(reg, reg.remote, 0).then(
      ({ response }) => {
        reg.bound = false;
        if (response.status >= 200 && response.status < 300) reg.log.info("trunk registration removed");
        else
          reg.log.warn({ status: response.status, error: describe(response) }, "carrier refused the removal");
      },
      (err) => reg.log.warn({ err }, "could not remove the trunk registration"),
    );
    await this.within(done, this.removeTimeoutMs, () =>
      reg.log.warn("no answer to the removal in time; the carrier will let it expire"),
    );
  }

  private buildRegister(reg: Registration, remote: RemoteAddress, expires: number): SipRequest {
    const trunk = reg.trunk;
    const username = trunk.username ?? trunk.name;
    const host = stripBrackets(trunk.host);
    const uriHost = host.includes(":") ? `[${host}]` : host;
    const aor: SipUri = { scheme: "sip", user: username, host: uriHost, params: {}, headers: {} };
    // §10.2: the Request-URI names the registrar's domain, without user.
    const requestUri: SipUri = { scheme: "sip", host: uriHost, params: {}, headers: {} };
    if (trunk.port !== 5060) requestUri.port = trunk.port;
    const contact: SipUri = {
      scheme: "sip",
      user: username,
      host: this.contactHost,
      port: this.deps.contactPortFor?.(remote.transport) ?? this.deps.contactPort,
      params: remote.transport === "UDP" ? {} : { transport: remote.transport.toLowerCase() },
      headers: {},
    };
    reg.cseq++;
    return createRequest("REGISTER", requestUri, {
      from: { uri: aor, params: {} },
      to: { uri: aor, params: {} },
      callId: reg.callId,
      cseq: reg.cseq,
      headers: [
        { name: "Contact", value: formatNameAddr({ uri: contact, params: {} }) },
        { name: "Expires", value: String(expires) },
        { name: "User-Agent", value: "vpbx" },
      ],
    });
  }

  /** A registration's new status; the console hears of a new state or a new error, not of a refresh. */
  private setStatus(reg: Registration, status: TrunkRegistrationStatus): void {
    const before = reg.status;
    reg.status = status;
    if (before.state !== status.state || before.lastError !== status.lastError) this.changed();
  }

  private changed(): void {
    this.deps.live?.publish({ type: "trunks" });
  }

  /** Waits for `p` at most `ms` of the clock; on timeout calls `onTimeout` and resolves. */
  private async within(p: Promise<unknown>, ms: number, onTimeout?: () => void): Promise<void> {
    let timer: Timer | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = this.deps.clock.setTimer(ms, () => resolve("timeout"));
    });
    const outcome = await Promise.race([p.then(() => "done" as const), timeout]);
    timer?.cancel();
    if (outcome === "timeout") onTimeout?.();
  }
}

function describe(res: SipResponse): string {
  if (isSynthetic(res)) {
    return res.status === 408
      ? "no answer from the carrier (timeout)"
      : `could not reach the carrier (${res.status})`;
  }
  return `${res.status} ${res.reason}`;
}
