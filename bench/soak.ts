/**
 * The soak: the whole pipeline at a high rate for a long time (default 10 minutes at 100,000
 * events/s), and what must hold throughout: no market-data drop, RSS growth under 5 % after
 * warm-up, and no pause above 10 ms. Not in CI and not in `bun run bench` (it takes minutes):
 *
 *   bun bench/soak.ts                       # 10 min at 100,000 events/s
 *   bun bench/soak.ts --minutes 1 --rate 50000
 *
 *   bun bench/soak.ts --layout split        # the thread layout (default auto: single below 4 CPUs)
 *
 * GC pauses: the soak runs itself again with JavaScriptCore's GC log on (`BUN_JSC_logGC=1`,
 * daemon/bench/gc-log.ts) and reads every stop-the-world pause of every thread from it; the
 * check is on those. Also per 10 s window, for what else pauses a thread (the host): the main
 * thread's timer drift (a 10 ms interval that fires late) and each stage's maximum latency from
 * the workers' own histograms. Exits 1 if a condition failed.
 */
import { parseArgs } from "node:util";
import { Pipeline } from "../daemon/supervisor.ts";
import { parseConfigText } from "../daemon/config/load.ts";
import { stageSnapshots } from "../daemon/http/metrics.ts";
import { configureLog } from "../daemon/log.ts";
import { delta } from "../daemon/bench/measure.ts";
import { GC_LOG_ENV, messagesTo, runWithGcLog } from "../daemon/bench/gc-log.ts";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "10" }, rate: { type: "string", default: "100000" }, layout: { type: "string", default: "auto" } } });
const minutes = Number(values.minutes);
const rate = Number(values.rate);
configureLog("warn", "text");
const say = messagesTo();

if (!process.env[GC_LOG_ENV]) {
  // This process only measures GC: the soak itself runs in a child with the GC log on.
  const { code, gc } = await runWithGcLog([process.execPath, import.meta.path, ...process.argv.slice(2)]);
  const ok = gc.maxPauseMs <= 10;
  console.log(
    `\nGC (JavaScriptCore's log, every thread): ${gc.collections} collections (${gc.eden} eden, ${gc.full} full), ${gc.pauses} pauses, ` +
      `longest ${gc.maxPauseMs.toFixed(2)} ms, ${gc.over10ms} over 10 ms, ${gc.totalPauseMs.toFixed(0)} ms in all`,
  );
  console.log(`check: no_gc_pause_over_10_ms ${ok ? "met" : "NOT met"}`);
  console.log(`SOAK_GC_JSON ${JSON.stringify(gc)}`);
  process.exit(code === 0 && ok ? 0 : 1);
}

const p = new Pipeline(
  parseConfigText(
    `symbols: [AAPL, MSFT, SPY, QQQ, NVDA, AMZN, META, TSLA]
feed: { synthetic: { rate_events_per_sec: ${rate}, batch_max: 128 } }
# AAPL on every quote of it (buy under max_position, else sell), held to 200 orders/s by risk:
# the order path, the simulated broker and the exec events run all along.
strategy: { name: threshold, params: { buy_at_or_below: { AAPL: 1000000000 }, sell_at_or_above: { AAPL: 0.01 }, qty: 1, max_position: 5 }, warmup_events: 20000 }
log: { level: warn }
threads: { layout: ${values.layout}, strategy: { wait: hybrid }, execution: { wait: block } }
risk: { max_orders_per_sec: 200, max_orders_per_min: 1000000, duplicate_window_ms: 0, collar_bps: 0 }
tuning: { enabled: false }
`,
    "soak",
    {},
  ),
);
await p.start();

let maxDriftMs = 0;
let last = performance.now();
const drift = setInterval(() => {
  const now = performance.now();
  maxDriftMs = Math.max(maxDriftMs, now - last - 10);
  last = now;
}, 10);

