/**
 * The whole dry-run pipeline (synthetic feed → strategy → simulated broker), through the public
 * `Pipeline` API the daemon itself uses, in both thread layouts: `split` (three worker threads)
 * and `single` (the three stages on one worker, `workers/single.ts`).
 *
 *   bun bench/pipeline.bench.ts                    # ~60 s; markdown tables and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/pipeline.bench.ts      # ~8 s smoke run (figures not meaningful)
 *
 * (a) Throughput: the synthetic feed paced at 1,000,000 events/s for 10 s (after a 1 s warm-up
 *     that is not counted), `threshold` with levels that trade now and then. Reports events
 *     produced and consumed, market-data drops (target: none), the achieved rate, the highest
 *     market-data ring depth seen (sampled every 10 ms), the CPU time each thread used
 *     (`/proc/self/task/<tid>/stat` utime+stime, before and after; seconds and % of one core)
 *     and the RSS. Wait strategies: strategy `hybrid` (at 1 M/s the next batch is always less
 *     than a microsecond away, so it never sleeps and behaves as `spin`, but it would sleep if
 *     the feed paused), execution `block` (orders are rare; a spinning execution thread would
 *     take the second vCPU from the feed and the strategy). With 2 vCPUs and the feed pacing
 *     by spinning, two busy threads already fill the machine.
 * (a') Ceiling: the same pipeline with the feed unpaced (20 M events/s asked) for a few seconds:
 *     what the feed and the strategy can do, i.e. the headroom over 1 M/s.
 * (a'') The same two runs in layout `single` (one thread generates, decides and fills).
 * (b) Tick-to-order latency at 10,000 events/s, with both consumers (strategy and execution)
 *     `spin`, then both `block`, then both `hybrid` (the default), then strategy `spin` with
 *     execution `block` (one spinner: what fits 2 vCPUs), then layout `single` waiting `hybrid`
 *     and `spin`, interleaved run by run (spin, block, hybrid, spin+block, single, single spin,
 *     spin, ...) so VM noise hits them alike; 3 runs of 3 s each (after a
 *     0.5 s warm-up, not counted: the histograms are read before and after and subtracted). A
 *     fresh `Pipeline` per run. The strategy trades one symbol of eight on every quote of it
 *     (buy while the position is under max_position, else sell), ~1,100 orders/s, so a run has
 *     > 3,000 tick_to_order samples; the other seven symbols are pure market-data load. The
 *     figure per mode is the median over runs of each run's p50 / p99; ratio = block / spin.
 *     Percentiles come from the daemon's own histograms (8 sub-buckets per power of two: the
 *     upper bound of the bucket is reported, at most 12.5 % above the true value).
 *
 * Clock: the stages are stamped with the process-wide CLOCK_MONOTONIC (`daemon/shm/clock.ts`).
 */
import { Pipeline } from "../daemon/supervisor.ts";
import { configureLog } from "../daemon/log.ts";
import { STAGES, stageSnapshots, type Stage } from "../daemon/http/metrics.ts";
import { QUICK, config, delta, fmtRate, fmtUs, mb, median, orderOftenYaml, ratio, sleep, SYMBOLS4, threadCpu, threadPreemptions, type WaitMode } from "./support.ts";

const THROUGHPUT_RATE = 1_000_000;
const THROUGHPUT_WARMUP_MS = QUICK ? 300 : 1_000;
const THROUGHPUT_MS = QUICK ? 2_000 : 10_000;
const CEILING_RATE = 20_000_000;
const CEILING_MS = QUICK ? 700 : 3_000;
const DEPTH_SAMPLE_MS = 10;

const LATENCY_RATE = 10_000;
const LATENCY_WARMUP_MS = QUICK ? 300 : 500;
const LATENCY_MS = QUICK ? 700 : 3_000;
const LATENCY_RUNS = QUICK ? 1 : 3;
/** Consumer wait strategies per run: both consumers alike, then the mix that suits 2 vCPUs. */
const MODE_WAITS = {
  spin: { strategy: "spin", execution: "spin", layout: "split" },
  block: { strategy: "block", execution: "block", layout: "split" },
  hybrid: { strategy: "hybrid", execution: "hybrid", layout: "split" },
  "spin+block": { strategy: "spin", execution: "block", layout: "split" },
  // Layout single: the one thread waits as the strategy's wait says (execution's is unused).
  single: { strategy: "hybrid", execution: "hybrid", layout: "single" },
  "single spin": { strategy: "spin", execution: "hybrid", layout: "single" },
} as const satisfies Record<string, { strategy: WaitMode; execution: WaitMode; layout: "split" | "single" }>;
type Mode = keyof typeof MODE_WAITS;
const MODES = Object.keys(MODE_WAITS) as Mode[];
const SHOWN_STAGES: Stage[] = ["md_hop", "decision", "order_hop", "tick_to_order", "tick_to_ack"];

