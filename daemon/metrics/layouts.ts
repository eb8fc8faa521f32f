/**
 * The metric blocks of each worker: one layout per thread kind, shared by the writer (the
 * worker) and the reader (main, for `/metrics` and `/status`). Names are the short names; the
 * Prometheus names and help texts are in `daemon/http/metrics.ts`.
 */
import { defineLayout } from "./block.ts";
import { RISK_REASON_NAMES } from "../risk/checks.ts";
import { BAD_INPUT_NAMES } from "../gateways/polygon/validate.ts";

const COMMON_GAUGES = ["thread_id", "thread_cpu", "heartbeat_ns"] as const;

/** Why an event or frame from a feed was dropped (counted per kind): the polygon validator's names. */
export const BAD_INPUT_KINDS = BAD_INPUT_NAMES.slice(1) as readonly Exclude<(typeof BAD_INPUT_NAMES)[number], "none">[];
export type BadInputKind = (typeof BAD_INPUT_KINDS)[number];

/** Status events from the feed's server, counted per kind. */
export const FEED_STATUS_KINDS = ["auth_failed", "auth_timeout", "max_connections", "slow_consumer", "force_disconnect", "subscribed", "other"] as const;

export const FeedMetrics = defineLayout({
  counters: [
    "md_quotes",
    "md_trades",
    "md_bars",
    "md_batches",
    "md_dropped",
    "md_unsubscribed_symbol",
    "loop_turns",
    "frames",
    "reconnects",
    "seq_gaps",
    ...(BAD_INPUT_KINDS.map((k) => `bad_input_${k}`) as `bad_input_${BadInputKind}`[]),
    ...(FEED_STATUS_KINDS.map((k) => `status_${k}`) as `status_${(typeof FEED_STATUS_KINDS)[number]}`[]),
  ],
  // feed_state: index in POLYGON_STATES (0 idle … 6 stopped); synthetic and replay stay 3 (subscribed).
  gauges: [...COMMON_GAUGES, "feed_connected", "feed_stale", "feed_state", "last_event_ns"],
  histograms: ["feed_publish"],
} as const);

export const RISK_REJECT_COUNTERS = RISK_REASON_NAMES.map((r) => `risk_reject_${r}`);

export const StrategyMetrics = defineLayout({
  counters: [
    "md_quotes",
    "md_trades",
    "orders_submitted",
    "cancels_submitted",
    "fills",
    "exec_events",
    "strategy_errors",
    "order_ring_waits",
    "loop_turns",
    "keep_warm_runs",
    ...(RISK_REJECT_COUNTERS as `risk_reject_${(typeof RISK_REASON_NAMES)[number]}`[]),
  ],
  // The risk day (daily_loss_limit): its P&L in USD as the risk checks see it, its start and the
  // next start (UTC ms).
  gauges: [...COMMON_GAUGES, "risk_day_pnl", "risk_day_started_ms", "risk_day_next_ms"],
  histograms: ["md_hop", "decision", "exec_hop", "keep_warm"],
} as const);

export const ExecutionMetrics = defineLayout({
  counters: ["orders_received", "cancels_received", "acks", "fills", "rejects", "cancels", "exec_ring_waits", "loop_turns"],
  gauges: [...COMMON_GAUGES, "open_orders"],
  histograms: ["order_hop", "tick_to_order", "tick_to_ack"],
} as const);

export type FeedMetrics = typeof FeedMetrics;
export type StrategyMetrics = typeof StrategyMetrics;
export type ExecutionMetrics = typeof ExecutionMetrics;
