// Live updates: the server-sent events of GET /api/v1/events (same cookie as
// the API). Each event is a notice that something changed (registrations,
// calls, schedule, voicemail, forwarding, trunks); whoever listens refetches
// it through the REST API. A lost connection is opened again after a delay
// that doubles (backoff.ts), and listeners hear "reconnected" to refetch
// what they may have missed meanwhile.
import { backoffDelay } from "./lib/backoff.ts";

export const LIVE_EVENT_TYPES = [
  "registrations",
  "calls",
  "schedule",
  "voicemail",
  "forwarding",
  "trunks",
] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number] | "reconnected";

export interface LiveNotice {
  type: LiveEventType;
  tenant?: string;
  extension?: string;
}

/** The part of EventSource used here, so that a test can give its own. */
export interface EventSourceLike {
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export type LiveState = "connecting" | "open" | "waiting";

export interface LiveOptions {
  url: string;
  open(url: string): EventSourceLike;
  onNotice(n: LiveNotice): void;
  onState?(s: LiveState): void;
  setTimer?(fn: () => void, ms: number): unknown;
  clearTimer?(t: unknown): void;
}

export class LiveConnection {
  private source: EventSourceLike | undefined;
  private timer: unknown;
  private attempt = 0;
  private everOpened = false;
  private stopped = false;

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.source?.close();
    this.source = undefined;
    if (this.timer !== undefined) (this.opts.clearTimer ?? clearTimeout)(this.timer as number);
    this.timer = undefined;
  }

  private connect(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.opts.onState?.("connecting");
    const source = this.opts.open(this.opts.url);
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempt = 0;
      this.opts.onState?.("open");
      // After a cut, whatever changed meanwhile was not announced: refetch all.
      if (this.everOpened) this.opts.onNotice({ type: "reconnected" });
      this.everOpened = true;
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // EventSource would retry at its own fixed pace; ours backs off instead.
      source.close();
      this.source = undefined;
      if (this.stopped) return;
      this.opts.onState?.("waiting");
      const delay = backoffDelay(this.attempt++);
      this.timer = (this.opts.setTimer ?? setTimeout)(() => this.connect(), delay);
    };
    for (const type of LIVE_EVENT_TYPES) {
      source.addEventListener(type, (ev) => {
        if (this.source !== source) return;
        let data: { tenant?: unknown; extension?: unknown } = {};
        try {
          data = JSON.parse(String(ev.data ?? "{}")) as typeof data;
        } catch {
          // A notice without readable data still says that `type` changed: refetch it all.
          data = {};
        }
        this.opts.onNotice({
          type,
          tenant: typeof data.tenant === "string" ? data.tenant : undefined,
          extension: typeof data.extension === "string" ? data.extension : undefined,
        });
      });
    }
  }
}
