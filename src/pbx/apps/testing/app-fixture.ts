// A tenant with two phones in a fresh SQLite store, for the apps' unit tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCredentials } from "../../../store/credentials.ts";
import { openStore } from "../../../store/sql/open-store.ts";
import type { Extension, FeatureSwitches, Store, Tenant } from "../../../store/types.ts";
import { type CallerStep, ScriptedCall } from "./scripted-call.ts";

export interface AppFixture {
  store: Store;
  /** The store's data directory (voicemail audio lives under it). */
  dataDir: string;
  tenant: Tenant;
  /** Closes the store and opens the same files again, as a restart would. */
  reopen(): Promise<void>;
  alice: Extension;
  call(script?: CallerStep[], from?: Extension): ScriptedCall;
  enable(features: Partial<FeatureSwitches>): Promise<void>;
  close(): Promise<void>;
}

export async function appFixture(): Promise<AppFixture> {
  const dir = mkdtempSync(join(tmpdir(), "vpbx-app-"));
  let store: Store = await openStore({ dataDir: dir });
  let tenant = await store.tenants.create({ name: "acme", domain: "acme.test" });
  const alice = await store.extensions.create({
    tenant: "acme",
    number: "101",
    displayName: "Alice",
    credentials: makeCredentials("101", "acme.test", "alice-secret-1"),
  });
  await store.extensions.create({
    tenant: "acme",
    number: "102",
    displayName: "Bob",
    credentials: makeCredentials("102", "acme.test", "bob-secret-22"),
  });
  return {
    get store() {
      return store;
    },
    dataDir: dir,
    async reopen() {
      await store.close();
      store = await openStore({ dataDir: dir });
    },
    get tenant() {
      return tenant;
    },
    alice,
    call: (script = [], from = alice) => new ScriptedCall(tenant, from, store, script),
    async enable(features) {
      tenant = (await store.tenants.update("acme", { features }))!;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
