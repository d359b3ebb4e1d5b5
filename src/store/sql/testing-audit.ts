// For the repositories' own tests: make the audit log refuse every insert
// (as a full disk would) on either engine, to show that a change and its
// audit event commit together or not at all.
import { sql } from "kysely";
import type { TestContext } from "./testing.ts";

/** Makes every audit insert fail, as a full disk would. */
export async function refuseAudit(t: TestContext): Promise<void> {
  if (t.ctx.engine === "sqlite") {
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END`.execute(
      t.ctx.db,
    );
  } else {
    await sql`CREATE FUNCTION audit_refuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$`.execute(
      t.ctx.db,
    );
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuses()`.execute(
      t.ctx.db,
    );
  }
}

export async function allowAudit(t: TestContext): Promise<void> {
  if (t.ctx.engine === "sqlite") {
    await sql`DROP TRIGGER audit_refuses`.execute(t.ctx.db);
  } else {
    await sql`DROP TRIGGER audit_refuses ON audit`.execute(t.ctx.db);
    await sql`DROP FUNCTION audit_refuses()`.execute(t.ctx.db);
  }
}
