// Packets lost on the way to a leg, counted the way RTCP receiver reports
// do (RFC 3550 §6.4.1 and appendix A.3): the number expected, from the first
// sequence number to the extended highest one seen, minus the number
// received. Late packets do not move the highest; a sequence number that
// wraps past 65535 adds a cycle. A jump of more than MAX_DROPOUT ahead (a
// sender that restarted without changing its SSRC, appendix A.1) or a new
// SSRC starts a new count, the old one's losses kept. Duplicates count as
// received, so losses may read low, never high; the total never goes below 0.
// One comparison and a few additions per packet: cheap enough for the relay.

/** A jump larger than this is a restarted sender, not a loss (RFC 3550 A.1). */
const MAX_DROPOUT = 3000;
const SEQ_MOD = 0x10000;

export class SequenceLoss {
  private ssrc = -1;
  private base = 0;
  /** Extended (cycles × 65536 + seq) highest sequence number seen. */
  private highest = 0;
  private received = 0;
  /** Losses of the streams before the current one. */
  private earlier = 0;

  /** One RTP packet received (its SSRC and sequence number, RFC 3550 §5.1). */
  packet(ssrc: number, seq: number): void {
    if (ssrc !== this.ssrc) {
      this.restart(ssrc, seq);
      return;
    }
    this.received++;
    const ahead = (seq - (this.highest % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
    if (ahead === 0 || ahead >= SEQ_MOD / 2) return; // a duplicate or a late packet
    if (ahead > MAX_DROPOUT) {
      this.received--;
      this.restart(ssrc, seq);
      return;
    }
    this.highest += ahead;
  }

  /** Packets lost so far, every stream of the leg together. */
  get lost(): number {
    return this.earlier + this.currentLost();
  }

  private currentLost(): number {
    if (this.ssrc < 0) return 0;
    return Math.max(0, this.highest - this.base + 1 - this.received);
  }

  private restart(ssrc: number, seq: number): void {
    this.earlier += this.currentLost();
    this.ssrc = ssrc;
    this.base = seq;
    this.highest = seq;
    this.received = 1;
  }
}
