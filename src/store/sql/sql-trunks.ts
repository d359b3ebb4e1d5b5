// The provider's SIP trunks to the public network. Exactly one trunk is the
// default while any exists: the first one created, then whichever
// `isDefault` names, then (when the default is deleted) the oldest remaining
// one. The database holds at most one default itself (the partial unique
// index trunks_one_default), so each move clears the old default first, in
// the same transaction.
//
// A trunk's password is the provider's account at the carrier: it is stored
// sealed (secret-box.ts), for its trunk, and opened when a trunk is read.
//
// Trunks belong to no company: their changes go to the provider's audit log,
// in the transaction of the change, without the password (`hasPassword`, and
// `passwordChanged` when an update replaced it).
import type { Selectable } from "kysely";
import {
  type Actor,
  type NewTrunk,
  StoreConflict,
  type Trunk,
  type TrunkPatch,
  type TrunkRepository,
} from "../types.ts";
import { cachedRead, cacheKey } from "./read-cache.ts";
import type { TrunksTable } from "./schema.ts";
import { isSealed, type SecretBox } from "./secret-box.ts";
import { appendProviderAudit } from "./sql-audit.ts";
import { bit, constraint, type Db, type SqlContext, UNNAMED_ACTOR } from "./sql-context.ts";
import { readJson, sameJson } from "./stored-json.ts";

/** RFC 3261 §19.1.1: the default port of a sip: URI over UDP and TCP. */
export const DEFAULT_TRUNK_PORT = 5060;

/** The context of a sealed trunk password: its row (the additional authenticated data). */
export function trunkPasswordContext(name: string): string {
  return `trunk ${name} password`;
}

function toTrunk(r: Selectable<TrunksTable>, box: SecretBox): Trunk {
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
  if (r.password !== null) t.password = box.open(r.password, trunkPasswordContext(r.name));
  return t;
}

function trunkRow(t: Trunk, box: SecretBox) {
  return {
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username ?? null,
    password: t.password === undefined ? null : box.seal(t.password, trunkPasswordContext(t.name)),
    register: bit(t.register),
    number_format: t.numberFormat,
    inbound_addresses: JSON.stringify(t.inboundAddresses),
    is_default: bit(t.isDefault),
    created_at: t.createdAt,
  };
}

/** What the audit log keeps of a trunk: never the password, only whether there is one. */
export function auditedTrunk(t: Trunk) {
  return {
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username ?? null,
    hasPassword: t.password !== undefined && t.password !== "",
    register: t.register,
    numberFormat: t.numberFormat,
    inboundAddresses: t.inboundAddresses,
    isDefault: t.isDefault,
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

  async create(n: NewTrunk, actor: Actor = UNNAMED_ACTOR): Promise<Trunk> {
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
        await trx.insertInto("trunks").values(trunkRow(t, this.ctx.secrets)).execute();
        await appendProviderAudit(trx, t.createdAt, {
          actor,
          action: "trunk.create",
          subject: t.name,
          old: null,
          new: auditedTrunk(t),
        });
      });
    } catch (err) {
      if (constraint(err) === "unique") throw new StoreConflict(`trunk ${t.name} already exists`);
      throw err;
    }
    return t;
  }

  async get(name: string): Promise<Trunk | undefined> {
    const row = await one(this.ctx.db, name);
    return row && toTrunk(row, this.ctx.secrets);
  }

  /** Every INVITE asks whether it comes from a trunk: through the read cache. */
  async list(): Promise<Trunk[]> {
    const rows = await cachedRead(this.ctx, cacheKey("trunks.list"), ["trunks"], () =>
      this.ctx.db.selectFrom("trunks").selectAll().orderBy("id").execute(),
    );
    return rows.map((r) => toTrunk(r, this.ctx.secrets));
  }

  /**
   * `isDefault: true` moves the default here; `isDefault: false` on the
   * default trunk is a StoreConflict (name another default instead).
   * `username`/`password` null removes them.
   */
  async update(name: string, patch: TrunkPatch, actor: Actor = UNNAMED_ACTOR): Promise<Trunk | undefined> {
    const at = this.ctx.iso();
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await one(trx, name);
      if (!row) return undefined;
      const current = toTrunk(row, this.ctx.secrets);
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
      const { name: _same, created_at: _kept, ...columns } = trunkRow(next, this.ctx.secrets);
      await trx.updateTable("trunks").set(columns).where("name", "=", name).execute();
      // A new password shows only as changed; a patch that changes nothing leaves no event.
      const passwordChanged = current.password !== next.password;
      const old = auditedTrunk(current);
      const now = auditedTrunk(next);
      if (passwordChanged || !sameJson(old, now)) {
        await appendProviderAudit(trx, at, {
          actor,
          action: "trunk.update",
          subject: name,
          old,
          new: passwordChanged ? { ...now, passwordChanged: true } : now,
        });
      }
      return next;
    });
  }

  /** StoreConflict while a tenant names it (tenants.trunk has no ON DELETE action). */
  async delete(name: string, actor: Actor = UNNAMED_ACTOR): Promise<boolean> {
    const at = this.ctx.iso();
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
      await appendProviderAudit(trx, at, {
        actor,
        action: "trunk.delete",
        subject: name,
        // Read without opening the password: the event only says whether there was one.
        old: {
          ...auditedTrunk(toTrunk({ ...row, password: null }, this.ctx.secrets)),
          hasPassword: row.password !== null,
        },
        new: null,
      });
      return true;
    });
  }
}

/**
 * Seals the passwords stored in clear (rows of a vpbx from before sealing),
 * in `trx`; returns how many. Each update names the clear value it read: a
 * node sealing the same row at the same time is not sealed over.
 */
export async function sealPlainTrunks(trx: Db, box: SecretBox): Promise<number> {
  const rows = await trx
    .selectFrom("trunks")
    .select(["name", "password"])
    .where("password", "is not", null)
    .execute();
  let sealed = 0;
  for (const r of rows) {
    if (r.password === null || isSealed(r.password)) continue;
    const result = await trx
      .updateTable("trunks")
      .set({ password: box.seal(r.password, trunkPasswordContext(r.name)) })
      .where("name", "=", r.name)
      .where("password", "=", r.password)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}
