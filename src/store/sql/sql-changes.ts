// Changes between the nodes of one PostgreSQL store: a node publishes on one
// channel (NOTIFY, inside the database, so that every node connected to it
// hears it) and listens on it with a connection of its own (LISTEN cannot
// share the pool: a pooled connection goes back to others between queries).
// What a change says is only which thing changed; a listener reads the thing
// again from the store. A node ignores its own changes (their node id), and
// a payload it cannot read (another version, a stray NOTIFY) is dropped.
//
// Lost changes are not replayed: while the listening connection is down
// (reconnected with back-off on the clock) other nodes' changes are missed,
// and the lamps catch up at their next refresh, which reads the state again.
//
// On SQLite there is one node: nothing is sent or heard (NO_CHANGES).
import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { ChangeFeed, StoreChange } from "../types.ts";
import type { Database } from "./schema.ts";

/** The channel (an identifier: written into LISTEN as is). */
export const CHANGES_CHANNEL = "vpbx_changes";
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
/** Tenant names and extension numbers are short; a payload beyond this is not ours. */
const MAX_FIELD = 200;

/** One node: nothing to tell, nobody to hear. */
export const NO_CHANGES: ChangeFeed = {
  publish: async () => undefined,
  subscribe: () => () => undefined,
};

/** A change as it travels: the publishing node, then the change itself. */
interface Envelope {
  node: string;
  change: StoreChange;
}

/** The change in a payload, if it is one this version understands. */
export function readChange(payload: string | undefined): { node: string; change: StoreChange } | undefined {
  if (payload === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    // Not JSON: not one of ours.
    return undefined;
  }
  const text = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= MAX_FIELD;
  if (typeof v !== "object" || v === null) return undefined;
  const { node, change } = v as { node?: unknown; change?: unknown };
  if (!text(node) || typeof change !== "object" || change === null) return undefined;
  const c = change as Record<string, unknown>;
  if (c.kind === "mailbox" && text(c.tenant) && text(c.mailbox)) {
    return { node, change: { kind: "mailbox", tenant: c.tenant, mailbox: c.mailbox } };
  }
  return undefined;
}

export interface PostgresChangesOptions {
  /** The database's URL: the listening connection is opened with it. */
  url: string;
  /** The store's pool: NOTIFY goes through it. */
  db: Kysely<Database>;
  clock: Clock;
  log?: Logger;
}

export class PostgresChanges implements ChangeFeed {
  /** This process among the nodes: its own changes come back to it and are skipped. */
  readonly node = randomUUID();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retry: Timer | undefined;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  constructor(private readonly opts: PostgresChangesOptions) {}

  async publish(change: StoreChange): Promise<void> {
    if (this.closed) return;
    const envelope: Envelope = { node: this.node, change };
    try {
      await sql`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(envelope)})`.execute(this.opts.db);
    } catch (err) {
      this.opts.log?.error({ err, change }, "change not sent to the other nodes");
    }
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    // The listening connection opens with the first listener: a CLI command
    // that opens the store never holds one.
    if (!this.client && !this.connecting && !this.retry && !this.closed) this.connect();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Whether the listening connection is up (for tests and the start-up log). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Stops listening for good; the pool is the store's to close. */
  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    this.retry = undefined;
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    if (client) await this.end(client);
  }

  private connect(): void {
    this.retry = undefined;
    const client = new pg.Client({ connectionString: this.opts.url });
    client.on("notification", (msg) => {
      if (msg.channel === CHANGES_CHANNEL) this.receive(msg.payload);
    });
    // Without a listener pg's "error" would end the process; the connection is replaced.
    client.on("error", (err) => {
      this.opts.log?.warn({ err }, "listening connection to PostgreSQL lost");
      this.lost(client);
    });
    client.on("end", () => this.lost(client));
    this.connecting = client
      .connect()
      .then(() => client.query(`LISTEN ${CHANGES_CHANNEL}`))
      .then(
        async () => {
          this.connecting = undefined;
          if (this.closed) {
            await this.end(client);
            return;
          }
          this.client = client;
          this.retryMs = FIRST_RETRY_MS;
        },
        (err: unknown) => {
          this.connecting = undefined;
          this.opts.log?.warn({ err, retryMs: this.retryMs }, "cannot listen for the other nodes' changes");
          this.lost(client);
        },
      );
  }

  /** The connection failed or ended: another one after a growing pause, while anyone listens. */
  private lost(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    void this.end(client);
    if (this.closed || this.retry || this.connecting || this.client || this.listeners.size === 0) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
    this.retry = this.opts.clock.setTimer(wait, () => this.connect());
  }

  private async end(client: pg.Client): Promise<void> {
    try {
      await client.end();
    } catch (err) {
      // Already broken: nothing is left to close.
      this.opts.log?.debug({ err }, "listening connection closed with an error");
    }
  }

  private receive(payload: string | undefined): void {
    const read = readChange(payload);
    if (!read) {
      this.opts.log?.debug(
        { payload: payload?.slice(0, 200) },
        "unreadable change from another node ignored",
      );
      return;
    }
    if (read.node === this.node) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(read.change);
      } catch (err) {
        this.opts.log?.error({ err, change: read.change }, "change listener failed");
      }
    }
  }
}
