// The console's live updates: change notices ("the registrations of 101 of
// acme changed"), published by the rooms where the changes happen (registrar,
// calls, company, voicemail, forwarding, trunk registrations) and heard by
// the API's server-sent events (src/api/live-routes.ts). A notice carries no
// state: the page refetches the resource through the REST API, so a notice
// lost or merged costs nothing but a refetch. The feed has no policy: who may
// hear what is the API's to decide.
//
// Bursts are coalesced on the injected clock: a notice opens a window of
// `coalesceMs` (250 ms); the same notice (type, tenant, extension) published
// again inside it is merged, and the one notice goes out when the window
// closes. Sent at the end, not at the start, so that the last change of a
// burst always has a notice after it (a refetch never stops short of it).
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export const LIVE_TYPES = [
  "registrations",
  "calls",
  "schedule",
  "voicemail",
  "forwarding",
  "trunks",
] as const;
export type LiveType = (typeof LIVE_TYPES)[number];

/** One change notice. */
export interface LiveNotice {
  type: LiveType;
  /** The company concerned; absent for trunks (the provider's). */
  tenant?: string;
  /** The extension concerned (registrations, voicemail, forwarding). */
  extension?: string;
  /**
   * The extensions a `calls` notice concerns (caller, ringing, callee), so
   * that an extension's user hears only of its own calls. Absent: unknown.
   */
  extensions?: string[];
}

/** Where rooms publish. */
export interface LivePublisher {
  publish(notice: LiveNotice): void;
}

/** Where the API listens. */
export interface LiveSource {
  /**
   * `listener` hears every notice from now on; `closed` is called once if
   * the feed closes (the PBX stops) while subscribed. Returns the unsubscribe.
   */
  subscribe(listener: (notice: LiveNotice) => void, closed?: () => void): () => void;
}

export interface LiveFeedDeps {
  clock: Clock;
  log: Logger;
  /** The window in which the same notice is sent once. Default 250 ms. */
  coalesceMs?: number;
}

export const DEFAULT_COALESCE_MS = 250;

interface Subscriber {
  listener: (notice: LiveNotice) => void;
  closed?: () => void;
}

interface Window {
  notice: LiveNotice;
  timer: Timer;
}

export class LiveFeed implements LivePublisher, LiveSource {
  private readonly subscribers = new Set<Subscriber>();
  /** Notices waiting for their window to close, by noticeKey. */
  private readonly windows = new Map<string, Window>();
  private readonly coalesceMs: number;
  private closed = false;

  constructor(private readonly deps: LiveFeedDeps) {
    this.coalesceMs = deps.coalesceMs ?? DEFAULT_COALESCE_MS;
  }

  /** Never throws: a room publishing must not fail for a console. Nothing is kept while nobody listens. */
  publish(notice: LiveNotice): void {
    if (this.closed || this.subscribers.size === 0) return;
    const key = noticeKey(notice);
    const open = this.windows.get(key);
    if (open) {
      open.notice = merge(open.notice, notice);
      return;
    }
    const timer = this.deps.clock.setTimer(this.coalesceMs, () => {
      const window = this.windows.get(key);
      if (window?.timer !== timer) return;
      this.windows.delete(key);
      this.deliver(window.notice);
    });
    this.windows.set(key, { notice: copy(notice), timer });
  }

  subscribe(listener: (notice: LiveNotice) => void, closed?: () => void): () => void {
    if (this.closed) {
      closed?.();
      return () => {};
    }
    const subscriber: Subscriber = { listener, closed };
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.dropWindows();
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The PBX stops: pending notices are dropped and every subscriber hears `closed`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropWindows();
    const all = [...this.subscribers];
    this.subscribers.clear();
    for (const s of all) {
      try {
        s.closed?.();
      } catch (err) {
        this.deps.log.error({ err }, "live feed: a subscriber failed to close");
      }
    }
  }

  private deliver(notice: LiveNotice): void {
    for (const s of [...this.subscribers]) {
      try {
        s.listener(copy(notice));
      } catch (err) {
        this.deps.log.error(
          { err, notice: notice.type, tenant: notice.tenant },
          "live feed: a listener failed",
        );
      }
    }
  }

  private dropWindows(): void {
    for (const w of this.windows.values()) w.timer.cancel();
    this.windows.clear();
  }
}

/** What makes two notices "the same" for coalescing. */
function noticeKey(n: LiveNotice): string {
  return `${n.type}\u0000${n.tenant ?? ""}\u0000${n.extension ?? ""}`;
}

/** Two notices of one key: a `calls` notice concerns the extensions of both (unknown if either does not say). */
function merge(a: LiveNotice, b: LiveNotice): LiveNotice {
  const out = copy({ type: a.type, tenant: a.tenant, extension: a.extension });
  if (a.extensions !== undefined && b.extensions !== undefined)
    out.extensions = [...new Set([...a.extensions, ...b.extensions])];
  return out;
}

function copy(n: LiveNotice): LiveNotice {
  const out: LiveNotice = { type: n.type };
  if (n.tenant !== undefined) out.tenant = n.tenant;
  if (n.extension !== undefined) out.extension = n.extension;
  if (n.extensions !== undefined) out.extensions = [...n.extensions];
  return out;
}
