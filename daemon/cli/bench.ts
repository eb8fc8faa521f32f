/**
 * `tradingd bench`: the real pipeline (`Pipeline`, the daemon's own feed, strategy and execution
 * workers) for a set time against market data and a broker on loopback, reporting the latency of
 * each stage from the daemon's histograms, the rate, CPU per thread, RSS and the main thread's
 * heap. See the help text (`daemon/cli/help.ts`) for what is measured and how.
 */
import { parseArgs } from "node:util";
import { heapStats } from "bun:jsc";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./exit-codes.ts";
import { rateOption } from "./fake-exchange.ts";
import { parseConfigText } from "../config/load.ts";
import { Pipeline } from "../supervisor.ts";
import { configureLog } from "../log.ts";
import { STAGES, stageSnapshots, type Stage } from "../http/metrics.ts";
import { delta, threadCpu } from "../bench/measure.ts";
import { FakeExchange } from "../bench/fakes.ts";

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
  heap: { source: string; before_mb: number; after_mb: number; objects_after: number; gc_time: null; note: string };
  budget: { max_p99_us: number; stage: "tick_to_order"; p99_us: number | null; ok: boolean } | null;
}

const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
const usOf = (ns: number): number | null => (Number.isFinite(ns) ? +(ns / 1e3).toFixed(2) : null);

function benchConfig(o: BenchOptions, journalDir: string, fakes: FakeExchange | null) {
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
              base_url: fakes!.alpaca.url,
              stream_url: fakes!.alpaca.streamUrl,
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
    tuning: { enabled: false },
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

export async function runBench(o: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-bench-"));
  let fakes: FakeExchange | null = null;
  let p: Pipeline | null = null;
  const progress = (line: string) => (io.tty ? io.err(`\r${line}\x1b[K`) : io.err(line + "\n"));
  try {
    if (o.feed === "polygon" || o.broker === "alpaca") {
      fakes = await FakeExchange.start({ host: "127.0.0.1", polygonPort: 0, alpacaPort: 0, rate: o.rate, symbols: SYMBOLS, seed: 7 });
    }
    const cfg = benchConfig(o, dir, fakes);
    Bun.gc(true);
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = heapNow();
    p = new Pipeline(cfg, { configDir: dir, stopDeadlineMs: 5_000 });
    const failed = p.failed.then((e) => {
      throw e;
    });
    failed.catch(() => undefined);
    const wait = (ms: number) => Promise.race([Bun.sleep(ms), failed]);
    await Promise.race([p.start(), failed]);
    progress(`bench: warming up ${(WARMUP_MS / 1e3).toFixed(1)} s (${o.feed} feed, ${o.broker} broker, ${o.rate} events/s asked)`);
    await wait(WARMUP_MS);
    const rssWarm = process.memoryUsage().rss;
    const f0 = p.feedMetrics.readCounters();
    const h0 = stageSnapshots(p);
    const c0 = threadCpu(p);
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
        `bench: ${Math.min(o.seconds, (performance.now() - t0) / 1e3).toFixed(0)}/${o.seconds} s  ${events - lastEvents} events in the last second  ` +
          `${t2o.count} orders  tick_to_order p99 ${p99 === null ? "–" : `${p99} µs`}`,
      );
      lastEvents = events;
    }
    const seconds = (performance.now() - t0) / 1e3;
    const c1 = threadCpu(p);
    const h1 = stageSnapshots(p);
    const f1 = p.feedMetrics.readCounters();
    const rssAfter = process.memoryUsage().rss;
    const heapAfter = heapNow();
    if (io.tty) io.err("\n");

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
    const p99 = stages.tick_to_order.p99_us;
    return {
      tradingd_bench: 1,
      feed: o.feed,
      broker: o.broker,
      rate_asked: o.rate,
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
        gc_time: null,
        note: "JavaScriptCore does not expose garbage-collection time to JS; heap size and object count instead",
      },
      budget: o.maxP99Us === null ? null : { max_p99_us: o.maxP99Us, stage: "tick_to_order", p99_us: p99, ok: p99 !== null && p99 <= o.maxP99Us },
    };
  } finally {
    await p?.stop().catch(() => undefined);
    await fakes?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number | null) => (x === null ? "–" : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));
const int = (x: number) => x.toLocaleString("en-US");

export function formatBench(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `tradingd bench: ${r.feed} feed → ${r.broker} broker, ${int(r.rate_asked)} events/s asked, ${r.seconds.toFixed(1)} s measured after a ${r.warmup_seconds} s warm-up`,
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
    `heap:    ${r.heap.after_mb} MB, ${int(r.heap.objects_after)} objects (${r.heap.before_mb} MB before; ${r.heap.source}; GC time not exposed by JavaScriptCore)`,
  );
  if (r.budget !== null) lines.push(`budget:  tick_to_order p99 ${fmt(r.budget.p99_us)} µs ${r.budget.ok ? "within" : "EXCEEDS"} --max-p99-us ${r.budget.max_p99_us}`);
  return lines.join("\n");
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
  configureLog("warn", "text"); // the supervisor's info lines would interleave with the progress
  const report = await runBench({ seconds, rate, feed, broker, maxP99Us }, io);
  io.out(values.json ? JSON.stringify(report, null, 2) : formatBench(report));
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
