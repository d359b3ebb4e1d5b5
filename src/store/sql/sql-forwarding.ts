// Call forwarding rules over Kysely, for SQLite and PostgreSQL alike.
//
// Each change is written together with its audit event (old → new) in one
// transaction: a forwarding is never changed without its record, nor
// recorded without the change.
import type { Actor, Forwarding, ForwardingKind, ForwardingRepository } from "../types.ts";
import { StoreConflict } from "../types.ts";
import { cachedRead, cacheKey } from "./read-cache.ts";
import { appendAudit } from "./sql-audit.ts";
import { constraint, type Db, type SqlContext } from "./sql-context.ts";

export class SqlForwarding implements ForwardingRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** Setting the target a rule already has changes nothing and writes no event. */
  async set(f: Forwarding, actor: Actor): Promise<void> {
    const at = this.ctx.iso();
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("forwarding")
          .select("target")
          .where("tenant", "=", f.tenant)
          .where("extension", "=", f.extension)
          .where("kind", "=", f.kind)
          .executeTakeFirst();
        const old = row?.target ?? null;
        if (old === f.target) return;
        await trx
          .insertInto("forwarding")
          .values({ tenant: f.tenant, extension: f.extension, kind: f.kind, target: f.target })
          .onConflict((oc) =>
            oc
              .columns(["tenant", "extension", "kind"])
              .doUpdateSet((eb) => ({ target: eb.ref("excluded.target") })),
          )
          .execute();
        await appendAudit(trx, at, {
          tenant: f.tenant,
          actor,
          action: "forwarding.set",
          subject: `${f.extension}/${f.kind}`,
          old,
          new: f.target,
        });
      });
    } catch (err) {
      if (constraint(err) === "foreign") {
        throw new StoreConflict(`extension ${f.extension} does not exist in tenant ${f.tenant}`);
      }
      throw err;
    }
  }

  /** One event per rule actually cleared; clearing nothing writes nothing. */
  async clear(
    tenant: string,
    extension: string,
    kind: ForwardingKind | undefined,
    actor: Actor,
  ): Promise<void> {
    const at = this.ctx.iso();
    await this.ctx.db.transaction().execute(async (trx) => {
      for (const rule of await rulesOf(trx, tenant, extension)) {
        if (kind !== undefined && rule.kind !== kind) continue;
        await trx
          .deleteFrom("forwarding")
          .where("tenant", "=", tenant)
          .where("extension", "=", extension)
          .where("kind", "=", rule.kind)
          .execute();
        await appendAudit(trx, at, {
          tenant,
          actor,
          action: "forwarding.clear",
          subject: `${extension}/${rule.kind}`,
          old: rule.target,
          new: null,
        });
      }
    });
  }

  /** Ordered by kind. Every call to an extension reads them: through the read cache. */
  async list(tenant: string, extension: string): Promise<Forwarding[]> {
    const rows = await cachedRead(
      this.ctx,
      cacheKey("forwarding.list", tenant, extension),
      ["forwarding"],
      () => ruleRows(this.ctx.db, tenant, extension),
    );
    return rows.map(toForwarding);
  }
}

function ruleRows(db: Db, tenant: string, extension: string) {
  return db
    .selectFrom("forwarding")
    .select(["tenant", "extension", "kind", "target"])
    .where("tenant", "=", tenant)
    .where("extension", "=", extension)
    .orderBy("kind")
    .execute();
}

async function rulesOf(db: Db, tenant: string, extension: string): Promise<Forwarding[]> {
  return (await ruleRows(db, tenant, extension)).map(toForwarding);
}

function toForwarding(r: { tenant: string; extension: string; kind: string; target: string }): Forwarding {
  return {
    tenant: r.tenant,
    extension: r.extension,
    kind: r.kind as ForwardingKind,
    target: r.target,
  };
}
