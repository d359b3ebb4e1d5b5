// RFC 3261 §13.3.1.4: the 2xx to an INVITE is the UAS core's to repeat,
// because the transaction ends (or only absorbs, RFC 6026) once it is sent.
import type { Clock, Timer } from "../../util/clock.ts";
import type { SipResponse } from "../message/types.ts";
import type { TransactionLayer } from "../transaction/transaction-layer.ts";
import type { RemoteAddress } from "../transport/types.ts";

export class AnswerRetransmitter {
  private timer: Timer | undefined;
  private giveUp: Timer | undefined;
  private stopped = false;

  /**
   * Starts after the first 2xx went out through the server transaction.
   * Over UDP, repeats it at T1, 2·T1, … capped at T2; on any transport gives
   * up after 64·T1 and calls `onTimeout`.
   */
  constructor(
    private readonly transactions: TransactionLayer,
    clock: Clock,
    private readonly response: SipResponse,
    private readonly source: RemoteAddress,
    onTimeout: () => void,
  ) {
    const { T1, T2 } = transactions.timers;
    if (source.transport === "UDP") {
      let interval = T1;
      const fire = () => {
        if (this.stopped) return;
        this.transactions.sendStateless(this.response, this.source);
        interval = Math.min(2 * interval, T2);
        this.timer = clock.setTimer(interval, fire);
      };
      this.timer = clock.setTimer(interval, fire);
    }
    this.giveUp = clock.setTimer(64 * T1, () => {
      if (this.stopped) return;
      this.stop();
      onTimeout();
    });
  }

  get active(): boolean {
    return !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.giveUp?.cancel();
  }
}
