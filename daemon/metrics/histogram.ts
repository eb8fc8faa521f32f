/**
 * Log-linear (HDR-style) latency histogram stored in a region of a Float64Array, so it can live
 * inside a per-thread metrics block on a SharedArrayBuffer (see `block.ts`).
 *
 * Roles: ONE writer thread calls `record`/`recordN`/`reset` with plain (non-atomic) stores; any
 * number of reader threads call `snapshot`. Readers never write.
 *
 * Layout, in f64 words from `offset`:
 *
 * | word            | meaning                                                   |
 * |-----------------|-----------------------------------------------------------|
 * | 0               | count (writer's own tally; `snapshot` ignores it)         |
 * | 1               | sum of recorded values, ns                                |
 * | 2               | min, ns (meaningful only when count > 0)                  |
 * | 3               | max, ns                                                   |
 * | 4 .. 4+BUCKETS  | bucket counts, index given by `bucketIndex`               |
 *
 * Buckets, over a value v in ns (clamped to >= 0; NaN counts as 0). Every bucket is the interval
 * (lower, upper], upper bound inclusive, like Prometheus's `le`:
 *
 * | index      | interval                                                    | width            |
 * |------------|-------------------------------------------------------------|------------------|
 * | 0          | [0, 1]                                                      | 1 ns             |
 * | 1 .. 7     | (i, i+1]                                                    | 1 ns             |
 * | 8 .. 271   | ((8+s)·2^(e-3), (9+s)·2^(e-3)], e = 3 + ((i-8) >> 3), s = (i-8) & 7 | 2^(e-3) |
 * | 272        | (2^36, +Inf): overflow                                      |                  |
 *
 * So there are 8 sub-buckets per power of two from 8 ns to 2^36 ns (~68.7 s). Above 8 ns a bucket's
 * upper bound is at most 12.5% above any value in it (width / lower bound <= 1/8), which is the
 * relative error of `percentile`; at or below 8 ns the error is at most 1 ns absolute. Every power
 * of two from 2^3 ns to 2^36 ns is a bucket boundary, which is what lets the Prometheus export use
 * exact `le` boundaries.
 *
 * Counts are f64, exact up to 2^53. Tearing: ECMAScript does not promise that a non-atomic f64
 * access on shared memory is tear-free, but on x86-64 and arm64 an aligned 8-byte access is one
 * machine load/store, so a reader sees either the old or the new word. A reader may see a bucket
 * incremented before count/sum/max are; `snapshot` derives the count from the buckets so that the
 * count and the buckets always agree with each other.
 */
const SUB_BITS = 3;
const SUB_COUNT = 1 << SUB_BITS; // 8 sub-buckets per power of two
const MAX_EXPONENT = 36; // top regular bucket ends at 2^36 ns
const REGULAR_BUCKETS = SUB_COUNT + (MAX_EXPONENT - SUB_BITS) * SUB_COUNT; // 8 + 33*8 = 272
const OVERFLOW_INDEX = REGULAR_BUCKETS; // values above 2^36 ns
const BUCKETS = REGULAR_BUCKETS + 1;
const TOP_REGULAR_NS = 2 ** MAX_EXPONENT;

const COUNT = 0;
const SUM = 1;
const MIN = 2;
const MAX = 3;
const HEADER_WORDS = 4;

/**
 * Index of the bucket holding `ns` (already clamped to >= 0). Allocates nothing.
 * Works on m = ceil(v) - 1 with half-open integer intervals [a, b), which is v in (a, b].
 */
export function bucketIndex(ns: number): number {
  if (ns <= SUB_COUNT) return ns <= 1 ? 0 : Math.ceil(ns) - 1;
  if (ns < 2147483648) {
    const m = Math.ceil(ns) - 1; // 8 <= m < 2^31: fits int32
    const e = 31 - Math.clz32(m); // floor(log2 m), >= 3
    return SUB_COUNT + ((e - SUB_BITS) << SUB_BITS) + ((m >>> (e - SUB_BITS)) & (SUB_COUNT - 1));
  }
  if (!(ns <= TOP_REGULAR_NS)) return OVERFLOW_INDEX; // also +Infinity
  const m = Math.ceil(ns) - 1; // integer < 2^36, exact in f64
  let e = Math.floor(Math.log2(m));
  // Math.log2 may be off by one ulp near powers of two; fix e so that 2^e <= m < 2^(e+1).
  if (2 ** e > m) e--;
  else if (2 ** (e + 1) <= m) e++;
  const sub = Math.floor(m / 2 ** (e - SUB_BITS)) - SUB_COUNT; // division by a power of two: exact
  return SUB_COUNT + ((e - SUB_BITS) << SUB_BITS) + sub;
}

/** Inclusive upper bound of bucket `i`, in ns (+Infinity for the overflow bucket). */
export function bucketUpperBoundNs(i: number): number {
  if (i < SUB_COUNT) return i + 1;
  if (i >= OVERFLOW_INDEX) return Infinity;
  const e = SUB_BITS + ((i - SUB_COUNT) >> SUB_BITS);
  const sub = (i - SUB_COUNT) & (SUB_COUNT - 1);
  return (SUB_COUNT + 1 + sub) * 2 ** (e - SUB_BITS);
}

