import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Pipeline } from "../../daemon/supervisor.ts";
import { createApp } from "../../daemon/http/app.ts";
import { parseConfigText } from "../../daemon/config/load.ts";
import { TradingState } from "../../daemon/shm/control.ts";
import { waitUntil } from "../support/wait.ts";
import type { StatusDocument } from "../../daemon/http/status.ts";

const config = parseConfigText(
  `
symbols: [AAPL, MSFT]
feed: { synthetic: { seed: 1, rate_events_per_sec: 100000, max_events: 20000, volatility_bps: 2 } }
strategy: { name: threshold, params: { buy_at_or_below: { AAPL: 99.9 }, sell_at_or_above: { AAPL: 100.1 }, qty: 10 } }
`,
  "app.test",
);

describe("HTTP routes before the workers are ready", () => {
  const app = createApp(new Pipeline(config));
  test("/healthz answers 200 at once", async () => {
    const res = await app.request("/healthz");
    expect([res.status, await res.text()]).toEqual([200, "ok\n"]);
  });
  test("/readyz answers 503 and names the workers it waits for", async () => {
    const res = await app.request("/readyz");
    expect([res.status, await res.text()]).toEqual([503, "not ready: starting: waiting for feed, strategy, execution\n"]);
  });
  test("unknown routes are 404 with a JSON error, wrong methods 405 with Allow", async () => {
    const missing = await app.request("/nope");
    expect([missing.status, await missing.json()]).toEqual([404, { error: "no route GET /nope" }]);
    const post = await app.request("/healthz", { method: "POST" });
    expect([post.status, post.headers.get("allow"), await post.json()]).toEqual([405, "GET, HEAD", { error: "method POST not allowed on /healthz" }]);
  });
});

describe("HTTP routes of a running pipeline", () => {
  let p: Pipeline;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    p = new Pipeline(config);
    app = createApp(p);
    await p.start();
    await waitUntil(() => p.strategyMetrics.readCounters().md_quotes + p.strategyMetrics.readCounters().md_trades === 20000, "the feed to be consumed");
  });
  afterAll(() => p.stop());

  test("/readyz answers 200 once every worker is ready", async () => {
    const res = await app.request("/readyz");
    expect([res.status, await res.text()]).toEqual([200, "ready\n"]);
  });

  test("/status reports mode, threads with their CPUs, rings, counts, positions and latency", async () => {
    const res = await app.request("/status");
    expect(res.status).toBe(200);
    const s = (await res.json()) as StatusDocument;
    expect({ mode: s.mode, ready: s.ready, state: s.trading_state, feed: s.feed.kind, broker: s.broker }).toEqual({
      mode: "dry-run",
      ready: true,
      state: "active",
      feed: "synthetic",
      broker: "sim",
    });
    expect(s.threads.map((t: { name: string }) => t.name)).toEqual(["main", "feed", "strategy", "execution"]);
    for (const t of s.threads) {
      expect(t.tid).toBeGreaterThan(0);
      expect(t.cpu).toBeGreaterThanOrEqual(0);
    }
    expect(s.rings.map((r: { name: string; capacity: number }) => [r.name, r.capacity])).toEqual([
      ["market_data", 65536],
      ["orders", 4096],
      ["exec_events", 4096],
    ]);
    expect(s.counts.md_events).toBe(20000);
    expect(s.counts.strategy_events).toBe(20000);
    expect(s.counts.orders_submitted).toBeGreaterThan(0);
    expect(Object.keys(s.latency_us)).toEqual(["feed_publish", "md_hop", "decision", "order_hop", "tick_to_order", "exec_hop", "tick_to_ack"]);
    expect(s.latency_us.md_hop.count).toBe(20000);
    expect(s.latency_us.tick_to_order.p50).toBeGreaterThan(0);
    const filled = s.positions.find((x: { symbol: string }) => x.symbol === "AAPL");
    if (filled) expect(filled.fills).toBeGreaterThan(0);
  });

  test("/status shows the risk day (its New York start, when this one started, the next start, its P&L) and /metrics its P&L", async () => {
    const s = (await (await app.request("/status")).json()) as StatusDocument;
    const now = Date.now();
    const started = Date.parse(s.risk_day.started_at ?? "");
    const next = Date.parse(s.risk_day.next_start ?? "");
    const text = await (await app.request("/metrics")).text();
    expect({
      startsAt: s.risk_day.starts_at,
      limit: s.risk_day.daily_loss_limit,
      startedInThisRun: started <= now && started >= now - p.uptimeSeconds() * 1000 - 1_000,
      nextWithinADay: next > now && next <= now + 25 * 3_600_000,
      pnlIsANumber: Number.isFinite(s.risk_day.day_pnl),
      metric: /^tradingd_risk_day_pnl_usd -?\d/m.test(text),
    }).toEqual({ startsAt: "04:00 America/New_York", limit: 10_000, startedInThisRun: true, nextWithinADay: true, pnlIsANumber: true, metric: true });
  });

  test("a new day_starts_at reaches the strategy worker's risk day within about a second (/status next_start moves)", async () => {
    const nextStart = async () => ((await (await app.request("/status")).json()) as StatusDocument).risk_day.next_start;
    const before = await nextStart();
    const original = p.riskLimits();
    // 23:59 New York is 04:59 or 03:59 UTC the next day: never the 04:00 start's instant.
    p.setRiskLimits({ ...original, day_starts_at: "23:59" });
    try {
      await waitUntil(async () => (await nextStart())?.endsWith(":59:00.000Z") === true, "next_start to move to 23:59 New York");
      const moved = Date.parse((await nextStart())!);
      expect({ before: before?.endsWith(":00:00.000Z"), movedAhead: moved > Date.now(), withinADay: moved - Date.now() <= 24 * 3_600_000 }).toEqual({ before: true, movedAhead: true, withinADay: true });
    } finally {
      p.setRiskLimits(original);
    }
  });

  test("/metrics is Prometheus text with the stage histograms in seconds and _total counters", async () => {
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain("# TYPE tradingd_stage_latency_seconds histogram");
    expect(text).toContain('tradingd_stage_latency_seconds_count{stage="md_hop"} 20000');
    expect(text).toContain('tradingd_md_events_total{kind="quote"}');
    expect(text).toContain('tradingd_ring_capacity{ring="market_data"} 65536');
    expect(text).toContain('tradingd_trading_state{state="active"} 1');
    for (const line of text.split("\n")) if (line.startsWith("# TYPE") && line.endsWith(" counter")) expect(line.split(" ")[2]!.endsWith("_total")).toBe(true);
  });

  test.skipIf(!Bun.which("promtool"))("/metrics passes promtool check metrics (skipped where Debian's prometheus package is not installed)", async () => {
    const text = await (await app.request("/metrics")).text();
    const proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    expect({ code, out, err }).toEqual({ code: 0, out: "", err: "" });
  });

  test("/status and /metrics follow the trading state word", async () => {
    p.setTradingState(TradingState.HALTED);
    try {
      expect(((await (await app.request("/status")).json()) as StatusDocument).trading_state).toBe("halted");
      expect(await (await app.request("/metrics")).text()).toContain('tradingd_trading_state{state="halted"} 1');
    } finally {
      p.setTradingState(TradingState.ACTIVE);
    }
  });
});
