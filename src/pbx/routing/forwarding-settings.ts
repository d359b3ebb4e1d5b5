// The one place where a forwarding rule is checked and written, whether a
// phone dials *72 or the REST API is called: the same number reads the same
// way, the same policy applies, and every change is audited with who made it.
// Being the one place, it is also where a change is announced (the console's
// live feed): whoever watches the store hears of every rule set or cleared.
import type { Actor, ForwardingKind, Store, Tenant } from "../../store/types.ts";
import { readInCompany } from "./company-number.ts";
import { policyRefusal } from "./dialling-policy.ts";
import { type Destination, InvalidNumber, storedTarget } from "./phone-number.ts";

/**
 * invalid: not a number (empty, malformed, unknown short number);
 * not-allowed: the tenant's dialling policy refuses it, or an emergency number;
 * self: the extension itself; loop: the chain of forwardings leads back.
 */
export type ForwardingRefusal = "invalid" | "not-allowed" | "self" | "loop";

export type ForwardingResult =
  | { ok: true; target: string | null; destination?: Destination }
  | { ok: false; why: ForwardingRefusal };

/**
 * How many extensions the loop check visits at most. The router gives up
 * after five forwarding hops anyway; this only bounds the reads when a tenant
 * has long chains.
 */
const MAX_LOOP_WALK = 50;

/** Told after a forwarding rule of `extension` was set or cleared; must not throw (the write is done). */
export type ForwardingWatcher = (tenant: string, extension: string) => void;

/**
 * Watchers by store: the functions here take the store they write to (the
 * app's CallControl.store, the API's), so the store is what names "this PBX".
 */
const watchers = new WeakMap<Store, Set<ForwardingWatcher>>();

/** `watcher` hears every forwarding change made through this module on `store`; returns the unwatch. */
export function watchForwarding(store: Store, watcher: ForwardingWatcher): () => void {
  let set = watchers.get(store);
  if (!set) {
    set = new Set();
    watchers.set(store, set);
  }
  set.add(watcher);
  return () => {
    watchers.get(store)?.delete(watcher);
  };
}

function changed(store: Store, tenant: string, extension: string): void {
  for (const watcher of watchers.get(store) ?? []) watcher(tenant, extension);
}

/**
 * Sets (or, with `typed` null, clears) the `kind` forwarding of `extension`
 * to what the user typed: an extension of the tenant or a public number.
 * A refusal changes nothing. The extension must exist (the store throws
 * StoreConflict otherwise).
 */
export async function setForwarding(
  store: Store,
  tenant: Tenant,
  extension: string,
  kind: ForwardingKind,
  typed: string | null,
  actor: Actor,
): Promise<ForwardingResult> {
  if (typed === null) {
    await store.forwarding.clear(tenant.name, extension, kind, actor);
    changed(store, tenant.name, extension);
    return { ok: true, target: null };
  }
  let destination: Destination;
  try {
    destination = await readInCompany(store, tenant, typed);
  } catch (err) {
    if (err instanceof InvalidNumber) return { ok: false, why: "invalid" };
    throw err;
  }
  if (destination.kind === "external") {
    // An emergency call must come from the person in need, with their own
    // number and location: a forwarded call would reach 112 as if from us.
    if (destination.class === "emergency") return { ok: false, why: "not-allowed" };
    if (policyRefusal(tenant.policy, destination) !== undefined) return { ok: false, why: "not-allowed" };
  } else {
    if (destination.number === extension) return { ok: false, why: "self" };
    if (await leadsBackTo(store, tenant.name, destination.number, kind, extension)) {
      return { ok: false, why: "loop" };
    }
  }
  const target = storedTarget(destination);
  await store.forwarding.set({ tenant: tenant.name, extension, kind, target }, actor);
  changed(store, tenant.name, extension);
  return { ok: true, target, destination };
}

/** Clears one kind of forwarding, or every kind ("all", *73), of an extension; audited. */
export async function clearForwarding(
  store: Store,
  tenant: Tenant,
  extension: string,
  kind: ForwardingKind | "all",
  actor: Actor,
): Promise<void> {
  await store.forwarding.clear(tenant.name, extension, kind === "all" ? undefined : kind, actor);
  changed(store, tenant.name, extension);
}

/**
 * Whether a call forwarded (as `kind`) from `origin` to `start` could come
 * back to `origin`: from each extension the call reaches, it moves on by that
 * extension's unconditional rule, or by its rule of the same kind (busy
 * forwarded to someone busy, who forwards when busy). Only extension targets
 * are followed; a public number leaves the PBX.
 */
async function leadsBackTo(
  store: Store,
  tenant: string,
  start: string,
  kind: ForwardingKind,
  origin: string,
): Promise<boolean> {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0 && seen.size <= MAX_LOOP_WALK) {
    const at = queue.shift()!;
    for (const rule of await store.forwarding.list(tenant, at)) {
      if (rule.kind !== "unconditional" && rule.kind !== kind) continue;
      if (rule.target.startsWith("+")) continue;
      if (rule.target === origin) return true;
      if (!seen.has(rule.target)) {
        seen.add(rule.target);
        queue.push(rule.target);
      }
    }
  }
  return false;
}
