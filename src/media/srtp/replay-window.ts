// The replay list of RFC 3711 §3.3.2 as a sliding window of 64 indices
// (the minimum window size the RFC allows, Appendix A's bitmap): the
// highest index received so far and one bit for each of the 63 before it.
// A packet whose index is below the window, or whose bit is set, is a
// replay. The window only moves once a packet has been authenticated
// (§3.3: a forged packet must not push genuine ones out of it).

export const REPLAY_WINDOW_SIZE = 64;

export class ReplayWindow {
  /** Highest index accepted, -1 before the first. Indices are at most 48 bits: exact in a double. */
  private top = -1;
  /** Bit k: index top − k was accepted; `low` holds k = 0..31, `high` k = 32..63. */
  private low = 0;
  private high = 0;

  /** The highest index accepted so far, -1 before the first. */
  get highest(): number {
    return this.top;
  }

  /** True when `index` may be accepted: new, or inside the window and not seen. */
  check(index: number): boolean {
    if (index > this.top) return true;
    const d = this.top - index;
    if (d >= REPLAY_WINDOW_SIZE) return false;
    const bit = d < 32 ? (this.low >>> d) & 1 : (this.high >>> (d - 32)) & 1;
    return bit === 0;
  }

  /** Records `index` (which check() accepted), sliding the window forward if it is new. */
  accept(index: number): void {
    if (index > this.top) {
      const shift = this.top < 0 ? REPLAY_WINDOW_SIZE : index - this.top;
      if (shift >= REPLAY_WINDOW_SIZE) {
        this.high = 0;
        this.low = 0;
      } else if (shift >= 32) {
        this.high = this.low << (shift - 32);
        this.low = 0;
      } else {
        this.high = (this.high << shift) | (this.low >>> (32 - shift));
        this.low <<= shift;
      }
      this.low |= 1;
      this.top = index;
      return;
    }
    const d = this.top - index;
    if (d >= REPLAY_WINDOW_SIZE) return;
    if (d < 32) this.low |= 1 << d;
    else this.high |= 1 << (d - 32);
  }
}
