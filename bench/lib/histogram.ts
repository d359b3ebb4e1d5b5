// A fixed-bucket histogram of milliseconds: recording a value is one array
// increment, so the RTP receive path allocates nothing per packet, and
// histograms from several worker processes merge by adding their counts.

/** Bucket width: 0.05 ms, fine enough for a 2 ms pacing target. */
export const BUCKET_MS = 0.05;
/** Values above this (200 ms) land in the last bucket. */
export const BUCKETS = 4000;

export class Histogram {
  readonly counts: Uint32Array;
  count = 0;
  sum = 0;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Uint32Array(BUCKETS + 1);
    if (counts) {
      for (let i = 0; i < this.counts.length && i < counts.length; i++) {
        this.counts[i] = counts[i];
        this.count += counts[i];
      }
    }
  }

  record(ms: number): void {
    const v = ms < 0 ? -ms : ms;
    let b = Math.floor(v / BUCKET_MS);
    if (b > BUCKETS) b = BUCKETS;
    this.counts[b]++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Adds another histogram (e.g. from a worker process) into this one. */
  merge(other: { counts: ArrayLike<number>; sum: number; max: number }): void {
    for (let i = 0; i < this.counts.length; i++) {
      this.counts[i] += other.counts[i];
      this.count += other.counts[i];
    }
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Upper edge of the bucket holding the q-quantile (0 < q ≤ 1), ms; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min((i + 1) * BUCKET_MS, this.max);
    }
    return this.max;
  }

  get mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  toJSON(): { counts: number[]; sum: number; max: number } {
    return { counts: Array.from(this.counts), sum: this.sum, max: this.max };
  }
}

/** Rounds to `digits` decimals for the JSON lines. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
