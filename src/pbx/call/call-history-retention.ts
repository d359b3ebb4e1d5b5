// How long the call history is kept (VPBX_CALL_HISTORY_DAYS): records older
// than that are deleted once a day, on the injected clock, the first time
// shortly after the start. With 0 days no history is kept: what an earlier
// run wrote is deleted too.
import type { Store } from "../../store/types.ts";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export const DAY_MS = 86_400_000;
/** The first purge after the start: once the PBX is up, not in its way. */
const FIRST_PURGE_DELAY_MS = 60_000;

export interface RetentionDeps {
  store: Pick<Store, "callHistory">;
  clock: Clock;
  log: Logger;
  /** Days a record is kept; 0: none at all. */
  days: number;
}

export class CallHistoryRetention {
  private timer: Timer | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly deps: RetentionDeps) {
    if (!Number.isInteger(deps.days) || deps.days < 0) {
      throw new RangeError(`call history days must be a whole number ≥ 0, not ${deps.days}`);
    }
  }

  /** Purges shortly after now, then every day. */
  start(): void {
    this.stopped = false;
    this.schedule(FIRST_PURGE_DELAY_MS);
  }

  /** No more purges; resolves once one in progress is done (before the store closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running?.catch(() => 0);
  }

  /**
   * Deletes the records that started before the retention; resolves with how
   * many. Never rejects: a store failure is logged and the next day tries again.
   */
  purgeNow(): Promise<number> {
    this.running ??= this.purge().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const timer = this.deps.clock.setTimer(ms, () => {
      void this.purgeNow().then(() => this.schedule(DAY_MS));
    });
    // Housekeeping: it alone does not keep the process running.
    timer.unref?.();
    this.timer = timer;
  }

  private async purge(): Promise<number> {
    const { clock, days, log, store } = this.deps;
    const now = clock.now();
    // 0 days: nothing is kept, not even what an earlier run wrote.
    const before = days === 0 ? now + 1 : now - days * DAY_MS;
    try {
      const count = await store.callHistory.purge(before);
      if (count > 0) log.info({ count, days }, "call history: old records deleted");
      return count;
    } catch (err) {
      log.error({ err }, "call history: old records could not be deleted");
      return 0;
    }
  }
}
