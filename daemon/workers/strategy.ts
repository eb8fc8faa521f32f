/**
 * The strategy worker: consumes the market-data ring and the exec-event ring, runs the
 * strategy and the pre-trade risk checks (`StrategyEngine`), and produces orders into the order
 * ring.
 *
 * Before it reports ready it warms up (`strategy.warmup_events` synthetic events through a
 * scratch engine and a second instance of the strategy), so the first real tick runs compiled code.
 *
 * Loop turn: take every published market-data record (one release per batch), then every exec
 * event, then the timer; when there is nothing, wait with the configured strategy (`spin`,
 * `hybrid`, `block`) on this thread's doorbell, which both of its rings ring.
 *
 * Risk halts trading on the daily loss limit itself (TRADING := HALTED) and tells main in one
 * `risk-halt` message.
 *
 * A strategy callback that throws: the error and its stack go to main, trading is HALTED, the
 * strategy is never called again, and the loop keeps draining the rings (positions stay right)
 * so the daemon stays up for an operator.
 */
import { dirname } from "node:path";
import { serveWorker, type WorkerInit, type WorkerMessage } from "./protocol.ts";
import { SpscRing } from "../shm/ring.ts";
import { Doorbell, Waiter } from "../shm/doorbell.ts";
import { ControlBlock, TradingState, W_FEED_DONE, W_STOP_STRATEGY, W_STRATEGY_FAILED, W_TRADING } from "../shm/control.ts";
import { QuoteBook } from "../shm/quote-book.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { StrategyMetrics } from "../metrics/layouts.ts";
import { StrategyEngine } from "../strategy/engine.ts";
import { RiskLimitsBlock } from "../risk/limits-block.ts";
import { RISK_REASON_NAMES } from "../risk/checks.ts";
import { warmUp } from "../strategy/warmup.ts";
import { loadStrategy } from "../strategy/load.ts";
import { nowNs } from "../shm/clock.ts";
import { logger } from "../log.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

const log = logger("strategy");

/** Longest single wait, so the heartbeat is written at least once a second when idle. */
const MAX_WAIT_MS = 500;

export async function runStrategy(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  const control = new ControlBlock(init.control);
  const md = new SpscRing(init.mdRing, cfg.rings.market_data.slots);
  const exec = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
  const orders = new SpscRing(init.orderRing, cfg.rings.orders.slots);
  orders.attachDoorbell(new Doorbell(init.executionDoorbell));
  const waiter = new Waiter(new Doorbell(init.strategyDoorbell), cfg.threads.strategy.wait, cfg.threads.strategy.spin_us);
  const m = new MetricsBlock(StrategyMetrics, init.metrics);
  const cTurns = m.counterIndex("loop_turns");
  const cWaits = m.counterIndex("order_ring_waits");
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const gThreadCpu = m.gaugeIndex("thread_cpu");
  m.set(m.gaugeIndex("thread_id"), gettid());
  m.set(gThreadCpu, schedGetcpu());

  const configDir = init.configDir || dirname(".");
  const load = () => loadStrategy(cfg.strategy.name, cfg.strategy.module, cfg.strategy.params, configDir);
  if (cfg.strategy.warmup_events > 0) {
    const w = warmUp(cfg, init.symbols, await load(), cfg.strategy.warmup_events);
    log.info(`warm-up ran ${w.events} events and ${w.orders} orders through the strategy in ${w.ms.toFixed(0)} ms`);
    if (w.error) log.warn(`the strategy threw during warm-up: ${w.error}`);
  }

  const stopRequested = () => Atomics.load(control.words, W_STOP_STRATEGY) !== 0;
  const engine = new StrategyEngine({
    config: cfg,
    symbols: init.symbols,
    md,
    exec,
    orders,
    control,
    book: new QuoteBook(init.quoteBook, init.symbols.length),
    metrics: m,
    strategy: await load(),
    stopRequested,
    onStrategyError: (err, callback) => {
      const e = err instanceof Error ? err : new Error(String(err));
      control.set(W_TRADING, TradingState.HALTED);
      control.set(W_STRATEGY_FAILED, 1);
      postMessage({ type: "strategy-error", message: e.message, stack: e.stack ?? "", callback } satisfies WorkerMessage);
    },
    log: (msg) => log.info(msg),
    riskLimits: new RiskLimitsBlock(init.riskLimits),
    onRiskHalt: (reason, pnl, limit) => {
      postMessage({ type: "risk-halt", reason: RISK_REASON_NAMES[reason], pnl, limit } satisfies WorkerMessage);
    },
  });
  engine.start();

  let feedDoneSeen = false;
  const hasWork = () => md.available() > 0 || exec.available() > 0 || stopRequested() || (!feedDoneSeen && control.get(W_FEED_DONE) !== 0);
  const timerNs = cfg.strategy.timer_interval_ms * 1e6;
  let nextTimer = nowNs() + timerNs;
  let turns = 0;
  let lastBeat = 0;
  let waitsSeen = 0;

  ready();
  for (;;) {
    const worked = engine.drainMarketData() + engine.drainExecEvents() > 0;
    const now = nowNs();
    if (now >= nextTimer) {
      nextTimer = now + timerNs;
      m.set(gThreadCpu, schedGetcpu());
      const w = orders.producerWaits();
      if (w !== waitsSeen) {
        m.add(cWaits, w - waitsSeen);
        waitsSeen = w;
      }
      engine.timer(now);
    }
    if ((++turns & 1023) === 0) m.add(cTurns, 1024);
    if (!feedDoneSeen && control.get(W_FEED_DONE) !== 0) feedDoneSeen = true;
    if (stopRequested() && md.available() === 0) break;
    // Proof of life for the systemd watchdog: at least once a second, even when idle.
    if (now - lastBeat >= 1e9) {
      lastBeat = now;
      m.set(gHeartbeat, now);
    }
    if (!worked) waiter.waitFor(hasWork, Math.min(MAX_WAIT_MS, Math.max(0, (nextTimer - now) / 1e6)));
  }
  engine.stop();
}

if (!Bun.isMainThread) serveWorker(runStrategy);
