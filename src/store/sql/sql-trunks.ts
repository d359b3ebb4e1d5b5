// The provider's SIP trunks to the public network. Exactly one trunk is the
// default while any exists: the first one created, then whichever
// `isDefault` names, then (when the default is deleted) the oldest remaining
// one. The database holds at most one default itself (the partial unique
// index trunks_one_default), so each move clears the old default first, in
// the same transaction.
import type { Selectable } from "kysely";
import { type NewTrunk, StoreConflict, type Trunk, type TrunkPatch, type TrunkRepository } from "../types.ts";
import type { TrunksTable } from "./schema.ts";
import { bit, constraint, type Db, type SqlContext } from "./sql-context.ts";
import { readJson } from "./stored-json.ts";

/** RFC 3261 §19.1.1: the default port of a sip: URI over UDP and TCP. */
export const DEFAULT_TRUNK_PORT = 5060;

function toTrunk(r: Selectable<TrunksTable>): Trunk {
  const stored = readJson(r.inbound_addresses, "trunk inbound addresses");
  const t: Trunk = {
    name: r.name,
    host: r.host,
    port: Number(r.port),
    transport: r.transport as Trunk["transport"],
    register: Number(r.register) !== 0,
    numberFormat: r.number_format as Trunk["numberFormat"],
    inboundAddresses: Array.isArray(stored) ? stored.filter((a): a is string => typeof a === "string") : [],
    isDefault: Number(r.is_default) !== 0,
    createdAt: r.created_at,
  };
  if (r.username !== null) t.username = r.username;
  if (r.password !== null) t.password = r.password;
  return t;
}

function trunkRow(t: Trunk) {
  return {
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username ?? null,
    password: t.password ?? null,
    register: bit(t.register),
    number_format: t.numberFormat,
    inbound_addresses: JSON.stringify(t.inboundAddresses),
    is_default: bit(t.isDefault),
    created_at: t.createdAt,
  };
}

function one(db: Db, name: string) {
  return db.selectFrom("trunks").selectAll().where("name", "=", name).executeTakeFirst();
}

function undefault(db: Db) {
  return db.updateTable("trunks").set({ is_default: 0 }).where("is_default", "=", 1).execute();
}

export class SqlTrunks implements TrunkRepository {
  constructor(private readonly ctx: SqlContext) {}

  async create(n: NewTrunk): Promise<Trunk> {
    const t: Trunk = {
      name: n.name,
      host: n.host,
      port: n.port ?? DEFAULT_TRUNK_PORT,
      transport: n.transport ?? "udp",
      register: n.register ?? false,
      numberFormat: n.numberFormat ?? "e164",
      inboundAddresses: [...(n.inboundAddresses ?? [])],
      isDefault: n.isDefault ?? false,
      createdAt: this.ctx.iso(),
    };
    if (n.username !== undefined) t.username = n.username;
    if (n.password !== undefined) t.password = n.password;
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        const { n: count } = await trx
          .selectFrom("trunks")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow();
        // count(*) is a bigint in PostgreSQL: pg hands it over as a string.
        if (Number(count) === 0) t.isDefault = true;
        else if (t.isDefault) await undefault(trx);
        await trx.insertInto("trunks").values(trunkRow(t)).execute();
      });
    } catch (err) {
      if (constraint(err) === "unique") throw new StoreConflict(`trunk ${t.name} already exists`);
      throw err;
    }
    return t;
  }

  async get(name: string): Promise<Trunk | undefined> {
    const row = await one(this.ctx.db, name);
    return row && toTrunk(row);
  }

  async list(): Promise<Trunk[]> {
    const rows = await this.ctx.db.selectFrom("trunks").selectAll().orderBy("id").execute();
    return rows.map(toTrunk);
  }

  /**
   * `isDefault: true` moves the default here; `isDefault: false` on the
   * default trunk is a StoreConflict (name another default instead).
   * `username`/`password` null removes them.
   */
  async update(name: string, patch: TrunkPatch): Promise<Trunk | undefined> {
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, name);
      if (!row) return undefined;
      const current = toTrunk(row);
      if (patch.isDefault === false && current.isDefault) {
        throw new StoreConflict(
          `trunk ${name} is the default: make another trunk the default instead (isDefault: true there)`,
        );
      }
      const next: Trunk = {
        ...current,
        host: patch.host ?? current.host,
        port: patch.port ?? current.port,
        transport: patch.transport ?? current.transport,
        register: patch.register ?? current.register,
        numberFormat: patch.numberFormat ?? current.numberFormat,
        inboundAddresses: [...(patch.inboundAddresses ?? current.inboundAddresses)],
      };
      if (patch.username === null) delete next.username;
      else if (patch.username !== undefined) next.username = patch.username;
      if (patch.password === null) delete next.password;
      else if (patch.password !== undefined) next.password = patch.password;
      if (patch.isDefault === true && !current.isDefault) {
        await undefault(trx);
        next.isDefault = true;
      }
      const { name: _same, created_at: _kept, ...columns } = trunkRow(next);
      await trx.updateTable("trunks").set(columns).where("name", "=", name).execute();
      return next;
    });
  }

  /** StoreConflict while a tenant names it (tenants.trunk has no ON DELETE action). */
  async delete(name: string): Promise<boolean> {
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, name);
      if (!row) return false;
      const users = (
        await trx.selectFrom("tenants").select("name").where("trunk", "=", name).orderBy("name").execute()
      ).map((r) => r.name);
      if (users.length > 0) {
        throw new StoreConflict(
          `trunk ${name} is used by tenant${users.length === 1 ? "" : "s"} ${users.join(", ")}: give ${users.length === 1 ? "it" : "them"} another trunk first`,
        );
      }
      await trx.deleteFrom("trunks").where("name", "=", name).execute();
      if (Number(row.is_default) !== 0) {
        await trx
          .updateTable("trunks")
          .set({ is_default: 1 })
          .where("id", "=", (eb) => eb.selectFrom("trunks").select((s) => s.fn.min("id").as("first")))
          .execute();
      }
      return true;
    });
  }
}
