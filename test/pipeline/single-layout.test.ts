import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Pipeline } from "../../daemon/supervisor.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { waitUntil } from "../support/wait.ts";

const pipelines: Pipeline[] = [];
afterEach(async () => {
  while (pipelines.length) await pipelines.pop()!.stop();
});

async function start(yaml: string): Promise<Pipeline> {
  const p = new Pipeline(parseConfigText(yaml, "single-layout.test"), { stopDeadlineMs: 5000 });
  pipelines.push(p);
  await p.start();
  return p;
}

describe("layout single: one thread runs every stage", () => {
  test("the three stages report one thread id; /status-level facts say single", async () => {
    const p = await start(`threads: { layout: single }\nfeed: { synthetic: { rate_events_per_sec: 1000 } }\n`);
    expect(p.layout).toBe("single");
    const tids = new Set(p.threads.filter((t) => t.name !== "main").map((t) => t.tid));
    expect(tids.size).toBe(1);
    expect([...tids][0]).not.toBe(p.threads.find((t) => t.name === "main")!.tid);
    expect(p.executionDoorbell).toBe(p.strategyDoorbell);
  });

  test("an order ring that fills within one callback refuses the rest (order_ring_full), never waits for itself, and the daemon goes on", async () => {
    const p = await start(`
threads: { layout: single }
symbols: [AAPL]
feed: { synthetic: { rate_events_per_sec: 2000, trade_ratio: 0 } }
rings: { orders: { slots: 64 } }
strategy: { name: module, module: ${join(import.meta.dir, "burst-strategy-fixture.ts")}, params: { burst: 100, limit: 1 }, warmup_events: 0 }
risk: { max_orders_per_sec: 100000, max_open_orders: 1000, collar_bps: 0, duplicate_window_ms: 0, max_position_qty: 100000 }
`);
    // The burst is one callback on another thread: wait for all 100 to be counted one way or the other.
    await waitUntil(() => {
      const c = p.strategyMetrics.readCounters();
      return c.orders_submitted + c.risk_reject_order_ring_full === 100;
    }, "the burst of 100 to be decided");
    const s = p.strategyMetrics.readCounters();
    expect({ sent: s.orders_submitted, refused: s.risk_reject_order_ring_full }).toEqual({ sent: 64, refused: 36 });
    // The 64 that fit went to the broker (resting: a limit of 1 is far below the market).
    await waitUntil(() => p.executionMetrics.readCounters().acks === 64, "the 64 acks");
    const before = p.strategyMetrics.readCounters().md_quotes;
    await waitUntil(() => p.strategyMetrics.readCounters().md_quotes > before + 100, "market data to keep flowing");
    expect(p.isReady()).toBe(true);
  });

  test("a market-data ring that fills (when_full: wait) runs the strategy instead of waiting: nothing dropped, nothing stuck", async () => {
    const p = await start(`
threads: { layout: single }
feed: { synthetic: { rate_events_per_sec: 2000000, batch_max: 128, max_events: 200000 } }
rings: { market_data: { slots: 64, when_full: wait } }
`);
    await waitUntil(() => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades === 200_000, "every event to reach the strategy");
    expect(p.feedMetrics.readCounters().md_dropped).toBe(0);
    expect(p.md.producerWaits()).toBeGreaterThan(0); // the ring did fill, and the drain ran
  });
});
