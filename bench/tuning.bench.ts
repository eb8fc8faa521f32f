/**
 * What the tuner's process and thread parts buy, and what the strategy warm-up buys.
 *
 *   bun bench/tuning.bench.ts                  # ~100 s; markdown tables and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/tuning.bench.ts    # ~9 s smoke run (figures not meaningful)
 *   bun bench/tuning.bench.ts --child warmup=N # one part-2 run (the bench spawns these)
 *
 * (1) Tuned vs untuned (`--no-tune`): tick_to_order p50 / p99 / p99.9 / max and jitter (p99 − p50,
 *     p99.9 − p50) at 10,000 events/s with the order-often config of pipeline.bench (threshold
 *     trades AAPL on every quote of it, ~1,000 orders/s; `orderOftenYaml` in support.ts), for three
 *     layouts: split with waits (strategy/execution) `hybrid/hybrid` and `spin/block`, and
 *     `single` (one thread, waiting hybrid). Three
 *     variants, interleaved run by run with the order rotated each round:
 *     - `untuned`: `tuning.enabled: false`, as `run --no-tune`;
 *     - `tuned`: what `run` does minus the host knobs: `planTuning` + `applyProcessPart`
 *       (mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT), `/dev/cpu_dma_latency` held at 0 µs, main
 *       pinned) + `new Pipeline(cfg, { threadPlan, numaNode })` (each worker pins itself and sets
 *       its policy before it is ready);
 *     - `tuned_keep_dma`: the same with `tuning.host.cpu_dma_latency_us: keep`, to tell the
 *       cpu_dma_latency hold apart from the pinning and the policy.
 *     No host knob (sysfs/procfs) is ever written: the host part is never called, and the plan
 *     reads a snapshot of the few files the thread plan needs (RT throttling, CPU topology,
 *     isolation) copied into a temporary directory, which is also `tuning.roots.sys/proc` and
 *     `tuning.state_dir`. Only `tuning.roots.dev` is the real `/dev`, for the cpu_dma_latency
 *     hold, which is released (fd closed) at the end of each tuned run. After each tuned run the
 *     process is put back: `munlockall()`, every thread of the process (main and any helper
 *     thread created while main was pinned) back to all CPUs and SCHED_OTHER; the workers die
 *     with their pipeline. Each run records the process state (locked memory, pinned threads,
 *     real-time threads) so an untuned run that was not untuned would show. Runs: 5 × 2.5 s after a
 *     0.5 s warm-up (histograms read before and after and subtracted), a fresh Pipeline each;
 *     figures are medians over runs of each run's figure; ratio = tuned / untuned.
 * (2) Warm-up: the first 1,000 real ticks with `strategy.warmup_events` 0 vs 20,000. Each run is a
 *     fresh subprocess (cold JIT): `--child warmup=N` starts a pipeline (untuned, default
 *     hybrid/hybrid) whose strategy is `bench/fixtures/warmup-strategy.ts` (real work per tick,
 *     orders on a few % of ticks), with the synthetic feed at 10,000 events/s stopping after
 *     1,000 events. The fixture times every tick with `ctx.now()` at its callback's entry and exit
 *     (`proc`) and from the tick's receive time to its exit (`age`), and prints percentiles from
 *     onStop; the child adds tick_to_order of the orders those 1,000 ticks made, md_hop and
 *     decision, from the daemon's histograms. 7 runs each, alternating which goes first; medians;
 *     ratio = with warm-up / without.
 *
 * Percentiles of the daemon's histograms are bucket upper bounds (≤ 12.5 % above the true
 * value); max is the upper bound of the highest bucket that gained a sample. The fixture's
 * percentiles are exact (nearest rank over the 1,000 values).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { availableParallelism, cpus as osCpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Pipeline } from "../daemon/supervisor.ts";
import { configureLog } from "../daemon/log.ts";
import { stageSnapshots } from "../daemon/http/metrics.ts";
import { planTuning, applyProcessPart } from "../daemon/tuning/tuner.ts";
import type { TuneAction } from "../daemon/tuning/action.ts";
import { getrlimit, munlockall, schedGetaffinity, schedGetscheduler, schedSetaffinity, schedSetscheduler } from "../ffi/libc.ts";
import { QUICK, config, cpuSeconds, delta, fmtUs, median, orderOftenYaml, ratio, sleep, SYMBOLS8, threadPreemptions, type WaitMode } from "./support.ts";

configureLog("warn", "text");

const RATE = 10_000;
const CHILD_PREFIX = "CHILD_JSON ";
const FIXTURE_PREFIX = "WARMUP_FIXTURE ";
const FIXTURE = join(import.meta.dir, "fixtures", "warmup-strategy.ts");

// ---------------------------------------------------------------------------------------------
// (2) the child: one cold pipeline, the first 1,000 ticks

const FIRST_TICKS = 1_000;

async function child(arg: string | undefined): Promise<never> {
  const m = /^warmup=(\d+)$/.exec(arg ?? "");
  if (!m) {
    process.stderr.write("usage: bun bench/tuning.bench.ts --child warmup=N\n");
    process.exit(2);
  }
  const warmup = Number(m[1]);
  const cfg = config(
    `
symbols: ${SYMBOLS8}
feed:
  synthetic: { seed: 11, rate_events_per_sec: ${RATE}, batch_max: 128, max_events: ${FIRST_TICKS} }
strategy:
  name: module
  module: ${JSON.stringify(FIXTURE)}
  warmup_events: ${warmup}
  params: { ticks: ${FIRST_TICKS}, z_entry: 2, qty: 10, max_position: 100 }
broker:
  sim: { latency_us: 50 }
risk: { max_orders_per_sec: 100000, max_orders_per_min: 1000000, max_open_orders: 100, max_position_qty: 5000, duplicate_window_ms: 0, daily_loss_limit: 0 }
tuning: { enabled: false }
`,
    "tuning.bench child",
  );
  const p = new Pipeline(cfg, { stopDeadlineMs: 5_000 });
  const t0 = performance.now();
  await p.start();
  const startMs = performance.now() - t0;
  // Wait for the feed to finish, the strategy to take all 1,000 ticks, and execution to send
  // every order they made (bounded).
  const deadline = performance.now() + 5_000;
  for (;;) {
    const s = p.strategyMetrics.readCounters();
    const sent = stageSnapshots(p).tick_to_order.count;
    if (s.md_quotes + s.md_trades >= FIRST_TICKS && sent >= s.orders_submitted && p.orders.depth() === 0) break;
    if (performance.now() > deadline) break;
    await sleep(2);
  }
  const h = stageSnapshots(p);
  const s = p.strategyMetrics.readCounters();
  const stage = (name: "tick_to_order" | "md_hop" | "decision") => ({ count: h[name].count, p50: h[name].percentile(50), p99: h[name].percentile(99), max: h[name].maxNs });
  const out = { warmup_events: warmup, start_ms: +startMs.toFixed(1), events: s.md_quotes + s.md_trades, orders: s.orders_submitted, tick_to_order: stage("tick_to_order"), md_hop: stage("md_hop"), decision: stage("decision") };
  await p.stop(); // the fixture's onStop prints its line to stderr
  await sleep(20);
  process.stdout.write(`${CHILD_PREFIX}${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (process.argv[2] === "--child") await child(process.argv[3]);

// ---------------------------------------------------------------------------------------------
// host description

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

function hostDescription() {
  const cpuinfo = read("/proc/cpuinfo") ?? "";
  const cmdline = read("/proc/cmdline") ?? "";
  const param = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(cmdline)?.[1] ?? null;
  const cpuidle = read("/sys/devices/system/cpu/cpuidle/current_driver");
  const states = readdirSyncSafe("/sys/devices/system/cpu/cpu0/cpuidle")
    .filter((d) => d.startsWith("state"))
    .map((d) => `${read(`/sys/devices/system/cpu/cpu0/cpuidle/${d}/name`)} (exit latency ${read(`/sys/devices/system/cpu/cpu0/cpuidle/${d}/latency`)} µs)`);
  const memlock = getrlimit("memlock");
  const rtprio = getrlimit("rtprio");
  return {
    nproc: availableParallelism(),
    model_name: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? osCpus()[0]?.model ?? "",
    hypervisor: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo),
    kernel: read("/proc/sys/kernel/osrelease") ?? "",
    sched_rt_runtime_us: Number(read("/proc/sys/kernel/sched_rt_runtime_us")),
    sched_rt_period_us: Number(read("/proc/sys/kernel/sched_rt_period_us")),
    rt_throttling_on: Number(read("/proc/sys/kernel/sched_rt_runtime_us")) !== -1,
    isolated_cpus: read("/sys/devices/system/cpu/isolated") ?? "",
    nohz_full: read("/sys/devices/system/cpu/nohz_full") ?? "",
    isolcpus_param: param("isolcpus"),
    cpus_isolated: (read("/sys/devices/system/cpu/isolated") ?? "") !== "",
    cpuidle_driver: cpuidle,
    cpuidle_states: states,
    cpu_dma_latency_device: existsSync("/dev/cpu_dma_latency"),
    uid: process.getuid?.() ?? -1,
    memlock_limit: memlock.soft === Infinity ? "unlimited" : memlock.soft,
    rtprio_limit: rtprio.soft === Infinity ? "unlimited" : rtprio.soft,
    numa_nodes: readdirSyncSafe("/sys/devices/system/node").filter((d) => /^node\d+$/.test(d)).length,
  };
}

function readdirSyncSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// (1) tuned vs untuned

type Variant = "untuned" | "tuned" | "tuned_keep_dma";
const VARIANTS: Variant[] = ["untuned", "tuned", "tuned_keep_dma"];
const LAYOUTS = {
  "hybrid/hybrid": { strategy: "hybrid", execution: "hybrid", layout: "split" },
  "spin/block": { strategy: "spin", execution: "block", layout: "split" },
  // The three stages on one thread, waiting hybrid (threads.layout: single).
  single: { strategy: "hybrid", execution: "hybrid", layout: "single" },
} as const satisfies Record<string, { strategy: WaitMode; execution: WaitMode; layout: "split" | "single" }>;
type Layout = keyof typeof LAYOUTS;
const LAYOUT_NAMES = Object.keys(LAYOUTS) as Layout[];

const WARMUP_MS = QUICK ? 300 : 500;
const RUN_MS = QUICK ? 700 : 2_500;
const RUNS = QUICK ? 1 : 5;
const CHILD_RUNS = QUICK ? 2 : 7;

const ALL_CPUS = schedGetaffinity(0);

/** A read-only snapshot of what the thread plan reads, in a temporary tree (never the real one). */
function snapshotRoots(): string {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-tuning-bench-"));
  const copy = (from: string, to: string) => {
    const text = read(from);
    if (text === null) return;
    mkdirSync(join(dir, to, ".."), { recursive: true });
    writeFileSync(join(dir, to), text + "\n");
  };
  copy("/proc/sys/kernel/sched_rt_runtime_us", "proc/sys/kernel/sched_rt_runtime_us");
  copy("/proc/cmdline", "proc/cmdline");
  for (const f of ["online", "isolated", "nohz_full"]) copy(`/sys/devices/system/cpu/${f}`, `sys/devices/system/cpu/${f}`);
  for (const c of ALL_CPUS) copy(`/sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`, `sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`);
  mkdirSync(join(dir, "state"), { recursive: true });
  return dir;
}

