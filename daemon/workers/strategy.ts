/**
 * The strategy worker: consumes the market-data ring and the exec-event ring, runs the
 * strategy and the pre-trade risk checks, and produces orders into the order ring.
 *
 * Loop turn: take every published market-data record (one release per batch), then every exec
 * event, then the timer; when there is nothing, wait with the configured strategy (`spin`,
 * `hybrid`, `block`) on this thread's doorbell, which both of its rings ring.
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
import { RecordKind, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2, F_P3 } from "../shm/records.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { StrategyMetrics } from "../metrics/layouts.ts";
import { RISK_REASON_NAMES } from "../risk/checks.ts";
import { StrategyRuntime } from "../strategy/runtime.ts";
import { loadStrategy } from "../strategy/load.ts";
import type { Strategy } from "../strategy/api.ts";
import { nowNs } from "../shm/clock.ts";
import { gettid, schedGetcpu } from "../../ffi/libc.ts";

/** Longest single wait, so the heartbeat is written at least once a second when idle. */
const MAX_WAIT_MS = 500;

export async function runStrategy(init: WorkerInit, ready: () => void): Promise<void> {
  const cfg = init.config;
  const control = new ControlBlock(init.control);
  const md = new SpscRing(init.mdRing, cfg.rings.market_data.slots);
  const exec = new SpscRing(init.execRing, cfg.rings.exec_events.slots);
  const orders = new SpscRing(init.orderRing, cfg.rings.orders.slots);
  orders.attachDoorbell(new Doorbell(init.executionDoorbell));
  const doorbell = new Doorbell(init.strategyDoorbell);
  const waiter = new Waiter(doorbell, cfg.threads.strategy.wait, cfg.threads.strategy.spin_us);
  const book = new QuoteBook(init.quoteBook, init.symbols.length);

  const m = new MetricsBlock(StrategyMetrics, init.metrics);
  const cQuotes = m.counterIndex("md_quotes");
  const cTrades = m.counterIndex("md_trades");
  const cOrders = m.counterIndex("orders_submitted");
  const cFills = m.counterIndex("fills");
  const cExec = m.counterIndex("exec_events");
  const cErrors = m.counterIndex("strategy_errors");
  const cTurns = m.counterIndex("loop_turns");
  const cWaits = m.counterIndex("order_ring_waits");
  const gHeartbeat = m.gaugeIndex("heartbeat_ns");
  const gThreadCpu = m.gaugeIndex("thread_cpu");
  const riskCounters = RISK_REASON_NAMES.map((r) => m.counterIndex(`risk_reject_${r}`));
  const hMdHop = m.histogram("md_hop");
  const hDecision = m.histogram("decision");
  const hExecHop = m.histogram("exec_hop");
  m.set(m.gaugeIndex("thread_id"), gettid());
  m.set(gThreadCpu, schedGetcpu());

  const stopRequested = () => Atomics.load(control.words, W_STOP_STRATEGY) !== 0;
  const runtime = new StrategyRuntime(
    init.symbols,
    {
      maxOrderQty: cfg.risk.max_order_qty,
      maxOrderNotional: cfg.risk.max_order_notional,
      maxPositionQty: cfg.risk.max_position_qty,
      maxOpenOrders: cfg.risk.max_open_orders,
      maxOrdersPerSec: cfg.risk.max_orders_per_sec,
    },
    orders,
    control,
    book,
    {
      onRiskReject: (reason) => m.add(riskCounters[reason]!, 1),
      onOrderSent: (decisionNs) => {
        m.add(cOrders, 1);
        hDecision.record(decisionNs);
      },
      log: (msg) => console.log(`strategy: ${msg}`),
    },
    stopRequested,
  );

  let strategy: Strategy | null = await loadStrategy(cfg.strategy.name, cfg.strategy.module, cfg.strategy.params, init.configDir || dirname("."));
  let callback = "onStart";
  const fail = (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    strategy = null;
    m.add(cErrors, 1);
    control.set(W_TRADING, TradingState.HALTED);
    control.set(W_STRATEGY_FAILED, 1);
    postMessage({ type: "strategy-error", message: e.message, stack: e.stack ?? "", callback } satisfies WorkerMessage);
  };
  try {
    strategy.onStart?.(runtime);
  } catch (err) {
    fail(err);
  }

  const q = runtime.views.quote;
  const t = runtime.views.trade;
  const symbols = init.symbols;
  const hasWork = () => md.available() > 0 || exec.available() > 0 || stopRequested() || (!feedDoneSeen && control.get(W_FEED_DONE) !== 0);
  const timerNs = cfg.strategy.timer_interval_ms * 1e6;
  let nextTimer = nowNs() + timerNs;
  let feedDoneSeen = false;
  let turns = 0;
  let lastBeat = 0;
  let waitsSeen = 0;

  ready();
  for (;;) {
    let worked = false;
    const n = md.available();
    if (n > 0) {
      worked = true;
      const now = nowNs();
      runtime.tickConsumedNs = now;
      const i32 = md.i32;
      const f64 = md.f64;
      let quotes = 0;
      for (let k = 0; k < n; k++) {
        const slot = md.slotAt(k);
        const i = slot * 16;
        const f = slot * 8;
        const kind = i32[i + I_KIND]!;
        if (k === 0) hMdHop.recordN(now - f64[f + F_TPUB]!, n);
        runtime.tickRecvNs = f64[f + F_TRECV]!;
        if (kind === RecordKind.QUOTE) {
          quotes++;
          if (strategy?.onQuote) {
            const s = i32[i + I_SYMBOL]!;
            q.symbolId = s;
            q.symbol = symbols[s]!;
            q.bidPx = f64[f + F_P0]!;
            q.askPx = f64[f + F_P1]!;
            q.bidSize = f64[f + F_P2]!;
            q.askSize = f64[f + F_P3]!;
            q.recvNs = runtime.tickRecvNs;
            callback = "onQuote";
            try {
              strategy.onQuote(q, runtime);
            } catch (err) {
              fail(err);
            }
          }
        } else if (kind === RecordKind.TRADE) {
          if (strategy?.onTrade) {
            const s = i32[i + I_SYMBOL]!;
            t.symbolId = s;
            t.symbol = symbols[s]!;
            t.price = f64[f + F_P0]!;
            t.size = f64[f + F_P1]!;
            t.recvNs = runtime.tickRecvNs;
            callback = "onTrade";
            try {
              strategy.onTrade(t, runtime);
            } catch (err) {
              fail(err);
            }
          }
        }
      }
      md.release(n);
      m.add(cQuotes, quotes);
      m.add(cTrades, n - quotes);
    }

    const e = exec.available();
    if (e > 0) {
      worked = true;
      const now = nowNs();
      const i32 = exec.i32;
      const f64 = exec.f64;
      for (let k = 0; k < e; k++) {
        const slot = exec.slotAt(k);
        const i = slot * 16;
        const f = slot * 8;
        if (k === 0) hExecHop.recordN(now - f64[f + F_TPUB]!, e);
        const kind = i32[i + I_KIND]!;
        const which = runtime.applyExecEvent(kind, i32[i + I_SYMBOL]!, i32[i + I_A]!, i32[i + I_B]!, f64[f + F_P0]!, f64[f + F_P1]!, f64[f + F_P3]!);
        if (kind === RecordKind.FILL) m.add(cFills, 1);
        runtime.tickRecvNs = f64[f + F_TRECV]!;
        runtime.tickConsumedNs = now;
        try {
          if (which === 1 && strategy?.onFill) {
            callback = "onFill";
            strategy.onFill(runtime.views.fill, runtime);
          } else if (which === 2 && strategy?.onOrderUpdate) {
            callback = "onOrderUpdate";
            strategy.onOrderUpdate(runtime.views.update, runtime);
          }
        } catch (err) {
          fail(err);
        }
      }
      exec.release(e);
      m.add(cExec, e);
    }

    const now = nowNs();
    if (now >= nextTimer) {
      nextTimer = now + timerNs;
      m.set(gThreadCpu, schedGetcpu());
      const w = orders.producerWaits();
      if (w !== waitsSeen) {
        m.add(cWaits, w - waitsSeen);
        waitsSeen = w;
      }
      if (strategy?.onTimer) {
        callback = "onTimer";
        runtime.tickRecvNs = now;
        runtime.tickConsumedNs = now;
        try {
          strategy.onTimer(now, runtime);
        } catch (err) {
          fail(err);
        }
      }
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
  if (strategy) {
    callback = "onStop";
    try {
      (strategy as Strategy).onStop?.(runtime);
    } catch (err) {
      fail(err);
    }
  }
}

if (!Bun.isMainThread) serveWorker(runStrategy);
