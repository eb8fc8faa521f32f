/**
 * Warm-up before ready: runs synthetic events through the strategy engine, the risk checks and
 * the order encoding (orders going nowhere), so the JIT has compiled the hot paths before the
 * first real tick.
 *
 * Everything is scratch: its own rings, quote book, control block and metric block, and a
 * second instance of the strategy from the same factory (the live one never sees warm-up data).
 * Orders land on a scratch order ring where a stand-in broker acknowledges and fills them at
 * once, so the exec-event path is compiled too. The code run is the live code (the same
 * `StrategyEngine` and `StrategyRuntime` methods), which is what the JIT compiles.
 */
import type { Config } from "../config/schema.ts";
import type { Strategy } from "./api.ts";
import { StrategyEngine } from "./engine.ts";
import { SpscRing } from "../shm/ring.ts";
import { ControlBlock, W_BROKER_BUDGET, W_BROKER_READY } from "../shm/control.ts";
import { QuoteBook } from "../shm/quote-book.ts";
import { MetricsBlock } from "../metrics/block.ts";
import { StrategyMetrics } from "../metrics/layouts.ts";
import { SyntheticMarket } from "../feeds/synthetic/generator.ts";
import { RecordKind, I_KIND, I_SYMBOL, I_A, I_B, F_TRECV, F_TPUB, F_P0, F_P1, flagsSide, writeExecRecord } from "../shm/records.ts";
import { nowNs } from "../shm/clock.ts";

const SLOTS = 4096;
const BATCH = 64;

export interface WarmupResult {
  events: number;
  orders: number;
  /** Set when the strategy threw during warm-up (it is then stopped early). */
  error: string | null;
  ms: number;
}

/**
 * The scratch pipeline: its own rings, quote book, control and metric blocks, a synthetic
 * market and a stand-in broker, around a strategy instance of its own. `run(n)` pushes n events
 * through it. The startup warm-up runs thousands; keep-warm (`threads.keep_warm_us`, layout
 * single) runs one whenever the trading thread has been idle that long, so the engine's,
 * the strategy's and the risk checks' code stays in the CPU's caches between real quotes.
 * Allocates nothing per event beyond what the strategy itself allocates. Its strategy's `onStop`
 * is never called: the scratch instance is dropped, and a strategy's stop may act on the world.
 */
export class WarmRig {
  /** Set when the strategy threw (the rig then runs nothing more). */
  error: string | null = null;
  /** Events run so far. */
  eventsRun = 0;
  readonly #engine: StrategyEngine;
  readonly #md = SpscRing.create(SLOTS);
  readonly #orders = SpscRing.create(SLOTS);
  readonly #exec = SpscRing.create(SLOTS);
  readonly #book: QuoteBook;
  readonly #market: SyntheticMarket;

  constructor(config: Config, symbols: readonly string[], strategy: Strategy) {
    this.#book = QuoteBook.create(symbols.length);
    // No order-rate, open-order, duplicate or loss limit in the warm-up: the point is to run the
    // sending path (every check still runs).
    const scratchConfig: Config = {
      ...config,
      risk: { ...config.risk, max_orders_per_sec: 10_000, max_orders_per_min: 100_000, max_open_orders: 1_000_000, duplicate_window_ms: 0, daily_loss_limit: 0 },
    };
    this.#engine = new StrategyEngine({
      config: scratchConfig,
      symbols,
      md: this.#md,
      exec: this.#exec,
      orders: this.#orders,
      control: scratchControl(),
      book: this.#book,
      metrics: MetricsBlock.create(StrategyMetrics),
      strategy,
      stopRequested: () => false,
      onStrategyError: (err) => {
        this.error = err instanceof Error ? err.message : String(err);
      },
      log: () => {},
    });
    const syn = config.feed.synthetic;
    this.#market = new SyntheticMarket({
      seed: (syn.seed ^ 0x5eed) >>> 0,
      symbols: symbols.length,
      tradeRatio: syn.trade_ratio,
      startPrice: syn.start_price,
      volatilityBps: syn.volatility_bps,
      spreadBps: syn.spread_bps,
    });
    this.#engine.start();
  }

  /** Whether the strategy still runs (it stops for good when it throws). */
  get running(): boolean {
    return this.#engine.strategyRunning;
  }

  /** Pushes `events` synthetic events through, in batches (fewer if the strategy throws); returns the orders sent. */
  run(events: number): number {
    const md = this.#md;
    const book = this.#book;
    const market = this.#market;
    const engine = this.#engine;
    let produced = 0;
    let sent = 0;
    while (produced < events && engine.strategyRunning) {
      const now = nowNs();
      const n = Math.min(BATCH, events - produced);
      for (let k = 0; k < n; k++) {
        const slot = md.tryClaim();
        const kind = market.next(md.i32, md.f64, slot * 16, slot * 8, now);
        md.f64[slot * 8 + F_TPUB] = now;
        if (kind === RecordKind.QUOTE) book.writeQuote(market.lastSymbol, market.p0, market.p1, market.p2, market.p3, now);
        else book.writeTrade(market.lastSymbol, market.p0, now);
      }
      md.publish();
      produced += n;
      engine.drainMarketData();
      sent += fillEverything(this.#orders, this.#exec, book);
      engine.drainExecEvents();
    }
    this.eventsRun += produced;
    return sent;
  }
}

/** The startup warm-up: `events` synthetic events through a fresh rig, before ready. */
export function warmUp(config: Config, symbols: readonly string[], strategy: Strategy, events: number): WarmupResult {
  const started = performance.now();
  const rig = new WarmRig(config, symbols, strategy);
  const orders = rig.run(events);
  return { events: rig.eventsRun, orders, error: rig.error, ms: performance.now() - started };
}

/** A control block as a ready broker leaves it: reconciled, with budget. */
function scratchControl(): ControlBlock {
  const c = new ControlBlock();
  c.set(W_BROKER_READY, 1);
  c.set(W_BROKER_BUDGET, 2_147_483_647);
  return c;
}

/** The stand-in broker: every new order is acknowledged and filled whole at the touch. */
function fillEverything(orders: SpscRing, exec: SpscRing, book: QuoteBook): number {
  const n = orders.available();
  for (let k = 0; k < n; k++) {
    const s = orders.slotAt(k);
    const i = s * 16;
    const f = s * 8;
    if (orders.i32[i + I_KIND] !== RecordKind.ORDER_NEW) continue;
    const sym = orders.i32[i + I_SYMBOL]!;
    const id = orders.i32[i + I_A]!;
    const side = flagsSide(orders.i32[i + I_B]!);
    const qty = orders.f64[f + F_P0]!;
    const px = book.read(sym) ? (side === 1 ? book.askPx : book.bidPx) : orders.f64[f + F_P1]!;
    emit(exec, RecordKind.ACK, sym, id, side, 0, 0, 0, qty, orders.f64[f + F_TRECV]!);
    emit(exec, RecordKind.FILL, sym, id, side, qty, px, qty, 0, orders.f64[f + F_TRECV]!);
  }
  if (n > 0) orders.release(n);
  if (exec.claimedCount() > 0) exec.publish();
  return n;
}

function emit(exec: SpscRing, kind: RecordKind, sym: number, id: number, b: number, lastQty: number, lastPx: number, cum: number, leaves: number, tRecv: number): void {
  const slot = exec.tryClaim();
  if (slot >= 0) writeExecRecord(exec, slot, kind, sym, id, b, lastQty, lastPx, cum, leaves, tRecv, nowNs());
}
