import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Pipeline } from "../../daemon/supervisor.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { OrderStatus } from "../../daemon/shm/order-table.ts";
import { waitUntil } from "../support/wait.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function running(params: string, sim = "") {
  const p = new Pipeline(
    parseConfigText(
      `symbols: [AAPL]
feed: { synthetic: { rate_events_per_sec: 5000, trade_ratio: 0 } }
strategy: { name: module, module: ${join(import.meta.dir, "../gateways/alpaca/orders-fixture.ts")}, params: { ${params} }, warmup_events: 0 }
broker: { sim: { latency_us: 0 ${sim} } }
risk: { max_orders_per_sec: 100000, max_orders_per_min: 1000000, max_open_orders: 100000, max_position_qty: 1000000, max_gross_exposure: 1e12, collar_bps: 0, duplicate_window_ms: 0 }
`,
      "control.test",
      {},
    ),
  );
  cleanups.push(() => p.stop());
  await p.start();
  return p;
}

describe("operator controls on a running pipeline", () => {
  test("flatten: trading halts, every position is closed at market", async () => {
    const p = await running("count: 5, qty: 10, limit: 1000");
    await waitUntil(() => p.table.positions(1)[0]!.qty === 50, "a position of 50");
    expect(await p.flatten()).toBe(true);
    expect(p.tradingStateName()).toBe("halted");
    await waitUntil(() => p.table.positions(1)[0]!.qty === 0, "the position closed");
    // The strategy sees the closing fill too (its position view follows).
    await waitUntil(() => p.strategyMetrics.readCounters().fills === p.executionMetrics.readCounters().fills, "the strategy to see every fill");
  });

  test("halt under a stream of orders: after halt() returns, no order reaches the broker", async () => {
    const p = await running("count: 1000000, qty: 1, limit: 1000");
    await waitUntil(() => p.executionMetrics.readCounters().orders_received > 50, "orders flowing");
    expect(await p.halt()).toBe(true);
    // Once halt() resolved (the HTTP answer waits for it), no order reaches the broker.
    const sentAtHalt = p.table.orders().filter((o) => o.status !== OrderStatus.REJECTED).length;
    await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_halted > 100, "the strategy still trying, refused");
    await waitUntil(() => p.orders.depth() === 0, "the order ring drained");
    expect(p.table.orders().filter((o) => o.status !== OrderStatus.REJECTED).length).toBe(sentAtHalt);
  });

  test("halt cancels what is open at the broker", async () => {
    const p = await running("count: 3, qty: 1, limit: 1", ", reject_if_no_quote: true");
    await waitUntil(() => p.table.orders().filter((o) => o.status === OrderStatus.NEW).length === 3, "three resting orders");
    expect(await p.halt()).toBe(true);
    await waitUntil(() => p.table.orders().every((o) => o.status === OrderStatus.CANCELED), "all cancelled");
  });
});
