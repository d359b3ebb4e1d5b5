import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore } from "../../store/sql/open-store.ts";
import {
  type Actor,
  DEFAULT_DIALLING_POLICY,
  type DiallingPolicy,
  type ForwardingKind,
  type Store,
  type Tenant,
} from "../../store/types.ts";
import { clearForwarding, setForwarding, watchForwarding } from "./forwarding-settings.ts";

const admin: Actor = { kind: "api", id: "admin" };
let dir: string;
let store: Store;
let tenant: Tenant;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "vpbx-fwd-"));
  store = await openStore({ dataDir: dir });
  const created = await store.tenants.create({ name: "acme", domain: "acme.test", country: "CH" });
  tenant = { ...created, policy: DEFAULT_DIALLING_POLICY };
  for (const number of ["101", "102", "103", "104"]) {
    await store.extensions.create({
      tenant: "acme",
      number,
      displayName: `Phone ${number}`,
      credentials: makeCredentials(number, "acme.test", `secret-${number}-xyz`),
    });
  }
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const withPolicy = (policy: Partial<DiallingPolicy>): Tenant => ({
  ...tenant,
  policy: { ...DEFAULT_DIALLING_POLICY, ...policy },
});
const set = (extension: string, kind: ForwardingKind, typed: string | null, t = tenant) =>
  setForwarding(store, t, extension, kind, typed, admin);
const rules = async (extension = "101") =>
  (await store.forwarding.list("acme", extension)).map((f) => `${f.kind}:${f.target}`).sort();

test("a typed public number or extension is stored in its one form and returned with its destination", async () => {
  assert.deepEqual(await set("101", "unconditional", "079 123 12 12"), {
    ok: true,
    target: "+41791231212",
    destination: { kind: "external", e164: "+41791231212", national: "791231212", class: "mobile" },
  });
  assert.deepEqual(await set("101", "busy", "102"), {
    ok: true,
    target: "102",
    destination: { kind: "extension", number: "102" },
  });
  assert.equal((await set("101", "noAnswer", "+41223334455")).ok, true);
  assert.equal((await set("101", "unreachable", "0800123456")).ok, true);
  assert.deepEqual(await rules(), [
    "busy:102",
    "noAnswer:+41223334455",
    "unconditional:+41791231212",
    "unreachable:+41800123456",
  ]);
});

test("setting again replaces the rule; null clears one kind", async () => {
  await set("101", "unconditional", "0791231212");
  await set("101", "busy", "103");
  await set("101", "unconditional", "102");
  assert.deepEqual(await rules(), ["busy:103", "unconditional:102"]);
  assert.deepEqual(await set("101", "unconditional", null), { ok: true, target: null });
  assert.deepEqual(await rules(), ["busy:103"]);
});

test("clearForwarding clears one kind or all four", async () => {
  await set("101", "unconditional", "0791231212");
  await set("101", "busy", "102");
  await set("101", "noAnswer", "103");
  await set("101", "unreachable", "104");
  await clearForwarding(store, tenant, "101", "busy", admin);
  assert.deepEqual(await rules(), ["noAnswer:103", "unconditional:+41791231212", "unreachable:104"]);
  await clearForwarding(store, tenant, "101", "all", admin);
  assert.deepEqual(await rules(), []);
});

test("what is not a number is invalid, and changes nothing", async () => {
  await set("101", "unconditional", "102");
  for (const typed of ["", "  ", "12", "07912#3", "abc", "105", "0868123456"]) {
    assert.deepEqual(await set("101", "unconditional", typed), { ok: false, why: "invalid" }, typed);
  }
  assert.deepEqual(await rules(), ["unconditional:102"]);
});

test("the tenant's dialling policy decides over costly and foreign targets", async () => {
  for (const typed of ["0900123456", "0848123456", "0878123456", "0033612345678", "+447012345678"]) {
    assert.deepEqual(await set("101", "unconditional", typed), { ok: false, why: "not-allowed" }, typed);
  }
  assert.deepEqual(await rules(), []);
  const open = withPolicy({ international: true, premiumRate: true, sharedCost: true, personal: true });
  assert.equal((await set("101", "unconditional", "0900123456", open)).ok, true);
  assert.equal((await set("101", "busy", "0033612345678", open)).ok, true);
  const abroadOnly = withPolicy({ international: true });
  assert.deepEqual(await set("101", "noAnswer", "+33899123456", abroadOnly), {
    ok: false,
    why: "not-allowed",
  });
  assert.deepEqual(await rules(), ["busy:+33612345678", "unconditional:+41900123456"]);
});

