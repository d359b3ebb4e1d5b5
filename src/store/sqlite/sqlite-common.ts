// Conventions that every SQLite repository shares: how a constraint error
// reads, and who changed a setting when nobody was named.
import type { Actor } from "../types.ts";

/** A change made without a named actor (a script on the store itself, a cascade). */
export const UNNAMED_ACTOR: Actor = { kind: "system", id: "store" };

/** Which constraint a better-sqlite3 error broke; undefined: not a constraint error (rethrow it). */
export function constraint(err: unknown): "unique" | "foreign" | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return "unique";
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "foreign";
  return undefined;
}

/** Equal as JSON documents, whatever the order of their keys (a document read back may list them otherwise). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, sortedKeys) === JSON.stringify(b, sortedKeys);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}
