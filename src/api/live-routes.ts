// Live updates for the console: `GET /api/v1/events`, a stream of
// server-sent events (HTML Living Standard §9.2, text/event-stream). Each
// event is a change notice of the PBX's live feed (src/pbx/live): `event:
// <type>` and `data: <json>` naming what changed, never the state itself;
// the page refetches it through the REST API, with the same scopes.
//
// Who hears what (the feed has no policy; it is here):
// - the provider hears `trunks`, and a tenant's notices only when it names
//   the tenant (`?tenant=acme`; `?tenant=*` for every tenant);
// - a company's administrator hears its own tenant's notices, never trunks;
// - an extension's user hears the registrations, voicemail and forwarding of
//   its own extension, and the calls of its tenant that concern it.
//
// A stream starts with `retry: 3000` (the browser reconnects after 3 s) and
// gets a comment line `: ping` every 25 s on the injected clock, so that
// proxies and browsers do not take it for dead. A client that does not read
// (its socket's buffer beyond 64 KB) is dropped rather than buffered for:
// notices carry no state, and EventSource reconnects. At most 20 streams
// per principal (429 beyond: a page opened in many tabs, or a leak) and 1000
// in all (503). A stream of a console session ends when the session does
// (logout, expiry: checked at each ping), and when the PBX stops.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { LiveNotice } from "../pbx/live/live-feed.ts";
import type { Store } from "../store/types.ts";
import type { Clock, Timer } from "../util/clock.ts";
import { principalOf, sessionIdHashOf } from "./auth/guard.ts";
import type { Principal } from "./auth/principal.ts";
import { ApiError } from "./errors.ts";
import type { PbxView } from "./pbx-view.ts";
import type { Route } from "./route.ts";

export const EVENTS_URL = "/api/v1/events";

export interface LiveLimits {
  /** Streams one principal may hold at once (429 beyond). */
  perPrincipal: number;
  /** Streams in all (503 beyond). */
  total: number;
  /** A comment line this often (ms of the clock). */
  pingMs: number;
  /** A client whose unsent bytes exceed this is dropped. */
  maxBufferedBytes: number;
  /** What `retry:` tells the browser (ms). */
  retryMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  perPrincipal: 20,
  total: 1000,
  pingMs: 25_000,
  maxBufferedBytes: 64 * 1024,
  retryMs: 3000,
};

export interface LiveRoutesDeps {
  pbx: Pick<PbxView, "live">;
  store: Pick<Store, "tenants" | "sessions">;
  clock: Clock;
  limits?: Partial<LiveLimits>;
}

/** What one stream may hear. */
export interface LiveScope {
  trunks: boolean;
  /** The tenant whose notices it hears; "*" every tenant; undefined none. */
  tenant?: string;
  /** An extension's user: only what concerns this extension. */
  extension?: string;
}

/** The scope of `p` asking for `?tenant=` (already checked to exist). Throws ApiError 403 for another tenant. */
export function scopeOf(p: Principal, tenant: string | undefined): LiveScope {
  if (p.role === "provider") return { trunks: true, tenant };
  if (tenant !== undefined && tenant !== p.tenant) {
    throw new ApiError(
      403,
      "forbidden",
      `you may hear the events of tenant ${p.tenant} only, not of ${tenant}`,
    );
  }
  if (p.role === "admin") return { trunks: false, tenant: p.tenant };
  return { trunks: false, tenant: p.tenant, extension: p.extension };
}

/** Whether a stream of `scope` hears `n`. */
export function hears(scope: LiveScope, n: LiveNotice): boolean {
  if (n.type === "trunks") return scope.trunks;
  if (n.tenant === undefined || scope.tenant === undefined) return false;
  if (scope.tenant !== "*" && n.tenant !== scope.tenant) return false;
  const own = scope.extension;
  if (own === undefined) return true;
  switch (n.type) {
    case "registrations":
    case "voicemail":
    case "forwarding":
      return n.extension === own;
    case "calls":
      return n.extensions === undefined || n.extensions.includes(own);
    default:
      return false;
  }
}

/** The event's data as the contract has it (c12-common.md): what changed, nothing more. */
export function eventData(n: LiveNotice): Record<string, string> {
  switch (n.type) {
    case "trunks":
      return {};
    case "calls":
    case "schedule":
      return { tenant: n.tenant ?? "" };
    default:
      return { tenant: n.tenant ?? "", extension: n.extension ?? "" };
  }
}

/** One notice as an event (§9.2.6): type, then one data line (JSON has no newline), then a blank line. */
export function formatEvent(n: LiveNotice): string {
  return `event: ${n.type}\ndata: ${JSON.stringify(eventData(n))}\n\n`;
}

/** The part of a response a stream writes to (node's ServerResponse; a fake in tests). */
export interface EventSink {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

/** What a stream logs (the request's logger). */
export interface StreamLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One open stream: writes, pings, and drops a client that does not read. */
export class EventStream {
  private timer: Timer | undefined;
  private done = false;

  get isOver(): boolean {
    return this.done;
  }

  constructor(
    private readonly sink: EventSink,
    private readonly opts: {
      clock: Clock;
      limits: LiveLimits;
      log: StreamLog;
      /** Checked at each ping: false ends the stream (a console session that ended). */
      stillValid?: () => Promise<boolean>;
      /** Called once when the stream is over, whatever the reason. */
      onEnd: () => void;
    },
  ) {}

  start(): void {
    this.send(`retry: ${this.opts.limits.retryMs}\n\n`);
    this.schedulePing();
  }