function tuningYaml(variant: Variant, roots: string): string {
  if (variant === "untuned") return "{ enabled: false }";
  const dma = variant === "tuned" ? 0 : "keep";
  return `{ enabled: true, roots: { sys: ${JSON.stringify(join(roots, "sys"))}, proc: ${JSON.stringify(join(roots, "proc"))}, dev: /dev }, state_dir: ${JSON.stringify(join(roots, "state"))}, host: { cpu_dma_latency_us: ${dma} } }`;
}

function tids(): number[] {
  return readdirSyncSafe("/proc/self/task").map(Number).filter((n) => n > 0);
}

/** Locked memory, and the threads of this process that are pinned or real-time. */
function processState(): { vm_locked_kb: number; rss_mb: number; pinned_threads: number; rt_threads: number; threads: number } {
  const m = /^VmLck:\s*(\d+)/m.exec(read("/proc/self/status") ?? "");
  const rss = /^VmRSS:\s*(\d+)/m.exec(read("/proc/self/status") ?? "");
  let pinned = 0;
  let rt = 0;
  const all = tids();
  for (const tid of all) {
    try {
      if (schedGetaffinity(tid).length !== ALL_CPUS.length) pinned++;
      if (schedGetscheduler(tid).policy !== "other") rt++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { vm_locked_kb: m ? Number(m[1]) : NaN, rss_mb: rss ? +(Number(rss[1]) / 1024).toFixed(1) : NaN, pinned_threads: pinned, rt_threads: rt, threads: all.length };
}

/** Undoes the process and thread parts: memory unlocked, every thread on all CPUs under SCHED_OTHER. */
function untune(): number {
  munlockall();
  let reset = 0;
  for (const tid of tids()) {
    try {
      const pinned = schedGetaffinity(tid).length !== ALL_CPUS.length;
      const rt = schedGetscheduler(tid).policy !== "other";
      if (pinned) schedSetaffinity(tid, ALL_CPUS);
      if (rt) schedSetscheduler(tid, "other", 0);
      if (pinned || rt) reset++;
    } catch {
      // the thread ended meanwhile
    }
  }
  schedSetaffinity(0, ALL_CPUS);
  schedSetscheduler(0, "other", 0);
  return reset;
}

/** The CPU a thread last ran on (field 39 of its stat). */
function lastCpu(tid: number): number {
  const s = read(`/proc/self/task/${tid}/stat`);
  if (s === null) return -1;
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[36]);
}

interface Pcts {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

interface TunedRun {
  layout: Layout;
  variant: Variant;
  orders: number;
  events: number;
  dropped: number;
  tick_to_order: Pcts;
  feed_publish: Pcts;
  md_hop: Pcts;
  decision: Pcts;
  order_hop: Pcts;
  cpu_pct_of_core: Record<string, number>;
  preemptions_per_sec: Record<string, number>;
  last_cpu: Record<string, number>;
  sched: Record<string, string>;
  state_during: ReturnType<typeof processState>;
  state_before: ReturnType<typeof processState>;
  threads_reset_after: number;
  actions: TuneAction[];
}

async function tunedRun(layout: Layout, variant: Variant, roots: string): Promise<TunedRun> {
  const stateBefore = processState();
  const cfg = config(orderOftenYaml(RATE, LAYOUTS[layout], tuningYaml(variant, roots), LAYOUTS[layout].layout), "tuning.bench");
  const tuned = variant !== "untuned";
  const plan = tuned ? planTuning(cfg) : null;
  if (plan && plan.refusals.length > 0) throw new Error(`tuning plan refused for ${layout}: ${plan.refusals.join("; ")}`);
  const proc = plan ? applyProcessPart(plan, cfg) : null;
  let p: Pipeline | null = null;
  let result: TunedRun;
  let threadsReset = 0;
  try {
    p = new Pipeline(cfg, { stopDeadlineMs: 5_000, threadPlan: plan?.threads ?? null, numaNode: plan?.numaNode ?? null });
    await p.start();
    await sleep(WARMUP_MS);
    const h0 = stageSnapshots(p);
    const s0 = p.strategyMetrics.readCounters();
    const c0: Record<string, number> = {};
    for (const t of p.threads) c0[t.name] = cpuSeconds(t.tid);
    const n0 = threadPreemptions(p);
    const t0 = performance.now();
    await sleep(RUN_MS);
    const h1 = stageSnapshots(p);
    const s1 = p.strategyMetrics.readCounters();
    const seconds = (performance.now() - t0) / 1e3;
    const cpu_pct_of_core: Record<string, number> = {};
    for (const t of p.threads) cpu_pct_of_core[t.name] = +((100 * (cpuSeconds(t.tid) - c0[t.name]!)) / seconds).toFixed(1);
    const n1 = threadPreemptions(p);
    const stateDuring = processState();
    const last_cpu: Record<string, number> = {};
    const sched: Record<string, string> = {};
    for (const t of p.threads) {
      last_cpu[t.name] = lastCpu(t.tid);
      const sc = schedGetscheduler(t.tid);
      sched[t.name] = sc.policy === "other" ? "other" : `${sc.policy} ${sc.priority}`;
    }
    const pcts = (st: "tick_to_order" | "feed_publish" | "md_hop" | "decision" | "order_hop"): Pcts => {
      const d = delta(h0[st], h1[st]);
      return { count: d.count, p50: d.percentile(50), p99: d.percentile(99), p999: d.percentile(99.9), max: d.max() };
    };
    result = {
      layout,
      variant,
      orders: s1.orders_submitted - s0.orders_submitted,
      events: s1.md_quotes + s1.md_trades - (s0.md_quotes + s0.md_trades),
      dropped: p.md.dropped(),
      tick_to_order: pcts("tick_to_order"),
      feed_publish: pcts("feed_publish"),
      md_hop: pcts("md_hop"),
      decision: pcts("decision"),
      order_hop: pcts("order_hop"),
      cpu_pct_of_core,
      preemptions_per_sec: Object.fromEntries(Object.keys(n0).map((k) => [k, Math.round((n1[k]! - n0[k]!) / seconds)])),
      last_cpu,
      sched,
      state_during: stateDuring,
      state_before: stateBefore,
      threads_reset_after: 0,
      actions: proc ? [...proc.actions, ...p.threadTuning] : [],
    };
  } finally {
    await p?.stop();
    if (proc) {
      proc.release();
      threadsReset = untune();
    }
  }
  result.threads_reset_after = threadsReset;
  return result;
}

// ---------------------------------------------------------------------------------------------
// (2) the parent side: spawn children

interface ChildResult {
  warmup_events: number;
  start_ms: number;
  events: number;
  orders: number;
  tick_to_order: { count: number; p50: number; p99: number; max: number };
  md_hop: { count: number; p50: number; p99: number; max: number };
  decision: { count: number; p50: number; p99: number; max: number };
  warmup_log_ms: number;
  fixture: {
    ticks: number;
    ticks_seen: number;
    orders: number;
    orders_in_window: number;
    first_tick_proc_ns: number;
    proc_ns: { p50: number; p90: number; p99: number; max: number; mean: number };
    age_ns: { p50: number; p90: number; p99: number; max: number; mean: number };
    proc_p50_per_100_ticks_ns: number[];
  };
}

async function runChild(warmup: number): Promise<ChildResult> {
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", `warmup=${warmup}`], {
    cwd: join(import.meta.dir, ".."),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  const line = (text: string, prefix: string) => text.split("\n").find((l) => l.startsWith(prefix))?.slice(prefix.length);
  const main = line(stdout, CHILD_PREFIX);
  const fixture = line(stderr, FIXTURE_PREFIX);
  if (code !== 0 || !main || !fixture) throw new Error(`child warmup=${warmup} failed (exit ${code}):\n${stdout}\n${stderr}`);
  const warmMs = /warm-up ran \d+ events and \d+ orders through the strategy in (\d+) ms/.exec(stderr);
  return { ...(JSON.parse(main) as Omit<ChildResult, "fixture" | "warmup_log_ms">), warmup_log_ms: warmMs ? Number(warmMs[1]) : 0, fixture: JSON.parse(fixture) };
}

// ---------------------------------------------------------------------------------------------
// main

const tStart = performance.now();
const host = hostDescription();
const roots = snapshotRoots();
const planPreview = planTuning(config(orderOftenYaml(RATE, LAYOUTS["hybrid/hybrid"], tuningYaml("tuned", roots)), "tuning.bench"));

const runs: TunedRun[] = [];
try {
  for (let r = 0; r < RUNS; r++) {
    for (const layout of LAYOUT_NAMES) {
      // Rotate the variants' order each round, so none always runs first after a layout change.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
      for (const v of order) {
        runs.push(await tunedRun(layout, v, roots));
      }
    }
  }
} finally {
  rmSync(roots, { recursive: true, force: true });
}
const part1Seconds = (performance.now() - tStart) / 1e3;

const children: ChildResult[] = [];
for (let r = 0; r < CHILD_RUNS; r++) for (const w of r % 2 === 0 ? [0, 20_000] : [20_000, 0]) children.push(await runChild(w));

// ---- aggregate ---------------------------------------------------------------------------------

type MetricKey = "p50" | "p99" | "p999" | "max" | "jitter99" | "jitter999";
const METRICS: MetricKey[] = ["p50", "p99", "p999", "max", "jitter99", "jitter999"];
const metricOf = (r: TunedRun, k: MetricKey): number => {
  const t = r.tick_to_order;
  return k === "jitter99" ? t.p99 - t.p50 : k === "jitter999" ? t.p999 - t.p50 : t[k];
};

const part1 = Object.fromEntries(
  LAYOUT_NAMES.map((layout) => {
    const byVariant = Object.fromEntries(
      VARIANTS.map((v) => {
        const rs = runs.filter((r) => r.layout === layout && r.variant === v);
        const t2o = Object.fromEntries(METRICS.map((k) => [`${k}_ns`, median(rs.map((r) => metricOf(r, k)))])) as Record<`${MetricKey}_ns`, number>;
        const hop = (st: "feed_publish" | "md_hop" | "decision" | "order_hop") => ({ p50_ns: median(rs.map((r) => r[st].p50)), p99_ns: median(rs.map((r) => r[st].p99)) });
        const med = (f: (r: TunedRun) => Record<string, number>) => Object.fromEntries(["feed", "strategy", "execution", "main"].map((k) => [k, median(rs.map((r) => f(r)[k]!))]));
        return [
          v,
          {
            runs: rs.length,
            tick_to_order: t2o,
            tick_to_order_per_run: rs.map((r) => ({ count: r.tick_to_order.count, p50_ns: r.tick_to_order.p50, p99_ns: r.tick_to_order.p99, p999_ns: r.tick_to_order.p999, max_ns: r.tick_to_order.max })),
            feed_publish: hop("feed_publish"),
            md_hop: hop("md_hop"),
            decision: hop("decision"),
            order_hop: hop("order_hop"),
            orders_per_run: rs.map((r) => r.orders),
            dropped: rs.map((r) => r.dropped),
            cpu_pct_of_core_median: med((r) => r.cpu_pct_of_core),
            preemptions_per_sec_median: med((r) => r.preemptions_per_sec),
            last_cpu: rs.map((r) => r.last_cpu),
            sched: rs[0]?.sched,
            state_during: rs.map((r) => r.state_during),
            state_before: rs.map((r) => r.state_before),
            threads_reset_after: rs.map((r) => r.threads_reset_after),
          },
        ];
      }),
    ) as unknown as Record<Variant, { runs: number; tick_to_order: Record<`${MetricKey}_ns`, number>; [k: string]: unknown }>;
    const ratios = Object.fromEntries(
      (["tuned", "tuned_keep_dma"] as const).map((v) => [`${v}_over_untuned`, Object.fromEntries(METRICS.map((k) => [k, ratio(byVariant[v].tick_to_order[`${k}_ns`], byVariant.untuned.tick_to_order[`${k}_ns`])]))]),
    );
    return [layout, { variants: byVariant, ratios }];
  }),
) as Record<Layout, { variants: Record<Variant, { runs: number; tick_to_order: Record<`${MetricKey}_ns`, number>; [k: string]: unknown }>; ratios: Record<string, Record<MetricKey, number>> }>;

const untunedClean = runs.filter((r) => r.variant === "untuned").every((r) => r.state_before.vm_locked_kb === 0 && r.state_before.pinned_threads === 0 && r.state_before.rt_threads === 0 && r.state_during.vm_locked_kb === 0 && r.state_during.pinned_threads === 0);
const tunedApplied = runs.filter((r) => r.variant !== "untuned").every((r) => r.actions.every((a) => a.status !== "failed") && r.state_during.pinned_threads > 0);
const firstTuned = runs.find((r) => r.variant === "tuned");

type WarmKey = "proc_p50" | "proc_p99" | "proc_max" | "age_p50" | "age_p99" | "age_max" | "t2o_p50" | "t2o_p99" | "t2o_max" | "first_tick_proc" | "start_ms";
const WARM_KEYS: WarmKey[] = ["proc_p50", "proc_p99", "proc_max", "age_p50", "age_p99", "age_max", "t2o_p50", "t2o_p99", "t2o_max", "first_tick_proc", "start_ms"];
const warmValue = (c: ChildResult, k: WarmKey): number => {
  switch (k) {
    case "proc_p50": return c.fixture.proc_ns.p50;
    case "proc_p99": return c.fixture.proc_ns.p99;
    case "proc_max": return c.fixture.proc_ns.max;
    case "age_p50": return c.fixture.age_ns.p50;
    case "age_p99": return c.fixture.age_ns.p99;
    case "age_max": return c.fixture.age_ns.max;
    case "t2o_p50": return c.tick_to_order.p50;
    case "t2o_p99": return c.tick_to_order.p99;
    case "t2o_max": return c.tick_to_order.max;
    case "first_tick_proc": return c.fixture.first_tick_proc_ns;
    case "start_ms": return c.start_ms;
  }
};
const part2 = Object.fromEntries(
  [0, 20_000].map((w) => {
    const cs = children.filter((c) => c.warmup_events === w);
    const blocks = cs[0]?.fixture.proc_p50_per_100_ticks_ns.map((_, i) => median(cs.map((c) => c.fixture.proc_p50_per_100_ticks_ns[i]!))) ?? [];
    return [
      `warmup_${w}`,
      {
        runs: cs.length,
        medians: Object.fromEntries(WARM_KEYS.map((k) => [k, median(cs.map((c) => warmValue(c, k)))])) as Record<WarmKey, number>,
        proc_p50_per_100_ticks_ns_median: blocks,
        ticks: cs.map((c) => c.fixture.ticks),
        orders_in_first_ticks: cs.map((c) => c.fixture.orders_in_window),
        tick_to_order_samples: cs.map((c) => c.tick_to_order.count),
        warmup_log_ms: cs.map((c) => c.warmup_log_ms),
        per_run: cs.map((c) => ({ proc_p50_ns: c.fixture.proc_ns.p50, proc_p99_ns: c.fixture.proc_ns.p99, proc_max_ns: c.fixture.proc_ns.max, age_p50_ns: c.fixture.age_ns.p50, age_p99_ns: c.fixture.age_ns.p99, md_hop_p50_ns: c.md_hop.p50, md_hop_p99_ns: c.md_hop.p99, t2o_p50_ns: c.tick_to_order.p50, t2o_p99_ns: c.tick_to_order.p99, start_ms: c.start_ms })),
      },
    ];
  }),
) as unknown as Record<"warmup_0" | "warmup_20000", { runs: number; medians: Record<WarmKey, number>; proc_p50_per_100_ticks_ns_median: number[]; [k: string]: unknown }>;
const warmRatios = Object.fromEntries(WARM_KEYS.map((k) => [k, ratio(part2.warmup_20000.medians[k], part2.warmup_0.medians[k])])) as Record<WarmKey, number>;

// ---- print ------------------------------------------------------------------------------------

const q = QUICK ? " (QUICK: smoke run, figures not meaningful)" : "";
const fmtMs = (ns: number) => (Number.isFinite(ns) ? (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : fmtUs(ns)) : "–");
console.log(`### host${q}\n`);
console.log(`${host.nproc} CPUs, ${host.model_name}${host.hypervisor ? " (VM)" : ""}, Linux ${host.kernel}; RT throttling ${host.rt_throttling_on ? `on (${host.sched_rt_runtime_us} / ${host.sched_rt_period_us} µs)` : "off"}; isolated CPUs: ${host.cpus_isolated ? host.isolated_cpus : "none"}; cpuidle ${host.cpuidle_driver ?? "none"} [${host.cpuidle_states.join(", ")}]; /dev/cpu_dma_latency ${host.cpu_dma_latency_device ? "present" : "absent"}; uid ${host.uid}\n`);
console.log(`thread plan: ${Object.entries(planPreview.threads.threads).map(([t, a]) => `${t} → ${a.cpu === null ? "unpinned" : `CPU ${a.cpu}`} ${a.policy === "other" ? "SCHED_OTHER" : `SCHED_${a.policy.toUpperCase()} ${a.priority}`}`).join(", ")} (hybrid/hybrid; with spin/block the strategy spins and gets SCHED_OTHER)\n`);
if (firstTuned) console.log(`tuned-run actions: ${firstTuned.actions.map((a) => `${a.id} ${a.status}`).join("; ")}\n`);

console.log(`### (1) tick_to_order, tuned vs untuned, ${RATE.toLocaleString("en-US")} events/s: median of ${RUNS} runs × ${RUN_MS / 1000} s per variant${q}\n`);
console.log("| layout (strategy/execution) | variant | orders/run | p50 | p99 | p99.9 | max | p99 − p50 | p99.9 − p50 | md_hop p50 / p99 | order_hop p50 / p99 | CPU strategy / execution / feed | preempted/s strategy / execution / feed |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const layout of LAYOUT_NAMES) {
  for (const v of VARIANTS) {
    const b = part1[layout].variants[v] as unknown as { tick_to_order: Record<string, number>; orders_per_run: number[]; md_hop: { p50_ns: number; p99_ns: number }; order_hop: { p50_ns: number; p99_ns: number }; cpu_pct_of_core_median: Record<string, number>; preemptions_per_sec_median: Record<string, number> };
    const t = b.tick_to_order;
    console.log(
      `| ${layout} | ${v} | ${b.orders_per_run.join(", ")} | ${fmtMs(t.p50_ns!)} | ${fmtMs(t.p99_ns!)} | ${fmtMs(t.p999_ns!)} | ${fmtMs(t.max_ns!)} | ${fmtMs(t.jitter99_ns!)} | ${fmtMs(t.jitter999_ns!)} | ${fmtMs(b.md_hop.p50_ns)} / ${fmtMs(b.md_hop.p99_ns)} | ${fmtMs(b.order_hop.p50_ns)} / ${fmtMs(b.order_hop.p99_ns)} | ${b.cpu_pct_of_core_median.strategy} / ${b.cpu_pct_of_core_median.execution} / ${b.cpu_pct_of_core_median.feed} % | ${b.preemptions_per_sec_median.strategy} / ${b.preemptions_per_sec_median.execution} / ${b.preemptions_per_sec_median.feed} |`,
    );
  }
}
console.log("\nratios (tuned / untuned; < 1 = tuning helped):\n");
console.log("| layout | variant | p50 | p99 | p99.9 | max | p99 − p50 | p99.9 − p50 |");
console.log("|---|---|---|---|---|---|---|---|");
for (const layout of LAYOUT_NAMES) {
  for (const [name, r] of Object.entries(part1[layout].ratios)) console.log(`| ${layout} | ${name} | ${METRICS.map((k) => `${r[k]}x`).join(" | ")} |`);
}
console.log(`\ntick_to_order per run (p50 / p99 / p99.9): ${LAYOUT_NAMES.map((l) => VARIANTS.map((v) => `${l} ${v}: ${runs.filter((r) => r.layout === l && r.variant === v).map((r) => `${fmtMs(r.tick_to_order.p50)} / ${fmtMs(r.tick_to_order.p99)} / ${fmtMs(r.tick_to_order.p999)}`).join("; ")}`).join(" | ")).join(" | ")}`);
const tunedRuns = runs.filter((r) => r.variant !== "untuned");
const range = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;
console.log(
  `\nprocess state: untuned runs ${untunedClean ? "clean (no locked memory, no pinned or real-time thread, before and during)" : "NOT clean"}; tuned runs ${tunedApplied ? "applied (no failed action)" : "NOT fully applied"}; ` +
    `during tuned runs VmLck ${range(tunedRuns.map((r) => Math.round(r.state_during.vm_locked_kb / 1024)))} MB (locked address space: MCL_ONFAULT locks pages only as they are touched) with RSS ${range(tunedRuns.map((r) => Math.round(r.state_during.rss_mb)))} MB (untuned: ${range(runs.filter((r) => r.variant === "untuned").map((r) => Math.round(r.state_during.rss_mb)))} MB); ` +
    `threads put back after each tuned run (pinned or real-time when the pipeline had stopped): ${tunedRuns.map((r) => r.threads_reset_after).join(", ")}`,
);
console.log("\nstage p50 / p99 (median over runs), where the tick_to_order tail comes from:\n");
console.log("| layout | variant | feed_publish | md_hop | decision | order_hop | tick_to_order |");
console.log("|---|---|---|---|---|---|---|");
for (const layout of LAYOUT_NAMES) {
  for (const v of VARIANTS) {
    const b = part1[layout].variants[v] as unknown as Record<"feed_publish" | "md_hop" | "decision" | "order_hop", { p50_ns: number; p99_ns: number }> & { tick_to_order: Record<string, number> };
    const cell = (x: { p50_ns: number; p99_ns: number }) => `${fmtMs(x.p50_ns)} / ${fmtMs(x.p99_ns)}`;
    console.log(`| ${layout} | ${v} | ${cell(b.feed_publish)} | ${cell(b.md_hop)} | ${cell(b.decision)} | ${cell(b.order_hop)} | ${fmtMs(b.tick_to_order.p50_ns!)} / ${fmtMs(b.tick_to_order.p99_ns!)} |`);
  }
}

console.log(`\n### (2) the first ${FIRST_TICKS.toLocaleString("en-US")} ticks of a fresh process, warm-up 0 vs 20,000 events: median of ${CHILD_RUNS} child runs each${q}\n`);
console.log("| warm-up events | per-tick proc p50 | p99 | max | first tick | per-tick age p50 | p99 | max | tick_to_order p50 | p99 | max | orders in the 1,000 ticks | start → ready |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const w of [0, 20_000] as const) {
  const b = part2[`warmup_${w}`];
  const m = b.medians;
  console.log(
    `| ${w.toLocaleString("en-US")} | ${fmtMs(m.proc_p50)} | ${fmtMs(m.proc_p99)} | ${fmtMs(m.proc_max)} | ${fmtMs(m.first_tick_proc)} | ${fmtMs(m.age_p50)} | ${fmtMs(m.age_p99)} | ${fmtMs(m.age_max)} | ${fmtMs(m.t2o_p50)} | ${fmtMs(m.t2o_p99)} | ${fmtMs(m.t2o_max)} | ${(b.orders_in_first_ticks as number[]).join(", ")} | ${m.start_ms.toFixed(0)} ms |`,
  );
}
console.log(`\nratio (warm-up 20,000 / none): proc p50 ${warmRatios.proc_p50}x, p99 ${warmRatios.proc_p99}x, max ${warmRatios.proc_max}x; age p50 ${warmRatios.age_p50}x, p99 ${warmRatios.age_p99}x; tick_to_order p50 ${warmRatios.t2o_p50}x, p99 ${warmRatios.t2o_p99}x, max ${warmRatios.t2o_max}x; start → ready ${warmRatios.start_ms}x`);
console.log(`\nper-tick proc p50 by 100-tick block (median over runs): none ${part2.warmup_0.proc_p50_per_100_ticks_ns_median.map((x) => fmtUs(x)).join(", ")}; 20,000: ${part2.warmup_20000.proc_p50_per_100_ticks_ns_median.map((x) => fmtUs(x)).join(", ")}`);

const targets = {
  untuned_runs_untuned: { target: "no locked memory, no pinned or real-time thread in untuned runs", met: untunedClean },
  tuned_runs_applied: { target: "no failed action, threads pinned in tuned runs", met: tunedApplied },
  tick_to_order_samples_per_run: { target: ">= 1000", min: Math.min(...runs.map((r) => r.tick_to_order.count)), met: runs.every((r) => r.tick_to_order.count >= 1000) || QUICK },
  first_ticks_seen: { target: `${FIRST_TICKS} ticks per child`, met: children.every((c) => c.fixture.ticks === FIRST_TICKS) },
};
console.log(`\ntargets: ${Object.entries(targets).map(([k, v]) => `${k} ${v.met ? "met" : "NOT met"}`).join("; ")}`);

const totalSeconds = +((performance.now() - tStart) / 1e3).toFixed(1);
const json = {
  bench: "tuning",
  quick: QUICK,
  targets,
  host,
  bun: Bun.version,
  tuned_vs_untuned: {
    rate_events_per_sec: RATE,
    runs: RUNS,
    run_ms: RUN_MS,
    warmup_ms: WARMUP_MS,
    layouts: LAYOUTS,
    variants: { untuned: "tuning.enabled false (run --no-tune)", tuned: "planTuning + applyProcessPart (mlockall 7, /dev/cpu_dma_latency held at 0, main pinned) + Pipeline threadPlan; no host knobs", tuned_keep_dma: "tuned with cpu_dma_latency_us: keep" },
    thread_plan_hybrid: planPreview.threads.threads,
    tuned_actions: firstTuned?.actions ?? [],
    results: part1,
    seconds: +part1Seconds.toFixed(1),
  },
  warmup: { rate_events_per_sec: RATE, first_ticks: FIRST_TICKS, runs_each: CHILD_RUNS, layout: "hybrid/hybrid, untuned", results: part2, ratios_warm_over_cold: warmRatios },
  totalSeconds,
};
console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
process.exit(0);