configureLog("warn", "text"); // the supervisor's info lines would interleave with the tables

// ---------------------------------------------------------------------------------------------
// (a) throughput

interface ThroughputResult {
  rate_asked: number;
  seconds: number;
  produced: number;
  consumed: number;
  dropped: number;
  dropped_incl_warmup: number;
  achieved_per_sec: number;
  consumed_per_sec: number;
  events_per_batch: number;
  md_ring_max_depth: number;
  md_ring_slots: number;
  orders: number;
  wait: { strategy: WaitMode; execution: WaitMode };
  cpu_seconds: Record<string, number>;
  cpu_pct_of_core: Record<string, number>;
  /** Involuntary context switches per second, per worker thread. */
  preemptions_per_sec: Record<string, number>;
  rss_mb: { before_start: number; after_warmup: number; after_run: number };
}

async function throughput(rate: number, warmupMs: number, runMs: number, layout: "split" | "single" = "split"): Promise<ThroughputResult> {
  const wait = { strategy: "hybrid", execution: "block" } as const;
  const cfg = config(`
symbols: ${SYMBOLS4}
feed:
  synthetic: { seed: 42, rate_events_per_sec: ${rate}, batch_max: 128 }
strategy:
  name: threshold
  params: { buy_at_or_below: 99.5, sell_at_or_above: 100.5, qty: 10, max_position: 100 }
# The order limits of before the risk engine (per-second only): the figures stay comparable.
risk: { max_orders_per_min: 1000000, duplicate_window_ms: 0, daily_loss_limit: 0 }
rings:
  market_data: { slots: 65536, when_full: drop }
threads:
  layout: ${layout}
  strategy: { wait: ${wait.strategy} }
  execution: { wait: ${wait.execution} }
tuning: { enabled: false }
`);
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;
  const p = new Pipeline(cfg, { stopDeadlineMs: 5_000 });
  try {
    await p.start();
    await sleep(warmupMs);
    const rssWarm = process.memoryUsage().rss;
    const f0 = p.feedMetrics.readCounters();
    const s0 = p.strategyMetrics.readCounters();
    const c0 = threadCpu(p);
    const n0 = threadPreemptions(p);
    const t0 = performance.now();
    let maxDepth = 0;
    const end = t0 + runMs;
    while (performance.now() < end) {
      await sleep(DEPTH_SAMPLE_MS);
      const d = p.md.depth();
      if (d > maxDepth) maxDepth = d;
    }
    const c1 = threadCpu(p);
    const n1 = threadPreemptions(p);
    const f1 = p.feedMetrics.readCounters();
    const s1 = p.strategyMetrics.readCounters();
    const seconds = (performance.now() - t0) / 1e3;
    const rssAfter = process.memoryUsage().rss;
    const produced = f1.md_quotes + f1.md_trades - (f0.md_quotes + f0.md_trades);
    const consumed = s1.md_quotes + s1.md_trades - (s0.md_quotes + s0.md_trades);
    const cpu_seconds: Record<string, number> = {};
    const cpu_pct_of_core: Record<string, number> = {};
    let named = 0;
    for (const k of Object.keys(c0)) {
      const d = c1[k]! - c0[k]!;
      if (k !== "process") named += d;
      cpu_seconds[k] = +d.toFixed(2);
      cpu_pct_of_core[k] = +((100 * d) / seconds).toFixed(1);
    }
    const other = c1.process! - c0.process! - named;
    cpu_seconds.other_threads = +other.toFixed(2);
    cpu_pct_of_core.other_threads = +((100 * other) / seconds).toFixed(1);
    return {
      rate_asked: rate,
      seconds: +seconds.toFixed(3),
      produced,
      consumed,
      dropped: f1.md_dropped - f0.md_dropped,
      dropped_incl_warmup: f1.md_dropped,
      achieved_per_sec: Math.round(produced / seconds),
      consumed_per_sec: Math.round(consumed / seconds),
      events_per_batch: +(produced / Math.max(1, f1.md_batches - f0.md_batches)).toFixed(2),
      md_ring_max_depth: maxDepth,
      md_ring_slots: p.md.slots,
      orders: s1.orders_submitted - s0.orders_submitted,
      wait,
      cpu_seconds,
      cpu_pct_of_core,
      preemptions_per_sec: Object.fromEntries(Object.keys(n0).map((k) => [k, Math.round((n1[k]! - n0[k]!) / seconds)])),
      rss_mb: { before_start: mb(rssBefore), after_warmup: mb(rssWarm), after_run: mb(rssAfter) },
    };
  } finally {
    await p.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) latency

interface LatencyRun {
  mode: Mode;
  orders: number;
  events: number;
  dropped: number;
  stages: Record<Stage, { count: number; p50: number; p99: number }>;
  cpu_pct_of_core: Record<string, number>;
  preemptions_per_sec: Record<string, number>;
}

async function latencyRun(mode: Mode, warmupMs: number, runMs: number): Promise<LatencyRun> {
  const cfg = config(orderOftenYaml(LATENCY_RATE, MODE_WAITS[mode], undefined, MODE_WAITS[mode].layout));
  const p = new Pipeline(cfg, { stopDeadlineMs: 5_000 });
  try {
    await p.start();
    await sleep(warmupMs);
    const h0 = stageSnapshots(p);
    const s0 = p.strategyMetrics.readCounters();
    const c0 = threadCpu(p);
    const n0 = threadPreemptions(p);
    const t0 = performance.now();
    await sleep(runMs);
    const h1 = stageSnapshots(p);
    const s1 = p.strategyMetrics.readCounters();
    const c1 = threadCpu(p);
    const n1 = threadPreemptions(p);
    const seconds = (performance.now() - t0) / 1e3;
    const stages = {} as LatencyRun["stages"];
    for (const st of STAGES) {
      const d = delta(h0[st], h1[st]);
      stages[st] = { count: d.count, p50: d.percentile(50), p99: d.percentile(99) };
    }
    const cpu_pct_of_core: Record<string, number> = {};
    for (const k of Object.keys(c0)) cpu_pct_of_core[k] = +((100 * (c1[k]! - c0[k]!)) / seconds).toFixed(1);
    return {
      mode,
      orders: s1.orders_submitted - s0.orders_submitted,
      events: s1.md_quotes + s1.md_trades - (s0.md_quotes + s0.md_trades),
      dropped: p.md.dropped(),
      stages,
      cpu_pct_of_core,
      preemptions_per_sec: Object.fromEntries(Object.keys(n0).map((k) => [k, Math.round((n1[k]! - n0[k]!) / seconds)])),
    };
  } finally {
    await p.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// main

const tStart = performance.now();
const cores = navigator.hardwareConcurrency;

const a = await throughput(THROUGHPUT_RATE, THROUGHPUT_WARMUP_MS, THROUGHPUT_MS);
const ceiling = await throughput(CEILING_RATE, THROUGHPUT_WARMUP_MS / 2, CEILING_MS);
const aSingle = await throughput(THROUGHPUT_RATE, THROUGHPUT_WARMUP_MS, THROUGHPUT_MS, "single");
const ceilingSingle = await throughput(CEILING_RATE, THROUGHPUT_WARMUP_MS / 2, CEILING_MS, "single");
/** The CPU figure of the thread that runs `stage` (layout single: the one shared thread). */
const ofStage = (rec: Record<string, number>, stage: string) => Object.entries(rec).find(([k]) => k.split("+").includes(stage))?.[1] ?? NaN;

const runs: LatencyRun[] = [];
for (let r = 0; r < LATENCY_RUNS; r++) for (const mode of MODES) runs.push(await latencyRun(mode, LATENCY_WARMUP_MS, LATENCY_MS));

const byMode = Object.fromEntries(
  MODES.map((mode) => {
    const rs = runs.filter((r) => r.mode === mode);
    const stages = Object.fromEntries(
      STAGES.map((st) => [st, { p50_ns: median(rs.map((r) => r.stages[st].p50)), p99_ns: median(rs.map((r) => r.stages[st].p99)), samples_per_run: rs.map((r) => r.stages[st].count) }]),
    ) as Record<Stage, { p50_ns: number; p99_ns: number; samples_per_run: number[] }>;
    const cpu = Object.fromEntries(["strategy", "execution", "feed"].map((k) => [k, median(rs.map((r) => ofStage(r.cpu_pct_of_core, k)))]));
    const preempt = Object.fromEntries(["strategy", "execution", "feed"].map((k) => [k, median(rs.map((r) => ofStage(r.preemptions_per_sec, k)))]));
    return [mode, { runs: rs.length, preemptions_per_sec_median: preempt, orders_per_run: rs.map((r) => r.orders), events_per_run: rs.map((r) => r.events), dropped: rs.map((r) => r.dropped), cpu_pct_of_core_median: cpu, stages, tick_to_order_p50_per_run_ns: rs.map((r) => r.stages.tick_to_order.p50), tick_to_order_p99_per_run_ns: rs.map((r) => r.stages.tick_to_order.p99) }];
  }),
) as Record<Mode, { runs: number; preemptions_per_sec_median: Record<string, number>; orders_per_run: number[]; events_per_run: number[]; dropped: number[]; cpu_pct_of_core_median: Record<string, number>; stages: Record<Stage, { p50_ns: number; p99_ns: number; samples_per_run: number[] }>; tick_to_order_p50_per_run_ns: number[]; tick_to_order_p99_per_run_ns: number[] }>;

const t2o = (m: Mode) => byMode[m].stages.tick_to_order;
const ratios = {
  tick_to_order_p50_block_over_spin: ratio(t2o("block").p50_ns, t2o("spin").p50_ns),
  tick_to_order_p99_block_over_spin: ratio(t2o("block").p99_ns, t2o("spin").p99_ns),
  tick_to_order_p50_hybrid_over_spin: ratio(t2o("hybrid").p50_ns, t2o("spin").p50_ns),
  tick_to_order_p99_hybrid_over_spin: ratio(t2o("hybrid").p99_ns, t2o("spin").p99_ns),
  tick_to_order_p50_spinblock_over_spin: ratio(t2o("spin+block").p50_ns, t2o("spin").p50_ns),
  tick_to_order_p99_spinblock_over_spin: ratio(t2o("spin+block").p99_ns, t2o("spin").p99_ns),
};

// ---- print ------------------------------------------------------------------------------------

const q = QUICK ? " (QUICK: smoke run, figures not meaningful)" : "";
console.log(`### (a) throughput: synthetic feed at ${fmtRate(THROUGHPUT_RATE)} for ${THROUGHPUT_MS / 1000} s, ${cores} CPUs${q}\n`);
console.log(`wait: strategy ${a.wait.strategy}, execution ${a.wait.execution}; market-data ring ${a.md_ring_slots} slots, when_full drop; warm-up ${THROUGHPUT_WARMUP_MS} ms not counted\n`);
console.log("| run | asked | produced | consumed | achieved | md drops | max md ring depth | events/batch | orders |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const [name, r] of [["split, paced 1 M/s", a], ["split, ceiling (unpaced)", ceiling], ["single, paced 1 M/s", aSingle], ["single, ceiling (unpaced)", ceilingSingle]] as const) {
  console.log(`| ${name} | ${fmtRate(r.rate_asked)} | ${r.produced.toLocaleString("en-US")} | ${r.consumed.toLocaleString("en-US")} | ${fmtRate(r.achieved_per_sec)} | ${r.dropped} | ${r.md_ring_max_depth} | ${r.events_per_batch} | ${r.orders} |`);
}
console.log(`\nCPU per thread during the ${a.seconds.toFixed(1)} s at 1 M/s (utime+stime from /proc/self/task/<tid>/stat; % of one core):\n`);
console.log("| thread | CPU s | % of one core | preempted/s |");
console.log("|---|---|---|---|");
for (const r of [a, aSingle]) for (const k of Object.keys(r.cpu_seconds)) console.log(`| ${r === a ? "split" : "single"}: ${k} | ${r.cpu_seconds[k]} | ${r.cpu_pct_of_core[k]} % | ${r.preemptions_per_sec[k] ?? ""} |`);
console.log(`\nRSS: ${a.rss_mb.before_start} MB before start, ${a.rss_mb.after_warmup} MB after warm-up, ${a.rss_mb.after_run} MB after the run\n`);

console.log(`### (b) latency at ${LATENCY_RATE.toLocaleString("en-US")} events/s: median of ${LATENCY_RUNS} runs × ${LATENCY_MS / 1000} s per mode (strategy and execution both in the mode)${q}\n`);
console.log("| mode (strategy/execution) | orders/run | " + SHOWN_STAGES.map((s) => `${s} p50 | ${s} p99`).join(" | ") + " | CPU strategy / execution / feed | preempted/s strategy / execution |");
console.log("|---|---|" + SHOWN_STAGES.map(() => "---|---|").join("") + "---|---|");
for (const m of MODES) {
  const b = byMode[m];
  console.log(
    `| ${m} (${MODE_WAITS[m].layout === "single" ? MODE_WAITS[m].strategy : `${MODE_WAITS[m].strategy}/${MODE_WAITS[m].execution}`}) | ${b.orders_per_run.join(", ")} | ` +
      SHOWN_STAGES.map((s) => `${fmtUs(b.stages[s].p50_ns)} | ${fmtUs(b.stages[s].p99_ns)}`).join(" | ") +
      ` | ${b.cpu_pct_of_core_median.strategy} / ${b.cpu_pct_of_core_median.execution} / ${b.cpu_pct_of_core_median.feed} % | ${b.preemptions_per_sec_median.strategy} / ${b.preemptions_per_sec_median.execution} |`,
  );
}
console.log(`\ntick_to_order per run (p50 / p99): ${MODES.map((m) => `${m}: ${byMode[m].tick_to_order_p50_per_run_ns.map((x, i) => `${fmtUs(x)} / ${fmtUs(byMode[m].tick_to_order_p99_per_run_ns[i]!)}`).join("; ")}`).join(" | ")}`);
console.log(`\ntick_to_order block/spin: p50 ${ratios.tick_to_order_p50_block_over_spin}x, p99 ${ratios.tick_to_order_p99_block_over_spin}x (hybrid/spin: p50 ${ratios.tick_to_order_p50_hybrid_over_spin}x, p99 ${ratios.tick_to_order_p99_hybrid_over_spin}x; spin+block/spin: p50 ${ratios.tick_to_order_p50_spinblock_over_spin}x, p99 ${ratios.tick_to_order_p99_spinblock_over_spin}x)`);

const targets = {
  throughput_1m_per_sec_reached: { target: `>= ${THROUGHPUT_RATE} events/s produced and consumed`, met: a.achieved_per_sec >= THROUGHPUT_RATE * 0.995 && a.consumed_per_sec >= THROUGHPUT_RATE * 0.995 },
  md_drops_at_1m_per_sec: { target: 0, value: a.dropped, met: a.dropped === 0 },
  md_drops_at_1m_per_sec_single: { target: 0, value: aSingle.dropped, met: aSingle.dropped === 0 },
  tick_to_order_samples_per_run: { target: ">= 1000", min: Math.min(...runs.map((r) => r.stages.tick_to_order.count)), met: runs.every((r) => r.stages.tick_to_order.count >= 1000) },
};
console.log(`\ntargets: ${Object.entries(targets).map(([k, v]) => `${k} ${v.met ? "met" : "NOT met"}`).join("; ")}`);

const totalSeconds = +((performance.now() - tStart) / 1e3).toFixed(1);
const json = {
  bench: "pipeline",
  quick: QUICK,
  targets,
  cpus: cores,
  bun: Bun.version,
  throughput: a,
  ceiling,
  throughput_single: aSingle,
  ceiling_single: ceilingSingle,
  latency: {
    rate_events_per_sec: LATENCY_RATE,
    runs: LATENCY_RUNS,
    run_ms: LATENCY_MS,
    warmup_ms: LATENCY_WARMUP_MS,
    mode_waits: MODE_WAITS,
    modes: byMode,
    ratios,
  },
  totalSeconds,
};
console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
if (a.dropped > 0 && !QUICK) console.error(`pipeline.bench: ${a.dropped} market-data drops at 1 M/s (target: none)`);
process.exit(0);
