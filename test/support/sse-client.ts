// A reader of server-sent events over a real HTTP connection (node:http),
// as a browser's EventSource reads them (HTML Living Standard §9.2.6):
// `event:`, `data:` and `retry:` fields, comment lines, a blank line ends an
// event. For the tests of GET /api/v1/events.
import { type IncomingHttpHeaders, type IncomingMessage, request } from "node:http";

export interface SseEvent {
  event: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** The whole body of an answer that is not a stream (an error's JSON). */
  body = "";
  ended = false;
  private buffer = "";
  private fields: { event?: string; data: string[] } = { data: [] };
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly res: IncomingMessage,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
  ) {}

  /** GET `url` and resolve once the answer's headers are in (the whole body when it is not a stream). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: "GET", headers: { accept: "text/event-stream", ...headers } },
        (res) => {
          const client = new SseClient(res, res.statusCode ?? 0, res.headers);
          res.setEncoding("utf8");
          const streaming = String(res.headers["content-type"] ?? "").startsWith("text/event-stream");
          res.on("data", (chunk: string) => client.take(chunk, streaming));
          const end = () => {
            client.ended = true;
            client.wake();
          };
          res.on("end", end);
          res.on("close", end);
          res.on("error", end);
          if (streaming) resolve(client);
          else res.on("end", () => resolve(client));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  /** The JSON of an answer that is not a stream. */
  json<T = { error: { code: string; message: string } }>(): T {
    return JSON.parse(this.body) as T;
  }

  /**
   * The first event that `match` accepts, from the `from`-th on (0: from the
   * start; `events.length` before an action: what the action caused); waits
   * for it, rejecting after `timeoutMs`.
   */
  waitFor(
    match: (e: SseEvent) => boolean,
    opts: { from?: number; timeoutMs?: number } = {},
  ): Promise<SseEvent> {
    const from = opts.from ?? 0;
    return this.until(() => this.events.slice(from).find(match), opts.timeoutMs ?? 5000, "the event awaited");
  }

  /** The first event of `type` whose data has these fields, from the `from`-th on. */
  waitForEvent(
    type: string,
    data: Record<string, string> = {},
    opts: { from?: number; timeoutMs?: number } = {},
  ) {
    return this.waitFor((e) => {
      if (e.event !== type) return false;
      const parsed = JSON.parse(e.data) as Record<string, unknown>;
      return Object.entries(data).every(([k, v]) => parsed[k] === v);
    }, opts);
  }

  /** Resolves when the server ended the stream. */
  waitForEnd(timeoutMs = 5000): Promise<void> {
    return this.until(() => (this.ended ? true : undefined), timeoutMs, "the end of the stream").then(
      () => undefined,
    );
  }

  /** Events of `type` seen so far, their data parsed. */
  of<T = Record<string, string>>(type: string): T[] {
    return this.events.filter((e) => e.event === type).map((e) => JSON.parse(e.data) as T);
  }

  /** Stops reading (the socket's buffers fill up: a client that does not read). */
  pause(): void {
    this.res.pause();
  }

  close(): void {
    this.res.destroy();
  }

  private until<T>(found: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const now = found();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = found();
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (this.ended) {
          done();
          reject(new Error(`the stream ended before ${what}: ${JSON.stringify(this.events)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; heard ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private take(chunk: string, streaming: boolean): void {
    if (!streaming) {
      this.body += chunk;
      return;
    }
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === "") {
      if (this.fields.data.length > 0)
        this.events.push({ event: this.fields.event ?? "message", data: this.fields.data.join("\n") });
      this.fields = { data: [] };
      return;
    }
    if (line.startsWith(":")) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") this.fields.event = value;
    else if (name === "data") this.fields.data.push(value);
    else if (name === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
  }
}
