/**
 * `/metrics`: the Prometheus families of the daemon, read from the workers' shared metric
 * blocks, the rings' headers and the order table. Main thread only; allocates per scrape.
 *
 * Names carry base units; counters end in `_total`; every latency is one family,
 * `tradingd_stage_latency_seconds`, with a `stage` label:
 *
 * | stage | from → to | measured in |
 * |---|---|---|
 * | feed_publish | tick received → record published on the market-data ring | feed |
 * | md_hop | published → taken off the ring by the strategy | strategy |
 * | decision | taken off the ring → order published on the order ring | strategy |
 * | order_hop | order published → taken off the ring by execution | execution |
 * | tick_to_order | tick received → order sent to the broker (tick-to-order) | execution |
 * | exec_hop | exec event published → taken off the ring by the strategy | strategy |
 * | tick_to_ack | tick received → broker acknowledgement | execution |
 */
import type { Pipeline } from "../supervisor.ts";
import { renderPrometheus, histogramFamilySamples, type MetricFamily, type Sample, type HistogramSeries } from "../metrics/prometheus.ts";
import type { HistogramSnapshot } from "../metrics/histogram.ts";
import { RISK_REASON_NAMES } from "../risk/checks.ts";
import { TRADING_STATE_NAMES } from "../shm/control.ts";
import { tuningMetricFamily } from "../tuning/report.ts";
import { BAD_INPUT_KINDS, FEED_STATUS_KINDS } from "../metrics/layouts.ts";
import type { ControlActions } from "./audit.ts";

export const STAGES = ["feed_publish", "md_hop", "decision", "order_hop", "tick_to_order", "exec_hop", "tick_to_ack"] as const;
export type Stage = (typeof STAGES)[number];

/** Every stage's histogram snapshot. */
export function stageSnapshots(p: Pipeline): Record<Stage, HistogramSnapshot> {
  const f = p.feedMetrics.readHistograms();
  const s = p.strategyMetrics.readHistograms();
  const e = p.executionMetrics.readHistograms();
  return {
    feed_publish: f.feed_publish,
    md_hop: s.md_hop,
    decision: s.decision,
    order_hop: e.order_hop,
    tick_to_order: e.tick_to_order,
    exec_hop: s.exec_hop,
    tick_to_ack: e.tick_to_ack,
  };
}

function counter(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: "counter", samples };
}
function gauge(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: "gauge", samples };
}

