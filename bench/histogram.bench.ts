// ns per LatencyHistogram.record, median of 5 runs of 1e7 calls, against a baseline loop of
// `f64[i & 1023] += 1` measured in the same process. Bounded: 1.2e8 calls in all, under 1 s here.
// Run: bun bench/histogram.bench.ts (BENCH_QUICK=1: 2 runs of 2e6 calls, a smoke run)
import { LatencyHistogram } from "../daemon/metrics/histogram.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 2 : 5;
const CALLS = QUICK ? 2_000_000 : 10_000_000;

// Log-spread inputs (100 ns .. 10 ms, fractional) so bucketIndex takes its real branches; read with
// `i & 4095`, which is also a cost the baseline's `i & 1023` pays.
const values = new Float64Array(4096);
let seed = 0x2545f491;
for (let i = 0; i < values.length; i++) {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  values[i] = 100 * 10 ** (5 * ((seed >>> 0) / 4294967296));
}

const histogram = new LatencyHistogram(new Float64Array(new SharedArrayBuffer(LatencyHistogram.WORDS * 8)), 0);
const plain = new Float64Array(new SharedArrayBuffer(1024 * 8));

function recordLoop(): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < CALLS; i++) histogram.record(values[i & 4095]);
  return (Bun.nanoseconds() - start) / CALLS;
}

function baselineLoop(): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < CALLS; i++) plain[i & 1023] += 1;
  return (Bun.nanoseconds() - start) / CALLS;
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];

recordLoop(); // JIT warm-up, not counted
baselineLoop();
const record: number[] = [];
const baseline: number[] = [];
for (let r = 0; r < RUNS; r++) {
  record.push(recordLoop());
  baseline.push(baselineLoop());
}
if (histogram.snapshot().count !== (RUNS + 1) * CALLS) throw new Error("record loop lost samples");

const result = {
  bench: "histogram.record",
  quick: QUICK,
  runs: RUNS,
  calls_per_run: CALLS,
  record_ns_median: Number(median(record).toFixed(3)),
  baseline_ns_median: Number(median(baseline).toFixed(3)),
  ratio: Number((median(record) / median(baseline)).toFixed(2)),
  bun: Bun.version,
};
console.log(`| bench | record ns/call (median of ${RUNS} × ${CALLS.toExponential()}) | baseline \`f64[i & 1023] += 1\` ns | ratio |`);
console.log("|---|---|---|---|");
console.log(`| histogram.record | ${result.record_ns_median} | ${result.baseline_ns_median} | ${result.ratio}x |`);
console.log(`BENCH_JSON ${JSON.stringify(result)}`);
