// A read cache for the SQLite store's hot reads: the rows of an extension, a
// tenant (by name or domain), the trunks, an extension's forwarding rules,
// read several times by every INVITE and REGISTER. Kept in memory, and never
// stale for this process:
//
// - Every write statement run on one of our connections (sqliteKysely in
//   connect.ts hands each statement it prepares to watch()) bumps the version
//   of the table it writes; a statement whose effect is not one table's
//   (DDL, a pragma, REPLACE, a DELETE: ON DELETE CASCADE reaches other
//   tables) bumps every table. The schema has no triggers and no ON UPDATE
//   actions (migrations.ts), so an INSERT or UPDATE touches its table only.
//   A commit bumps again every table written in its transaction: a read on
//   the other connection between the write and the commit saw the data of
//   before, under the version of after.
// - Another store on the same file in this process (a test's second store)
//   is told of each of our writes at once (stores by file, below): exact.
// - A commit by another process (the `vpbx` CLI) changes PRAGMA
//   data_version (https://sqlite.org/pragma.html#pragma_data_version) of
//   each of our connections. It is looked at every FOREIGN_CHECK_MS of real
//   time (other processes keep their own time), not at every read: after a
//   write of the other connection the pragma re-reads the WAL index, and
//   asking it around every REGISTER cost a tenth of the signalling thread
//   under a flood. A connection's data_version also moves with the commits
//   of our other connection, so it speaks of other processes only when that
//   one wrote nothing since the last look: under a REGISTER flood the soft
//   connection commits all the time and the settings connection never, so
//   the soft connection's data_version is the one that tells. When both
//   wrote, any change bumps every table. (Reading only the settings
//   connection's, the soft commits of a flood emptied the cache four times a
//   second: 5,000 extensions read again, and their rows promoted to the old
//   heap as garbage.) So another process's change is seen within a quarter
//   second.
// - An entry keeps the versions of its tables from when its query started:
//   a write that races the read leaves the entry stale at once, never a stale
//   entry that looks fresh. An entry also ages out (MAX_AGE_MS on the store's
//   clock), a backstop; the oldest entries go beyond MAX_ENTRIES.
//
// It caches rows (the plain objects Kysely returns, frozen), not domain
// objects: the repositories still convert each row, so every caller gets a
// fresh object that it may change. Reads inside a transaction never use it.
//
// PostgreSQL has no cache: the other nodes of a store write without telling
// this one (sql-changes.ts carries only mailbox changes), so its reads go to
// the database every time.
import type BetterSqlite3 from "better-sqlite3";
import type { SqliteStatement } from "kysely";
import type { Database } from "./schema.ts";

/** How often (real time, ms) the settings connection is asked whether another process committed. */
export const FOREIGN_CHECK_MS = 250;

/** The caches of the stores open in this process, by database file: a write of one reaches the others. */
const byFile = new Map<string, Set<ReadCache>>();

/** Entries kept at most; beyond, the oldest go. */
export const READ_CACHE_MAX_ENTRIES = 20_000;
/** An entry older than this (ms, store's clock) is read again whatever the versions say. */
export const READ_CACHE_MAX_AGE_MS = 5_000;

/** A table of the store, as the cached reads name it. */
export type CachedTable = keyof Database & string;

/** What a statement does to the data, once known from its text. */
type Effect =
  | { kind: "table"; table: string }
  | { kind: "all" }
  /** COMMIT, END, ROLLBACK, RELEASE: what the transaction wrote may now be what others read. */
  | { kind: "end" };

interface Entry {
  value: unknown;
  epoch: number;
  versions: number[];
  tables: readonly string[];
  at: number;
}

/** One of our connections: its data_version as last seen, what its open transaction wrote. */
interface Watched {
  readonly file: BetterSqlite3.Database;
  readonly probe: BetterSqlite3.Statement;
  seen: number | undefined;
  /** The database file (the key of byFile). */
  readonly path: string;
  /** Tables written since the transaction began; "all" after a statement of unknown effect. */
  written: Set<string> | "all";
  /** Whether it ran a write (or a COMMIT) since the last look at data_version. */
  wrote: boolean;
}

export interface ReadCacheOptions {
  maxEntries?: number;
  maxAgeMs?: number;
}

