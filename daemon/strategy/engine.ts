/**
 * The strategy worker's work, apart from its thread: taking market data and exec events off
 * their rings, calling the strategy, and sending its orders through the risk checks.
 *
 * The worker builds one engine on the real rings; the warm-up builds another on scratch rings
 * with a second instance of the strategy, so the JIT compiles exactly this code before the first
 * real tick (see `warmup.ts`). Nothing here allocates per tick.
 *
 * A strategy callback that throws: `onStrategyError` is told (the worker halts trading), the
 * strategy is never called again, and the engine keeps draining the rings so positions stay right.
 */
import type { Strategy } from "./api.ts";
import { StrategyRuntime } from "./runtime.ts";
import type { SpscRing } from "../shm/ring.ts";
import type { ControlBlock } from "../shm/control.ts";
import type { QuoteBook } from "../shm/quote-book.ts";
import type { Config } from "../config/schema.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { StrategyMetrics } from "../metrics/layouts.ts";
import { RISK_REASON_NAMES, type RiskReason } from "../risk/checks.ts";
import { RiskEngine } from "../risk/engine.ts";
import { RiskLimitsBlock } from "../risk/limits-block.ts";
import { RecordKind, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, F_P2, F_P3 } from "../shm/records.ts";
import { nowNs } from "../shm/clock.ts";

export interface EngineParts {
  config: Config;
  symbols: readonly string[];
  md: SpscRing;
  exec: SpscRing;
  orders: SpscRing;
  control: ControlBlock;
  book: QuoteBook;
  metrics: MetricsBlock<typeof StrategyMetrics>;
  strategy: Strategy;
  stopRequested: () => boolean;
  onStrategyError: (err: unknown, callback: string) => void;
  log: (message: string) => void;
  /** The limits main writes (the worker's); a private block from `config.risk` when absent. */
  riskLimits?: RiskLimitsBlock;
  /** Risk halted trading (the daily loss limit): rare, once per halt. */
  onRiskHalt?: (reason: RiskReason, pnl: number, limit: number) => void;
  /** The broker reconciles at startup: orders wait for its RECONCILED record (`RiskEngineParts.awaitReconciled`). */
  awaitReconciled?: boolean;
}

export class StrategyEngine {
  readonly runtime: StrategyRuntime;
  readonly risk: RiskEngine;
  #strategy: Strategy | null;
  #callback = "onStart";
  readonly #p: EngineParts;
  readonly #m: MetricsBlock<typeof StrategyMetrics>;
  readonly #cQuotes;
  readonly #cTrades;
  readonly #cFills;
  readonly #cExec;
  readonly #cErrors;
  readonly #hMdHop;
  readonly #hExecHop;

  constructor(p: EngineParts) {
    this.#p = p;
    const m = (this.#m = p.metrics);
    this.#cQuotes = m.counterIndex("md_quotes");
    this.#cTrades = m.counterIndex("md_trades");
    this.#cFills = m.counterIndex("fills");
    this.#cExec = m.counterIndex("exec_events");
    this.#cErrors = m.counterIndex("strategy_errors");
    this.#hMdHop = m.histogram("md_hop");
    this.#hExecHop = m.histogram("exec_hop");
    const cOrders = m.counterIndex("orders_submitted");
    const hDecision = m.histogram("decision");
    const riskCounters = RISK_REASON_NAMES.map((r) => m.counterIndex(`risk_reject_${r}`));
    this.risk = new RiskEngine({
      symbols: p.symbols.length,
      limits: p.riskLimits ?? RiskLimitsBlock.create(p.config.risk),
      control: p.control,
      book: p.book,
      onHalt: p.onRiskHalt,
      awaitReconciled: p.awaitReconciled,
    });
    this.runtime = new StrategyRuntime(
      p.symbols,
      this.risk,
      p.orders,
      {
        onRiskReject: (reason) => m.add(riskCounters[reason]!, 1),
        onOrderSent: (decisionNs) => {
          m.add(cOrders, 1);
          hDecision.record(decisionNs);
        },
        log: p.log,
      },
      p.stopRequested,
    );
    this.#strategy = p.strategy;
  }

  /** False once the strategy has thrown (it is never called again). */
  get strategyRunning(): boolean {
    return this.#strategy !== null;
  }

  #fail(err: unknown): void {
    this.#strategy = null;
    this.#m.add(this.#cErrors, 1);
    this.#p.onStrategyError(err, this.#callback);
  }

