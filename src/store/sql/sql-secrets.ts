// Secrets that every node on the store shares (the key of digest nonces):
// the first node to need one creates it, every other node reads that one.
// Stored sealed (secret-box.ts) for their name: a copied database does not
// give away the nonce key, and every node opens it with the key they share.
import type { SecretRepository } from "../types.ts";
import { isSealed, type SecretBox } from "./secret-box.ts";
import type { Db, SqlContext } from "./sql-context.ts";

/** The context of a sealed shared secret: its name (the additional authenticated data). */
export function secretContext(name: string): string {
  return `secret ${name}`;
}

export class SqlSecrets implements SecretRepository {
  constructor(private readonly ctx: SqlContext) {}

  async get(name: string): Promise<string | undefined> {
    const row = await this.ctx.db
      .selectFrom("secrets")
      .select("value")
      .where("name", "=", name)
      .executeTakeFirst();
    return row && this.ctx.secrets.open(row.value, secretContext(name));
  }

  async setIfAbsent(name: string, value: string): Promise<string> {
    await this.ctx.db
      .insertInto("secrets")
      .values({ name, value: this.ctx.secrets.seal(value, secretContext(name)), created_at: this.ctx.iso() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    // Whoever wrote first, this is the one kept.
    return (await this.get(name)) ?? value;
  }
}

/**
 * Seals the secrets stored in clear (rows of a vpbx from before sealing), in
 * `trx`; returns how many. Each update names the clear value it read.
 */
export async function sealPlainSecrets(trx: Db, box: SecretBox): Promise<number> {
  const rows = await trx.selectFrom("secrets").select(["name", "value"]).execute();
  let sealed = 0;
  for (const r of rows) {
    if (isSealed(r.value)) continue;
    const result = await trx
      .updateTable("secrets")
      .set({ value: box.seal(r.value, secretContext(r.name)) })
      .where("name", "=", r.name)
      .where("value", "=", r.value)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}
