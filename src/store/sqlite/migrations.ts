// Versioned schema changes. The database remembers how far it got in
// `PRAGMA user_version`; each step runs in its own transaction together with
// the version bump, so a crash mid-upgrade leaves the previous version intact.
// Append new steps at the end; never edit one that has shipped.
import type { Database } from "better-sqlite3";

export interface Migration {
  /** 1, 2, 3... in order, without gaps. */
  version: number;
  description: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "tenants, extensions, bindings, forwarding, feature-code overrides",
    up(db) {
      db.exec(`
        CREATE TABLE tenants (
          name TEXT PRIMARY KEY,
          domain TEXT NOT NULL COLLATE NOCASE UNIQUE,
          language TEXT NOT NULL,
          timezone TEXT NOT NULL,
          country TEXT NOT NULL,
          -- JSON object of FeatureSwitches: a new switch needs no migration,
          -- a missing key reads as its default (off).
          features TEXT NOT NULL DEFAULT '{}',
          created_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE extensions (
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          number TEXT NOT NULL,
          display_name TEXT NOT NULL,
          language TEXT,
          ring_timeout_seconds INTEGER NOT NULL,
          -- The realm belongs to the credential, not to the tenant: a tenant
          -- whose domain changes keeps working phones (RFC 7616 §3.4.2).
          realm TEXT NOT NULL,
          ha1_md5 TEXT NOT NULL,
          ha1_sha256 TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (tenant, number)
        ) STRICT;

        CREATE TABLE bindings (
          tenant TEXT NOT NULL,
          extension TEXT NOT NULL,
          contact TEXT NOT NULL,
          call_id TEXT NOT NULL,
          cseq INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          transport TEXT NOT NULL,
          address TEXT NOT NULL,
          port INTEGER NOT NULL,
          user_agent TEXT,
          PRIMARY KEY (tenant, extension, contact),
          FOREIGN KEY (tenant, extension) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX bindings_expires_at ON bindings(expires_at);

        CREATE TABLE forwarding (
          tenant TEXT NOT NULL,
          extension TEXT NOT NULL,
          kind TEXT NOT NULL,
          target TEXT NOT NULL,
          PRIMARY KEY (tenant, extension, kind),
          FOREIGN KEY (tenant, extension) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;

        -- Only a tenant's changes; the defaults live in the code.
        CREATE TABLE feature_codes (
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          action TEXT NOT NULL,
          code TEXT NOT NULL,
          PRIMARY KEY (tenant, action)
        ) STRICT;
      `);
    },
  },
];

/** Brings the database to the latest version; returns the version it found. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const found = db.pragma("user_version", { simple: true }) as number;
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  if (found > latest) {
    throw new Error(
      `database schema version ${found} is newer than this vpbx knows (${latest}): upgrade vpbx or restore a matching backup`,
    );
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.description}`);
  });
  for (const m of migrations) {
    if (m.version <= found) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return found;
}
