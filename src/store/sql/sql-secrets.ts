// Secrets that every node on the store shares (the key of digest nonces):
// the first node to need one creates it, every other node reads that one.
import type { SecretRepository } from "../types.ts";
import type { SqlContext } from "./sql-context.ts";

export class SqlSecrets implements SecretRepository {
  constructor(private readonly ctx: SqlContext) {}

  async get(name: string): Promise<string | undefined> {
    const row = await this.ctx.db
      .selectFrom("secrets")
      .select("value")
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.value;
  }

  async setIfAbsent(name: string, value: string): Promise<string> {
    await this.ctx.db
      .insertInto("secrets")
      .values({ name, value, created_at: this.ctx.iso() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    // Whoever wrote first, this is the one kept.
    return (await this.get(name)) ?? value;
  }
}
