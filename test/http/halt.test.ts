import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Pipeline } from "../../daemon/supervisor.ts";
import { createApp } from "../../daemon/http/app.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { RiskConfig } from "../../daemon/config/schema.ts";
import { OrderStatus } from "../../daemon/shm/order-table.ts";
import type { OrdersDocument, PositionsDocument } from "../../daemon/http/orders.ts";
import { waitUntil } from "../support/wait.ts";

const TOKEN = "halt-test-token";
/** Risk limits that let one identical order per quote through (the ones this build's schema has). */
const STREAM_LIMITS = Object.fromEntries(
  Object.entries({ max_orders_per_sec: 100_000, max_orders_per_min: 1_000_000, max_open_orders: 100_000, max_position_qty: 1_000_000, max_gross_exposure: 1e12, collar_bps: 0, duplicate_window_ms: 0, daily_loss_limit: 0 }).filter(
    ([k]) => k in RiskConfig.parse({}),
  ),
);

/**
 * The kill switch over real HTTP (Bun.serve on loopback), under a stream of orders: a strategy
 * that submits on every quote, as fast as risk lets it.
 */
describe("POST /control/halt under a stream of orders", () => {
  let p: Pipeline;
  let server: ReturnType<typeof Bun.serve>;
  const post = (path: string) => fetch(new URL(path, server.url), { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
  const get = async <T>(path: string) => (await (await fetch(new URL(path, server.url), { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as T;

  beforeAll(async () => {
    p = new Pipeline(
      parseConfigText(
        `symbols: [AAPL, MSFT]
feed: { synthetic: { rate_events_per_sec: 5000, trade_ratio: 0 } }
strategy: { name: module, module: ${join(import.meta.dir, "../gateways/alpaca/orders-fixture.ts")}, params: { count: 1000000, qty: 1, limit: 1000 }, warmup_events: 0 }
broker: { sim: { latency_us: 0 } }
risk: ${JSON.stringify(STREAM_LIMITS)}
`,
        "halt.test",
        {},
      ),
    );
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: createApp(p, { token: TOKEN }).fetch });
    await p.start();
  });
  afterAll(async () => {
    await p.stop();
    server.stop(true);
  });

  test("after the 200, no order reaches the broker; the strategy keeps trying and is refused", async () => {
    await waitUntil(() => p.executionMetrics.readCounters().orders_received > 50, "orders flowing");
    const res = await post("/control/halt");
    // Counted the moment the answer is in: nothing sent after this may leave.
    const sentAtAnswer = p.table.orders().filter((o) => o.status !== OrderStatus.REJECTED).length;
    expect([res.status, await res.json()]).toEqual([200, { state: "halted", acknowledged: true }]);
    const refusedAtAnswer = p.strategyMetrics.readCounters().risk_reject_halted;
    await waitUntil(() => p.strategyMetrics.readCounters().risk_reject_halted > refusedAtAnswer + 100, "the strategy still trying, refused");
    await waitUntil(() => p.orders.depth() === 0, "the order ring drained");
    expect(p.table.orders().filter((o) => o.status !== OrderStatus.REJECTED).length).toBe(sentAtAnswer);
    expect(p.tradingStateName()).toBe("halted");
  });

  test("GET /orders and /positions show the table with symbols", async () => {
    const all = await get<OrdersDocument>("/orders?status=all&limit=3");
    expect(all.total).toBeGreaterThan(50);
    expect(all.orders).toHaveLength(3);
    expect(all.orders[0]).toMatchObject({ symbol: "AAPL", side: "buy", type: "limit", tif: "day", qty: 1, limit_price: 1000 });
    expect(all.orders[0]!.order_id).toBeLessThan(all.orders[2]!.order_id);
    const positions = await get<PositionsDocument>("/positions");
    expect(positions.positions.map((x) => x.symbol)).toEqual(["AAPL"]);
    expect(positions.positions[0]!.qty).toBe(p.table.positions(2)[0]!.qty);
  });
});
