// GET /metrics: the PBX in the Prometheus text format (prom-client), for a
// monitoring server. It has its own bearer token (VPBX_METRICS_TOKEN), apart
// from the API's: a Prometheus server holds it in its configuration, and it
// reaches nothing but numbers. Unset, /metrics is off (404).
//
// The metrics live in a registry of their own (never prom-client's global
// one, which another library in the process could fill), made on the first
// scrape: a server without a token starts no event-loop monitor. What the
// PBX counts is read once per scrape (PbxView.metrics) and handed to the
// metrics' collect functions, so a scrape costs one snapshot whatever the
// number of metrics. Labels per tenant only where the number of tenants
// bounds them (registrations, calls in progress, calls by outcome); SIP
// statuses and drop reasons are bounded by the protocol and the code.
import { createHash, timingSafeEqual } from "node:crypto";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { ApiError } from "./errors.ts";
import type { PbxMetrics, PbxView } from "./pbx-view.ts";
import type { Route } from "./route.ts";

export const METRICS_URL = "/metrics";

export interface MetricsRouteDeps {
  pbx: Pick<PbxView, "metrics">;
  /** VPBX_METRICS_TOKEN; undefined: /metrics answers 404. */
  token: string | undefined;
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** The Prometheus registry of one server: the PBX's metrics and the process's own. */
export class PbxMetricsRegistry {
  readonly registry = new Registry();
  private snapshot: PbxMetrics | undefined;

  constructor(private readonly source: Pick<PbxView, "metrics">) {
    // Event-loop delay (nodejs_eventloop_lag_*), heap, GC, handles, CPU: prom-client's own.
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const read = (): PbxMetrics | undefined => this.snapshot;
    new Gauge({
      name: "vpbx_registrations",
      help: "Phones (devices) registered now, by tenant",
      labelNames: ["tenant"],
      registers,
      collect() {
        this.reset();
        for (const r of read()?.registrations ?? []) this.set({ tenant: r.tenant }, r.count);
      },
    });
    new Gauge({
      name: "vpbx_calls_in_progress",
      help: "Calls in progress now, by tenant",
      labelNames: ["tenant"],
      registers,
      collect() {
        this.reset();
        const s = read();
        // Every tenant shows, at 0 when it has no call: a series that vanishes reads as missing data.
        for (const r of s?.registrations ?? []) this.set({ tenant: r.tenant }, 0);
        for (const c of s?.callsInProgress ?? []) this.set({ tenant: c.tenant }, c.count);
      },
    });
    new Counter({
      name: "vpbx_calls_total",
      help: "Calls ended since the start, by tenant and outcome (the call history's outcome)",
      labelNames: ["tenant", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const c of read()?.callsEnded ?? []) this.inc({ tenant: c.tenant, outcome: c.outcome }, c.count);
      },
    });
    new Counter({
      name: "vpbx_sip_error_responses_total",
      help: "Final SIP responses of status 400 or more sent since the start, by status (retransmissions not counted)",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const r of read()?.sipErrorResponses ?? []) this.inc({ status: String(r.status) }, r.count);
      },
    });
    new Counter({
      name: "vpbx_rtp_packets_received_total",
      help: "RTP packets received and accepted on every call leg since the start",
      registers,
      collect() {
        this.reset();
        this.inc(read()?.rtp.received ?? 0);
      },
    });
    new Counter({
      name: "vpbx_rtp_packets_sent_total",
      help: "RTP packets sent on every call leg since the start",
      registers,
      collect() {
        this.reset();
        this.inc(read()?.rtp.sent ?? 0);
      },
    });
    new Counter({
      name: "vpbx_rtp_packets_lost_total",
      help: "RTP packets that never reached a call leg since the start, from their sequence numbers (RFC 3550 §6.4.1)",
      registers,
      collect() {
        this.reset();
        this.inc(read()?.rtp.lost ?? 0);
      },
    });
    new Counter({
      name: "vpbx_rtp_packets_dropped_total",
      help: "RTP packets received and dropped since the start: from a source other than the latched one (foreign), not RTP (invalid), failing SRTP authentication or replayed (srtp)",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        const d = read()?.rtp.dropped ?? { foreign: 0, invalid: 0, srtp: 0 };
        for (const reason of ["foreign", "invalid", "srtp"] as const) this.inc({ reason }, d[reason]);
      },
    });
    new Counter({
      name: "vpbx_sip_auth_failures_total",
      help: "Wrong answers to our digest challenges since the start (what the lockouts count)",
      registers,
      collect() {
        this.reset();
        this.inc(read()?.authFailures ?? 0);
      },
    });
    new Gauge({
      name: "vpbx_sip_auth_blocked",
      help: "Blocks against password guessing in force now: of sources (an address, an IPv6 /64) and of accounts",
      labelNames: ["kind"],
      registers,
      collect() {
        this.reset();
        const b = read()?.authBlocks ?? { sources: 0, accounts: 0 };
        this.set({ kind: "source" }, b.sources);
        this.set({ kind: "account" }, b.accounts);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text of one scrape: the PBX read once, then every metric. */
  async scrape(): Promise<string> {
    this.snapshot = (await this.source.metrics?.()) ?? undefined;
    return this.registry.metrics();
  }
}

/** `GET /metrics`, guarded by its own token (the API's guard lets it through as public). */
export function metricsRoutes(deps: MetricsRouteDeps): Route[] {
  const expected = deps.token === undefined ? undefined : sha256(deps.token);
  let registry: PbxMetricsRegistry | undefined;
  return [
    {
      method: "GET",
      url: METRICS_URL,
      access: "public",
      summary:
        "The PBX in the Prometheus text format: registrations and calls by tenant, calls by outcome, SIP error responses, RTP packets, authentication failures and blocks, event-loop delay. Its own bearer token (VPBX_METRICS_TOKEN), not the API's; 404 while it is unset",
      schema: {},
      produces: "text/plain",
      errors: [401, 404],
      async handler(req, reply) {
        if (!expected) throw new ApiError(404, "not_found", "metrics are off: set VPBX_METRICS_TOKEN");
        const header = req.headers.authorization;
        const m = typeof header === "string" ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
        // Hashing first gives equal lengths: timingSafeEqual then leaks nothing of the token.
        if (!m || !timingSafeEqual(sha256(m[1]!), expected)) {
          reply.header("www-authenticate", 'Bearer realm="vpbx-metrics"');
          throw new ApiError(
            401,
            "unauthorized",
            "the metrics token is required: Authorization: Bearer <VPBX_METRICS_TOKEN>",
          );
        }
        registry ??= new PbxMetricsRegistry(deps.pbx);
        const text = await registry.scrape();
        return reply
          .header("content-type", registry.contentType)
          .header("cache-control", "no-store")
          .send(text);
      },
    },
  ];
}
