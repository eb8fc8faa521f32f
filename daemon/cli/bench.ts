/**
 * `tradingd bench`: the real pipeline (`Pipeline`, the daemon's own feed, strategy and execution
 * workers) for a set time against market data and a broker on loopback, reporting the latency of
 * each stage from the daemon's histograms, the rate, CPU per thread, RSS and the main thread's
 * heap. See the help text (`daemon/cli/help.ts`) for what is measured and how.
 */
import { parseArgs } from "node:util";
import { heapStats } from "bun:jsc";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./exit-codes.ts";
import { rateOption } from "./fake-exchange.ts";
import { parseConfigText } from "../config/load.ts";
import { Pipeline } from "../supervisor.ts";
import { configureLog } from "../log.ts";
import { STAGES, stageSnapshots, type Stage } from "../http/metrics.ts";
import { cpuSeconds, delta, threadCpu } from "../bench/measure.ts";
import { startFakesWorker, type FakesOnWorker } from "../bench/fakes.ts";
import { GC_LOG_ENV, messagesTo, runWithGcLog, type GcSummary } from "../bench/gc-log.ts";
import type { Config } from "../config/schema.ts";
import { applyProcessPart, planTuning, type ProcessTuning, type TuningPlan } from "../tuning/tuner.ts";
import { resolveLayout } from "../tuning/layout.ts";
import { runtimeThreadsPart } from "../tuning/runtime-threads.ts";
import type { TuneAction } from "../tuning/action.ts";
import { getrlimit, munlockall, schedGetaffinity, schedGetscheduler, schedSetaffinity, schedSetscheduler } from "../../ffi/libc.ts";

/** Budget exceeded (`--max-p99-us`). */
export const EXIT_BUDGET = 3;

const SYMBOLS = ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "META", "TSLA"];
const WARMUP_MS = 1_000;

export interface BenchOptions {
  seconds: number;
  rate: number;
  feed: "synthetic" | "polygon";
  broker: "sim" | "alpaca";
  maxP99Us: number | null;
  /** Measure untuned only, even when the process may tune. */
  noTune: boolean;
}

export interface StageFigures {
  count: number;
  p50_us: number | null;
  p90_us: number | null;
  p99_us: number | null;
  p999_us: number | null;
  max_us: number | null;
}

export interface BenchReport {
  tradingd_bench: 1;
  feed: BenchOptions["feed"];
  broker: BenchOptions["broker"];
  rate_asked: number;
  /** The thread layout the run used (`threads.layout: auto` resolved on this host). */
  layout: string;
  warmup_seconds: number;
  seconds: number;
  events: number;
  events_per_sec: number;
  md_dropped: number;
  orders: number;
  orders_per_sec: number;
  acks: number;
  stages: Record<Stage, StageFigures>;
  /** utime + stime over the measured run, seconds and percent of one core, per thread. */
  cpu: Record<string, { seconds: number; pct_of_core: number }>;
  rss_mb: { before: number; after_warmup: number; after: number };
  /** The main thread's JS heap (bun:jsc heapStats); worker heaps are not visible from here. */
  heap: { source: string; before_mb: number; after_mb: number; objects_after: number; note: string };
  /**
   * Garbage collection of every thread, from JavaScriptCore's own log (the command runs itself
   * again with `BUN_JSC_logGC=1`, see daemon/bench/gc-log.ts); null when that log was not
   * available. Covers the whole command (warm-up and every run), not only the measured seconds.
   */
  gc: (GcSummary & { source: string }) | null;
  /** The same figures from the tuned run (after the untuned one), when there was one. */
  tuned: RunFigures | null;
  /** Whether a tuned run was made, why (not), what the process part did, and tuned / untuned. */
  tuning: {
    runs: "untuned_only" | "untuned_then_tuned";
    reason: string;
    actions: string[];
    ratio: { tick_to_order_p50: number | null; tick_to_order_p99: number | null } | null;
  };
  /** Checked on the tuned run when there is one. */
  budget: { max_p99_us: number; stage: "tick_to_order"; run: "tuned" | "untuned"; p99_us: number | null; ok: boolean } | null;
}

const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
const usOf = (ns: number): number | null => (Number.isFinite(ns) ? +(ns / 1e3).toFixed(2) : null);