const WINDOW_MS = 10_000;
/** ns → ms with 2 decimals; null for a window without samples. */
const ms = (ns: number) => (Number.isFinite(ns) ? +(ns / 1e6).toFixed(2) : null);
const warmupMs = Math.min(30_000, minutes * 60_000 * 0.1);
await Bun.sleep(warmupMs);
const rssStart = process.memoryUsage().rss;
const droppedStart = p.feedMetrics.readCounters().md_dropped;
let prev = stageSnapshots(p);
const windows: { at_s: number; rss_mb: number; dropped: number; main_drift_ms: number; max_md_hop_ms: number | null; max_tick_to_order_ms: number | null; events_per_sec: number; orders: number }[] = [];
let prevOrders = p.strategyMetrics.readCounters().orders_submitted;
let prevEvents = p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades;
const end = performance.now() + minutes * 60_000 - warmupMs;
while (performance.now() < end) {
  maxDriftMs = 0;
  await Bun.sleep(WINDOW_MS);
  const now = stageSnapshots(p);
  const events = p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades;
  windows.push({
    at_s: Math.round((performance.now() - end) / 1000 + minutes * 60 - warmupMs / 1000),
    rss_mb: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
    dropped: p.feedMetrics.readCounters().md_dropped - droppedStart,
    main_drift_ms: +maxDriftMs.toFixed(2),
    max_md_hop_ms: ms(delta(prev.md_hop, now.md_hop).max()),
    max_tick_to_order_ms: ms(delta(prev.tick_to_order, now.tick_to_order).max()),
    events_per_sec: Math.round(((events - prevEvents) * 1000) / WINDOW_MS),
    orders: p.strategyMetrics.readCounters().orders_submitted - prevOrders,
  });
  prevOrders = p.strategyMetrics.readCounters().orders_submitted;
  prevEvents = events;
  prev = now;
  const w = windows.at(-1)!;
  say(`soak ${w.at_s}s: ${w.events_per_sec} ev/s, rss ${w.rss_mb} MB, dropped ${w.dropped}, main drift ${w.main_drift_ms} ms, max md_hop ${w.max_md_hop_ms} ms\n`);
}
clearInterval(drift);
const rssEnd = process.memoryUsage().rss;
await p.stop();

const growth = (rssEnd - rssStart) / rssStart;
const dropped = windows.at(-1)?.dropped ?? 0;
const worstPause = Math.max(0, ...windows.map((w) => Math.max(w.main_drift_ms, w.max_md_hop_ms ?? 0)));
// GC pauses are checked by the parent (from JavaScriptCore's log); the stand-ins are reported.
const checks = {
  no_md_drop: dropped === 0,
  rss_growth_under_5_pct: growth < 0.05,
};
console.log(`| window end (s) | events/s | orders | RSS MB | dropped | main timer drift ms | max md_hop ms | max tick_to_order ms |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const w of windows) console.log(`| ${w.at_s} | ${w.events_per_sec} | ${w.orders} | ${w.rss_mb} | ${w.dropped} | ${w.main_drift_ms} | ${w.max_md_hop_ms ?? "–"} | ${w.max_tick_to_order_ms ?? "–"} |`);
console.log(`\nlayout ${p.layout}; RSS ${(rssStart / 2 ** 20).toFixed(1)} → ${(rssEnd / 2 ** 20).toFixed(1)} MB (${(growth * 100).toFixed(2)} %), dropped ${dropped}, worst timer drift or stage max ${worstPause} ms`);
console.log(`checks: ${Object.entries(checks).map(([k, v]) => `${k} ${v ? "met" : "NOT met"}`).join("; ")}`);
console.log(`SOAK_JSON ${JSON.stringify({ minutes, rate, layout: p.layout, rss_start_mb: +(rssStart / 2 ** 20).toFixed(1), rss_end_mb: +(rssEnd / 2 ** 20).toFixed(1), rss_growth_pct: +(growth * 100).toFixed(2), dropped, worst_pause_ms: worstPause, checks, windows })}`);
process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
