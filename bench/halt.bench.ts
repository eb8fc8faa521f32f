/**
 * The kill switch over HTTP: from sending `POST /control/halt` to the strategy worker seeing
 * HALTED, and to the answer (which waits for the execution worker's acknowledgement).
 *
 *   bun bench/halt.bench.ts                 # ~20 s; a markdown table and one BENCH_JSON line
 *   BENCH_QUICK=1 bun bench/halt.bench.ts   # smoke run (few halts; figures rough)
 *
 * Method: a dry-run `Pipeline` (synthetic feed at 20,000 quotes/s on one symbol, simulated broker)
 * whose strategy (`fixtures/halt-probe-strategy.ts`) tries an order on every quote; its app is
 * served by `Bun.serve` on loopback in this process, with a token, and called with `fetch`. Each
 * run: trading ACTIVE, orders flowing again, then `t0` and `await fetch(POST /control/halt)`.
 * Times, all on the process-wide CLOCK_MONOTONIC (`daemon/shm/clock.ts`), from `t0`:
 * - handler: the route calls `Pipeline.halt()` (the HALTED store is its first statement);
 * - strategy saw: the strategy's first order refused as "halted" (it writes the time down). It
 *   tries on every quote, so this is late by up to one quote interval (50 µs) after it could
 *   have seen it;
 * - answer: `fetch` resolved (200 `{"state":"halted","acknowledged":true}`).
 * And the invariant: orders that reached the broker after the answer (must be 0).
 * Figures: median, p90 and max over the runs (WARMUP runs first, not counted).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pipeline } from "../daemon/supervisor.ts";
import { createApp } from "../daemon/http/app.ts";
import { parseConfigText } from "../daemon/config/load.ts";
import { RiskConfig } from "../daemon/config/schema.ts";
import { configureLog } from "../daemon/log.ts";
import { nowNs } from "../daemon/shm/clock.ts";
import { TradingState } from "../daemon/shm/control.ts";
import { OrderStatus } from "../daemon/shm/order-table.ts";
import { QUICK, median } from "./support.ts";

const RUNS = QUICK ? 5 : 40;
const WARMUP = QUICK ? 2 : 5;
const QUOTES_PER_SEC = 20_000;
const TOKEN = "halt-bench-token";

configureLog("warn", "text"); // one line per control action would interleave with the table

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const us = (ns: number) => +(ns / 1e3).toFixed(1);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tradingd-halt-bench-"));
  const seenFile = join(dir, "seen");
  writeFileSync(seenFile, "");
  // Limits that let an order per quote through (only the keys this build's schema has).
  const limits = Object.fromEntries(
    Object.entries({ max_orders_per_sec: 1_000_000, max_orders_per_min: 1_000_000, max_open_orders: 1_000_000, max_position_qty: 1_000_000, max_gross_exposure: 1e12, collar_bps: 0, duplicate_window_ms: 0, daily_loss_limit: 0 }).filter(
      ([k]) => k in RiskConfig.parse({}),
    ),
  );
  const p = new Pipeline(
    parseConfigText(
      `symbols: [AAPL]
feed: { synthetic: { rate_events_per_sec: ${QUOTES_PER_SEC}, trade_ratio: 0 } }
strategy: { name: module, module: ${join(import.meta.dir, "fixtures/halt-probe-strategy.ts")}, params: { file: ${JSON.stringify(seenFile)} }, warmup_events: 0 }
broker: { sim: { latency_us: 0 } }
risk: ${JSON.stringify(limits)}
`,
      "halt.bench",
      {},
    ),
  );
  let handlerNs = 0;
  const halt = p.halt.bind(p);
  p.halt = (timeoutMs?: number) => ((handlerNs = nowNs()), halt(timeoutMs));
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: createApp(p, { token: TOKEN }).fetch });
  const url = new URL("/control/halt", server.url);
  const sent = () => p.table.orders().filter((o) => o.status !== OrderStatus.REJECTED).length;

  const rows: { handler: number; strategy: number; answer: number; afterAnswer: number }[] = [];
  try {
    await p.start();
    for (let i = 0; i < WARMUP + RUNS; i++) {
      p.setTradingState(TradingState.ACTIVE);
      const submitted = p.strategyMetrics.readCounters().orders_submitted;
      await waitFor(() => p.strategyMetrics.readCounters().orders_submitted > submitted + 20, "orders flowing");
      const t0 = nowNs();
      const res = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
      const t1 = nowNs();
      const body = await res.json();
      if (res.status !== 200) throw new Error(`halt answered ${res.status} ${JSON.stringify(body)}`);
      const sentAtAnswer = sent();
      await waitFor(() => readFileSync(seenFile, "utf8").trim().split("\n").length === i + 1, "the strategy to see the halt");
      const seen = Number(readFileSync(seenFile, "utf8").trim().split("\n")[i]);
      const refused = p.strategyMetrics.readCounters().risk_reject_halted;
      await waitFor(() => p.strategyMetrics.readCounters().risk_reject_halted > refused + 20 && p.orders.depth() === 0, "refusals after the answer, and the order ring drained");
      if (i >= WARMUP) rows.push({ handler: handlerNs - t0, strategy: seen - t0, answer: t1 - t0, afterAnswer: sent() - sentAtAnswer });
    }
  } finally {
    await p.stop();
    server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }

  const stat = (k: "handler" | "strategy" | "answer") => {
    const xs = rows.map((r) => r[k]);
    return { p50_us: us(median(xs)), p90_us: us(percentile(xs, 90)), max_us: us(Math.max(...xs)) };
  };
  const result = { handler: stat("handler"), strategy_saw_halted: stat("strategy"), answer: stat("answer") };
  const afterAnswer = rows.reduce((a, r) => a + r.afterAnswer, 0);
  console.log(`\n### Kill switch over HTTP (${RUNS} halts, ${QUOTES_PER_SEC} quotes/s, an order tried on each)\n`);
  console.log("| from sending POST /control/halt to | p50 | p90 | max |");
  console.log("|---|---|---|---|");
  for (const [name, s] of [
    ["the handler calling halt() (HALTED stored)", result.handler],
    ["the strategy worker refusing an order as halted", result.strategy_saw_halted],
    ["the answer (execution worker acknowledged)", result.answer],
  ] as const) {
    console.log(`| ${name} | ${s.p50_us} µs | ${s.p90_us} µs | ${s.max_us} µs |`);
  }
  console.log(`\nOrders that reached the broker after the answer, over all runs: ${afterAnswer} (must be 0).`);
  console.log(`\nBENCH_JSON ${JSON.stringify({ bench: "halt", quick: QUICK, runs: RUNS, warmup: WARMUP, quotes_per_sec: QUOTES_PER_SEC, ...result, orders_after_answer: afterAnswer })}`);
  if (afterAnswer !== 0) process.exit(1);
}

await main();