function benchConfig(o: BenchOptions, journalDir: string, fakes: FakesOnWorker | null, tuningRoots: string | null) {
  mkdirSync(journalDir, { recursive: true });
  // JSON is YAML: the config goes through the same parser and checks as a config file.
  const cfg = {
    mode: o.broker === "alpaca" ? "paper" : "dry-run",
    symbols: SYMBOLS,
    feed:
      o.feed === "polygon"
        ? { kind: "polygon", polygon: { url: fakes!.polygonUrl, api_key: fakes!.polygonKey, channels: ["Q", "T"] } }
        : { kind: "synthetic", synthetic: { seed: 7, rate_events_per_sec: o.rate, batch_max: 128 } },
    // Trades AAPL on every quote of it (buy while the position is under max_position, else
    // sell); the other symbols are market-data load.
    strategy: {
      name: "threshold",
      params: { buy_at_or_below: { AAPL: 1_000_000_000 }, sell_at_or_above: { AAPL: 0.01 }, qty: 10, max_position: 100 },
    },
    broker:
      o.broker === "alpaca"
        ? {
            kind: "alpaca",
            alpaca: {
              base_url: fakes!.alpacaUrl,
              stream_url: fakes!.alpacaStreamUrl,
              key_id: fakes!.alpacaKeyId,
              secret_key: fakes!.alpacaSecretKey,
              rate_limit_per_min: 10_000,
            },
          }
        : { kind: "sim", sim: { latency_us: 50 } },
    risk: {
      max_orders_per_sec: 1_000_000,
      max_orders_per_min: 1_000_000,
      max_position_qty: 1_000_000,
      max_order_notional: 1_000_000_000,
      collar_bps: 0,
      duplicate_window_ms: 0,
      daily_loss_limit: 0,
    },
    log: { level: "warn" },
    journal_path: join(journalDir, "journal.sqlite"),
    journal_sync: "normal",
    runtime_dir: journalDir,
    // Tuned: the process and thread parts only; every root is a temporary copy (no host knob
    // is written, nothing under /dev is opened).
    tuning:
      tuningRoots === null
        ? { enabled: false }
        : {
            enabled: true,
            roots: { sys: join(tuningRoots, "sys"), proc: join(tuningRoots, "proc"), dev: join(tuningRoots, "dev") },
            state_dir: join(tuningRoots, "state"),
            host: { cpu_dma_latency_us: "keep" },
          },
  };
  return parseConfigText(JSON.stringify(cfg), "(bench)", {});
}

function heapNow(): { size: number; objects: number; source: string } {
  try {
    const h = heapStats();
    return { size: h.heapSize, objects: h.objectCount, source: "bun:jsc heapStats (main thread)" };
  } catch {
    return { size: process.memoryUsage().heapUsed, objects: NaN, source: "process.memoryUsage().heapUsed (main thread)" };
  }
}

export interface BenchIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Progress goes to stderr: a `\r` line on a terminal, a plain line a second otherwise. */
  tty: boolean;
}

/** One measured run (a fresh Pipeline): what `BenchReport` holds at its top level. */
type RunFigures = Omit<BenchReport, "tradingd_bench" | "feed" | "broker" | "rate_asked" | "layout" | "budget" | "tuning" | "tuned" | "gc">;

