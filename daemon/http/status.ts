/**
 * `/status`: what an operator wants at a glance, as JSON. Main thread; allocates per request.
 */
import type { Pipeline } from "../supervisor.ts";
import { STAGES, stageSnapshots } from "./metrics.ts";
import { ORDER_STATUS_NAMES, isTerminal } from "../shm/order-table.ts";
import { VERSION } from "../version.ts";
import { FEED_STATE_NAMES } from "../supervisor.ts";
import { BAD_INPUT_KINDS, FEED_STATUS_KINDS } from "../metrics/layouts.ts";
import { nowNs } from "../shm/clock.ts";
import { TRADING_TIME_ZONE } from "../risk/trading-day.ts";

function us(ns: number): number | null {
  return Number.isFinite(ns) ? Math.round(ns / 10) / 100 : null;
}

export function statusDocument(p: Pipeline) {
  const fc = p.feedMetrics.readCounters();
  const sc = p.strategyMetrics.readCounters();
  const ec = p.executionMetrics.readCounters();
  const gauges = { feed: p.feedMetrics.readGauges(), strategy: p.strategyMetrics.readGauges(), execution: p.executionMetrics.readGauges() };
  const stages = stageSnapshots(p);
  const orders = p.table.orders();
  const limits = p.riskLimits();
  const dayStarted = gauges.strategy.risk_day_started_ms;
  const dayNext = gauges.strategy.risk_day_next_ms;
  return {
    version: VERSION,
    mode: p.config.mode,
    ready: p.isReady(),
    trading_state: p.tradingStateName(),
    uptime_seconds: Math.round(p.uptimeSeconds() * 1000) / 1000,
    feed: {
      kind: p.config.feed.kind,
      state: FEED_STATE_NAMES[gauges.feed.feed_state] ?? "unknown",
      connected: gauges.feed.feed_connected === 1,
      stale: gauges.feed.feed_stale === 1,
      problem: p.feedProblem(),
      last_event_age_ms: gauges.feed.last_event_ns > 0 ? Math.round((nowNs() - gauges.feed.last_event_ns) / 1e5) / 10 : null,
      frames: fc.frames,
      reconnects: fc.reconnects,
      sequence_gaps: fc.seq_gaps,
      bad_input: Object.fromEntries(BAD_INPUT_KINDS.map((k) => [k, fc[`bad_input_${k}`]])),
      status_events: Object.fromEntries(FEED_STATUS_KINDS.map((k) => [k, fc[`status_${k}`]])),
    },
    broker: p.config.broker.kind,
    strategy: { name: p.config.strategy.name, failed: p.strategyFailure },
    // The risk day: daily_loss_limit compares day_pnl (realized + unrealized since the day's start,
    // USD, as the risk checks see it; the strategy worker updates these about once a second).
    risk_day: {
      starts_at: `${limits.day_starts_at} ${TRADING_TIME_ZONE}`,
      started_at: dayStarted > 0 ? new Date(dayStarted).toISOString() : null,
      next_start: dayNext > 0 && Number.isFinite(dayNext) ? new Date(dayNext).toISOString() : null,
      day_pnl: Math.round(gauges.strategy.risk_day_pnl * 100) / 100,
      daily_loss_limit: limits.daily_loss_limit,
    },
    tuning: {
      enabled: p.threadPlanned,
      counts: Object.fromEntries(["applied", "unchanged", "skipped", "failed", "advice"].map((s) => [s, p.tuning.filter((a) => a.status === s).length])),
      actions: p.tuning,
    },
    // split: one thread per stage; single: the stages share one thread (the same tid), which
    // waits as threads.strategy says.
    layout: p.layout,
    threads: p.threads.map((t) => ({
      name: t.name,
      tid: t.name === "main" ? t.tid : gauges[t.name].thread_id || t.tid,
      cpu: t.name === "main" ? t.cpu : gauges[t.name].thread_cpu,
      ready: t.ready,
      wait: t.name === "main" ? null : p.layout === "single" || t.name === "strategy" ? p.config.threads.strategy.wait : t.name === "execution" ? p.config.threads.execution.wait : null,
    })),
    rings: (
      [
        ["market_data", p.md],
        ["orders", p.orders],
        ["exec_events", p.exec],
      ] as const
    ).map(([name, ring]) => ({ name, capacity: ring.slots, depth: ring.depth(), dropped: ring.dropped(), producer_waits: ring.producerWaits() })),
    counts: {
      md_events: fc.md_quotes + fc.md_trades,
      md_quotes: fc.md_quotes,
      md_trades: fc.md_trades,
      md_dropped: fc.md_dropped,
      strategy_events: sc.md_quotes + sc.md_trades,
      orders_submitted: sc.orders_submitted,
      risk_rejects: Object.entries(sc)
        .filter(([k]) => k.startsWith("risk_reject_"))
        .reduce((a, [, v]) => a + v, 0),
      broker_orders: ec.orders_received,
      acks: ec.acks,
      fills: ec.fills,
      rejects: ec.rejects,
      cancels: ec.cancels,
      open_orders: orders.filter((o) => !isTerminal(o.status)).length,
    },
    orders_by_status: Object.fromEntries(ORDER_STATUS_NAMES.slice(1).map((n, i) => [n, orders.filter((o) => o.status === i + 1).length])),
    positions: p.table
      .positions(p.symbols.length)
      // As /positions: a symbol traded in this run, or held (the broker's position at startup).
      .filter((r) => r.fills > 0 || r.qty !== 0)
      .map((r) => ({ symbol: p.symbols[r.symbolId], qty: r.qty, avg_price: r.avgPx, realized_pnl: Math.round(r.realizedPnl * 100) / 100, fills: r.fills })),
    latency_us: Object.fromEntries(
      STAGES.map((s) => {
        const h = stages[s];
        return [s, { count: h.count, p50: us(h.percentile(50)), p90: us(h.percentile(90)), p99: us(h.percentile(99)), p999: us(h.percentile(99.9)), max: us(h.maxNs) }];
      }),
    ),
  };
}

export type StatusDocument = ReturnType<typeof statusDocument>;
