// What every repository of the SQL store is given: the settings-grade
// database (SQLite: synchronous=FULL), the soft-state one (SQLite:
// synchronous=NORMAL, for bindings and subscriptions; PostgreSQL: the same
// pool), the engine, the time of a change, and the box that seals the
// credentials stored in it.
import type { Kysely, Transaction } from "kysely";
import type { Actor } from "../types.ts";
import type { ReadCache } from "./read-cache.ts";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secret-box.ts";

export type Engine = "sqlite" | "postgres";

/** A database or a transaction on it: repository helpers take either. */
export type Db = Kysely<Database> | Transaction<Database>;

export interface SqlContext {
  readonly engine: Engine;
  /** Settings, voicemail, audit: a committed change survives a power cut. */
  readonly db: Kysely<Database>;
  /** Registrations and subscriptions: soft state that phones refresh by themselves. */
  readonly soft: Kysely<Database>;
  /** Now, as an ISO string, from the store's clock. */
  iso(): string;
  /** Now, in milliseconds since the epoch, from the store's clock. */
  now(): number;
  /**
   * Seals what must not be readable from a copy of the database: digest HA1
   * values, trunk passwords, the shared secrets. Repositories seal on write
   * and open on read, naming the row and column as the context, so that a
   * sealed value opens only where it was written.
   */
  readonly secrets: SecretBox;
  /**
   * SQLite only: the hot top-level reads (an extension, a tenant, the trunks,
   * forwarding rules) are answered from memory until a write, ours or
   * another process's, changes their table (read-cache.ts). PostgreSQL: none,
   * other nodes write without telling. Never used inside a transaction.
   */
  readonly cache?: ReadCache;
}

/** A change made without a named actor (a script on the store itself, a cascade). */
export const UNNAMED_ACTOR: Actor = { kind: "system", id: "store" };

/** Which constraint an error of either engine broke; undefined: not a constraint error (rethrow it). */
export function constraint(err: unknown): "unique" | "foreign" | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  // better-sqlite3 (SQLite extended result codes)
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return "unique";
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "foreign";
  // PostgreSQL SQLSTATE (Appendix A): 23505 unique_violation, 23503 foreign_key_violation
  if (code === "23505") return "unique";
  if (code === "23503") return "foreign";
  return undefined;
}

/** Booleans are 0/1 in both engines. */
export const bit = (b: boolean): number => (b ? 1 : 0);