test("an emergency number is never a forwarding target, whatever the policy", async () => {
  const open = withPolicy({ international: true, premiumRate: true, sharedCost: true, personal: true });
  for (const typed of ["112", "117", "144", "1414"]) {
    assert.deepEqual(
      await set("101", "unconditional", typed, open),
      { ok: false, why: "not-allowed" },
      typed,
    );
  }
  assert.deepEqual(await rules(), []);
});

test("forwarding an extension to itself is refused as self", async () => {
  assert.deepEqual(await set("101", "busy", "101"), { ok: false, why: "self" });
  assert.deepEqual(await rules(), []);
});

test("a chain of unconditional forwardings leading back is a loop", async () => {
  assert.equal((await set("102", "unconditional", "103")).ok, true);
  assert.equal((await set("103", "unconditional", "101")).ok, true);
  assert.deepEqual(await set("101", "unconditional", "102"), { ok: false, why: "loop" });
  // Any kind from 101 is a loop when the target forwards everything back.
  assert.deepEqual(await set("101", "busy", "103"), { ok: false, why: "loop" });
  assert.deepEqual(await rules(), []);
  // A chain that ends at a public number or at a phone with no rule is fine.
  assert.equal((await set("103", "unconditional", "0791231212")).ok, true);
  assert.equal((await set("101", "unconditional", "102")).ok, true);
});

test("the target's rule of the same kind counts; its other kinds do not", async () => {
  await set("102", "busy", "101");
  await set("103", "unreachable", "101");
  assert.deepEqual(await set("101", "busy", "102"), { ok: false, why: "loop" });
  assert.equal((await set("101", "unreachable", "102")).ok, true);
  assert.deepEqual(await set("101", "unreachable", "103"), { ok: false, why: "loop" });
  assert.equal((await set("101", "busy", "103")).ok, true);
  assert.deepEqual(await rules(), ["busy:103", "unreachable:102"]);
});

test("the loop walk follows mixed chains", async () => {
  await set("102", "unconditional", "103");
  await set("103", "busy", "104");
  await set("104", "busy", "101");
  // Unconditional from 101: 102 → 103, whose busy rule is not followed.
  assert.equal((await set("101", "unconditional", "102")).ok, true);
  await set("101", "unconditional", null);
  // Busy from 101: 102 → 103 → 104 → 101.
  assert.deepEqual(await set("101", "busy", "102"), { ok: false, why: "loop" });
});

test("the loop walk ends on a cycle among other extensions (written before these checks existed)", async () => {
  await store.forwarding.set(
    { tenant: "acme", extension: "102", kind: "unconditional", target: "103" },
    admin,
  );
  await store.forwarding.set(
    { tenant: "acme", extension: "103", kind: "unconditional", target: "102" },
    admin,
  );
  assert.equal((await set("101", "unconditional", "102")).ok, true);
});

test("every write carries the actor to the store (it audits the change)", async () => {
  const seen: string[] = [];
  const spied: Store = {
    ...store,
    forwarding: {
      set: async (f, actor) => {
        seen.push(`set ${f.kind} ${actor.kind}:${actor.id}`);
        await store.forwarding.set(f, actor);
      },
      clear: async (t, e, kind, actor) => {
        seen.push(`clear ${kind ?? "all"} ${actor.kind}:${actor.id}`);
        await store.forwarding.clear(t, e, kind, actor);
      },
      list: (t, e) => store.forwarding.list(t, e),
    },
  };
  const phone: Actor = { kind: "phone", id: "101", source: "udp:192.0.2.10:5062" };
  await setForwarding(spied, tenant, "101", "busy", "102", phone);
  await setForwarding(spied, tenant, "101", "busy", "0900123456", phone);
  await setForwarding(spied, tenant, "101", "busy", null, admin);
  await clearForwarding(spied, tenant, "101", "all", admin);
  assert.deepEqual(seen, ["set busy phone:101", "clear busy api:admin", "clear all api:admin"]);
});

test("watchers of the store hear every rule set or cleared (the console), not refusals; unwatch stops it", async () => {
  const heard: string[] = [];
  const unwatch = watchForwarding(store, (t, e) => heard.push(`${t}:${e}`));
  const other: string[] = [];
  watchForwarding({ ...store }, (t, e) => other.push(`${t}:${e}`));
  await set("101", "busy", "102");
  await set("101", "busy", "101");
  await set("102", "busy", null);
  await clearForwarding(store, tenant, "103", "all", admin);
  assert.deepEqual(heard, ["acme:101", "acme:102", "acme:103"]);
  assert.deepEqual(other, [], "another store is another PBX");
  unwatch();
  await set("101", "busy", "103");
  assert.equal(heard.length, 3);
});