/** The read cache of one SQLite store (both of its connections). */
export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly versions = new Map<string, number>();
  /** Bumped by a change of unknown extent: every entry before it is stale. */
  private epoch = 0;
  private readonly watched: Watched[] = [];
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private hitCount = 0;
  private missCount = 0;
  private poller: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly now: () => number,
    opts: ReadCacheOptions = {},
  ) {
    this.maxEntries = opts.maxEntries ?? READ_CACHE_MAX_ENTRIES;
    this.maxAgeMs = opts.maxAgeMs ?? READ_CACHE_MAX_AGE_MS;
  }

  /** Reads answered from memory. */
  get hits(): number {
    return this.hitCount;
  }

  /** Reads that went to the database. */
  get misses(): number {
    return this.missCount;
  }

  /** Entries held (fresh or not). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Watches a connection of the store: returns what sqliteKysely calls on
   * each statement it prepares, which gives back the statement to run (a
   * writer wrapped so that its writes are counted).
   */
  watch(file: BetterSqlite3.Database): (sql: string, statement: BetterSqlite3.Statement) => SqliteStatement {
    const conn: Watched = {
      file,
      probe: file.prepare("PRAGMA data_version").pluck(),
      seen: undefined,
      path: file.name,
      written: new Set(),
      wrote: false,
    };
    conn.seen = this.probe(conn);
    this.watched.push(conn);
    let stores = byFile.get(conn.path);
    if (!stores) {
      stores = new Set();
      byFile.set(conn.path, stores);
    }
    stores.add(this);
    if (!this.poller) {
      this.poller = setInterval(() => this.checkForeign(), FOREIGN_CHECK_MS);
      this.poller.unref();
    }
    return (sql, statement) => {
      const effect = effectOf(sql, statement.readonly);
      if (effect === undefined) return statement; // a read, or BEGIN/SAVEPOINT
      return {
        reader: statement.reader,
        all: (parameters) => this.writing(conn, effect, () => statement.all(parameters)),
        run: (parameters) => this.writing(conn, effect, () => statement.run(parameters)),
        iterate: (parameters) => this.writing(conn, effect, () => statement.all(parameters)).values(),
      };
    };
  }

  /**
   * The value of `key`, from memory while none of `tables` has changed, else
   * from `load` (its rows frozen: they are shared by every later hit).
   * `key` names the query and its parameters (cacheKey).
   */
  async read<T>(key: string, tables: readonly CachedTable[], load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry !== undefined && this.fresh(entry)) {
      this.hitCount++;
      return entry.value as T;
    }
    this.missCount++;
    const epoch = this.epoch;
    const versions = tables.map((t) => this.versions.get(t) ?? 0);
    const at = this.now();
    const value = freezeRows(await load());
    const next: Entry = { value, epoch, versions, tables, at };
    // Written while the query ran: the value may be from before, not worth keeping.
    if (this.fresh(next)) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, next);
    }
    return value;
  }

  private fresh(e: Entry): boolean {
    if (e.epoch !== this.epoch) return false;
    for (let i = 0; i < e.tables.length; i++) {
      if ((this.versions.get(e.tables[i]!) ?? 0) !== e.versions[i]) return false;
    }
    const age = this.now() - e.at;
    return age >= 0 && age < this.maxAgeMs;
  }

  private bump(table: string): void {
    this.versions.set(table, (this.versions.get(table) ?? 0) + 1);
  }

  private bumpAll(): void {
    this.epoch++;
    // Nothing older can be fresh again: free the memory now.
    this.entries.clear();
  }

  /** The connection's data_version now; undefined once it is closed (it then reads nothing). */
  private probe(conn: Watched): number | undefined {
    return conn.file.open ? (conn.probe.get() as number) : undefined;
  }

  /**
   * Whether another process committed since the last look, from the
   * data_version of each connection (which moves with every commit but its
   * own): told exactly by a connection whose sibling wrote nothing since,
   * assumed when there is none. Run every FOREIGN_CHECK_MS.
   */
  checkForeign(): void {
    let told = false;
    let foreign = false;
    let changed = false;
    for (const conn of this.watched) {
      const now = this.probe(conn);
      const moved = now !== conn.seen;
      conn.seen = now;
      changed ||= moved;
      if (this.watched.every((other) => other === conn || !other.wrote)) {
        told = true;
        foreign ||= moved;
      }
    }
    for (const conn of this.watched) conn.wrote = false;
    if (told ? foreign : changed) this.bumpAll();
  }

  /** Stops looking for other processes' commits and leaves the stores of its file. */
  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    for (const conn of this.watched) {
      const stores = byFile.get(conn.path);
      stores?.delete(this);
      if (stores?.size === 0) byFile.delete(conn.path);
    }
  }

  /** What another store of the same file wrote: `table`, or everything. */
  private heard(table: string | undefined): void {
    if (table === undefined) this.bumpAll();
    else this.bump(table);
  }

  /** Tells the other stores of this file (in this process) what was written. */
  private tell(conn: Watched, table: string | undefined): void {
    for (const other of byFile.get(conn.path) ?? []) if (other !== this) other.heard(table);
  }

  /** Runs a write statement of `conn`, counting what it changes. */
  private writing<R>(conn: Watched, effect: Effect, run: () => R): R {
    conn.wrote = true;
    let done = false;
    try {
      const result = run();
      done = true;
      return result;
    } finally {
      // A failed statement may have changed part of what it names (and a
      // failed COMMIT leaves the transaction's fate to SQLite): count all.
      // Outside a transaction the statement committed by itself: nothing to recount.
      const open = conn.file.open && conn.file.inTransaction;
      if (!done || effect.kind === "all") {
        if (open) conn.written = "all";
        this.bumpAll();
        this.tell(conn, undefined);
      } else if (effect.kind === "table") {
        if (open && conn.written !== "all") conn.written.add(effect.table);
        this.bump(effect.table);
        this.tell(conn, effect.table);
      }
      if (effect.kind === "end") {
        if (conn.written === "all") {
          this.bumpAll();
          this.tell(conn, undefined);
        } else {
          for (const table of conn.written) {
            this.bump(table);
            this.tell(conn, table);
          }
        }
        // ROLLBACK TO and RELEASE (of a savepoint inside BEGIN), or a failed COMMIT, leave it open.
        if (!open) conn.written = new Set();
      }
    }
  }
}

