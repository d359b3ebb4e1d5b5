// A small receive window that puts RTP payloads back in sequence order and
// drops duplicates before they are decoded for recording or tone detection.
// Not a playout jitter buffer: nothing is played out by time, frames leave as
// soon as they are in order, so in-order traffic passes with no delay. A
// missing packet holds later ones back until the window is full, then it is
// declared lost (RFC 3550 §A.1 sequence arithmetic, modulo 2^16).
import { seqDelta } from "../rtp/packet.ts";

/** A sequence jump larger than this is a restarted stream, not reordering (RFC 3550 §A.1 MAX_DROPOUT spirit). */
const RESYNC_DISTANCE = 100;

export class ReorderWindow {
  /** In-order payloads: bytes[offset, offset + length), with the packet's RTP timestamp. */
  onFrame: (bytes: Buffer, offset: number, length: number, timestamp: number) => void = () => {};
  /** A packet declared lost; `lengthHint` is the previous payload's length (samples for G.711). */
  onLoss: (lengthHint: number) => void = () => {};
  duplicates = 0;
  late = 0;
  lost = 0;

  private readonly slotSeq: Int32Array;
  private readonly slotLen: Int32Array;
  private readonly slotTs: Float64Array;
  private readonly data: Buffer;
  private expected = -1;
  private ssrc = -1;
  private stored = 0;
  private lastLen = 160;

  constructor(
    readonly size = 4,
    private readonly maxPayload = 1500,
  ) {
    this.slotSeq = new Int32Array(size).fill(-1);
    this.slotLen = new Int32Array(size);
    this.slotTs = new Float64Array(size);
    this.data = Buffer.alloc(size * maxPayload);
  }

  push(sequence: number, timestamp: number, ssrc: number, buf: Buffer, offset: number, length: number): void {
    if (length > this.maxPayload) length = this.maxPayload;
    if (ssrc !== this.ssrc) {
      // A new source (RFC 3550 §8.2): its sequence space has nothing to do with the old one.
      this.flush();
      this.ssrc = ssrc;
      this.expected = -1;
    }
    if (this.expected < 0) this.expected = sequence;
    let d = seqDelta(this.expected, sequence);
    if (d < -RESYNC_DISTANCE || d > RESYNC_DISTANCE) {
      this.flush();
      this.expected = sequence;
      d = 0;
    } else if (d < 0) {
      this.late++;
      return;
    }
    while (d >= this.size) {
      this.release();
      d--;
    }
    const i = sequence % this.size;
    if (this.slotSeq[i] === sequence) {
      this.duplicates++;
      return;
    }
    this.slotSeq[i] = sequence;
    this.slotLen[i] = length;
    this.slotTs[i] = timestamp;
    buf.copy(this.data, i * this.maxPayload, offset, offset + length);
    this.stored++;
    this.drain();
  }

  /** Delivers everything held, in order, skipping holes (end of a recording, new source). */
  flush(): void {
    while (this.stored > 0) this.release();
  }

  /** Forgets everything without delivering. */
  reset(): void {
    this.slotSeq.fill(-1);
    this.stored = 0;
    this.expected = -1;
    this.ssrc = -1;
  }

  private drain(): void {
    for (;;) {
      const i = this.expected % this.size;
      if (this.slotSeq[i] !== this.expected) return;
      this.release();
    }
  }

  /** Moves `expected` one step, delivering its packet or declaring it lost. */
  private release(): void {
    const seq = this.expected;
    const i = seq % this.size;
    this.expected = (seq + 1) & 0xffff;
    if (this.slotSeq[i] === seq) {
      this.slotSeq[i] = -1;
      this.stored--;
      const len = this.slotLen[i];
      this.lastLen = len;
      this.onFrame(this.data, i * this.maxPayload, len, this.slotTs[i]);
    } else {
      this.lost++;
      this.onLoss(this.lastLen);
    }
  }
}
