// Blocks of sources and accounts that kept failing authentication, kept in
// the store so that a restart does not forgive them (and every node sees them).
import type { AuthBlock, AuthBlockRepository } from "../types.ts";
import type { SqlContext } from "./sql-context.ts";

export class SqlAuthBlocks implements AuthBlockRepository {
  constructor(private readonly ctx: SqlContext) {}

  async get(subject: string): Promise<AuthBlock | undefined> {
    const r = await this.ctx.db
      .selectFrom("auth_blocks")
      .selectAll()
      .where("subject", "=", subject)
      .executeTakeFirst();
    return (
      r && {
        subject: r.subject,
        offences: Number(r.offences),
        until: Number(r.until),
        lastAt: Number(r.last_at),
      }
    );
  }

  async put(block: AuthBlock): Promise<void> {
    const row = {
      subject: block.subject,
      offences: block.offences,
      until: Math.trunc(block.until),
      last_at: Math.trunc(block.lastAt),
    };
    await this.ctx.db
      .insertInto("auth_blocks")
      .values(row)
      .onConflict((oc) =>
        oc.column("subject").doUpdateSet({ offences: row.offences, until: row.until, last_at: row.last_at }),
      )
      .execute();
  }

  async remove(subject: string): Promise<void> {
    await this.ctx.db.deleteFrom("auth_blocks").where("subject", "=", subject).execute();
  }

  async active(now: number): Promise<AuthBlock[]> {
    const rows = await this.ctx.db
      .selectFrom("auth_blocks")
      .selectAll()
      .where("until", ">", Math.trunc(now))
      .orderBy("subject")
      .execute();
    return rows.map((r) => ({
      subject: r.subject,
      offences: Number(r.offences),
      until: Number(r.until),
      lastAt: Number(r.last_at),
    }));
  }

  async purge(before: number): Promise<number> {
    const r = await this.ctx.db
      .deleteFrom("auth_blocks")
      .where("last_at", "<", Math.trunc(before))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