/** The key of a cached read: its query's name and parameters, unambiguously (any text may hold any character). */
export function cacheKey(query: string, ...parameters: string[]): string {
  return JSON.stringify([query, ...parameters]);
}

/** `load`, through the context's cache when it has one (SQLite), else straight to the database. */
export function cachedRead<T>(
  ctx: { readonly cache?: ReadCache },
  key: string,
  tables: readonly CachedTable[],
  load: () => Promise<T>,
): Promise<T> {
  return ctx.cache === undefined ? load() : ctx.cache.read(key, tables, load);
}

const NAME = String.raw`(?:"((?:[^"]|"")+)"|\x60([^\x60]+)\x60|\[([^\]]+)\]|([A-Za-z_][\w$]*))`;
/** INSERT [OR x] INTO t, followed by a space or "(" (not "." of a schema-qualified name). */
const INSERT = new RegExp(String.raw`^\s*insert\s+(?:or\s+(\w+)\s+)?into\s+${NAME}(?=[\s(]|$)`, "i");
/** UPDATE [OR x] t followed by a space. */
const UPDATE = new RegExp(String.raw`^\s*update\s+(?:or\s+(\w+)\s+)?${NAME}(?=\s)`, "i");
const CONTROL = /^\s*(begin|savepoint|commit|end|rollback|release)\b/i;

/**
 * What a statement does, from its text and SQLite's own word on whether it
 * writes (sqlite3_stmt_readonly: better-sqlite3's `readonly`, which, unlike
 * `reader`, knows that INSERT ... RETURNING writes). undefined: nothing.
 */
export function effectOf(sql: string, readonly: boolean): Effect | undefined {
  const control = CONTROL.exec(sql)?.[1]?.toLowerCase();
  if (control !== undefined) {
    // Writes are counted as they run, and again when they may become visible to others.
    return control === "begin" || control === "savepoint" ? undefined : { kind: "end" };
  }
  if (readonly) return undefined;
  const insert = INSERT.exec(sql);
  // REPLACE deletes the rows in its way (and a delete may cascade).
  if (insert && insert[1]?.toLowerCase() !== "replace") return { kind: "table", table: tableName(insert) };
  const update = UPDATE.exec(sql);
  if (update && update[1]?.toLowerCase() !== "replace") return { kind: "table", table: tableName(update) };
  return { kind: "all" };
}

/** The table matched by NAME (SQLite identifiers compare without ASCII case). */
function tableName(m: RegExpExecArray): string {
  const quoted = m[2]?.replace(/""/g, '"');
  return (quoted ?? m[3] ?? m[4] ?? m[5]!).toLowerCase();
}

/** Rows shared between reads must not be changed by one of them. */
function freezeRows<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const row of value) Object.freeze(row);
    Object.freeze(value);
  } else if (typeof value === "object" && value !== null) Object.freeze(value);
  return value;
}
