// Plain rows for the repositories' own tests: a tenant and its extensions
// written straight into the tables, so that a repository's test does not
// depend on another repository.
import { makeCredentials } from "../credentials.ts";
import type { Db } from "./sql-context.ts";

export const TEST_CREATED_AT = "2026-01-05T08:00:00.000Z";

/** A tenant with the defaults of the code (empty JSON documents read as the defaults). */
export async function insertTenant(db: Db, name: string, trunk: string | null = null): Promise<void> {
  await db
    .insertInto("tenants")
    .values({
      name,
      domain: `${name}.test`,
      language: "fr",
      timezone: "Europe/Zurich",
      country: "CH",
      features: "{}",
      policy: "{}",
      trunk,
      operator: null,
      waiting_seconds: 30,
      company_codes: "{}",
      created_at: TEST_CREATED_AT,
    })
    .execute();
}

export async function insertExtension(db: Db, tenant: string, number: string): Promise<void> {
  const c = makeCredentials(number, `${tenant}.test`, `pw-${number}-secret`);
  await db
    .insertInto("extensions")
    .values({
      tenant,
      number,
      display_name: `User ${number}`,
      language: null,
      ring_timeout_seconds: 30,
      realm: c.realm,
      ha1_md5: c.ha1Md5,
      ha1_sha256: c.ha1Sha256,
      created_at: TEST_CREATED_AT,
      no_answer_seconds: 20,
      call_waiting: 0,
      max_calls: 2,
      caller_id: null,
      mwi_unsolicited: 0,
      pickup_group: null,
    })
    .execute();
}
