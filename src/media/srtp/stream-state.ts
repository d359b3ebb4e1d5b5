// What one SSRC's cryptographic context remembers between packets (RFC 3711
// §3.2.1): for SRTP the rollover counter and highest sequence number, from
// which each packet's 48-bit index is estimated (§3.3.1, Appendix A), and
// the replay window; for SRTCP the next index to send or the replay window.
import { ReplayWindow } from "./replay-window.ts";

export class RtpStreamState {
  /** ROC: how many times the highest sequence number has wrapped. */
  roc = 0;
  /** s_l: the highest sequence number authenticated (or sent) so far. */
  highestSeq = 0;
  /** False until the first packet: its SEQ initialises s_l with ROC 0 (§3.3.1). */
  started = false;
  readonly window = new ReplayWindow();
  /** When the stream was last used, in packets of its session: eviction picks the oldest. */
  lastUsed = 0;

  /**
   * The ROC v of a packet with sequence number `seq` (Appendix A): the one
   * that puts its index closest to s_l. −1 means the packet belongs before
   * the first wrap we know of (ROC − 1 with ROC 0): older than anything the
   * window can hold.
   */
  estimateRoc(seq: number): number {
    if (!this.started) return 0;
    const sl = this.highestSeq;
    if (sl < 32768) return seq - sl > 32768 ? this.roc - 1 : this.roc;
    return sl - 32768 > seq ? this.roc + 1 : this.roc;
  }

  /** Records an authenticated (or sent) packet of ROC v and sequence `seq` (§3.3.1 update rule). */
  update(v: number, seq: number): void {
    const index = v * 65536 + seq;
    if (!this.started || index > this.roc * 65536 + this.highestSeq) {
      this.roc = v;
      this.highestSeq = seq;
      this.started = true;
    }
    this.window.accept(index);
  }
}

export class RtcpStreamState {
  /** Sender: the SRTCP index of the next packet, from 0 (§3.4). */
  nextIndex = 0;
  /** Receiver: the replay window over SRTCP indices (§3.3.2). */
  readonly window = new ReplayWindow();
  lastUsed = 0;
}
