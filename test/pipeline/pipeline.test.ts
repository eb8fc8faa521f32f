import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Pipeline } from "../../daemon/supervisor.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { W_FEED_DONE } from "../../daemon/shm/control.ts";
import { OrderStatus, isTerminal } from "../../daemon/shm/order-table.ts";
import { flagsSide, Side } from "../../daemon/shm/records.ts";
import { waitUntil } from "../support/wait.ts";

const EVENTS = 40_000;
const BUY_AT = 99.9;
const SELL_AT = 100.1;
const QTY = 10;
const MAX_POS = 30;

/**
 * A whole dry run with the deterministic `threshold` strategy: a bounded synthetic feed goes
 * through the three stages and the simulated broker, then every order, fill and position is
 * checked against what the strategy must have done. In both thread layouts: three workers
 * (split) and one (single).
 */
for (const layout of ["single", "split"] as const) {
describe(`dry-run pipeline with threshold (layout ${layout})`, () => {
  let p: Pipeline;
  beforeAll(async () => {
    const config = parseConfigText(
      `
symbols: [AAPL, MSFT]
feed:
  synthetic: { seed: 1, rate_events_per_sec: 200000, max_events: ${EVENTS}, volatility_bps: 2 }
strategy:
  name: threshold
  params: { buy_at_or_below: { AAPL: ${BUY_AT} }, sell_at_or_above: { AAPL: ${SELL_AT} }, qty: ${QTY}, max_position: ${MAX_POS} }
broker:
  sim: { latency_us: 20 }
risk: { max_orders_per_sec: 100000, max_position_qty: 1000 }
threads: { layout: ${layout} }
`,
      "pipeline.test",
    );
    p = new Pipeline(config, { stopDeadlineMs: 5000 });
    await p.start();
    await waitUntil(() => p.control.get(W_FEED_DONE) === 1, "the bounded feed to finish");
    await waitUntil(() => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades === EVENTS, "the strategy to take every event");
    await waitUntil(() => {
      const orders = p.table.orders();
      return orders.length === p.strategyMetrics.readCounters().orders_submitted && orders.every((o) => isTerminal(o.status) || o.status === OrderStatus.NEW);
    }, "every order to be acknowledged");
    await waitUntil(() => p.exec.depth() === 0 && p.orders.depth() === 0, "the order and exec rings to drain");
    await p.stop();
  });
  afterAll(() => p?.stop());

  test("every event produced is consumed, none dropped", () => {
    const f = p.feedMetrics.readCounters();
    const s = p.strategyMetrics.readCounters();
    expect({ produced: f.md_quotes + f.md_trades, consumed: s.md_quotes + s.md_trades, dropped: f.md_dropped, ringDropped: p.md.dropped() }).toEqual({
      produced: EVENTS,
      consumed: EVENTS,
      dropped: 0,
      ringDropped: 0,
    });
  });

  test("the strategy traded, and the broker received exactly the orders the strategy sent", () => {
    const s = p.strategyMetrics.readCounters();
    const e = p.executionMetrics.readCounters();
    expect(s.orders_submitted).toBeGreaterThan(2);
    expect(e.orders_received).toBe(s.orders_submitted);
    expect(p.table.orders().map((o) => o.orderId)).toEqual(Array.from({ length: s.orders_submitted }, (_, i) => i + 1));
  });

  test("only AAPL traded: buys limited at or below the buy level, sells at or above the sell level", () => {
    const orders = p.table.orders();
    const buys = orders.filter((o) => flagsSide(o.flags) === Side.BUY);
    const sells = orders.filter((o) => flagsSide(o.flags) === Side.SELL);
    expect(buys.length).toBeGreaterThan(0);
    expect(sells.length).toBeGreaterThan(0);
    for (const o of orders) expect(o.symbolId).toBe(0);
    for (const o of buys) {
      expect(o.limitPx).toBeLessThanOrEqual(BUY_AT);
      if (o.filledQty > 0) expect(o.avgFillPx).toBeLessThanOrEqual(o.limitPx);
    }
    for (const o of sells) {
      expect(o.limitPx).toBeGreaterThanOrEqual(SELL_AT);
      if (o.filledQty > 0) expect(o.avgFillPx).toBeGreaterThanOrEqual(o.limitPx);
    }
  });

  test("positions equal the sum of the fills, and stay within the strategy's bounds", () => {
    const orders = p.table.orders();
    const net = orders.reduce((a, o) => a + (flagsSide(o.flags) === Side.BUY ? o.filledQty : -o.filledQty), 0);
    const bought = orders.filter((o) => flagsSide(o.flags) === Side.BUY).reduce((a, o) => a + o.filledQty, 0);
    const sold = orders.filter((o) => flagsSide(o.flags) === Side.SELL).reduce((a, o) => a + o.filledQty, 0);
    const [aapl, msft] = p.table.positions(2);
    expect({ qty: aapl!.qty, bought: aapl!.boughtQty, sold: aapl!.soldQty }).toEqual({ qty: net, bought, sold });
    expect(msft!.fills).toBe(0);
    expect(aapl!.qty).toBeGreaterThanOrEqual(0);
    expect(aapl!.qty).toBeLessThanOrEqual(MAX_POS);
    // Fills counted on both sides of the exec-event ring agree.
    expect(p.strategyMetrics.readCounters().fills).toBe(p.executionMetrics.readCounters().fills);
    expect(p.executionMetrics.readCounters().fills).toBe(aapl!.fills);
  });

  test("latency was measured at every stage the orders passed", () => {
    const e = p.executionMetrics.readHistograms();
    const s = p.strategyMetrics.readHistograms();
    expect(e.tick_to_order.count).toBe(p.executionMetrics.readCounters().orders_received);
    expect(s.decision.count).toBe(p.strategyMetrics.readCounters().orders_submitted);
    expect(p.feedMetrics.readHistograms().feed_publish.count).toBe(EVENTS);
    expect(s.md_hop.count).toBe(EVENTS);
    // Tick-to-order is at least the sum of the hops it contains: one clock across threads.
    expect(e.tick_to_order.minNs).toBeGreaterThan(0);
  });
});
}

describe("strategy failure", () => {
  test("a strategy that throws halts trading, is reported with its stack, and the daemon stays up", async () => {
    const config = parseConfigText(
      `
strategy: { name: module, module: ./throwing-strategy-fixture.ts, params: { after: 50 } }
feed: { synthetic: { rate_events_per_sec: 100000, max_events: 5000 } }
`,
      "failure.test",
    );
    const p = new Pipeline(config, { configDir: import.meta.dir });
    try {
      await p.start();
      await waitUntil(() => p.strategyFailure !== null, "the strategy error to reach main");
      expect(p.strategyFailure!.message).toBe("fixture strategy fails on quote 50");
      expect(p.strategyFailure!.callback).toBe("onQuote");
      expect(p.strategyFailure!.stack).toContain("throwing-strategy-fixture.ts");
      expect(p.tradingStateName()).toBe("halted");
      // The workers keep running: the rest of the feed is still consumed.
      await waitUntil(() => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades === 5000, "the rest of the feed to be consumed");
      expect(p.failure).toBeNull();
      expect(p.strategyMetrics.readCounters().strategy_errors).toBe(1);
    } finally {
      await p.stop();
    }
  });
});
