import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Pipeline } from "../../daemon/supervisor.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { TradingState, W_RISK_HALT } from "../../daemon/shm/control.ts";
import { RISK_REASON_NAMES } from "../../daemon/risk/checks.ts";
import { waitUntil } from "../support/wait.ts";

/**
 * Limits changed at run time on a running pipeline: `threshold` buys or sells 10 AAPL on every
 * quote it can (no duplicate guard, no rate limit to speak of), and main changes the limits under it.
 */
describe("Pipeline.setRiskLimits on a running strategy", () => {
  let p: Pipeline;
  const counters = () => p.strategyMetrics.readCounters();

  beforeAll(async () => {
    p = new Pipeline(
      parseConfigText(
        `
symbols: [AAPL]
feed: { synthetic: { seed: 3, rate_events_per_sec: 20000, trade_ratio: 0 } }
strategy:
  name: threshold
  params: { buy_at_or_below: { AAPL: 1000000000 }, sell_at_or_above: { AAPL: 0.01 }, qty: 10, max_position: 100 }
  warmup_events: 0
broker: { sim: { latency_us: 0 } }
risk: { max_orders_per_sec: 100000, max_orders_per_min: 1000000, duplicate_window_ms: 0, daily_loss_limit: 0 }
`,
        "pipeline-limits.test",
        {},
      ),
      { stopDeadlineMs: 5_000 },
    );
    await p.start();
  });
  afterAll(() => p?.stop());

  test("a tiny max_order_qty refuses the strategy's next orders by that reason; restoring it lets them through again", async () => {
    await waitUntil(() => counters().orders_submitted > 20, "the strategy trading");
    const before = p.riskLimits();
    const applied = p.setRiskLimits({ ...before, max_order_qty: 1 });
    await waitUntil(() => counters().risk_reject_max_order_qty > 0, "the first refusal by max_order_qty");
    // From the first refusal on, the worker holds the new limits: nothing more goes out.
    const sentAtChange = counters().orders_submitted;
    const refusedAtChange = counters().risk_reject_max_order_qty;
    await waitUntil(() => counters().risk_reject_max_order_qty > refusedAtChange + 50, "50 more refusals");
    const whileTiny = { sent: counters().orders_submitted - sentAtChange, limits: p.riskLimits() };
    p.setRiskLimits(before);
    await waitUntil(() => counters().orders_submitted > sentAtChange, "orders flowing again");
    expect({ applied, whileTiny, restored: p.riskLimits() }).toEqual({
      applied: { ...before, max_order_qty: 1 },
      whileTiny: { sent: 0, limits: { ...before, max_order_qty: 1 } },
      restored: before,
    });
  });

  test("an invalid change throws and changes nothing", () => {
    const before = p.riskLimits();
    expect(() => p.setRiskLimits({ ...before, max_order_qty: 0 })).toThrow();
    expect(p.riskLimits()).toEqual(before);
  });

  test("a daily loss limit below the running loss halts trading, and main learns why", async () => {
    // Buying at the ask and marking at the mid loses half the spread at once.
    await waitUntil(() => p.control.tradingStateName() === "active" && counters().fills > 0, "a position");
    p.setRiskLimits({ ...p.riskLimits(), daily_loss_limit: 0.000001 });
    await waitUntil(() => p.riskHalt !== null, "the risk-halt report");
    expect({ state: p.tradingStateName(), word: RISK_REASON_NAMES[p.control.get(W_RISK_HALT)], reason: p.riskHalt!.reason, lossAtLeastLimit: p.riskHalt!.pnl <= -p.riskHalt!.limit }).toEqual({
      state: "halted",
      word: "daily_loss",
      reason: "daily_loss",
      lossAtLeastLimit: true,
    });
    // The operator takes over: another state ends the risk halt's word (a later halt by hand is not the loss limit's).
    p.setRiskLimits({ ...p.riskLimits(), daily_loss_limit: 0 });
    p.setTradingState(TradingState.PAUSED);
    const afterPause = p.control.get(W_RISK_HALT);
    p.setTradingState(TradingState.HALTED);
    expect({ afterPause, afterManualHalt: p.control.get(W_RISK_HALT), state: p.tradingStateName() }).toEqual({ afterPause: 0, afterManualHalt: 0, state: "halted" });
  });
});
