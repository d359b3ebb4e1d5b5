// A company's public numbers (DIDs). A number belongs to one company (unique
// across tenants); the id keeps the order of addition, and the first number
// of a tenant is its main number.
import type { Selectable } from "kysely";
import { type NumberRepository, StoreConflict, type TenantNumber } from "../types.ts";
import type { NumbersTable } from "./schema.ts";
import { constraint, type SqlContext } from "./sql-context.ts";
import { readDestinationSpec } from "./stored-json.ts";

// A stored destination that cannot be read hangs up rather than ringing
// somewhere unintended (readDestinationSpec: every type, `then` nested).
function toNumber(r: Selectable<NumbersTable>): TenantNumber {
  return {
    tenant: r.tenant,
    number: r.number,
    destination: readDestinationSpec(r.destination),
    createdAt: r.created_at,
  };
}

export class SqlNumbers implements NumberRepository {
  constructor(private readonly ctx: SqlContext) {}

  async add(n: Omit<TenantNumber, "createdAt">): Promise<TenantNumber> {
    const added: TenantNumber = {
      ...n,
      destination: structuredClone(n.destination),
      createdAt: this.ctx.iso(),
    };
    try {
      await this.ctx.db
        .insertInto("numbers")
        .values({
          tenant: added.tenant,
          number: added.number,
          destination: JSON.stringify(added.destination),
          created_at: added.createdAt,
        })
        .execute();
    } catch (err) {
      const kind = constraint(err);
      if (kind === "unique") {
        const owner = (await this.row(n.number))?.tenant;
        throw new StoreConflict(`number ${n.number} already belongs to tenant ${owner ?? "another tenant"}`);
      }
      if (kind === "foreign") throw new StoreConflict(`tenant ${n.tenant} does not exist`);
      throw err;
    }
    return added;
  }

  async list(tenant: string): Promise<TenantNumber[]> {
    const rows = await this.ctx.db
      .selectFrom("numbers")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("id")
      .execute();
    return rows.map(toNumber);
  }

  async find(e164: string): Promise<TenantNumber | undefined> {
    const row = await this.row(e164);
    return row && toNumber(row);
  }

  async listAll(): Promise<TenantNumber[]> {
    const rows = await this.ctx.db.selectFrom("numbers").selectAll().orderBy("id").execute();
    return rows.map(toNumber);
  }

  async delete(tenant: string, number: string): Promise<boolean> {
    const r = await this.ctx.db
      .deleteFrom("numbers")
      .where("tenant", "=", tenant)
      .where("number", "=", number)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  private row(e164: string) {
    return this.ctx.db.selectFrom("numbers").selectAll().where("number", "=", e164).executeTakeFirst();
  }
}
