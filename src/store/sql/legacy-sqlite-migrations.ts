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
  {
    version: 2,
    description:
      "trunks, public numbers, audit log; dialling policy and trunk per tenant; call waiting, no-answer time and caller id per extension",
    up(db) {
      db.exec(`
        -- Existing extensions take the defaults of the code (types.ts).
        ALTER TABLE extensions ADD COLUMN no_answer_seconds INTEGER NOT NULL DEFAULT 20;
        ALTER TABLE extensions ADD COLUMN call_waiting INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE extensions ADD COLUMN max_calls INTEGER NOT NULL DEFAULT 2;
        ALTER TABLE extensions ADD COLUMN caller_id TEXT;

        -- The id keeps the order of creation: after the default trunk is
        -- deleted, the oldest remaining one becomes the default.
        CREATE TABLE trunks (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          host TEXT NOT NULL,
          port INTEGER NOT NULL,
          transport TEXT NOT NULL,
          username TEXT,
          -- In clear: answering the carrier's digest challenge needs it.
          password TEXT,
          register INTEGER NOT NULL,
          number_format TEXT NOT NULL,
          -- JSON array of addresses.
          inbound_addresses TEXT NOT NULL DEFAULT '[]',
          is_default INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL
        ) STRICT;
        -- At most one default, enforced by the database itself.
        CREATE UNIQUE INDEX trunks_one_default ON trunks(is_default) WHERE is_default = 1;

        -- JSON object of DiallingPolicy, read like features: a missing key is its default.
        ALTER TABLE tenants ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
        -- NULL: the default trunk. No ON DELETE action: a named trunk cannot go.
        ALTER TABLE tenants ADD COLUMN trunk TEXT REFERENCES trunks(name);

        -- A public number belongs to one company: unique across tenants. The
        -- id keeps the order of creation (the first is the main number).
        CREATE TABLE numbers (
          id INTEGER PRIMARY KEY,
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          number TEXT NOT NULL UNIQUE,
          destination TEXT NOT NULL,
          created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX numbers_tenant ON numbers(tenant, id);

        -- Who changed which setting, old and new values as JSON.
        CREATE TABLE audit (
          id INTEGER PRIMARY KEY,
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          at TEXT NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          subject TEXT NOT NULL,
          old TEXT NOT NULL,
          new TEXT NOT NULL
        ) STRICT;
        CREATE INDEX audit_tenant ON audit(tenant, id);
      `);
    },
  },
  {
    version: 3,
    description:
      "event subscriptions (RFC 6665) kept across restarts; unsolicited message waiting per extension",
    up(db) {
      db.exec(`
        ALTER TABLE extensions ADD COLUMN mwi_unsolicited INTEGER NOT NULL DEFAULT 0;

        -- One row per subscription dialog: enough to send the next NOTIFY
        -- after a restart (RFC 3261 §12.1: Call-ID, tags, URIs, remote
        -- target, route set, CSeqs). Written through the synchronous=NORMAL
        -- connection, like bindings: phones refresh them by themselves.
        CREATE TABLE subscriptions (
          id TEXT PRIMARY KEY,
          tenant TEXT NOT NULL,
          extension TEXT NOT NULL,
          package TEXT NOT NULL,
          event_id TEXT,
          resource TEXT NOT NULL,
          call_id TEXT NOT NULL,
          local_tag TEXT NOT NULL,
          remote_tag TEXT NOT NULL,
          local_uri TEXT NOT NULL,
          remote_uri TEXT NOT NULL,
          remote_target TEXT NOT NULL,
          -- JSON array of name-addrs.
          route_set TEXT NOT NULL DEFAULT '[]',
          local_contact TEXT NOT NULL,
          local_seq INTEGER NOT NULL,
          remote_seq INTEGER NOT NULL,
          version INTEGER NOT NULL,
          transport TEXT NOT NULL,
          address TEXT NOT NULL,
          port INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          FOREIGN KEY (tenant, extension) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX subscriptions_tenant ON subscriptions(tenant, extension);
        CREATE INDEX subscriptions_expires_at ON subscriptions(expires_at);
      `);
    },
  },
  {
    version: 4,
    description: "pickup group per extension",
    up(db) {
      db.exec(`
        -- NULL: the company's default group (every extension starts there).
        ALTER TABLE extensions ADD COLUMN pickup_group TEXT;
      `);
    },
  },
  {
    version: 5,
    description:
      "voicemail: mailboxes, messages, PIN failures and locks, the e-mail queue; an operator per tenant",
    up(db) {
      db.exec(`
        -- The extension that 0 during a greeting reaches. No foreign key (a
        -- composite one would SET NULL the tenant's name too): the trigger
        -- below clears it when that extension goes.
        ALTER TABLE tenants ADD COLUMN operator TEXT;
        CREATE TRIGGER extensions_clear_operator AFTER DELETE ON extensions
        BEGIN
          UPDATE tenants SET operator = NULL WHERE name = OLD.tenant AND operator = OLD.number;
        END;

        -- One row per extension whose mailbox was ever configured. Settings
        -- grade: written through the synchronous=FULL connection.
        CREATE TABLE mailboxes (
          tenant TEXT NOT NULL,
          mailbox TEXT NOT NULL,
          enabled INTEGER NOT NULL DEFAULT 0,
          -- "scrypt$<salt hex>$<hash hex>"; the PIN itself is never stored.
          pin_hash TEXT,
          remote_access INTEGER NOT NULL DEFAULT 0,
          skip_pin_on_own_phone INTEGER NOT NULL DEFAULT 0,
          email TEXT,
          delete_after_email INTEGER NOT NULL DEFAULT 0,
          max_message_seconds INTEGER NOT NULL DEFAULT 180,
          PRIMARY KEY (tenant, mailbox),
          FOREIGN KEY (tenant, mailbox) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;

        -- A message's audio is <dataDir>/voicemail/<tenant>/<mailbox>/<id>.wav,
        -- committed on disk before its row (start-up recovers a file without a row).
        CREATE TABLE voicemail_messages (
          id TEXT PRIMARY KEY,
          tenant TEXT NOT NULL,
          mailbox TEXT NOT NULL,
          folder TEXT NOT NULL CHECK (folder IN ('new', 'old')),
          caller_number TEXT NOT NULL,
          caller_name TEXT,
          received_at TEXT NOT NULL,
          duration_ms INTEGER NOT NULL,
          FOREIGN KEY (tenant, mailbox) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX voicemail_messages_mailbox ON voicemail_messages(tenant, mailbox, folder, received_at);

        -- Wrong PINs of remote access, counted across calls and restarts.
        CREATE TABLE pin_failures (
          id INTEGER PRIMARY KEY,
          tenant TEXT NOT NULL,
          mailbox TEXT NOT NULL,
          at INTEGER NOT NULL,
          caller TEXT NOT NULL,
          source TEXT NOT NULL,
          FOREIGN KEY (tenant, mailbox) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX pin_failures_mailbox ON pin_failures(tenant, mailbox, at);
        CREATE INDEX pin_failures_caller ON pin_failures(tenant, caller, at);
        CREATE INDEX pin_failures_source ON pin_failures(tenant, source, at);

        -- Locks of remote access: subject '' is the mailbox itself; any other
        -- subject is a caller (number or source address) locked out of the
        -- whole tenant on behalf of this mailbox (its unlock lifts them).
        CREATE TABLE mailbox_locks (
          tenant TEXT NOT NULL,
          mailbox TEXT NOT NULL,
          subject TEXT NOT NULL,
          until INTEGER NOT NULL,
          PRIMARY KEY (tenant, mailbox, subject),
          FOREIGN KEY (tenant, mailbox) REFERENCES extensions(tenant, number) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX mailbox_locks_subject ON mailbox_locks(tenant, subject);

        -- Voicemail e-mails until the SMTP server accepts them; a deleted
        -- message takes its pending e-mail with it.
        CREATE TABLE mail_queue (
          id INTEGER PRIMARY KEY,
          tenant TEXT NOT NULL,
          mailbox TEXT NOT NULL,
          message_id TEXT NOT NULL REFERENCES voicemail_messages(id) ON DELETE CASCADE,
          to_address TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          last_error TEXT
        ) STRICT;
        CREATE INDEX mail_queue_due ON mail_queue(next_attempt_at);
        CREATE INDEX mail_queue_message ON mail_queue(message_id);
      `);
    },
  },
  {
    version: 6,
    description:
      "the company's inbound flow: ring groups, schedule and call flow, the *20 override, company audio; waiting time and code access per tenant",
    up(db) {
      db.exec(`
        -- Existing tenants take the defaults of the code (types.ts): the
        -- waiting announcement after 30 s, every extension may dial the
        -- company codes, no PIN.
        ALTER TABLE tenants ADD COLUMN waiting_seconds INTEGER NOT NULL DEFAULT 30;
        -- JSON object of CompanyCodeAccess ({"extensions":[...],"pinHash":"scrypt$..."}).
        ALTER TABLE tenants ADD COLUMN company_codes TEXT NOT NULL DEFAULT '{}';

        -- A listed extension that goes leaves the list; a list that empties
        -- stays a (now empty) restriction rather than opening to everyone.
        -- A damaged column is read as '{}' here (json_each would raise and
        -- block the extension's deletion); the store reads it as nobody.
        CREATE TRIGGER extensions_leave_company_codes AFTER DELETE ON extensions
        WHEN EXISTS (
          SELECT 1 FROM tenants, json_each(
            CASE WHEN json_valid(tenants.company_codes) THEN tenants.company_codes ELSE '{}' END,
            '$.extensions'
          ) AS listed
          WHERE tenants.name = OLD.tenant AND listed.value = OLD.number
        )
        BEGIN
          UPDATE tenants SET company_codes = json_set(company_codes, '$.extensions', json((
            SELECT json_group_array(listed.value) FROM json_each(company_codes, '$.extensions') AS listed
            WHERE listed.value <> OLD.number
          )))
          WHERE name = OLD.tenant;
        END;

        -- Members (extension numbers, in ringing order) and the fallback
        -- destination as JSON. A deleted extension leaves the member lists in
        -- the same transaction (SqliteExtensions.delete, audited); a group
        -- that something names cannot go (SqliteRingGroups.delete).
        CREATE TABLE ring_groups (
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          name TEXT NOT NULL,
          members TEXT NOT NULL DEFAULT '[]',
          strategy TEXT NOT NULL CHECK (strategy IN ('simultaneous', 'sequential')),
          timeout INTEGER NOT NULL,
          member_timeout INTEGER NOT NULL,
          fallback TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (tenant, name)
        ) STRICT;

        -- One row per company that set its schedule or call flow; NULL: the
        -- default of the code (DEFAULT_SCHEDULE, DEFAULT_CALL_FLOW).
        CREATE TABLE company_flow (
          tenant TEXT PRIMARY KEY REFERENCES tenants(name) ON DELETE CASCADE,
          schedule TEXT,
          call_flow TEXT
        ) STRICT;

        -- The *20 override with its end: it survives a restart and ends on
        -- time even when the PBX was down at the transition.
        CREATE TABLE schedule_overrides (
          tenant TEXT PRIMARY KEY REFERENCES tenants(name) ON DELETE CASCADE,
          mode TEXT NOT NULL,
          since INTEGER NOT NULL,
          until INTEGER NOT NULL
        ) STRICT;

        -- What is known of a company's own audio; the audio itself is
        -- <dataDir>/company-audio/<tenant>/<kind>.wav, written before the row.
        CREATE TABLE company_audio (
          tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
          kind TEXT NOT NULL,
          source TEXT NOT NULL CHECK (source IN ('recording', 'upload', 'text')),
          text TEXT,
          duration_ms INTEGER NOT NULL,
          updated_at TEXT NOT NULL,
          PRIMARY KEY (tenant, kind)
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
