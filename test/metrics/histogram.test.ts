import { describe, expect, test } from "bun:test";
import { defineLayout, MetricsBlock } from "../../daemon/metrics/block.ts";
import { bucketIndex, bucketUpperBoundNs, LatencyHistogram } from "../../daemon/metrics/histogram.ts";
import { WRITER_LAYOUT, writeWorkload, type WriterStart } from "./metrics-writer-fixture.ts";

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal-ish latencies: median 10 µs, clamped to 100 ns .. 10 ms, fractional. */
function latencies(n: number, seed: number): Float64Array {
  const random = prng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[i] = 10 ** Math.min(7, Math.max(2, 4 + 0.9 * z));
  }
  return out;
}

function newHistogram(): LatencyHistogram {
  return new LatencyHistogram(new Float64Array(LatencyHistogram.WORDS), 0);
}

describe("LatencyHistogram", () => {
  test("p50/p90/p99/p99.9 are within 12.5% above the exact nearest-rank percentiles", () => {
    const values = latencies(200_000, 42);
    const h = newHistogram();
    let sum = 0;
    for (const v of values) {
      h.record(v);
      sum += v;
    }
    const sorted = values.slice().sort();
    const snap = h.snapshot();
    const exact = (p: number) => sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1];
    for (const p of [50, 90, 99, 99.9]) {
      const estimate = snap.percentile(p);
      expect(estimate).toBeGreaterThanOrEqual(exact(p));
      expect((estimate - exact(p)) / exact(p)).toBeLessThanOrEqual(0.125);
    }
    expect({ count: snap.count, sumNs: snap.sumNs, minNs: snap.minNs, maxNs: snap.maxNs }).toEqual({
      count: values.length,
      sumNs: sum,
      minNs: sorted[0],
      maxNs: sorted[sorted.length - 1],
    });
    expect(snap.percentile(0)).toBe(sorted[0]);
    expect(snap.percentile(100)).toBe(sorted[sorted.length - 1]);
  });

  test("negative, zero and NaN values clamp to 0 in the first bucket", () => {
    const h = newHistogram();
    h.record(-5);
    h.record(-0.25);
    h.record(0);
    h.record(NaN);
    const snap = h.snapshot();
    expect({ count: snap.count, sumNs: snap.sumNs, minNs: snap.minNs, maxNs: snap.maxNs, first: snap.buckets[0] })
      .toEqual({ count: 4, sumNs: 0, minNs: 0, maxNs: 0, first: 4 });
    expect(snap.percentile(50)).toBe(0);
  });

  test("1e11 ns lands in the top (overflow) bucket without throwing, and p100 reports it", () => {
    const h = newHistogram();
    h.record(1e11);
    h.record(Infinity);
    h.record(2 ** 36 + 1);
    const snap = h.snapshot();
    const top = LatencyHistogram.BUCKETS - 1;
    expect(snap.buckets[top]).toBe(3);
    expect(snap.upperBoundNs(top)).toBe(Infinity);
    expect(bucketIndex(2 ** 36)).toBe(top - 1); // the last regular bucket ends at 2^36 inclusive
    expect(snap.percentile(100)).toBe(Infinity);
  });

  test("every bucket is (lower, upper]: the upper bound maps to its bucket, the next double to the next", () => {
    for (let i = 0; i < LatencyHistogram.BUCKETS - 1; i++) {
      const upper = bucketUpperBoundNs(i);
      expect(bucketIndex(upper)).toBe(i);
      expect(bucketIndex(upper + upper * Number.EPSILON)).toBe(i + 1);
      if (i >= 8) {
        const lower = bucketUpperBoundNs(i - 1);
        expect((upper - lower) / lower).toBeLessThanOrEqual(0.125);
      }
    }
  });

  test("the clz32 path and the log2 path agree around 2^31", () => {
    for (const v of [2 ** 31 - 1, 2 ** 31 - 0.5, 2 ** 31, 2 ** 31 + 0.5, 2 ** 31 + 1, 2 ** 32, 2 ** 33 + 7]) {
      const i = bucketIndex(v);
      expect(bucketUpperBoundNs(i)).toBeGreaterThanOrEqual(v);
      expect(bucketUpperBoundNs(i - 1)).toBeLessThan(v);
    }
  });

  test("recordN(v, n) equals n calls of record(v); reset empties", () => {
    const a = newHistogram();
    const b = newHistogram();
    a.recordN(1500, 7);
    a.recordN(1500, 0);
    for (let i = 0; i < 7; i++) b.record(1500);
    expect(a.snapshot()).toEqual(b.snapshot());
    a.reset();
    expect(a.snapshot().count).toBe(0);
    expect(a.snapshot().percentile(50)).toBeNaN();
  });

  test("merge of two snapshots equals one histogram that saw both", () => {
    const [x, y, both] = [newHistogram(), newHistogram(), newHistogram()];
    const values = latencies(1000, 7).map(Math.round); // integers: sums exact in any order
    values.forEach((v, i) => {
      (i % 3 === 0 ? x : y).record(v);
    });
    values.forEach((v, i) => i % 3 === 0 && both.record(v));
    values.forEach((v, i) => i % 3 !== 0 && both.record(v));
    const merged = x.snapshot().merge(y.snapshot());
    const expected = both.snapshot();
    expect({ ...merged, buckets: [...merged.buckets] }).toEqual({ ...expected, buckets: [...expected.buckets] });
    expect(newHistogram().snapshot().merge(x.snapshot()).minNs).toBe(x.snapshot().minNs);
  });

  test("snapshot count comes from the buckets, not the writer's count word", () => {
    const words = new Float64Array(LatencyHistogram.WORDS);
    const h = new LatencyHistogram(words, 0);
    h.record(1000);
    words[4 + bucketIndex(2000)] += 1; // a reader caught the writer after the bucket store only
    expect(h.snapshot().count).toBe(2);
  });

  test("a view at an offset leaves the words around it untouched", () => {
    const words = new Float64Array(LatencyHistogram.WORDS + 2).fill(-1);
    const h = new LatencyHistogram(words, 1);
    h.reset();
    h.record(123);
    expect([words[0], words[words.length - 1]]).toEqual([-1, -1]);
    expect(() => new LatencyHistogram(words, 3)).toThrow(RangeError);
  });

  // A coarse guard, not a proof. heapUsed is the live heap after a full collection, so this catches
  // anything `record` retains (a 16-byte leak per call would show as ~16 MB), but garbage that the
  // final Bun.gc(true) frees does not show (measured: a loop allocating `{ v }` per call into one
  // reused slot moves heapUsed by ~13 KB either way). No allocation in `record` is by construction:
  // no object, array, closure or string is created in it.
  test("record allocates nothing: 1e6 calls grow heapUsed by less than 64 KiB (coarse guard)", () => {
    const values = latencies(4096, 3);
    const h = newHistogram();
    const heapGrowth = (f: (v: number) => void) => {
      for (let i = 0; i < 10_000; i++) f(values[i & 4095]); // warm up the JIT first
      Bun.gc(true);
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 1_000_000; i++) f(values[i & 4095]);
      Bun.gc(true);
      return process.memoryUsage().heapUsed - before;
    };
    expect(heapGrowth((v) => h.record(v))).toBeLessThan(64 * 1024);
    // Control: a writer that retains 16+ bytes per call fails the same bound.
    const kept: { v: number }[] = [];
    expect(heapGrowth((v) => kept.push({ v }))).toBeGreaterThan(64 * 1024);
  });
});