  notice(n: LiveNotice): void {
    this.send(formatEvent(n));
  }

  /** The server side ends it (the PBX stops, the session ended). */
  end(): void {
    if (this.done) return;
    if (!this.sink.destroyed && !this.sink.writableEnded) this.sink.end();
    this.finish();
  }

  /** The client went away. */
  closed(): void {
    this.finish();
  }

  private send(chunk: string): void {
    if (this.done || this.sink.destroyed || this.sink.writableEnded) return;
    this.sink.write(chunk);
    if (this.sink.writableLength > this.opts.limits.maxBufferedBytes) {
      this.opts.log.info(
        { buffered: this.sink.writableLength, max: this.opts.limits.maxBufferedBytes },
        "live events: a client that does not read was dropped",
      );
      this.sink.destroy();
      this.finish();
    }
  }

  private schedulePing(): void {
    this.timer = this.opts.clock.setTimer(this.opts.limits.pingMs, () => {
      if (this.done) return;
      this.send(": ping\n\n");
      if (this.done) return;
      const check = this.opts.stillValid;
      if (!check) return this.schedulePing();
      check().then(
        (valid) => {
          if (valid) this.schedulePing();
          else this.end();
        },
        (err: unknown) => {
          // The store is failing: keep the stream (its next ping asks again).
          this.opts.log.warn({ err }, "live events: could not check the session of a stream");
          this.schedulePing();
        },
      );
    });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.opts.onEnd();
  }
}

/** The route of the live events, for server.ts's route list. */
export function liveRoutes(deps: LiveRoutesDeps): Route[] {
  const limits: LiveLimits = { ...DEFAULT_LIVE_LIMITS, ...deps.limits };
  const perPrincipal = new Map<string, number>();
  let total = 0;

  const principalKey = (p: Principal) => `${p.via}\u0000${p.actor.kind}\u0000${p.actor.id}`;

  /** The provider's `?tenant=` must name a tenant (400); an admin's or user's must be its own (403). */
  const readScope = async (p: Principal, tenant: string | undefined): Promise<LiveScope> => {
    if (p.role === "provider" && tenant !== undefined && tenant !== "*") {
      if (!(await deps.store.tenants.get(tenant)))
        throw new ApiError(400, "bad_request", `tenant ${tenant} does not exist`);
    }
    return scopeOf(p, tenant);
  };

  /** A console session's stream lasts as long as the session. */
  const sessionCheck = (req: FastifyRequest): (() => Promise<boolean>) | undefined => {
    const idHash = sessionIdHashOf(req);
    if (idHash === undefined) return undefined;
    return async () => {
      const session = await deps.store.sessions.get(idHash);
      return session !== undefined && deps.clock.now() < session.expiresAt;
    };
  };

  const open = async (
    req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>,
    reply: FastifyReply,
  ) => {
    const principal = principalOf(req);
    const scope = await readScope(principal, req.query.tenant);
    const source = deps.pbx.live?.();
    if (!source) throw new ApiError(503, "unavailable", "live updates are not running");
    const key = principalKey(principal);
    const mine = perPrincipal.get(key) ?? 0;
    if (mine >= limits.perPrincipal) {
      reply.header("retry-after", String(Math.ceil(limits.retryMs / 1000)));
      throw new ApiError(
        429,
        "too_many_requests",
        `at most ${limits.perPrincipal} event streams at once: close another (a tab) first`,
      );
    }
    if (total >= limits.total) {
      reply.header("retry-after", "30");
      throw new ApiError(503, "unavailable", "too many event streams on this server: try again later");
    }
    const headers = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // A proxy in front (nginx) must pass each event on at once.
      "x-accel-buffering": "no",
    };
    if (req.method === "HEAD") return reply.code(200).headers(headers).send();

    perPrincipal.set(key, mine + 1);
    total++;
    reply.hijack();
    const res: ServerResponse<IncomingMessage> = reply.raw;
    res.writeHead(200, headers);
    // The stream lives long: no Nagle delay for the small writes, no idle timeout of the socket.
    res.socket?.setNoDelay(true);
    res.socket?.setTimeout(0);
    let unsubscribe: (() => void) | undefined;
    const stream = new EventStream(res, {
      clock: deps.clock,
      limits,
      log: req.log,
      stillValid: sessionCheck(req),
      onEnd: () => {
        unsubscribe?.();
        total--;
        const left = (perPrincipal.get(key) ?? 1) - 1;
        if (left > 0) perPrincipal.set(key, left);
        else perPrincipal.delete(key);
      },
    });
    res.on("close", () => stream.closed());
    stream.start();
    unsubscribe = source.subscribe(
      (n) => {
        if (hears(scope, n)) stream.notice(n);
      },
      () => stream.end(),
    );
    // Over already (the feed had closed): nothing must stay subscribed.
    if (stream.isOver) unsubscribe();
    req.log.debug({ scope, streams: total }, "live events: stream opened");
  };

  return [
    {
      method: "GET",
      url: EVENTS_URL,
      access: "authenticated",
      summary:
        "Live change notices (server-sent events): registrations, calls, schedule, voicemail, forwarding, trunks",
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            tenant: {
              type: "string",
              pattern: "^([a-z0-9][a-z0-9-]{0,62}|\\*)$",
              description:
                "The provider: whose notices it hears besides trunks (a tenant's name, or * for every tenant). An administrator or a user always hears its own tenant's; naming another is a 403.",
            },
          },
        },
      },
      errors: [403, 429, 503],
      produces: "text/event-stream",
      async handler(req, reply) {
        await open(req, reply);
        return reply;
      },
    },
  ];
}