/** Whether this process may tune (mlockall, real-time policy): root, or the limits allow it. */
export function mayTune(): { ok: boolean; why: string } {
  if (process.getuid?.() === 0) return { ok: true, why: "running as root" };
  const rt = getrlimit("rtprio");
  const ml = getrlimit("memlock");
  if (rt.soft > 0) return { ok: true, why: `RLIMIT_RTPRIO ${rt.soft === Infinity ? "unlimited" : rt.soft}` };
  if (ml.soft === Infinity) return { ok: true, why: "RLIMIT_MEMLOCK unlimited" };
  return { ok: false, why: `not root, RLIMIT_RTPRIO 0 and RLIMIT_MEMLOCK ${ml.soft} bytes: the process may neither lock its memory nor use a real-time policy` };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * A copy of the few host files the thread plan reads, in a temporary tree that is also the
 * tuning's sys, proc, dev and state roots: the host part is never applied, and even if it were
 * it would write to this copy. cpu_dma_latency is `keep` (nothing opened under /dev).
 */
function snapshotRoots(dir: string, cpus: readonly number[]): string {
  const root = join(dir, "tuning-roots");
  const copy = (from: string, to: string) => {
    const text = readOrNull(from);
    if (text === null) return;
    mkdirSync(join(root, to, ".."), { recursive: true });
    writeFileSync(join(root, to), text + "\n");
  };
  copy("/proc/sys/kernel/sched_rt_runtime_us", "proc/sys/kernel/sched_rt_runtime_us");
  copy("/proc/cmdline", "proc/cmdline");
  for (const f of ["online", "isolated", "nohz_full"]) copy(`/sys/devices/system/cpu/${f}`, `sys/devices/system/cpu/${f}`);
  for (const c of cpus) copy(`/sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`, `sys/devices/system/cpu/cpu${c}/topology/thread_siblings_list`);
  for (const d of ["dev", "state"]) mkdirSync(join(root, d), { recursive: true });
  return root;
}

function tids(): number[] {
  try {
    return readdirSync("/proc/self/task").map(Number).filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** Undoes the process and thread parts: memory unlocked, every thread on all CPUs under SCHED_OTHER. */
function untune(allCpus: readonly number[]): void {
  try {
    munlockall();
  } catch {
    // nothing locked
  }
  for (const tid of tids()) {
    try {
      if (schedGetaffinity(tid).length !== allCpus.length) schedSetaffinity(tid, allCpus);
      if (schedGetscheduler(tid).policy !== "other") schedSetscheduler(tid, "other", 0);
    } catch {
      // the thread ended
    }
  }
}

async function measureRun(
  cfg: Config,
  o: BenchOptions,
  dir: string,
  fakes: FakesOnWorker | null,
  tuning: TuningPlan | null,
  label: string,
  progress: (line: string) => void,
  /** Where the tuned run reports its runtime-threads action. */
  moves: TuneAction[] = [],
): Promise<RunFigures> {
  let p: Pipeline | null = null;
  try {
    Bun.gc(true);
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = heapNow();
    p = new Pipeline(cfg, { configDir: dir, stopDeadlineMs: 5_000, threadPlan: tuning?.threads ?? null, numaNode: tuning?.numaNode ?? null });
    const failed = p.failed.then((e) => {
      throw e;
    });
    failed.catch(() => undefined);
    const wait = (ms: number) => Promise.race([Bun.sleep(ms), failed]);
    await Promise.race([p.start(), failed]);
    // As `run` does once its workers are placed: the runtime's threads (and the fakes') off the
    // hot CPUs; `untune` puts every thread back on all CPUs afterwards.
    if (tuning !== null) moves.push(runtimeThreadsPart(tuning.threads, p.threads.map((t) => t.tid)).action);
    progress(`bench${label}: warming up ${(WARMUP_MS / 1e3).toFixed(1)} s (${o.feed} feed, ${o.broker} broker, ${o.rate} events/s asked)`);
    await wait(WARMUP_MS);
    const rssWarm = process.memoryUsage().rss;
    const f0 = p.feedMetrics.readCounters();
    const h0 = stageSnapshots(p);
    const cpuNow = () => {
      const c = threadCpu(p!);
      if (fakes !== null) c.fakes = cpuSeconds(fakes.tid);
      return c;
    };
    const c0 = cpuNow();
    const t0 = performance.now();
    const end = t0 + o.seconds * 1e3;
    let lastEvents = f0.md_quotes + f0.md_trades;
    for (let tick = 1; performance.now() < end; tick++) {
      await wait(Math.max(0, Math.min(t0 + tick * 1e3, end) - performance.now()));
      const f = p.feedMetrics.readCounters();
      const events = f.md_quotes + f.md_trades;
      const h = stageSnapshots(p);
      const t2o = delta(h0.tick_to_order, h.tick_to_order);
      const p99 = usOf(t2o.percentile(99));
      progress(
        `bench${label}: ${Math.min(o.seconds, (performance.now() - t0) / 1e3).toFixed(0)}/${o.seconds} s  ${events - lastEvents} events in the last second  ` +
          `${t2o.count} orders  tick_to_order p99 ${p99 === null ? "–" : `${p99} µs`}`,
      );
      lastEvents = events;
    }
    const seconds = (performance.now() - t0) / 1e3;
    const c1 = cpuNow();
    const h1 = stageSnapshots(p);
    const f1 = p.feedMetrics.readCounters();
    const rssAfter = process.memoryUsage().rss;
    const heapAfter = heapNow();

    const stages = {} as Record<Stage, StageFigures>;
    for (const st of STAGES) {
      const d = delta(h0[st], h1[st]);
      stages[st] = { count: d.count, p50_us: usOf(d.percentile(50)), p90_us: usOf(d.percentile(90)), p99_us: usOf(d.percentile(99)), p999_us: usOf(d.percentile(99.9)), max_us: usOf(d.max()) };
    }
    const cpu: BenchReport["cpu"] = {};
    let named = 0;
    for (const k of Object.keys(c0)) {
      const d = c1[k]! - c0[k]!;
      if (k !== "process") named += d;
      cpu[k] = { seconds: +d.toFixed(2), pct_of_core: +((100 * d) / seconds).toFixed(1) };
    }
    const other = c1.process! - c0.process! - named;
    cpu.other_threads = { seconds: +other.toFixed(2), pct_of_core: +((100 * other) / seconds).toFixed(1) };
    const events = f1.md_quotes + f1.md_trades - (f0.md_quotes + f0.md_trades);
    return {
      warmup_seconds: WARMUP_MS / 1e3,
      seconds: +seconds.toFixed(3),
      events,
      events_per_sec: Math.round(events / seconds),
      md_dropped: f1.md_dropped - f0.md_dropped,
      orders: stages.tick_to_order.count,
      orders_per_sec: Math.round(stages.tick_to_order.count / seconds),
      acks: stages.tick_to_ack.count,
      stages,
      cpu,
      rss_mb: { before: mb(rssBefore), after_warmup: mb(rssWarm), after: mb(rssAfter) },
      heap: {
        source: heapAfter.source,
        before_mb: mb(heapBefore.size),
        after_mb: mb(heapAfter.size),
        objects_after: heapAfter.objects,
        note: "the main thread's heap; garbage collection of every thread is under gc",
      },
    };
  } finally {
    await p?.stop().catch(() => undefined);
  }
}

const ratioOf = (tuned: number | null, untuned: number | null) => (tuned === null || untuned === null || untuned === 0 ? null : +(tuned / untuned).toFixed(3));

export async function runBench(o: BenchOptions, io: BenchIo): Promise<BenchReport> {
  /** The runtime-threads action of the tuned run, for the report. */
  const runtimeMoves: TuneAction[] = [];
  const dir = mkdtempSync(join(tmpdir(), "tradingd-bench-"));
  let fakes: FakesOnWorker | null = null;
  const progress = (line: string) => (io.tty ? io.err(`\r${line}\x1b[K`) : io.err(line + "\n"));
  const allCpus = schedGetaffinity(0);
  let tunedApplied = false;
  let processTuning: ProcessTuning | null = null;
  try {
    if (o.feed === "polygon" || o.broker === "alpaca") {
      // On a Worker thread of their own, not on this (the supervisor's) thread.
      fakes = await startFakesWorker({ host: "127.0.0.1", polygonPort: 0, alpacaPort: 0, rate: o.rate, symbols: SYMBOLS, seed: 7 });
    }
    const may = o.noTune ? { ok: false, why: "--no-tune" } : mayTune();
    let tuningInfo: BenchReport["tuning"] = { runs: "untuned_only", reason: may.ok ? "" : may.why, actions: [], ratio: null };
    let tunedCfg: Config | null = null;
    let plan: TuningPlan | null = null;
    if (may.ok) {
      const roots = snapshotRoots(dir, allCpus);
      tunedCfg = benchConfig(o, join(dir, "tuned"), fakes, roots);
      plan = planTuning(tunedCfg);
      if (plan.refusals.length > 0) {
        tuningInfo = { runs: "untuned_only", reason: `the tuning plan refused: ${plan.refusals.join("; ")}`, actions: [], ratio: null };
        tunedCfg = plan = null;
      }
    }
    const both = plan !== null;
    const untunedCfg = benchConfig(o, join(dir, "untuned"), fakes, null);
    const untuned = await measureRun(untunedCfg, o, dir, fakes, null, both ? " (untuned)" : "", progress);
    if (io.tty) io.err("\n");
    let tuned: RunFigures | null = null;
    if (plan !== null && tunedCfg !== null) {
      untune(allCpus);
      tunedApplied = true;
      processTuning = applyProcessPart(plan, tunedCfg);
      tuned = await measureRun(tunedCfg, o, dir, fakes, plan, " (tuned)", progress, runtimeMoves);
      if (io.tty) io.err("\n");
      const t2oT = tuned.stages.tick_to_order;
      const t2oU = untuned.stages.tick_to_order;
      tuningInfo = {
        runs: "untuned_then_tuned",
        reason: may.why,
        actions: [...processTuning.actions, ...runtimeMoves].map((a) => `${a.id} ${a.status}${a.reason ? ` (${a.reason})` : ""}`),
        ratio: { tick_to_order_p50: ratioOf(t2oT.p50_us, t2oU.p50_us), tick_to_order_p99: ratioOf(t2oT.p99_us, t2oU.p99_us) },
      };
    }
    // The budget is checked on the tuned run when there is one (as `run` tunes by default).
    const gated = tuned ?? untuned;
    const p99 = gated.stages.tick_to_order.p99_us;
    return {
      tradingd_bench: 1,
      feed: o.feed,
      broker: o.broker,
      rate_asked: o.rate,
      layout: resolveLayout(untunedCfg, allCpus).layout,
      ...untuned,
      gc: null,
      tuned,
      tuning: tuningInfo,
      budget: o.maxP99Us === null ? null : { max_p99_us: o.maxP99Us, stage: "tick_to_order", run: tuned ? "tuned" : "untuned", p99_us: p99, ok: p99 !== null && p99 <= o.maxP99Us },
    };
  } finally {
    processTuning?.release();
    if (tunedApplied) untune(allCpus);
    await fakes?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number | null) => (x === null ? "–" : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));
const int = (x: number) => x.toLocaleString("en-US");

export function formatBench(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `tradingd bench: ${r.feed} feed → ${r.broker} broker, ${int(r.rate_asked)} events/s asked, ${r.seconds.toFixed(1)} s measured after a ${r.warmup_seconds} s warm-up, thread layout ${r.layout}`,
    "",
    `${"stage (µs)".padEnd(14)}${["count", "p50", "p90", "p99", "p99.9", "max"].map((h) => h.padStart(10)).join("")}`,
  );
  for (const st of STAGES) {
    const s = r.stages[st];
    lines.push(`${st.padEnd(14)}${[int(s.count), fmt(s.p50_us), fmt(s.p90_us), fmt(s.p99_us), fmt(s.p999_us), fmt(s.max_us)].map((v) => v.padStart(10)).join("")}`);
  }
  lines.push(
    "",
    `events:  ${int(r.events_per_sec)}/s (${int(r.events)} in all, ${int(r.md_dropped)} dropped)`,
    `orders:  ${int(r.orders_per_sec)}/s (${int(r.orders)} in all, ${int(r.acks)} acknowledged)`,
    `CPU:     ${Object.entries(r.cpu)
      .filter(([k]) => k !== "process")
      .map(([k, v]) => `${k} ${v.pct_of_core} %`)
      .join(", ")} of one core (process ${r.cpu.process?.pct_of_core ?? "–"} %)`,
    `RSS:     ${r.rss_mb.after} MB (${r.rss_mb.before} MB before start, ${r.rss_mb.after_warmup} MB after warm-up)`,
    `heap:    ${r.heap.after_mb} MB, ${int(r.heap.objects_after)} objects (${r.heap.before_mb} MB before; ${r.heap.source})`,
    r.gc === null
      ? "GC:      not measured (JavaScriptCore's GC log was not available)"
      : `GC:      ${int(r.gc.collections)} collections (${r.gc.eden} eden, ${r.gc.full} full), ${int(r.gc.pauses)} pauses, longest ${r.gc.maxPauseMs.toFixed(2)} ms, ${r.gc.over10ms} over 10 ms, ${r.gc.totalPauseMs.toFixed(1)} ms in all (every thread, the whole command)`,
  );
  if (r.tuned !== null && r.tuning.ratio !== null) {
    const rt = (x: number | null) => (x === null ? "–" : `${x.toFixed(2)}×`);
    lines.push("", `tuned run (process and thread parts, ${r.tuning.reason}; ${r.tuned.seconds.toFixed(1)} s measured, the figures above are the untuned run):`);
    lines.push(`${"stage (µs)".padEnd(14)}${["count", "p50", "p90", "p99", "p99.9", "max"].map((h) => h.padStart(10)).join("")}`);
    for (const st of STAGES) {
      const s = r.tuned.stages[st];
      lines.push(`${st.padEnd(14)}${[int(s.count), fmt(s.p50_us), fmt(s.p90_us), fmt(s.p99_us), fmt(s.p999_us), fmt(s.max_us)].map((v) => v.padStart(10)).join("")}`);
    }
    lines.push(
      `tuned / untuned tick_to_order: p50 ${rt(r.tuning.ratio.tick_to_order_p50)}, p99 ${rt(r.tuning.ratio.tick_to_order_p99)} (below 1: tuning helps)`,
      `tuning:  ${r.tuning.actions.join(", ")}`,
    );
  } else {
    lines.push(`tuning:  untuned only: ${r.tuning.reason}`);
  }
  if (r.budget !== null) lines.push(`budget:  tick_to_order p99 (${r.budget.run} run) ${fmt(r.budget.p99_us)} µs ${r.budget.ok ? "within" : "EXCEEDS"} --max-p99-us ${r.budget.max_p99_us}`);
  return lines.join("\n");
}

/** Set for the child: where it writes its report; and whether its progress goes to a terminal. */
const CHILD_REPORT_ENV = "TRADINGD_BENCH_REPORT";
const CHILD_TTY_ENV = "TRADINGD_BENCH_TTY";

/**
 * Runs this same command again with JavaScriptCore's GC log on (it can only be turned on at
 * start), passes its progress through, and prints its report with the GC figures added. The
 * exit code is the child's.
 */
async function benchWithGcLog(json: boolean, io: BenchIo): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-bench-report-"));
  const reportFile = join(dir, "report.json");
  try {
    // A compiled tradingd is argv [binary, "/$bunfs/root/…", …args]; under bun, [bun, main.ts, …args].
    const self = [process.execPath, ...process.argv.slice(Bun.main.startsWith("/$bunfs/") ? 2 : 1)];
    const { code, gc } = await runWithGcLog(self, { ...process.env, [CHILD_REPORT_ENV]: reportFile, [CHILD_TTY_ENV]: io.tty ? "1" : "0" });
    if (existsSync(reportFile)) {
      const report = JSON.parse(readFileSync(reportFile, "utf8")) as BenchReport;
      report.gc = { source: "JavaScriptCore logGC (BUN_JSC_logGC=1), every thread", ...gc };
      io.out(json ? JSON.stringify(report, null, 2) : formatBench(report));
    }
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(args: string[], io: BenchIo, usage: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      seconds: { type: "string" },
      rate: { type: "string" },
      feed: { type: "string" },
      broker: { type: "string" },
      json: { type: "boolean" },
      "no-tune": { type: "boolean" },
      "max-p99-us": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return io.out(usage), EXIT_OK;
  const cmd = "bench";
  if (positionals.length > 0) throw new UsageError(`bench takes no arguments, got "${positionals[0]}"`, cmd);
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!/^\d+(\.\d+)?$/.test(values.seconds ?? "10") || !(seconds > 0) || seconds > 86_400) throw new UsageError(`--seconds: expected a number of seconds > 0, was "${values.seconds}"`, cmd);
  const feed = values.feed ?? "synthetic";
  if (feed !== "synthetic" && feed !== "polygon") throw new UsageError(`--feed: expected synthetic or polygon, was "${feed}"`, cmd);
  const broker = values.broker ?? "sim";
  if (broker !== "sim" && broker !== "alpaca") throw new UsageError(`--broker: expected sim or alpaca, was "${broker}"`, cmd);
  let maxP99Us: number | null = null;
  if (values["max-p99-us"] !== undefined) {
    maxP99Us = Number(values["max-p99-us"]);
    if (!/^\d+(\.\d+)?$/.test(values["max-p99-us"]) || !(maxP99Us > 0)) throw new UsageError(`--max-p99-us: expected microseconds > 0, was "${values["max-p99-us"]}"`, cmd);
  }
  const rate = rateOption(values.rate, 10_000, cmd);
  if (!process.env[GC_LOG_ENV]) return benchWithGcLog(values.json === true, io);
  configureLog("warn", "text"); // the supervisor's info lines would interleave with the progress
  const child = process.env[CHILD_REPORT_ENV] !== undefined;
  // As the child of benchWithGcLog, messages go to the parent's stderr (ours is the GC log).
  if (child) io = { out: io.out, err: messagesTo(), tty: process.env[CHILD_TTY_ENV] === "1" };
  const report = await runBench({ seconds, rate, feed, broker, maxP99Us, noTune: values["no-tune"] === true }, io);
  if (child) {
    // The parent (benchWithGcLog) prints it, with the GC figures of this whole process.
    writeFileSync(process.env[CHILD_REPORT_ENV]!, JSON.stringify(report));
  } else io.out(values.json ? JSON.stringify(report, null, 2) : formatBench(report));
  if (report.orders === 0) {
    io.err("tradingd bench: no order went out during the run: the latency to an order was not measured\n");
    return EXIT_FAILURE;
  }
  if (report.budget !== null && !report.budget.ok) {
    io.err(`tradingd bench: tick_to_order p99 ${report.budget.p99_us} µs exceeds --max-p99-us ${report.budget.max_p99_us}\n`);
    return EXIT_BUDGET;
  }
  return EXIT_OK;
}