/** A reader's copy of a histogram; self-consistent (count == sum of buckets). */
export interface HistogramSnapshot {
  /** Sum of the bucket counts. */
  readonly count: number;
  readonly sumNs: number;
  /** 0 when count is 0. */
  readonly minNs: number;
  /** 0 when count is 0. */
  readonly maxNs: number;
  /** Counts per bucket; `upperBoundNs(i)` gives bucket i's inclusive upper bound. */
  readonly buckets: Float64Array;
  /**
   * Nearest-rank percentile, p in 0..100: the upper bound of the bucket holding the sample of
   * rank ceil(p/100 · count), clamped to max (p = 0 gives min). NaN when count is 0.
   */
  percentile(p: number): number;
  upperBoundNs(i: number): number;
  /** A new snapshot with both histograms' samples. */
  merge(other: HistogramSnapshot): HistogramSnapshot;
}

class Snapshot implements HistogramSnapshot {
  readonly count: number;
  constructor(
    readonly buckets: Float64Array,
    readonly sumNs: number,
    readonly minNs: number,
    readonly maxNs: number,
  ) {
    let count = 0;
    for (let i = 0; i < buckets.length; i++) count += buckets[i];
    this.count = count;
  }

  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p <= 0) return this.minNs;
    const rank = Math.max(1, Math.ceil((Math.min(p, 100) * this.count) / 100));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return Math.min(bucketUpperBoundNs(i), this.maxNs);
    }
    return this.maxNs; // unreachable: seen ends at count
  }

  upperBoundNs(i: number): number {
    return bucketUpperBoundNs(i);
  }

  merge(other: HistogramSnapshot): HistogramSnapshot {
    const buckets = new Float64Array(BUCKETS);
    for (let i = 0; i < BUCKETS; i++) buckets[i] = this.buckets[i] + other.buckets[i];
    const parts = [this, other].filter((s) => s.count > 0);
    const min = parts.length === 0 ? 0 : Math.min(...parts.map((s) => s.minNs));
    const max = parts.length === 0 ? 0 : Math.max(...parts.map((s) => s.maxNs));
    return new Snapshot(buckets, this.sumNs + other.sumNs, min, max);
  }
}

/**
 * A view of one histogram inside a shared Float64Array. Single writer (see the module doc).
 *
 * `record`, `recordN` and `reset` allocate nothing; `snapshot` allocates (reader side).
 *
 * @example
 * const h = new LatencyHistogram(new Float64Array(LatencyHistogram.WORDS), 0);
 * h.record(1000);
 * h.record(1234.5);
 * h.snapshot().percentile(50); // 1024: upper bound of the bucket (896, 1024] that holds 1000
 * h.snapshot().percentile(99); // 1234.5: bucket (1152, 1280], clamped to max
 */
export class LatencyHistogram {
  /** f64 words one histogram occupies. */
  static readonly WORDS: number = HEADER_WORDS + BUCKETS;
  /** Number of buckets, the overflow bucket included. */
  static readonly BUCKETS: number = BUCKETS;

  readonly #w: Float64Array;
  readonly #o: number;
  readonly #b: number;

  constructor(words: Float64Array, offset: number) {
    if (!Number.isInteger(offset) || offset < 0 || offset + LatencyHistogram.WORDS > words.length) {
      throw new RangeError(
        `histogram needs ${LatencyHistogram.WORDS} words at offset ${offset}, array has ${words.length}`,
      );
    }
    this.#w = words;
    this.#o = offset;
    this.#b = offset + HEADER_WORDS;
  }

  /** Hot path. Negative and NaN values count as 0; values above 2^36 ns go to the overflow bucket. */
  record(ns: number): void {
    const v = ns > 0 ? ns : 0; // also maps NaN to 0
    const w = this.#w;
    const o = this.#o;
    w[this.#b + bucketIndex(v)] += 1;
    if (w[o + COUNT] === 0 || v < w[o + MIN]) w[o + MIN] = v;
    if (v > w[o + MAX]) w[o + MAX] = v;
    w[o + SUM] += v;
    w[o + COUNT] += 1;
  }

  /** Records `n` samples of value `ns` (n <= 0 records nothing). */
  recordN(ns: number, n: number): void {
    if (!(n > 0)) return;
    const v = ns > 0 ? ns : 0;
    const w = this.#w;
    const o = this.#o;
    w[this.#b + bucketIndex(v)] += n;
    if (w[o + COUNT] === 0 || v < w[o + MIN]) w[o + MIN] = v;
    if (v > w[o + MAX]) w[o + MAX] = v;
    w[o + SUM] += v * n;
    w[o + COUNT] += n;
  }

  /** Writer only. Readers may see a partly reset histogram for one scrape. */
  reset(): void {
    this.#w.fill(0, this.#o, this.#o + LatencyHistogram.WORDS);
  }

  /** Reader side; allocates. Copies the words, then derives count from the buckets. */
  snapshot(): HistogramSnapshot {
    const w = this.#w;
    const o = this.#o;
    const buckets = w.slice(this.#b, this.#b + BUCKETS);
    const snap = new Snapshot(buckets, w[o + SUM], w[o + MIN], w[o + MAX]);
    return snap.count === 0 ? new Snapshot(buckets, 0, 0, 0) : snap;
  }
}
