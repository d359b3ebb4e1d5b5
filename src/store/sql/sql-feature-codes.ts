// A tenant's feature-code table over Kysely, for SQLite and PostgreSQL
// alike. Only the tenant's differences from the defaults are stored, so a
// later change of a default reaches every tenant that kept it.
import { applyOverrides, codeClash, isFeatureAction, isFeatureCode } from "../feature-code-table.ts";
import {
  DEFAULT_FEATURE_CODES,
  type FeatureAction,
  type FeatureCode,
  type FeatureCodeRepository,
  StoreConflict,
} from "../types.ts";
import type { Db, SqlContext } from "./sql-context.ts";

const DEFAULT_CODE = new Map(DEFAULT_FEATURE_CODES.map((c) => [c.action, c.code]));

async function tableOf(db: Db, tenant: string): Promise<FeatureCode[]> {
  const rows = await db
    .selectFrom("feature_codes")
    .select(["action", "code"])
    .where("tenant", "=", tenant)
    .execute();
  const map = new Map<FeatureAction, string>();
  for (const row of rows) {
    // A row for an action that a later version dropped is ignored, not fatal.
    if (isFeatureAction(row.action)) map.set(row.action, row.code);
  }
  return applyOverrides(map);
}

export class SqlFeatureCodes implements FeatureCodeRepository {
  constructor(private readonly ctx: SqlContext) {}

  /** The defaults with the tenant's own codes, in the defaults' order. */
  list(tenant: string): Promise<FeatureCode[]> {
    return tableOf(this.ctx.db, tenant);
  }

  /**
   * Throws RangeError for a malformed code or an unknown action (the API
   * validates both first), StoreConflict for a clash or an unknown tenant.
   */
  async set(tenant: string, action: FeatureAction, code: string): Promise<void> {
    if (!isFeatureAction(action)) throw new RangeError(`unknown feature action ${action}`);
    if (!isFeatureCode(code)) throw new RangeError(`feature code ${code} is not * followed by 1 to 4 digits`);
    await this.ctx.db.transaction().execute(async (trx) => {
      const exists = await trx
        .selectFrom("tenants")
        .select("name")
        .where("name", "=", tenant)
        .executeTakeFirst();
      if (!exists) throw new StoreConflict(`tenant ${tenant} does not exist`);
      const clash = codeClash(await tableOf(trx, tenant), action, code);
      if (clash) throw new StoreConflict(clash);
      // Storing only differences keeps later changes to the defaults visible.
      if (DEFAULT_CODE.get(action) === code) {
        await trx
          .deleteFrom("feature_codes")
          .where("tenant", "=", tenant)
          .where("action", "=", action)
          .execute();
      } else {
        await trx
          .insertInto("feature_codes")
          .values({ tenant, action, code })
          .onConflict((oc) =>
            oc.columns(["tenant", "action"]).doUpdateSet((eb) => ({ code: eb.ref("excluded.code") })),
          )
          .execute();
      }
    });
  }

  async reset(tenant: string): Promise<void> {
    await this.ctx.db.deleteFrom("feature_codes").where("tenant", "=", tenant).execute();
  }
}
