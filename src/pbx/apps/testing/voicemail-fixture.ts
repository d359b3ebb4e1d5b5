// The apps' fixture with the real voicemail service over its SQLite store and
// data directory, on a FakeClock: mailboxes with PINs, greetings and
// messages made the way the service makes them, and scripted calls that
// record real WAV files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeWav } from "../../../media/codec/wav.ts";
import type { Extension, MailboxSettingsPatch, Tenant, VoicemailMessage } from "../../../store/types.ts";
import { FakeClock } from "../../../util/clock.ts";
import { silentLogger } from "../../../util/log.ts";
import type { MailboxCounts } from "../../voicemail/voicemail.ts";
import { VoicemailService } from "../../voicemail/voicemail-service.ts";
import { type AppFixture, appFixture } from "./app-fixture.ts";
import { type CallerStep, ScriptedCall } from "./scripted-call.ts";

export interface VoicemailFixture {
  app: AppFixture;
  /** Alice's (101) company, as it is now (features and operator follow the changes). */
  readonly tenant: Tenant;
  alice: Extension;
  bob: Extension;
  clock: FakeClock;
  voicemail: VoicemailService;
  /** Every count the service published (the lamps). */
  published: Array<{ mailbox: string; counts: MailboxCounts }>;
  /** Switches the company's voicemail (and remote access) on or off. */
  features(features: { voicemail?: boolean; voicemailRemoteAccess?: boolean }): Promise<void>;
  operator(extension: string | null): Promise<void>;
  /** An enabled mailbox with this PIN; `patch` sets more options. */
  mailbox(number: string, pin: string, patch?: MailboxSettingsPatch): Promise<void>;
  /** A WAV file of `ms` of a voice-like tone, as a recording or an upload would be. */
  wav(ms: number): string;
  /** A message left in `mailbox` by `from`, at the clock's time; then the clock moves on a minute. */
  message(mailbox: string, from: string, name?: string): Promise<VoicemailMessage>;
  /** A call from one of the company's phones (Alice by default). */
  call(script: CallerStep[], from?: Extension): ScriptedCall;
  /** A call from outside through a trunk. */
  outsideCall(script: CallerStep[], caller?: string, source?: string): ScriptedCall;
  close(): Promise<void>;
}

export async function voicemailFixture(): Promise<VoicemailFixture> {
  const app = await appFixture();
  const bob = (await app.store.extensions.get("acme", "102"))!;
  const clock = new FakeClock(Date.UTC(2026, 2, 3, 13, 30, 0));
  const published: VoicemailFixture["published"] = [];
  const voicemail = new VoicemailService({
    store: app.store,
    dataDir: app.dataDir,
    clock,
    log: silentLogger(),
    publishMailbox: (_tenant, mailbox, counts) => published.push({ mailbox, counts }),
  });
  const recordDir = join(app.dataDir, "recordings");
  mkdirSync(recordDir, { recursive: true });
  let files = 0;
  const admin = { kind: "api", id: "admin" } as const;
  const opts = () => ({ voicemail, clock, recordDir });
  const fx: VoicemailFixture = {
    app,
    get tenant() {
      return app.tenant;
    },
    alice: app.alice,
    bob,
    clock,
    voicemail,
    published,
    async features(features) {
      await app.enable(features);
    },
    async operator(extension) {
      await app.store.tenants.update("acme", { operator: extension });
      // The fixture's tenant is refreshed by enable(); an empty change re-reads it.
      await app.enable({});
    },
    async mailbox(number, pin, patch = {}) {
      await voicemail.configure("acme", number, { enabled: true, pin }, admin);
      if (Object.keys(patch).length > 0)
        await app.store.voicemail.updateSettings("acme", number, patch, admin);
    },
    wav(ms) {
      const samples = new Int16Array(Math.round(ms * 8));
      for (let i = 0; i < samples.length; i++)
        samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 330 * i) / 8000));
      const path = join(recordDir, `upload-${++files}.wav`);
      writeFileSync(path, writeWav(samples, 8000));
      return path;
    },
    async message(mailbox, from, name) {
      const message = await voicemail.deposit(
        app.tenant,
        mailbox,
        { path: fx.wav(3000), durationMs: 3000 },
        { number: from, name },
      );
      if (!message) throw new Error("the fixture's message was discarded");
      clock.tick(60_000);
      return message;
    },
    call: (script, from = app.alice) => new ScriptedCall(app.tenant, from, app.store, script, opts()),
    outsideCall: (script, caller = "+41791234567", source = "udp:198.51.100.7:5060") =>
      new ScriptedCall(app.tenant, undefined, app.store, script, { ...opts(), caller, source }),
    close: () => app.close(),
  };
  return fx;
}