/** Every family; with `actions`, the control actions' counts too (they live in the main thread). */
export function renderMetrics(p: Pipeline, actions?: ControlActions): string {
  const fc = p.feedMetrics.readCounters();
  const sc = p.strategyMetrics.readCounters();
  const ec = p.executionMetrics.readCounters();
  const fg = p.feedMetrics.readGauges();
  const sg = p.strategyMetrics.readGauges();
  const eg = p.executionMetrics.readGauges();
  const rings = [
    ["market_data", p.md],
    ["orders", p.orders],
    ["exec_events", p.exec],
  ] as const;
  const stages = stageSnapshots(p);
  const series: HistogramSeries[] = STAGES.map((stage) => ({ labels: { stage }, snapshot: stages[stage] }));
  const state = p.control.tradingState();
  const mem = process.memoryUsage();

  const families: MetricFamily[] = [
    gauge("tradingd_up", "1 while the daemon runs and every worker is ready.", [{ value: p.isReady() ? 1 : 0 }]),
    gauge("tradingd_uptime_seconds", "Seconds since the pipeline started.", [{ value: p.uptimeSeconds() }]),
    gauge(
      "tradingd_trading_state",
      "Trading state: 1 for the current one (active, paused, reducing, halted).",
      TRADING_STATE_NAMES.map((name, i) => ({ labels: { state: name }, value: i === state ? 1 : 0 })),
    ),
    counter("tradingd_md_events_total", "Market-data events produced by the feed, by kind.", [
      { labels: { kind: "quote" }, value: fc.md_quotes },
      { labels: { kind: "trade" }, value: fc.md_trades },
    ]),
    gauge("tradingd_feed_connected", "1 while the feed is connected (and authenticated, for polygon).", [{ value: fg.feed_connected }]),
    gauge("tradingd_feed_stale", "1 while the feed is subscribed but silent for feed.stale_after_ms.", [{ value: fg.feed_stale }]),
    counter("tradingd_feed_frames_total", "WebSocket frames received by the feed.", [{ value: fc.frames }]),
    counter("tradingd_feed_reconnects_total", "Times the feed connection was re-established.", [{ value: fc.reconnects }]),
    counter("tradingd_feed_sequence_gaps_total", "Per-symbol sequence numbers that went back, or jumped across a reconnect.", [{ value: fc.seq_gaps }]),
    counter(
      "tradingd_feed_bad_input_total",
      "Frames or events from the feed dropped as bad input, by kind.",
      BAD_INPUT_KINDS.map((k) => ({ labels: { kind: k }, value: fc[`bad_input_${k}`] })),
    ),
    counter(
      "tradingd_feed_status_events_total",
      "Status events from the feed's server, by kind.",
      FEED_STATUS_KINDS.map((k) => ({ labels: { status: k }, value: fc[`status_${k}`] })),
    ),
    counter("tradingd_md_batches_total", "Market-data batches published (one per frame).", [{ value: fc.md_batches }]),
    counter("tradingd_md_dropped_total", "Market-data events dropped because the ring was full.", [{ value: fc.md_dropped }]),
    counter("tradingd_strategy_events_total", "Market-data events handled by the strategy worker, by kind.", [
      { labels: { kind: "quote" }, value: sc.md_quotes },
      { labels: { kind: "trade" }, value: sc.md_trades },
    ]),
    counter("tradingd_orders_submitted_total", "Orders that passed the risk checks and went to the order ring.", [{ value: sc.orders_submitted }]),
    counter(
      "tradingd_risk_rejects_total",
      "Orders refused by the pre-trade risk checks, by reason.",
      RISK_REASON_NAMES.slice(1).map((r) => ({ labels: { reason: r }, value: sc[`risk_reject_${r}` as keyof typeof sc] })),
    ),
    counter("tradingd_strategy_errors_total", "Strategy callbacks that threw (each halts trading).", [{ value: sc.strategy_errors }]),
    counter("tradingd_keep_warm_runs_total", "Keep-warm runs of the idle trading thread (layout single; threads.keep_warm_us).", [{ value: sc.keep_warm_runs }]),
    counter("tradingd_broker_orders_total", "Orders received by the execution worker.", [{ value: ec.orders_received }]),
    counter("tradingd_broker_events_total", "Execution events from the broker, by kind.", [
      { labels: { kind: "ack" }, value: ec.acks },
      { labels: { kind: "fill" }, value: ec.fills },
      { labels: { kind: "reject" }, value: ec.rejects },
      { labels: { kind: "cancel" }, value: ec.cancels },
    ]),
    gauge("tradingd_open_orders", "Orders working at the broker.", [{ value: eg.open_orders }]),
    gauge("tradingd_ring_depth", "Records published and not yet consumed, by ring.", rings.map(([name, r]) => ({ labels: { ring: name }, value: r.depth() }))),
    gauge("tradingd_ring_capacity", "Slots in each ring.", rings.map(([name, r]) => ({ labels: { ring: name }, value: r.slots }))),
    counter("tradingd_ring_dropped_total", "Records dropped on a full ring (market data only).", rings.map(([name, r]) => ({ labels: { ring: name }, value: r.dropped() }))),
    counter("tradingd_ring_producer_waits_total", "Times a producer waited for a full ring.", rings.map(([name, r]) => ({ labels: { ring: name }, value: r.producerWaits() }))),
    counter(
      "tradingd_ring_producer_wait_seconds_total",
      "Time producers spent waiting for a full ring.",
      rings.map(([name, r]) => ({ labels: { ring: name }, value: r.producerWaitNanos() / 1e9 })),
    ),
    gauge(
      "tradingd_thread_cpu",
      "CPU each thread last ran on.",
      p.threads.map((t) => ({ labels: { thread: t.name }, value: t.name === "feed" ? fg.thread_cpu : t.name === "strategy" ? sg.thread_cpu : t.name === "execution" ? eg.thread_cpu : t.cpu })),
    ),
    gauge(
      "tradingd_position_shares",
      "Filled position per symbol (signed shares).",
      p.table.positions(p.symbols.length).map((r) => ({ labels: { symbol: p.symbols[r.symbolId]! }, value: r.qty })),
    ),
    gauge("tradingd_risk_day_pnl_usd", "P&L of the risk day (since risk.day_starts_at, New York), as daily_loss_limit sees it; updated about once a second.", [{ value: sg.risk_day_pnl }]),
    gauge("tradingd_resident_memory_bytes", "Resident set size of the process.", [{ value: mem.rss }]),
    ...(p.tuning.length > 0 ? [tuningMetricFamily(p.tuning)] : []),
    ...(actions
      ? [counter("tradingd_control_actions_total", "Requests to the control routes (pause, resume, reduce, halt, flatten, set_risk), by result: ok, invalid, unauthorized, refused, failed.", actions.samples())]
      : []),
    { name: "tradingd_stage_latency_seconds", help: "Latency of each pipeline stage (see the stage table in the docs).", type: "histogram", samples: histogramFamilySamples(series) },
    {
      name: "tradingd_keep_warm_seconds",
      help: "Time of each keep-warm run of the idle trading thread (layout single; threads.keep_warm_us).",
      type: "histogram",
      samples: histogramFamilySamples([{ snapshot: p.strategyMetrics.readHistograms().keep_warm }]),
    },
  ];
  return renderPrometheus(families);
}