  start(): void {
    this.#callback = "onStart";
    try {
      this.#strategy?.onStart?.(this.runtime);
    } catch (err) {
      this.#fail(err);
    }
  }

  stop(): void {
    const s = this.#strategy;
    if (!s) return;
    this.#callback = "onStop";
    try {
      s.onStop?.(this.runtime);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Handles every published market-data record (one release). Returns how many. */
  drainMarketData(): number {
    const md = this.#p.md;
    const n = md.available();
    if (n === 0) return 0;
    const runtime = this.runtime;
    const risk = this.risk;
    const q = runtime.views.quote;
    const t = runtime.views.trade;
    const symbols = this.#p.symbols;
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
      if (k === 0) this.#hMdHop.recordN(now - f64[f + F_TPUB]!, n);
      runtime.tickRecvNs = f64[f + F_TRECV]!;
      const strategy = this.#strategy;
      if (kind === RecordKind.QUOTE) {
        quotes++;
        const s = i32[i + I_SYMBOL]!;
        const bidPx = f64[f + F_P0]!;
        const askPx = f64[f + F_P1]!;
        risk.onQuote(s, bidPx, askPx); // marks for P&L and gross exposure (may halt on the loss limit)
        if (strategy?.onQuote) {
          q.symbolId = s;
          q.symbol = symbols[s]!;
          q.bidPx = bidPx;
          q.askPx = askPx;
          q.bidSize = f64[f + F_P2]!;
          q.askSize = f64[f + F_P3]!;
          q.recvNs = runtime.tickRecvNs;
          this.#callback = "onQuote";
          try {
            strategy.onQuote(q, runtime);
          } catch (err) {
            this.#fail(err);
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
          this.#callback = "onTrade";
          try {
            strategy.onTrade(t, runtime);
          } catch (err) {
            this.#fail(err);
          }
        }
      }
    }
    md.release(n);
    this.#m.add(this.#cQuotes, quotes);
    this.#m.add(this.#cTrades, n - quotes);
    return n;
  }

  /** Handles every published exec event (one release). Returns how many. */
  drainExecEvents(): number {
    const exec = this.#p.exec;
    const e = exec.available();
    if (e === 0) return 0;
    const runtime = this.runtime;
    const now = nowNs();
    const i32 = exec.i32;
    const f64 = exec.f64;
    for (let k = 0; k < e; k++) {
      const slot = exec.slotAt(k);
      const i = slot * 16;
      const f = slot * 8;
      if (k === 0) this.#hExecHop.recordN(now - f64[f + F_TPUB]!, e);
      const kind = i32[i + I_KIND]!;
      const which = runtime.applyExecEvent(kind, i32[i + I_SYMBOL]!, i32[i + I_A]!, i32[i + I_B]!, f64[f + F_P0]!, f64[f + F_P1]!, f64[f + F_P3]!);
      if (kind === RecordKind.FILL) this.#m.add(this.#cFills, 1);
      runtime.tickRecvNs = f64[f + F_TRECV]!;
      runtime.tickConsumedNs = now;
      const strategy = this.#strategy;
      try {
        if (which === 1 && strategy?.onFill) {
          this.#callback = "onFill";
          strategy.onFill(runtime.views.fill, runtime);
        } else if (which === 2 && strategy?.onOrderUpdate) {
          this.#callback = "onOrderUpdate";
          strategy.onOrderUpdate(runtime.views.update, runtime);
        }
      } catch (err) {
        this.#fail(err);
      }
    }
    exec.release(e);
    this.#m.add(this.#cExec, e);
    return e;
  }

  timer(now: number): void {
    const strategy = this.#strategy;
    if (!strategy?.onTimer) return;
    this.#callback = "onTimer";
    this.runtime.tickRecvNs = now;
    this.runtime.tickConsumedNs = now;
    try {
      strategy.onTimer(now, this.runtime);
    } catch (err) {
      this.#fail(err);
    }
  }
}
