// The apps' fixture for the company-wide codes (`*20`, `*11`, `*30`-`*33`):
// the SQLite store's tenant with the three features switched on, a FakeClock
// in Zurich winter time, the in-memory FakeCompany, and scripted calls that
// record real WAV files.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import type { CompanyCodeAccess, Extension, Tenant } from "../../../store/types.ts";
import { FakeClock } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import { type AppFixture, appFixture } from "./app-fixture.ts";
import { FakeCompany, type FakeCompanyOptions } from "./fake-company.ts";
import { type CallerStep, ScriptedCall } from "./scripted-call.ts";

export interface CompanyFixture {
  app: AppFixture;
  clock: FakeClock;
  company: FakeCompany;
  alice: Extension;
  bob: Extension;
  /** Where the scripted calls write their recordings. */
  recordDir: string;
  /** The company as the calls see it; `access` is its rule for the company-wide codes (default: none). */
  tenant(access?: CompanyCodeAccess, patch?: Partial<Tenant>): Tenant;
  /** A call from one of the company's phones (Alice by default). */
  call(script: CallerStep[], opts?: CompanyCallOptions): ScriptedCall;
  close(): Promise<void>;
}

export interface CompanyCallOptions {
  from?: Extension | null;
  access?: CompanyCodeAccess;
  tenant?: Partial<Tenant>;
  log?: Logger;
}

/** Monday 2 March 2026, 11:45 in Zurich (10:45 UTC, winter time). */
export const MONDAY_1145 = Date.UTC(2026, 2, 2, 10, 45);

export async function companyFixture(
  company: Partial<Omit<FakeCompanyOptions, "clock" | "audioDir">> = {},
  start = MONDAY_1145,
): Promise<CompanyFixture> {
  const app = await appFixture();
  await app.enable({ schedules: true, callFlowControl: true, announcements: true });
  const bob = (await app.store.extensions.get("acme", "102"))!;
  const clock = new FakeClock(start);
  const recordDir = join(app.dataDir, "recordings");
  mkdirSync(recordDir, { recursive: true });
  const fake = new FakeCompany({ clock, audioDir: join(app.dataDir, "company-audio"), ...company });
  const tenant = (access: CompanyCodeAccess = {}, patch: Partial<Tenant> = {}): Tenant => ({
    ...app.tenant,
    timezone: "Europe/Zurich",
    companyCodes: access,
    ...patch,
  });
  return {
    app,
    clock,
    company: fake,
    alice: app.alice,
    bob,
    recordDir,
    tenant,
    call: (script, opts = {}) =>
      new ScriptedCall(
        tenant(opts.access, opts.tenant),
        opts.from === null ? undefined : (opts.from ?? app.alice),
        app.store,
        script,
        { clock, company: fake, recordDir, log: opts.log },
      ),
    close: () => app.close(),
  };
}

/** A logger that keeps every line (debug and up), for tests that check what was logged. */
export function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "debug" },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}