describe("MetricsBlock", () => {
  test("a Worker's plain stores are what the main thread reads, after the done flag", async () => {
    const records = 200_000;
    const shared = MetricsBlock.create(WRITER_LAYOUT);
    const done = new SharedArrayBuffer(4);
    const worker = new Worker(new URL("./metrics-writer-fixture.ts", import.meta.url));
    try {
      const finished = new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => reject(new Error(event.message));
      });
      worker.postMessage({ metrics: shared.sab, done, records } satisfies WriterStart);
      await finished;
      expect(Atomics.load(new Int32Array(done), 0)).toBe(1);

      const local = MetricsBlock.create(WRITER_LAYOUT);
      writeWorkload(local, records);
      expect({
        counters: shared.readCounters(),
        gauges: shared.readGauges(),
        histograms: shared.readHistograms(),
      }).toEqual({
        counters: local.readCounters(),
        gauges: local.readGauges(),
        histograms: local.readHistograms(),
      });
      expect(shared.readCounters()).toEqual({ md_events: records, md_drops: 2 * Math.ceil(records / 1024) });
      expect(shared.readHistograms().frame_parse.count).toBe(records);
    } finally {
      worker.terminate();
    }
  });

  test("counters, gauges and histograms occupy separate words", () => {
    const layout = defineLayout({ counters: ["a", "b"], gauges: ["g"], histograms: ["h1", "h2"] });
    const block = MetricsBlock.create(layout);
    expect(block.f64.length).toBe(3 + 2 * LatencyHistogram.WORDS);
    const a = block.counterIndex("a");
    const g = block.gaugeIndex("g");
    block.add(a);
    block.add(a, 4);
    block.set(g, -2.5);
    block.histogram("h2").record(1e6);
    expect({ a: block.counter(a), g: block.gauge(g) }).toEqual({ a: 5, g: -2.5 });
    expect(block.readCounters()).toEqual({ a: 5, b: 0 });
    expect(block.readGauges()).toEqual({ g: -2.5 });
    const { h1, h2 } = block.readHistograms();
    expect([h1.count, h2.count]).toEqual([0, 1]);
    expect(block.histogram("h2")).toBe(block.histogram("h2"));
  });

  test("layouts reject duplicate names; blocks reject a buffer of the wrong size; names are typed", () => {
    expect(() => defineLayout({ counters: ["x"], gauges: ["x"], histograms: [] })).toThrow(/duplicate name "x"/);
    const layout = defineLayout({ counters: ["x"], gauges: [], histograms: [] });
    expect(() => new MetricsBlock(layout, new SharedArrayBuffer(16))).toThrow(RangeError);
    const block = MetricsBlock.create(layout);
    // @ts-expect-error: "y" is not a counter of this layout
    expect(() => block.counterIndex("y")).toThrow(/no counter "y"/);
    // @ts-expect-error: a counter index is not a gauge index
    block.set(block.counterIndex("x"), 1);
  });
});
